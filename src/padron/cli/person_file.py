"""The person file of ``padron enroll --person FILE``: a strict, typed schema.

A person file is one JSON object of strings (``second_surname`` may be null)::

    {"given_names": "María José", "first_surname": "López", "second_surname": "Ruiz",
     "birth_date": "1990-01-02", "sex": "M", "birth_state": "DF", "nationality": "MEX"}

Types are checked, never coerced: ``null``, ``true``, a number or a list where a string belongs
is refused with the field's name (it does not become a person named "NONE" or "TRUE"); so are
unknown and repeated fields, NaN and Infinity, files that are not UTF-8, deep nesting and files
over 64 KiB. What the schema lets through then meets the registry's own rules (names, dates,
states), each with its own code.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from padron.cli.files import PERSON_FILE_LIMIT, read_input
from padron.domain.curp import CurpData
from padron.domain.errors import JsonFieldError, MalformedJsonError, TextEncodingError
from padron.domain.jsontext import loads_strict
from padron.domain.person import PersonDraft

#: longer than any valid value (names: 100 characters); the registry's own rules say why a
#: shorter value is still wrong
_Text = Annotated[str, StringConstraints(max_length=200)]

#: deepest nesting accepted while parsing (a person file is flat: depth 1)
MAX_DEPTH = 8

_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


class PersonFile(BaseModel):
    """The demographic part of an enrollment, as submitted."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    given_names: _Text
    first_surname: _Text
    second_surname: _Text | None = None
    birth_date: _Text
    sex: _Text
    birth_state: _Text
    nationality: _Text = "MEX"

    def to_draft(self) -> PersonDraft:
        """The registry's validated draft (coded CURP / name / date errors on bad content)."""
        return PersonDraft(
            CurpData.parse(
                given_names=self.given_names,
                first_surname=self.first_surname,
                second_surname=self.second_surname,
                birth_date=self.birth_date,
                sex=self.sex,
                birth_state=self.birth_state,
            ),
            nationality=self.nationality,
        )


def decode_text(data: bytes, what: str) -> str:
    """UTF-8 text (a UTF-8 byte-order mark is dropped); anything else is TextEncodingError."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise TextEncodingError(f"the {what} is {name}; save it as UTF-8", encoding=name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise TextEncodingError(
            f"the {what} is not UTF-8 (byte {error.start + 1} is 0x{data[error.start]:02X}); "
            "save it as UTF-8",
            position=error.start + 1,
        ) from None


def parse_json_object(text: str, what: str) -> dict[str, Any]:
    """One JSON object: no NaN / Infinity, no repeated key, at most MAX_DEPTH levels
    (padron.domain.jsontext, the parser of HTTP bodies too)."""
    value = loads_strict(text, what=f"the {what}", max_depth=MAX_DEPTH, error=MalformedJsonError)
    if not isinstance(value, dict):
        raise MalformedJsonError(f"the {what} must hold one JSON object, not {type(value).__name__}")
    return value


def _field_error(error: ValidationError, what: str) -> JsonFieldError:
    first = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or "(object)"
    kind = first["type"]
    if kind == "missing":
        message = f"the {what} lacks the field {field}"
    elif kind == "extra_forbidden":
        message = f"the {what} has the unknown field {field}; allowed: {', '.join(PersonFile.model_fields)}"
    elif kind == "string_too_long":
        message = f"the field {field} of the {what} is too long: {first['msg'].lower()}"
    else:
        given = type(first.get("input")).__name__
        given = {"NoneType": "null", "bool": "a boolean", "int": "a number", "float": "a number"}.get(
            given, given
        )
        message = f"the field {field} of the {what} must be a string, not {given}"
    return JsonFieldError(message, field=field, problem=kind, problems=error.error_count())


def parse_person(data: bytes, what: str = "person file") -> PersonDraft:
    """Bytes of a person file to a validated draft; every refusal has a code naming the field."""
    obj = parse_json_object(decode_text(data, what), what)
    try:
        person = PersonFile.model_validate(obj)
    except ValidationError as error:
        raise _field_error(error, what) from None
    return person.to_draft()


def read_person_file(path: Path) -> PersonDraft:
    return parse_person(read_input(path, limit=PERSON_FILE_LIMIT, what="person file"))
