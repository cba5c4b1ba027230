"""Errors of the ANSI/NIST-ITL codec (codes ``PAD-NIST-NNN``, stable, never reused).

Every refusal names where it happened: the record (its position in the file, 1 for the Type-1
record, and its type), the field's tag (``14.006``) when there is one, and the byte offset from
the start of the file. ``details`` carries the same as ``record``, ``record_type``, ``field`` and
``offset``. All of them are refused input (category INVALID).
"""

from __future__ import annotations

from padron.domain.errors import PadronError


class NistError(PadronError):
    """Base of the codec's errors (no code of its own): ``except NistError`` catches them all."""


class NistTruncatedError(NistError):
    code = "PAD-NIST-001"
    summary = (
        "An ANSI/NIST-ITL file ends early: inside a record's header, or before the length its "
        "LEN field declares."
    )


class NistLengthError(NistError):
    code = "PAD-NIST-002"
    summary = (
        "An ANSI/NIST-ITL record's LEN field disagrees with its bytes (no record separator at the "
        "declared end, a separator before it, or a length too short for the record's own header)."
    )


class NistSeparatorError(NistError):
    code = "PAD-NIST-003"
    summary = (
        "An ANSI/NIST-ITL field has no well-formed tag (T.NNN:) or a separator is missing where "
        "one must stand."
    )


class NistRecordTypeError(NistError):
    code = "PAD-NIST-004"
    summary = "An ANSI/NIST-ITL record type is unknown (not a type the standard defines)."


class NistRecordCountError(NistError):
    code = "PAD-NIST-005"
    summary = (
        "Field 1.003 (CNT) disagrees with the records: their number, a record's type or IDC, or "
        "bytes after the last record it lists."
    )


class NistImageTruncatedError(NistError):
    code = "PAD-NIST-006"
    summary = (
        "An ANSI/NIST-ITL image is truncated: fewer raw pixel bytes than its size declares, or "
        "compressed data without its format's end marker."
    )


class NistMissingFieldError(NistError):
    code = "PAD-NIST-007"
    summary = "A mandatory ANSI/NIST-ITL field is missing from a record (details name it)."


class NistBinaryHeaderError(NistError):
    code = "PAD-NIST-008"
    summary = (
        "A binary ANSI/NIST-ITL record's header (Type-4, or Types 3 and 5 to 8) is malformed: LEN "
        "shorter than the header, or a resolution flag, finger position, size or compression code "
        "out of range."
    )


class NistNonAsciiError(NistError):
    code = "PAD-NIST-009"
    summary = (
        "An ANSI/NIST-ITL field that must be 7-bit ASCII (every Type-1 field, tags, numbers) holds "
        "other bytes, or text is not in the character set 1.015 declares."
    )


class NistFieldValueError(NistError):
    code = "PAD-NIST-010"
    summary = (
        "An ANSI/NIST-ITL field's value is malformed: not a number or date where one is required, "
        "out of range, or (when writing) holding a separator character."
    )


class NistTooLargeError(NistError):
    code = "PAD-NIST-011"
    summary = (
        "An ANSI/NIST-ITL transaction exceeds the limits: total bytes, number of records, fields "
        "per record or bytes per image; nothing further was read."
    )


class NistImageFormatError(NistError):
    code = "PAD-NIST-012"
    summary = "An ANSI/NIST-ITL image's bytes are not in the format its compression field declares."


class NistUnsupportedImageError(NistError):
    code = "PAD-NIST-013"
    summary = (
        "An ANSI/NIST-ITL image cannot be used as a sample: WSQ, JPEG lossless or JPEG 2000, or raw "
        "pixels that are not 8-bit (send PNG, baseline JPEG or raw 8-bit grey)."
    )


class NistAmbiguousSampleError(NistError):
    code = "PAD-NIST-014"
    summary = "An ANSI/NIST-ITL transaction carries two images for one slot (two faces, or one finger twice)."


class NistNoSampleError(NistError):
    code = "PAD-NIST-015"
    summary = (
        "An ANSI/NIST-ITL transaction carries no usable sample: no Type-10 face and no Type-4 or "
        "Type-14 image of a single finger (positions 1-10)."
    )
