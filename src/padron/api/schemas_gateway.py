"""Public schemas of the sharing gateway (beside :mod:`padron.api.schemas`): a partner's answer
as it is signed, the officers' view of a request (never the probe, never personal data), and
their decisions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict

from padron.api.schemas import Reason
from padron.sharing.gateway import RequestView

#: a date as JSON text
DateText = Annotated[date, Strict(False)]


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class ApprovalCreate(_Body):
    reason: Reason = Field(description="Why this disclosure is lawful and needed (kept with the decision).")
    embargo_until: DateText | None = Field(
        default=None,
        description="A lawful embargo: the persons concerned see this access in their history only "
        "from this date (it is counted before).",
    )


class DenialCreate(_Body):
    reason: Reason = Field(description="Why the request is refused (kept with the decision).")


class GatewayIdentityPublic(BaseModel):
    id: str = Field(description="This registry's identifier at its partners (the keyid of its signatures).")
    public_key: str = Field(description="Its Ed25519 public key, base64 of the raw 32 bytes.")
    algorithm: str


class AgreementRef(BaseModel):
    id: str
    version: int


class PartnerAnswerPublic(BaseModel):
    """A signed answer to a partner: the decision and its reasons always; the result as far as
    the agreement allows (``withheld`` says what was held back and under which term)."""

    request_id: str
    registry: str
    partner: str
    status: str = Field(description="answered, pending (an officer must approve) or denied.")
    operation: str
    rung_asked: int
    rung: int | None = Field(description="The rung answered (0 hit / no-hit, 1 reference, 2 core data).")
    reasons: list[str]
    withheld: list[str]
    agreement: AgreementRef | None
    received_at: datetime
    answered_at: datetime | None
    result: dict[str, Any] | None


class ApprovalPublic(BaseModel):
    actor: str
    decision: str
    reason: str
    at: datetime


class GatewayRequestPublic(BaseModel):
    request_id: str
    partner: str
    operation: str
    purpose: str
    case_ref: str
    rung_asked: int
    rung: int | None
    status: str
    reasons: list[str]
    withheld: list[str]
    agreement: str | None
    agreement_version: int | None
    approval: str | None = Field(
        description="Who must approve under the agreement: none, one-officer, two-officers."
    )
    would_disclose: list[str] = Field(description="The attributes a rung-2 answer would disclose.")
    approvals: list[ApprovalPublic]
    received_at: datetime
    decided_at: datetime | None
    embargo_until: date | None

    @classmethod
    def of(cls, view: RequestView) -> GatewayRequestPublic:
        return cls.model_validate(view.to_json())


class GatewayRequestList(BaseModel):
    requests: list[GatewayRequestPublic]


class CosignedPublic(BaseModel):
    """A cosigned checkpoint kept: our log with ``partner`` at ``size`` entries."""

    partner: str
    size: int


class FlagClear(_Body):
    reason: Reason = Field(description="Why the pattern is not fishing, or what was done about it.")


class FlagPublic(BaseModel):
    id: int
    partner: str
    operation: str
    kind: str = Field(description="repeated-probe, repeated-subject or enumeration.")
    request_id: str | None
    details: dict[str, Any]
    at: datetime
    cleared_at: datetime | None
    cleared_by: str | None
    clear_reason: str | None


class FlagList(BaseModel):
    flags: list[FlagPublic]
