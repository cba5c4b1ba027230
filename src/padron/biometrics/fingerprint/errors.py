"""Errors raised by the fingerprint modality (codes ``PAD-FING-NNN``, stable, never reused)."""

from __future__ import annotations

from padron.domain.errors import PadronError


class FingerprintImageError(PadronError):
    code = "PAD-FING-001"
    summary = "A fingerprint image could not be decoded, or is not a single 8-bit grey image of usable size."


class FingerprintResolutionError(PadronError):
    code = "PAD-FING-002"
    summary = "A fingerprint image's resolution is outside 250-1,000 dpi and cannot be resampled to 500 dpi."


class FingerprintQualityError(PadronError):
    code = "PAD-FING-003"
    summary = "A fingerprint's NFIQ 2 score is below the configured enrollment floor; capture it again."


class TooFewMinutiaeError(PadronError):
    code = "PAD-FING-004"
    summary = "Too few minutiae were found in a fingerprint to build a template (failure to enroll)."


class FingerprintTemplateError(PadronError):
    code = "PAD-FING-005"
    summary = "Fingerprint template payload bytes are truncated, malformed or of an unknown layout version."


class IsoRecordError(PadronError):
    code = "PAD-FING-006"
    summary = "An ISO/IEC 19794-2:2005 finger minutiae record is malformed or cannot hold the given data."


class FingerprintDependencyError(PadronError):
    code = "PAD-FING-007"
    summary = "The fingerprint extra is not installed (pip install 'padron[fingerprint]')."


class UnknownExtractorError(PadronError):
    code = "PAD-FING-008"
    summary = "Unknown fingerprint extraction chain; choose 'classic' or 'leader'."


class FvcLayoutError(PadronError):
    code = "PAD-FING-009"
    summary = "An FVC evaluation folder holds no <finger>_<impression> images, or too few for any pair."


class FingerPositionError(PadronError):
    code = "PAD-FING-010"
    summary = "A finger position must be 1-10 (ISO/IEC 19794-2: right thumb = 1 ... left little = 10)."
