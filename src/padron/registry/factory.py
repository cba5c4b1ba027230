"""Build the registry and the identity service from settings (the one place where configuration
meets the use cases)."""

from __future__ import annotations

from padron.domain.template import Modality
from padron.matching.gallery import FINGER_SLOTS, Gallery
from padron.registry.identity import BiometricIndex, DedupPolicy, IdentityService
from padron.registry.service import Registry
from padron.registry.vault import Vault
from padron.settings import Settings, load_settings


def build_registry(settings: Settings | None = None, *, migrate: bool = False) -> Registry:
    """The registry the settings point at: PADRON_DATABASE_URL, or the SQLite file in
    PADRON_DATA_DIR. Without ``migrate`` a database whose schema is missing or old is refused."""
    settings = settings or load_settings()
    return Registry.open(settings.effective_database_url, migrate=migrate)


def build_vault(settings: Settings) -> Vault:
    if settings.vault_key:
        return Vault.from_base64(settings.vault_key)
    return Vault.from_key_file(settings.data_dir / "vault.key", create=settings.environment == "development")


def face_gallery() -> Gallery:
    """The embedded face gallery (also the body of a Ray shard)."""
    from padron.matching.backends.memory import VectorGallery
    from padron.matching.modalities import FaceMatcher

    return VectorGallery(decode=FaceMatcher().decode)


def finger_gallery() -> Gallery:
    from padron.matching.backends.memory import TemplateGallery
    from padron.matching.modalities import FingerprintMatcher

    return TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS)


def build_identity_service(
    settings: Settings | None = None, *, registry: Registry | None = None, start: bool = True
) -> IdentityService:
    """The biometric use cases with padron's face and fingerprint algorithms, on the gallery
    backend the settings name; with ``start`` the galleries are rebuilt from the registry."""
    from padron.matching.modalities import FaceMatcher, FingerprintMatcher, packaged_llr

    settings = settings or load_settings()
    registry = registry or build_registry(settings)
    galleries: dict[Modality, Gallery]
    if settings.gallery_backend == "ray":
        from padron.matching.backends.ray import RayGallery, connect

        connect(settings.ray_address)
        galleries = {
            Modality.FACE: RayGallery(face_gallery, modality=Modality.FACE, shards=settings.ray_shards),
            Modality.FINGERPRINT: RayGallery(
                finger_gallery, modality=Modality.FINGERPRINT, shards=settings.ray_shards
            ),
        }
    else:
        galleries = {Modality.FACE: face_gallery(), Modality.FINGERPRINT: finger_gallery()}
    # a modality takes part only with a packaged calibration (its LLR model)
    llr_models = {}
    for modality in (Modality.FACE, Modality.FINGERPRINT):
        try:
            llr_models[modality] = packaged_llr(modality)
        except (FileNotFoundError, KeyError):
            continue
    matchers: dict[Modality, type[FaceMatcher] | type[FingerprintMatcher]] = {
        Modality.FACE: FaceMatcher,
        Modality.FINGERPRINT: FingerprintMatcher,
    }
    service = IdentityService(
        registry,
        BiometricIndex({m: g for m, g in galleries.items() if m in llr_models}, build_vault(settings)),
        matchers={m: matchers[m]() for m in llr_models},
        llr_models=llr_models,
        policy=DedupPolicy(
            fpir_sure=settings.dedup_fpir_sure,
            fpir_grey=settings.dedup_fpir_grey,
            verify_fmr=settings.verify_fmr,
            identify_fpir=settings.identify_fpir,
        ),
    )
    if start:
        service.start()
    return service
