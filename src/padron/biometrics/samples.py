"""From captured images to templates, for every slot of an enrollment or a search.

The images arrive as bytes (the command line reads files with ``padron.cli.files.read_input``);
each is decoded through its modality's image guard. A refused sample raises its modality's coded
error, its message prefixed with the slot ("finger 2: ...") and the slot in its details.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from padron.domain.errors import InvalidInputError, PadronError
from padron.domain.template import Template

FINGER_POSITIONS = {str(p) for p in range(1, 11)}


@contextmanager
def _slot(slot: str, label: str) -> Iterator[None]:
    """Name the slot in any PadronError raised for it (same class and code, clearer message)."""
    try:
        yield
    except PadronError as error:
        error.message = f"{label}: {error.message}"
        error.args = (error.message,)
        error.details.setdefault("slot", slot)
        raise


def extract_samples(
    *,
    face: bytes | None,
    fingers: Mapping[str, bytes],
    enroll: bool,
    finger_templates: Mapping[str, bytes] | None = None,
) -> dict[str, Template]:
    """Templates by slot (``face``, ``1``..``10``). With ``enroll`` the enrollment quality floors
    apply (a refused sample raises its modality's coded error). ``finger_templates`` are ISO/IEC
    19794-2:2005 minutiae records by position, for a finger captured by a device that sends
    minutiae instead of an image (a position is given as an image or as a record, not both)."""
    samples: dict[str, Template] = {}
    both = sorted(set(fingers) & set(finger_templates or {}))
    if both:
        raise InvalidInputError(
            f"finger {', '.join(both)}: send an image or an ISO template for a position, not both",
            positions=both,
        )
    if face is not None:
        from padron.biometrics.face import FaceExtractor, Purpose

        purpose = Purpose.ENROLL if enroll else Purpose.VERIFY
        with _slot("face", "face"):
            samples["face"] = FaceExtractor().extract(face, purpose).template
    if fingers:
        from padron.biometrics.fingerprint import FingerprintExtractor

        # never the on-disk extraction cache: it keeps minutiae in the clear, and the service path
        # writes no biometric data anywhere but the vault (tests/contract/test_no_plaintext.py)
        extractor = FingerprintExtractor(use_cache=False)
        for position, image in fingers.items():
            if position not in FINGER_POSITIONS:
                raise InvalidInputError(f"finger position {position!r} is not an ISO/ANSI code 1-10")
            with _slot(position, f"finger {position}"):
                samples[position] = extractor.enroll(image) if enroll else extractor.extract(image)
    if finger_templates:
        from padron.biometrics.fingerprint import FingerprintExtractor

        reader = FingerprintExtractor()
        for position, record in finger_templates.items():
            if position not in FINGER_POSITIONS:
                raise InvalidInputError(f"finger position {position!r} is not an ISO/ANSI code 1-10")
            with _slot(position, f"finger {position} template"):
                samples[position] = reader.from_iso(record, int(position))
    return samples
