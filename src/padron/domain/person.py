"""A person in the registry and the record of every change to it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from padron.domain.curp import CurpData, Sex
from padron.domain.errors import NationalityError, PersonStatusError


class Status(StrEnum):
    """Lifecycle of an identity. ``merged`` means the record was found to be a duplicate of
    another person; ``merged_into`` then names the surviving CURP."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    DECEASED = "deceased"
    MERGED = "merged"


#: allowed status changes (merges go through Registry.merge, not a plain status change)
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.ACTIVE: frozenset({Status.SUSPENDED, Status.REVOKED, Status.DECEASED}),
    Status.SUSPENDED: frozenset({Status.ACTIVE, Status.REVOKED, Status.DECEASED}),
    Status.REVOKED: frozenset({Status.ACTIVE}),
    Status.DECEASED: frozenset(),
    Status.MERGED: frozenset(),
}


def check_transition(current: Status, new: Status) -> None:
    if new == Status.MERGED:
        raise PersonStatusError("a person becomes merged only through a merge into another CURP")
    if new not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none"
        raise PersonStatusError(
            f"status cannot change from {current.value} to {new.value} (allowed: {allowed})",
            current=current.value,
            requested=new.value,
        )


def parse_status(value: str) -> Status:
    try:
        return Status(value.strip().lower())
    except ValueError:
        allowed = ", ".join(s.value for s in Status)
        raise PersonStatusError(f"unknown status {value!r}; one of {allowed}", value=value) from None


def parse_nationality(value: str) -> str:
    text = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", text):
        raise NationalityError(
            f"nationality {value!r} must be a three-letter ISO 3166-1 alpha-3 code such as MEX",
            value=value,
        )
    return text


@dataclass(frozen=True, slots=True)
class PersonDraft:
    """What an enrollment officer submits: validated demographics, no CURP yet."""

    data: CurpData
    nationality: str = "MEX"


#: fields of Person that an update may change (status goes through its own use case)
UPDATABLE_FIELDS = (
    "given_names",
    "first_surname",
    "second_surname",
    "birth_date",
    "sex",
    "birth_state",
    "nationality",
)
#: the fields a CURP is derived from: changing one of them re-derives the CURP
CURP_FIELDS = frozenset(UPDATABLE_FIELDS) - {"nationality"}


@dataclass(frozen=True, slots=True)
class Person:
    """A registered identity."""

    id: int
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
    created_at: datetime
    updated_at: datetime
    #: incremented on every change (optimistic concurrency)
    version: int

    @property
    def curp_data(self) -> CurpData:
        return CurpData(
            given_names=self.given_names,
            first_surname=self.first_surname,
            second_surname=self.second_surname,
            birth_date=self.birth_date,
            sex=self.sex,
            birth_state=self.birth_state,
        )

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.given_names, self.first_surname, self.second_surname) if p)

    def to_dict(self) -> dict[str, Any]:
        return {
            "curp": self.curp,
            "given_names": self.given_names,
            "first_surname": self.first_surname,
            "second_surname": self.second_surname,
            "birth_date": self.birth_date.isoformat(),
            "sex": self.sex.value,
            "birth_state": self.birth_state,
            "nationality": self.nationality,
            "status": self.status.value,
            "merged_into": self.merged_into,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "version": self.version,
        }


class ChangeKind(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    STATUS = "status"
    MERGED = "merged"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One change to a person: who, when, why, and each field's old and new value."""

    id: int
    person_id: int
    curp: str  # the CURP the person held after this change
    kind: ChangeKind
    actor: str
    reason: str
    at: datetime
    #: field -> [old, new] (JSON-compatible values; old is None on creation)
    changes: dict[str, list[Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "curp": self.curp,
            "kind": self.kind.value,
            "actor": self.actor,
            "reason": self.reason,
            "at": self.at.isoformat(),
            "changes": self.changes,
        }
