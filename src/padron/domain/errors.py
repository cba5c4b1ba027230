"""Errors with stable codes.

Every failure a user can cause has its own subclass of :class:`PadronError` with a code of the
form ``PAD-<AREA>-<NNN>``. Codes are part of the public interface: they never change meaning and
are never reused. Each one is documented in ``docs/errors.md``; a test enforces that every code
is unique and documented.

Modules outside ``domain`` (e.g. ``biometrics.face``) may define their own subclasses; the class
is registered when it is defined, and a duplicate code is refused at definition time.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

_REGISTRY: dict[str, type[PadronError]] = {}


class ErrorCategory(StrEnum):
    """What kind of failure an error is, independent of the channel that reports it. The HTTP
    API maps each category to one status, in one place; the CLI exits 1 for all of them."""

    #: the input breaks a rule (a malformed CURP, a bad image, an unknown field)
    INVALID = "invalid"
    #: what the input names does not exist (a CURP nobody holds, a case number)
    NOT_FOUND = "not-found"
    #: the input is fine but the record's state refuses it (a status transition, a closed case,
    #: a concurrent change)
    CONFLICT = "conflict"
    #: no credential, or one that is unknown, expired or revoked
    UNAUTHENTICATED = "unauthenticated"
    #: a valid credential whose role or agreement does not allow this
    FORBIDDEN = "forbidden"
    #: too many requests for this credential; try again later
    RATE_LIMITED = "rate-limited"
    #: the installation cannot serve now (database down, key missing, model not installed)
    UNAVAILABLE = "unavailable"
    #: a bug
    INTERNAL = "internal"


class PadronError(Exception):
    """Base of every error padron raises on purpose.

    ``code`` is stable; ``message`` is for people; ``details`` holds machine-readable context
    (the offending field, the value, the rule) and is included in ``--json`` output.
    """

    code: ClassVar[str] = "PAD-GEN-000"
    #: one line for the documentation table; every subclass sets its own
    summary: ClassVar[str] = "Unspecified padron error."
    #: the kind of failure (inherited; most errors are refused input)
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            return  # an intermediate base class (e.g. CurpError) without a code of its own
        existing = _REGISTRY.get(cls.code)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise TypeError(f"error code {cls.code} already used by {existing.__qualname__}")
        _REGISTRY[cls.code] = cls

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "category": self.category.value,
            "message": self.message,
            "details": self.details,
        }


def registered_errors() -> dict[str, type[PadronError]]:
    """Every error class defined so far, by code (import the modules you care about first)."""
    return dict(_REGISTRY)


# --- general ------------------------------------------------------------------------------------


class InternalError(PadronError):
    code = "PAD-GEN-001"
    category = ErrorCategory.INTERNAL
    summary = "An unexpected internal failure; the details were written to the log."


class InvalidInputError(PadronError):
    code = "PAD-GEN-002"
    summary = "A request or file could not be read (malformed JSON, missing field, wrong type)."


class ConfigurationError(PadronError):
    code = "PAD-CONF-001"
    category = ErrorCategory.UNAVAILABLE
    summary = "The settings are invalid (e.g. a default secret outside development, a bad URL)."


# --- input files (person files, images, templates given on the command line) --------------------


class InputFileError(PadronError):
    code = "PAD-FILE-001"
    summary = "An input file cannot be read (missing, a directory, a device, or no permission)."


class InputTooLargeError(PadronError):
    code = "PAD-FILE-002"
    summary = "An input file is larger than the limit for its kind; it was not read further."


class EmptyInputError(PadronError):
    code = "PAD-FILE-003"
    summary = "An input file is empty (zero bytes)."


class TextEncodingError(PadronError):
    code = "PAD-FILE-004"
    summary = "A text input is not UTF-8 (e.g. UTF-16 or Latin-1); save it as UTF-8."


class MalformedJsonError(PadronError):
    code = "PAD-JSON-001"
    summary = "An input is not valid JSON (syntax, NaN or Infinity, a repeated key, or nested too deeply)."


class JsonFieldError(PadronError):
    code = "PAD-JSON-002"
    summary = "A JSON input's field is missing, unknown, of the wrong type or too long; details name it."


# --- CURP ---------------------------------------------------------------------------------------


class CurpError(PadronError):
    """A CURP failed validation; ``rule`` names the rule that failed."""

    rule: ClassVar[str] = "curp"


class CurpLengthError(CurpError):
    code = "PAD-CURP-001"
    rule = "length"
    summary = "A CURP must have exactly 18 characters."


class CurpFormatError(CurpError):
    code = "PAD-CURP-002"
    rule = "format"
    summary = "A CURP character is not allowed where it stands (letters, digits and vowels by position)."


class CurpDateError(CurpError):
    code = "PAD-CURP-003"
    rule = "date"
    summary = "Positions 5-10 (and the century given by position 17) are not a real past date."


class CurpSexError(CurpError):
    code = "PAD-CURP-004"
    rule = "sex"
    summary = "Position 11 must be H (hombre) or M (mujer)."


class CurpStateError(CurpError):
    code = "PAD-CURP-005"
    rule = "state"
    summary = "Positions 12-13 must be one of the 32 state codes or NE (born abroad)."


class CurpInconvenientWordError(CurpError):
    code = "PAD-CURP-006"
    rule = "inconvenient-word"
    summary = "Positions 1-4 form one of RENAPO's inconvenient words; the second letter should be X."


class CurpCheckDigitError(CurpError):
    code = "PAD-CURP-007"
    rule = "check-digit"
    summary = "Position 18 does not match the check digit computed from positions 1-17."


class CurpHomonymError(CurpError):
    code = "PAD-CURP-008"
    rule = "homonym"
    summary = "Position 17 must be a digit for births before 2000 and a letter from 2000 on."


class CurpHomonymsExhaustedError(CurpError):
    code = "PAD-CURP-009"
    category = ErrorCategory.CONFLICT
    rule = "homonym"
    summary = "Every value of position 17 is already taken for these 16 characters."


class CurpMismatchError(CurpError):
    code = "PAD-CURP-010"
    rule = "holder"
    summary = "The CURP is well formed but does not belong to the given person's data."


# --- demographic data ---------------------------------------------------------------------------


class EmptyNameError(PadronError):
    code = "PAD-NAME-001"
    summary = "A given name or first surname is empty."


class NameCharactersError(PadronError):
    code = "PAD-NAME-002"
    summary = "A name holds digits or characters outside the Latin alphabet."


class NameTooLongError(PadronError):
    code = "PAD-NAME-003"
    summary = "A name is longer than the registry stores (100 characters)."


class DateFormatError(PadronError):
    code = "PAD-DATE-001"
    summary = "A date is not a real calendar date in YYYY-MM-DD form."


class FutureDateError(PadronError):
    code = "PAD-DATE-002"
    summary = "A birth date lies in the future."


class DateOutOfRangeError(PadronError):
    code = "PAD-DATE-003"
    summary = "A birth date lies before 1900-01-01, which a CURP cannot encode."


class SexError(PadronError):
    code = "PAD-SEX-001"
    summary = "Sex must be H (hombre) or M (mujer)."


class StateError(PadronError):
    code = "PAD-STATE-001"
    summary = "Unknown state of birth; use one of the 32 two-letter codes or NE (born abroad)."


class NationalityError(PadronError):
    code = "PAD-NAT-001"
    summary = "Nationality must be a three-letter ISO 3166-1 alpha-3 code (e.g. MEX)."


# --- persons and their records ------------------------------------------------------------------


class PersonNotFoundError(PadronError):
    code = "PAD-PERSON-001"
    category = ErrorCategory.NOT_FOUND
    summary = "No person holds (or ever held) this CURP."


class PersonStatusError(PadronError):
    code = "PAD-PERSON-002"
    category = ErrorCategory.CONFLICT
    summary = "The status change is not allowed from the person's current status."


class MergeTargetError(PadronError):
    code = "PAD-PERSON-003"
    category = ErrorCategory.CONFLICT
    summary = "A merge needs an existing, active target other than the person itself."


class UnknownFieldError(PadronError):
    code = "PAD-PERSON-004"
    summary = "An update names a field that does not exist or cannot be changed this way."


class NoChangeError(PadronError):
    code = "PAD-PERSON-005"
    category = ErrorCategory.CONFLICT
    summary = "An update changes nothing; no history entry is written."


class ReasonRequiredError(PadronError):
    code = "PAD-PERSON-006"
    summary = "Every change needs an actor and a reason for the history."


class ConcurrentUpdateError(PadronError):
    code = "PAD-PERSON-007"
    category = ErrorCategory.CONFLICT
    summary = "The record changed since it was read; read it again and retry."


class RecordTextError(PadronError):
    code = "PAD-PERSON-008"
    summary = "An actor or reason holds control or formatting characters, or is longer than stored."


class AccessContextError(PadronError):
    code = "PAD-ACCESS-001"
    summary = "An access context is incomplete or malformed (actor, role, channel, purpose, partner)."


class AccessDeniedError(PadronError):
    code = "PAD-ACCESS-002"
    category = ErrorCategory.FORBIDDEN
    summary = "The access context's role, purpose or case reference does not allow this use case."


class DuplicateFieldError(PadronError):
    code = "PAD-PERSON-009"
    summary = "A field, finger position or option was given twice in one command; give each once."


# --- storage ------------------------------------------------------------------------------------


class DatabaseUnavailableError(PadronError):
    code = "PAD-STORE-001"
    category = ErrorCategory.UNAVAILABLE
    summary = "The database cannot be reached or opened."


class SchemaNotInitializedError(PadronError):
    code = "PAD-STORE-002"
    category = ErrorCategory.UNAVAILABLE
    summary = "The database has no padron schema, or an older one; run `padron init`."


class StorageConflictError(PadronError):
    code = "PAD-STORE-003"
    category = ErrorCategory.CONFLICT
    summary = "A write kept colliding with concurrent writers and was abandoned; nothing was written."
