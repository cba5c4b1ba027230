"""The API's public schemas, apart from the domain types: Create / Update bodies that are strict
(no coercion, no unknown field) and Public answers that list exactly what a caller sees.

``PersonCreate`` has the fields of the command line's person file
(:class:`padron.cli.person_file.PersonFile`) with the same types; a test keeps the two equal
(the API does not import the CLI).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, Strict, StringConstraints, model_validator

from padron.domain.curp import CurpData, Sex
from padron.domain.person import UPDATABLE_FIELDS, ChangeKind, HistoryEntry, Person, PersonDraft, Status

#: longer than any valid value (names: 100 characters); the registry's own rules say why a
#: shorter value is still wrong
Text = Annotated[str, StringConstraints(max_length=200)]
#: an actor's reason, as long as the history stores (padron.domain.text.MAX_REASON_LENGTH)
Reason = Annotated[str, StringConstraints(max_length=2000)]


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class PersonCreate(_Body):
    """A demographic-only enrollment: the person file's fields and why."""

    given_names: Text
    first_surname: Text
    second_surname: Text | None = None
    birth_date: Text
    sex: Text
    birth_state: Text
    nationality: Text = "MEX"
    reason: Reason = Field(default="enrollment", description="Recorded in the history.")

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


#: a status as JSON text ("suspended"); strict mode would want an enum instance
StatusText = Annotated[Status, Strict(False)]


class PersonUpdate(_Body):
    """A correction and/or a status change. Fields left out stay as they are; ``second_surname``
    null removes it. A change to a field the CURP derives from issues a new CURP."""

    given_names: Text | None = None
    first_surname: Text | None = None
    second_surname: Text | None = None
    birth_date: Text | None = None
    sex: Text | None = None
    birth_state: Text | None = None
    nationality: Text | None = None
    status: StatusText | None = Field(default=None, description="active, suspended, revoked or deceased.")
    reason: Reason = Field(description="Why (recorded in the history).")
    expected_version: int | None = Field(
        default=None, ge=1, description="Refuse (409 PAD-PERSON-007) if the record is at another version."
    )

    @model_validator(mode="after")
    def _changes_something(self) -> PersonUpdate:
        if not self.changes() and self.status is None:
            raise ValueError("nothing to update: give at least one field or a status")
        return self

    def changes(self) -> dict[str, str | None]:
        """The demographic fields the body names, with their new values."""
        return {name: getattr(self, name) for name in UPDATABLE_FIELDS if name in self.model_fields_set}


class MergeRequest(_Body):
    """Record that the person is a duplicate of ``into`` (the surviving identity)."""

    into: Text = Field(description="The surviving identity's CURP.")
    reason: Reason = Field(description="Why (recorded in both histories).")


# --- answers ----------------------------------------------------------------------------------------


class PersonPublic(BaseModel):
    """A person as the registry's roles see it."""

    curp: str
    given_names: str
    first_surname: str
    second_surname: str | None
    birth_date: date
    sex: Sex
    birth_state: str
    nationality: str
    status: Status
    merged_into: str | None
    version: int

    @classmethod
    def of(cls, person: Person) -> PersonPublic:
        return cls(
            curp=person.curp,
            given_names=person.given_names,
            first_surname=person.first_surname,
            second_surname=person.second_surname,
            birth_date=person.birth_date,
            sex=person.sex,
            birth_state=person.birth_state,
            nationality=person.nationality,
            status=person.status,
            merged_into=person.merged_into,
            version=person.version,
        )


class FieldChange(BaseModel):
    old: JsonValue
    new: JsonValue


class HistoryEntryPublic(BaseModel):
    curp: str = Field(description="The CURP the person held after this change.")
    kind: ChangeKind
    actor: str
    reason: str
    at: datetime
    changes: dict[str, FieldChange]

    @classmethod
    def of(cls, entry: HistoryEntry) -> HistoryEntryPublic:
        return cls(
            curp=entry.curp,
            kind=entry.kind,
            actor=entry.actor,
            reason=entry.reason,
            at=entry.at,
            changes={
                name: FieldChange(old=pair[0] if pair else None, new=pair[-1] if pair else None)
                for name, pair in entry.changes.items()
            },
        )


class PersonHistory(BaseModel):
    curp: str = Field(description="The CURP the person holds now.")
    entries: list[HistoryEntryPublic]


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    schema_revision: str
    gallery: Literal["idle", "ready"] = Field(
        description="ready: the biometric galleries are loaded; idle: they load on first use."
    )


class Problem(BaseModel):
    """An RFC 9457 problem (``application/problem+json``)."""

    type: str = Field(examples=["urn:padron:error:PAD-PERSON-001"])
    title: str
    status: int
    detail: str
    code: str = Field(examples=["PAD-PERSON-001"])
    category: str = Field(examples=["not-found"])
    details: dict[str, JsonValue] | None = None
    instance: str | None = Field(default=None, description="Server-side failures: the incident's log id.")


_STATUS_TEXT = {
    400: "The body cannot be parsed (PAD-API-003).",
    401: "No API key, or one that is malformed, unknown, revoked or expired.",
    403: "The key's role may not use this endpoint.",
    404: "No person holds or held this CURP.",
    409: "The record's state refuses the change (status, merge target, concurrent change).",
    413: "The body is larger than the server accepts (PAD-API-002).",
    415: "The body is not sent as JSON (PAD-API-006).",
    422: "A field is missing, unknown or of the wrong type (PAD-API-001), or breaks a registry rule.",
    429: "The key's rate limit is used up; see Retry-After.",
    503: "The database (or the key store) cannot serve now.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for problem statuses (the media type is set to problem+json when
    the document is built)."""
    return {status: {"model": Problem, "description": _STATUS_TEXT[status]} for status in statuses}


#: what any protected endpoint can answer besides its own outcomes
PROTECTED = (401, 403, 429, 503)
#: and an endpoint with a JSON body
WITH_BODY = (400, 413, 415, 422)
