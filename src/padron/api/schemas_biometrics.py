"""Public schemas of the biometric endpoints: what each role sees of an enrollment, a
verification, an identification, an adjudication case and a resident's access history.

Each answer lists exactly what its caller may know:

- a registrar learns the outcome of an enrollment (the CURP issued, the identity it duplicates,
  the cases opened), never the scores or the candidates' records;
- a verifier learns match or no match, and nothing it could hill-climb on (no score, no
  threshold, no per-finger result);
- an investigator learns the ranked CURPs above the threshold, no scores;
- adjudicators (and auditors) see a case whole: both records, the scores per slot, the
  thresholds.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from padron.api.schemas import Reason, _Body
from padron.domain.identity import Case, CaseImages, EnrollmentResult
from padron.registry.residents import Access, AccessHistory

EnrollmentStatus = Literal["issued", "refused", "pending"]


class EnrollmentPublic(BaseModel):
    """The outcome of a biometric enrollment, as the registrar sees it."""

    status: EnrollmentStatus = Field(
        description="issued: a new CURP; refused: already enrolled (duplicate_of); pending: sent to "
        "adjudication (cases)."
    )
    attempt_id: int
    curp: str | None = Field(description="The CURP issued (status issued).")
    duplicate_of: str | None = Field(description="The identity the applicant already holds (status refused).")
    cases: list[int] = Field(description="The adjudication cases opened (status pending).")

    @classmethod
    def of(cls, result: EnrollmentResult) -> EnrollmentPublic:
        status: Any = result.status
        return cls(
            status=status,
            attempt_id=result.attempt_id,
            curp=result.person.curp if result.person else None,
            duplicate_of=result.duplicate_of,
            cases=list(result.cases),
        )


class VerificationPublic(BaseModel):
    """1:1: the decision and nothing else."""

    curp: str = Field(description="The identity verified (its current CURP).")
    match: bool


class CandidatePublic(BaseModel):
    rank: int
    curp: str | None = Field(description="The candidate's CURP (None: an applicant still in adjudication).")


class IdentificationPublic(BaseModel):
    """1:N for an investigation: ranked candidates above the threshold, without scores."""

    case_ref: str
    candidates: list[CandidatePublic]


class CaseSummary(BaseModel):
    """A case in the adjudication queue."""

    id: int
    status: str
    opened_at: datetime
    attempt_id: int
    candidate_curp: str | None
    fused_llr: float


class CasePage(BaseModel):
    total: int = Field(description="Cases of this status in all.")
    offset: int
    cases: list[CaseSummary]


class CasePublic(BaseModel):
    """One case whole, for its adjudicator: both sides and the evidence."""

    id: int
    status: str
    decision: str | None
    adjudicator: str | None
    reason: str | None
    opened_at: datetime
    decided_at: datetime | None
    attempt_id: int
    applicant: dict[str, Any] = Field(description="The applicant's demographics as submitted.")
    candidate_ref: str
    candidate_curp: str | None
    fused_llr: float
    evidence: dict[str, Any] = Field(description="Scores and LLRs per slot, thresholds, demographic matches.")

    @classmethod
    def of(cls, case: Case) -> CasePublic:
        return cls(
            id=case.id,
            status=case.status,
            decision=case.decision,
            adjudicator=case.adjudicator,
            reason=case.reason,
            opened_at=case.opened_at,
            decided_at=case.decided_at,
            attempt_id=case.attempt_id,
            applicant=case.applicant,
            candidate_ref=case.candidate_ref,
            candidate_curp=case.candidate_curp,
            fused_llr=round(case.fused_llr, 4),
            evidence=case.evidence,
        )


def case_summary(case: Case) -> CaseSummary:
    return CaseSummary(
        id=case.id,
        status=case.status,
        opened_at=case.opened_at,
        attempt_id=case.attempt_id,
        candidate_curp=case.candidate_curp,
        fused_llr=round(case.fused_llr, 4),
    )


class ImagePublic(BaseModel):
    slot: str
    media_type: str
    size: int
    url: str = Field(description="Where the image itself is (GET, same key).")


class CaseImagesPublic(BaseModel):
    """The images of both sides of a case, by slot."""

    case_id: int
    applicant: list[ImagePublic]
    candidate: list[ImagePublic]

    @classmethod
    def of(cls, images: CaseImages) -> CaseImagesPublic:
        def listed(side: str) -> list[ImagePublic]:
            return [
                ImagePublic(
                    slot=slot,
                    media_type=image.media_type,
                    size=image.size,
                    url=f"/v1/adjudication/cases/{images.case_id}/images/{side}/{slot}",
                )
                for slot, image in sorted(images.sides()[side].items(), key=lambda item: _slot_order(item[0]))
            ]

        return cls(case_id=images.case_id, applicant=listed("applicant"), candidate=listed("candidate"))


def _slot_order(slot: str) -> int:
    return 0 if slot == "face" else int(slot)


class CaseDecision(_Body):
    """The adjudicator's decision: the applicant and the candidate are the same person or not."""

    same: bool = Field(description="true: one person (the attempt is merged); false: different people.")
    reason: Reason = Field(min_length=1, description="Why (recorded with the decision).")


class AccessPublic(BaseModel):
    at: datetime
    actor: str
    role: str
    channel: str
    purpose: str
    action: str
    outcome: str
    legal_basis: str | None
    case_ref: str | None
    partner: str | None

    @classmethod
    def of(cls, access: Access) -> AccessPublic:
        return cls(
            at=access.at,
            actor=access.actor,
            role=access.role,
            channel=access.channel,
            purpose=access.purpose,
            action=access.action,
            outcome=access.outcome,
            legal_basis=access.legal_basis,
            case_ref=access.case_ref,
            partner=access.partner,
        )


class AccessHistoryPublic(BaseModel):
    """Who accessed the resident's record, oldest first."""

    curp: str
    accesses: list[AccessPublic]
    embargoed: int = Field(
        description="Accesses under a lawful embargo: counted, shown from their embargo date."
    )
    next_disclosure: date | None
    total: int

    @classmethod
    def of(cls, history: AccessHistory) -> AccessHistoryPublic:
        return cls(
            curp=history.curp,
            accesses=[AccessPublic.of(a) for a in history.accesses],
            embargoed=history.embargoed,
            next_disclosure=history.next_disclosure,
            total=history.total,
        )
