"""The results of the biometric use cases, with their statuses enumerated: an enrollment's outcome
(issued / refused / pending), a 1:1 verification, the subjects a search found, an adjudication case
(open / decided / closed; same / different) and the images an adjudicator looks at; and the
applicant's demographics as an enrollment attempt keeps them.

The statuses are :class:`~enum.StrEnum` members: they compare equal to their strings
(``result.status == "issued"``) and every ``to_dict`` gives the plain strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from padron.domain.curp import CurpData, Sex
from padron.domain.person import Person, PersonDraft


class EnrollmentStatus(StrEnum):
    """The outcome of an enrollment."""

    #: unique: a new CURP
    ISSUED = "issued"
    #: a sure duplicate: linked to the identity the applicant already holds
    REFUSED = "refused"
    #: grey zone: sent to adjudication (a case per candidate)
    PENDING = "pending"


class CaseStatus(StrEnum):
    """The state of an adjudication case."""

    OPEN = "open"
    #: an adjudicator decided it (see :class:`CaseDecision`)
    DECIDED = "decided"
    #: closed undecided: another case of the same attempt found it the same person
    CLOSED = "closed"


class CaseDecision(StrEnum):
    """An adjudicator's decision: the applicant and the candidate are one person or not."""

    SAME = "same"
    DIFFERENT = "different"


@dataclass(frozen=True)
class MatchEvidence:
    """One subject found by a search, with the evidence per slot."""

    ref: str
    llr: float
    slot_scores: dict[str, float]
    slot_llrs: dict[str, float]
    curp: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "curp": self.curp,
            "llr": round(self.llr, 4),
            "slot_scores": {k: round(v, 6) for k, v in self.slot_scores.items()},
            "slot_llrs": {k: round(v, 4) for k, v in self.slot_llrs.items()},
        }


@dataclass(frozen=True)
class EnrollmentResult:
    status: EnrollmentStatus
    attempt_id: int
    person: Person | None = None
    duplicate_of: str | None = None
    cases: list[int] = field(default_factory=list)
    candidates: list[MatchEvidence] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "attempt_id": self.attempt_id,
            "curp": self.person.curp if self.person else None,
            "person": self.person.to_dict() if self.person else None,
            "duplicate_of": self.duplicate_of,
            "cases": self.cases,
            "candidates": [c.to_dict() for c in self.candidates],
            "thresholds": self.thresholds,
        }


@dataclass(frozen=True)
class Verification:
    curp: str
    match: bool
    llr: float
    threshold: float
    fmr: float
    slot_scores: dict[str, float]
    slot_llrs: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "curp": self.curp,
            "match": self.match,
            "llr": round(self.llr, 4),
            "threshold_llr": round(self.threshold, 4),
            "fmr": self.fmr,
            "slot_scores": {k: round(v, 6) for k, v in self.slot_scores.items()},
            "slot_llrs": {k: round(v, 4) for k, v in self.slot_llrs.items()},
        }


@dataclass(frozen=True)
class Case:
    id: int
    attempt_id: int
    candidate_ref: str
    candidate_curp: str | None
    fused_llr: float
    status: CaseStatus
    decision: CaseDecision | None
    adjudicator: str | None
    reason: str | None
    opened_at: datetime
    decided_at: datetime | None
    evidence: dict[str, Any]
    applicant: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "attempt_id": self.attempt_id,
            "candidate_ref": self.candidate_ref,
            "candidate_curp": self.candidate_curp,
            "fused_llr": round(self.fused_llr, 4),
            "status": self.status.value,
            "decision": self.decision.value if self.decision else None,
            "adjudicator": self.adjudicator,
            "reason": self.reason,
            "opened_at": self.opened_at.isoformat(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "applicant": self.applicant,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class SampleImage:
    """A submitted image, opened from the vault: what an adjudicator looks at."""

    slot: str
    media_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class CaseImages:
    """Both sides of an adjudication case: the applicant's images (the attempt) and the
    candidate's (the enrolled person's enrollment, or the other pending attempt), by slot."""

    case_id: int
    attempt_id: int
    candidate_ref: str
    applicant: dict[str, SampleImage]
    candidate: dict[str, SampleImage]

    def sides(self) -> dict[str, dict[str, SampleImage]]:
        return {"applicant": self.applicant, "candidate": self.candidate}


# --- the applicant's demographics, as an enrollment attempt keeps them ---------------------------


def draft_to_json(draft: PersonDraft, nationality: str) -> dict[str, Any]:
    d = draft.data
    return {
        "given_names": d.given_names,
        "first_surname": d.first_surname,
        "second_surname": d.second_surname,
        "birth_date": d.birth_date.isoformat(),
        "sex": d.sex.value,
        "birth_state": d.birth_state,
        "nationality": nationality,
    }


def draft_from_json(data: Mapping[str, Any]) -> PersonDraft:
    return PersonDraft(
        CurpData(
            given_names=data["given_names"],
            first_surname=data["first_surname"],
            second_surname=data["second_surname"],
            birth_date=date.fromisoformat(data["birth_date"]),
            sex=Sex(data["sex"]),
            birth_state=data["birth_state"],
        ),
        nationality=data["nationality"],
    )
