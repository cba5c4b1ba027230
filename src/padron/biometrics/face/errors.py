"""Errors of the face modality (codes ``PAD-FACE-NNN``; stable, never reused)."""

from __future__ import annotations

from padron.domain.errors import ErrorCategory, PadronError


class FaceError(PadronError):
    """Base of the face modality's errors (no code of its own)."""


# --- decoding the sample ------------------------------------------------------------------------


class EmptyImageError(FaceError):
    code = "PAD-FACE-001"
    summary = "The face image file is empty (zero bytes)."


class NotAnImageError(FaceError):
    code = "PAD-FACE-002"
    summary = "The file is not an image Pillow can identify (wrong file, or corrupt header)."


class UnsupportedImageFormatError(FaceError):
    code = "PAD-FACE-003"
    summary = "The image format is not accepted for faces; use JPEG, PNG, PGM, GIF or TIFF."


class TruncatedImageError(FaceError):
    code = "PAD-FACE-004"
    summary = "The image file ends early or its header or pixel data is corrupt; capture or copy it again."


class ImageTooLargeError(FaceError):
    code = "PAD-FACE-005"
    summary = "The image has more than 40 megapixels; send a smaller image."


class DecompressionBombError(FaceError):
    code = "PAD-FACE-006"
    summary = "The image would expand far beyond its file size (a decompression bomb); it was not decoded."


class ImageTooSmallError(FaceError):
    code = "PAD-FACE-007"
    summary = "The image is too small to hold a usable face (under 32 pixels on a side)."


# --- acquiring the face -------------------------------------------------------------------------


class NoFaceError(FaceError):
    code = "PAD-FACE-010"
    summary = "No face was found in the image (failure to acquire)."


class LowQualityError(FaceError):
    code = "PAD-FACE-011"
    summary = "The face's quality score is below the configured enrollment floor; the reasons are listed."


# --- models, parameters, evaluation -------------------------------------------------------------


class FaceModelUnavailableError(FaceError):
    code = "PAD-FACE-020"
    category = ErrorCategory.UNAVAILABLE
    summary = "dlib or the face-recognition-models files are not installed (install the `face` extra)."


class FaceParameterError(FaceError):
    code = "PAD-FACE-021"
    summary = "A face pipeline parameter is out of range (e.g. a quality floor outside 0-100)."


class EvaluationDataError(FaceError):
    code = "PAD-FACE-030"
    summary = "The evaluation folder lacks what the protocol needs (e.g. pairs.txt, or two identities)."
