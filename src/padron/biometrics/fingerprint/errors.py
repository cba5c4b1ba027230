"""Errors raised by the fingerprint modality (codes ``PAD-FING-NNN``, stable, never reused)."""

from __future__ import annotations

from padron.domain.errors import ErrorCategory, PadronError


class FingerprintImageError(PadronError):
    code = "PAD-FING-001"
    summary = (
        "A fingerprint image is not a usable 8-bit grey image (e.g. 16-bit, or blank); "
        "PAD-FING-011 to 017 say more precisely why a file is refused."
    )


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
    category = ErrorCategory.UNAVAILABLE
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


# --- decoding the image (the shared image guard, padron.biometrics.images); each is also a
# FingerprintImageError, which covered all of them before they had codes of their own


class FingerprintImageEmptyError(FingerprintImageError):
    code = "PAD-FING-011"
    summary = "The fingerprint image is empty (zero bytes)."


class FingerprintNotAnImageError(FingerprintImageError):
    code = "PAD-FING-012"
    summary = "The fingerprint file is not an image (wrong file, or no reader recognizes it)."


class FingerprintImageFormatError(FingerprintImageError):
    code = "PAD-FING-013"
    summary = "The image format is not accepted for fingerprints; use PNG, TIFF, BMP, JPEG, JPEG 2000 or PGM."


class FingerprintImageTruncatedError(FingerprintImageError):
    code = "PAD-FING-014"
    summary = (
        "The fingerprint image ends early or its header or pixel data is corrupt; capture or copy it again."
    )


class FingerprintImageTooLargeError(FingerprintImageError):
    code = "PAD-FING-015"
    summary = (
        "The fingerprint image has more than 16 megapixels, or a side over 4,000 pixels at 500 dpi; "
        "refused from its header."
    )


class FingerprintDecompressionBombError(FingerprintImageError):
    code = "PAD-FING-016"
    summary = (
        "The fingerprint image would expand far beyond its file size (a decompression bomb); not decoded."
    )


class FingerprintImageTooSmallError(FingerprintImageError):
    code = "PAD-FING-017"
    summary = (
        "The fingerprint image has a side under 64 pixels at 500 dpi, too small to hold a usable finger."
    )
