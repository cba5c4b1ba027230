"""From captured images to templates, for every slot of an enrollment or a search."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from padron.domain.errors import InvalidInputError
from padron.domain.template import Template

FINGER_POSITIONS = {str(p) for p in range(1, 11)}


def read_image(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise InvalidInputError(f"cannot read {path}: {error.strerror}", path=str(path)) from None


def extract_samples(*, face: bytes | None, fingers: Mapping[str, bytes], enroll: bool) -> dict[str, Template]:
    """Templates by slot (``face``, ``1``..``10``). With ``enroll`` the enrollment quality floors
    apply (a refused sample raises its modality's coded error)."""
    samples: dict[str, Template] = {}
    if face is not None:
        from padron.biometrics.face import FaceExtractor, Purpose

        purpose = Purpose.ENROLL if enroll else Purpose.VERIFY
        samples["face"] = FaceExtractor().extract(face, purpose).template
    if fingers:
        from padron.biometrics.fingerprint import FingerprintExtractor

        extractor = FingerprintExtractor()
        for position, image in fingers.items():
            if position not in FINGER_POSITIONS:
                raise InvalidInputError(f"finger position {position!r} is not an ISO/ANSI code 1-10")
            samples[position] = extractor.enroll(image) if enroll else extractor.extract(image)
    return samples
