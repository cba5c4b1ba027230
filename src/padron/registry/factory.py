"""Build the registry and the identity service from settings (the one place where configuration
meets the use cases)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, make_url, select

from padron.domain.template import Modality
from padron.matching.dedup import DedupPolicy
from padron.matching.gallery import FINGER_SLOTS, Gallery
from padron.registry.audit import AuditKeyMissingError, AuditLog
from padron.registry.identity import IdentityService
from padron.registry.journal import BiometricIndex
from padron.registry.secret_files import create_exclusive
from padron.registry.segments import SegmentStore
from padron.registry.service import Registry
from padron.registry.storage.database import Database
from padron.registry.storage.models import TemplateRow
from padron.registry.vault import (
    KEY_VARIABLE,
    Vault,
    VaultKeyMissingError,
    decode_key,
    key_file_exists,
    read_key_file,
)
from padron.settings import Settings, load_settings


def build_registry(settings: Settings | None = None, *, migrate: bool = False) -> Registry:
    """The registry the settings point at: PADRON_DATABASE_URL, or the SQLite file in
    PADRON_DATA_DIR. Without ``migrate`` a database whose schema is missing or old is refused."""
    settings = settings or load_settings()
    if not settings.database_url:
        settings.ensure_data_dir()
    return Registry.open(settings.effective_database_url, migrate=migrate)


def build_vault(settings: Settings, registry: Registry | None = None, *, create: bool = True) -> Vault:
    """The vault with the key from PADRON_VAULT_KEY, or from the key file (PADRON_VAULT_KEY_FILE,
    default ``data_dir/vault.key``).

    In development (unless ``create`` is off) a missing ``data_dir/vault.key`` is created -- but
    never while the registry (``registry``, or else the database the settings name) holds a
    sealed template: a new key
    could not open any of them, so the missing file is named instead (VaultKeyMissingError).
    A PADRON_VAULT_KEY_FILE is never created. In production a key file that its group or
    others may read or write is refused (a logged warning in development).

    Old keys (PADRON_VAULT_OLD_KEYS, PADRON_VAULT_OLD_KEY_FILES) join the keyring: they open
    what they sealed, the current key seals (see ``padron keys rotate``)."""
    old = build_old_keys(settings)
    if settings.vault_key:
        return Vault.from_base64(settings.vault_key, source=KEY_VARIABLE, old=old)
    path = settings.effective_vault_key_file.absolute()
    production = settings.environment == "production"
    # only the default key file is ever made; a PADRON_VAULT_KEY_FILE is the operator's to provide
    create = create and not production and settings.vault_key_file is None
    if create and not key_file_exists(path):
        sealed = sealed_template_count(registry.db) if registry else _sealed_templates_at(settings)
        if sealed:
            raise VaultKeyMissingError(
                f"the vault key file {path} is missing, and the registry holds {sealed} sealed "
                f"template(s) that only that key opens: restore {path} from its backup (or set "
                f"{KEY_VARIABLE}); a new key is not made, it would open none of them",
                path=str(path),
                sealed_templates=sealed,
            )
        settings.ensure_data_dir()
    return Vault.from_key_file(path, create=create, strict_permissions=production, old=old)


def build_old_keys(settings: Settings) -> list[tuple[bytes, str]]:
    """The old vault keys the settings name, each with where it came from (for messages)."""
    production = settings.environment == "production"
    old = [
        (decode_key(text, f"PADRON_VAULT_OLD_KEYS (item {i})"), f"PADRON_VAULT_OLD_KEYS (item {i})")
        for i, text in enumerate(settings.vault_old_key_texts, start=1)
    ]
    for path in settings.vault_old_key_paths:
        old.append((read_key_file(path, strict_permissions=production), f"old key file {path.absolute()}"))
    return old


def sealed_template_count(database: Database) -> int:
    """How many sealed templates the database holds (0 without a padron schema)."""
    if not database.has_table(TemplateRow.__tablename__):
        return 0
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(TemplateRow)) or 0)


def _sealed_templates_at(settings: Settings) -> int:
    """:func:`sealed_template_count` of the database the settings name, without creating it."""
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite" and (
        not url.database or url.database == ":memory:" or not Path(url.database).exists()
    ):
        return 0
    database = Database(settings.effective_database_url)
    try:
        return sealed_template_count(database)
    finally:
        database.dispose()


def build_audit_log(settings: Settings, registry: Registry) -> AuditLog:
    """The audit log with its signing key: PADRON_AUDIT_KEY, or ``data_dir/audit.key``, which is
    created (atomically, 0600) in development and required in production."""
    from padron.audit.checkpoint import Signer, Verifier

    if settings.audit_key:
        signer = Signer.from_skey(settings.audit_key.strip())
    else:
        path = settings.data_dir.absolute() / "audit.key"
        if not path.exists():
            if settings.environment == "production":
                raise AuditKeyMissingError(
                    f"no audit signing key: set PADRON_AUDIT_KEY or provide {path}", path=str(path)
                )
            settings.ensure_data_dir()
            create_exclusive(path, (Signer.generate(settings.audit_origin).skey + "\n").encode())
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as error:
            raise AuditKeyMissingError(
                f"cannot read the audit key file {path}: {error}", path=str(path)
            ) from None
        signer = Signer.from_skey(text.strip())
    cosigners = [
        Verifier.from_vkey(v.strip()) for v in (settings.audit_cosigners or "").split(",") if v.strip()
    ]
    return AuditLog(registry, origin=settings.audit_origin, signer=signer, verifiers=cosigners)


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
    vault = build_vault(settings, registry)
    galleries: dict[Modality, Gallery]
    if settings.gallery_backend == "ray":
        from padron.matching.backends.ray import RayGallery, connect

        connect(settings.ray_address)
        galleries = {
            Modality.FACE: RayGallery(
                face_gallery,
                modality=Modality.FACE,
                shards=settings.ray_shards,
                deployment=settings.ray_deployment,
            ),
            Modality.FINGERPRINT: RayGallery(
                finger_gallery,
                modality=Modality.FINGERPRINT,
                shards=settings.ray_shards,
                deployment=settings.ray_deployment,
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
    segments = (
        SegmentStore(registry.db, vault, part_bytes=settings.gallery_segment_mib << 20)
        if settings.gallery_segments
        else None
    )
    index = BiometricIndex(
        {m: g for m, g in galleries.items() if m in llr_models},
        vault,
        segments=segments,
        snapshot_every=settings.gallery_snapshot_every,
    )
    service = IdentityService(
        registry,
        index,
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
