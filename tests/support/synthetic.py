"""Synthetic identities for registry-level tests: a face vector and ten finger vectors per
person, compared by cosine (the real extractors are exercised in their own suites)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from padron.domain.curp import CurpData, Sex
from padron.domain.person import PersonDraft
from padron.domain.template import Modality, Template
from padron.matching.backends.memory import TemplateGallery, VectorGallery
from padron.matching.fusion import LlrModel
from padron.matching.gallery import FACE_SLOT, FINGER_SLOTS, Gallery, Matcher
from padron.matching.vector import CosineMatcher
from padron.registry.identity import BiometricIndex, DedupPolicy, IdentityService
from padron.registry.segments import SegmentStore
from padron.registry.service import Registry
from padron.registry.vault import Vault

FACE_DIM, FINGER_DIM = 128, 64
TEST_KEY = base64.b64encode(bytes(range(32))).decode()
#: cosine -> LLR: genuine faces (~0.9) give ~ +12, unrelated ones (~0) ~ -24
FACE_LLR = LlrModel(slope=40.0, intercept=-24.0)
#: genuine fingers (~0.9) give ~ +8 each, unrelated (~0) ~ -10
FINGER_LLR = LlrModel(slope=20.0, intercept=-10.0)


def unit(v: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    out: npt.NDArray[np.float32] = (v / np.linalg.norm(v)).astype(np.float32)
    return out


def vector_template(modality: Modality, v: npt.NDArray[np.float32]) -> Template:
    return Template(modality, "test-cosine", 1, v.astype("<f4").tobytes(), quality=80.0)


@dataclass
class SyntheticIdentity:
    """A person's true biometrics; ``capture`` makes a new, noisy impression of them."""

    seed: int
    face: npt.NDArray[np.float32]
    fingers: dict[str, npt.NDArray[np.float32]]

    @classmethod
    def make(cls, seed: int) -> SyntheticIdentity:
        rng = np.random.default_rng(seed)
        return cls(
            seed=seed,
            face=unit(rng.normal(size=FACE_DIM)),
            fingers={slot: unit(rng.normal(size=FINGER_DIM)) for slot in FINGER_SLOTS},
        )

    def capture(
        self, session: int, *, face: bool = True, fingers: tuple[str, ...] = FINGER_SLOTS, noise: float = 0.04
    ) -> dict[str, Template]:
        rng = np.random.default_rng([self.seed, session])
        out: dict[str, Template] = {}
        if face:
            out[FACE_SLOT] = vector_template(
                Modality.FACE, unit(self.face + rng.normal(scale=noise, size=FACE_DIM))
            )
        for slot in fingers:
            v = self.fingers[slot] + rng.normal(scale=noise * 1.4, size=FINGER_DIM)
            out[slot] = vector_template(Modality.FINGERPRINT, unit(v))
        return out

    def face_at(self, cosine: float, session: int) -> dict[str, Template]:
        """A face sample whose cosine to the true face is exactly ``cosine`` (grey-zone tests)."""
        rng = np.random.default_rng([self.seed, session, 7])
        raw = rng.normal(size=FACE_DIM)
        orthogonal = unit(raw - (raw @ self.face) * self.face)
        v = cosine * self.face + np.sqrt(1 - cosine**2) * orthogonal
        return {FACE_SLOT: vector_template(Modality.FACE, unit(v))}


def draft(i: int, *, given: str | None = None) -> PersonDraft:
    names = ["Ana", "Luis", "Rosa", "Pedro", "Elena", "Jorge", "Marta", "Raúl", "Sofía", "Iván"]
    return PersonDraft(
        CurpData.parse(
            given_names=given or names[i % len(names)],
            first_surname=["Pérez", "López", "García", "Ruiz"][i % 4],
            second_surname=["Soto", "Vega", "Mora"][i % 3],
            birth_date=date(1960 + i % 40, 1 + i % 12, 1 + i % 28),
            sex=Sex.HOMBRE if i % 2 else Sex.MUJER,
            birth_state="JC",
        )
    )


def identity_service(
    registry: Registry,
    policy: DedupPolicy | None = None,
    *,
    vault: Vault | None = None,
    segments: bool = False,
    snapshot_every: int = 0,
    part_bytes: int = 4096,
    galleries: Mapping[Modality, Gallery] | None = None,
    start: bool = True,
) -> IdentityService:
    """The production wiring with cosine matchers in place of the real algorithms; the vault
    holds TEST_KEY unless another is given. ``segments``: gallery snapshots are kept in the
    registry (parts of ``part_bytes``, small so that a test's galleries span several), written
    after a rebuild and every ``snapshot_every`` journal entries; ``galleries`` replace the
    default ones (the fingerprint gallery's matcher must then be a FingerprintMatcher or the
    cosine one)."""
    face_matcher, finger_matcher = CosineMatcher(Modality.FACE), CosineMatcher(Modality.FINGERPRINT)
    vault = vault or Vault.from_base64(TEST_KEY)
    default: dict[Modality, Gallery] = {
        Modality.FACE: VectorGallery(dim=FACE_DIM),
        Modality.FINGERPRINT: TemplateGallery(finger_matcher, slots=FINGER_SLOTS),
    }
    chosen: dict[Modality, Gallery] = dict(galleries) if galleries is not None else default
    store = SegmentStore(registry.db, vault, part_bytes=part_bytes) if segments else None
    index = BiometricIndex(chosen, vault, segments=store, snapshot_every=snapshot_every)
    matchers: dict[Modality, Matcher] = {Modality.FACE: face_matcher, Modality.FINGERPRINT: finger_matcher}
    finger = chosen.get(Modality.FINGERPRINT)
    if isinstance(finger, TemplateGallery):
        matchers[Modality.FINGERPRINT] = finger.matcher
    models: Mapping[Modality, LlrModel] = {Modality.FACE: FACE_LLR, Modality.FINGERPRINT: FINGER_LLR}
    service = IdentityService(
        registry,
        index,
        matchers={m: matchers[m] for m in chosen},
        llr_models={m: models[m] for m in chosen},
        policy=policy,
    )
    if start:
        service.start()
    return service
