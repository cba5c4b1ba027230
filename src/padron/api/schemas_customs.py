"""Public schemas of the customs exchange (beside :mod:`padron.api.schemas`): an inspection as
it is recorded and shown, the batch import's answer, the push queue. The bodies carry the JSON
shape of a record; the rules of each field (ISO 6346, HS codes, UN/LOCODE, seizures' units ...)
are checked by :mod:`padron.sharing.cargo`, with their own PAD-SHARE codes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from padron.sharing.customs import Inspection

_Short = Annotated[str, StringConstraints(max_length=60)]
_Text = Annotated[str, StringConstraints(max_length=1000)]


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class SealBody(_Body):
    number: _Short = Field(description="The seal's number: 1-20 letters, digits or '-'.")
    intact: bool = Field(default=True, description="false: found broken or tampered with.")


class SeizureBody(_Body):
    category: _Short = Field(description="drugs, firearms, ammunition, currency or other.")
    description: _Text = Field(description="What was seized (no names of people).")
    quantity: _Short | int = Field(description='A positive decimal as text ("12.5") or an integer.')
    unit: _Short = Field(
        description="kg, g, l, ml or units (drugs, other); units (firearms); rounds (ammunition); an "
        "ISO 4217 code (currency)."
    )


class InspectionCreate(_Body):
    """One cargo inspection. At least one of container, bill_of_lading and air_waybill; a bill of
    lading and an air waybill not both."""

    container: _Short | None = Field(default=None, description="ISO 6346, e.g. CSQU3054383.")
    bill_of_lading: _Short | None = None
    air_waybill: _Short | None = Field(default=None, description="e.g. 176-12345675.")
    hs_codes: list[_Short] = Field(
        description="6-digit HS headings (851713) and/or Mexico's 10-digit fracción + NICO (8517130101)."
    )
    port_of_loading: _Short = Field(description="UN/LOCODE, e.g. CNSHA.")
    port_of_entry: _Short = Field(description="UN/LOCODE, e.g. MXZLO.")
    departed_on: _Short | None = Field(default=None, description="YYYY-MM-DD.")
    arrived_on: _Short = Field(description="YYYY-MM-DD.")
    inspected_on: _Short = Field(description="YYYY-MM-DD, not before the arrival.")
    seals: list[SealBody] = []
    risk_reason: _Short = Field(
        description="intelligence, random, documentary-inconsistency, x-ray-anomaly, canine-alert, "
        "origin-risk, value-anomaly or other (then risk_text says what)."
    )
    risk_text: _Text = ""
    outcome: _Short = Field(description="cleared, held or seized (seized: with its seizures).")
    seizures: list[SeizureBody] = []
    notes: _Text = ""


class GoodsPublic(BaseModel):
    code: str
    heading: str
    fraccion: str | None
    nico: str | None


class SealPublic(BaseModel):
    number: str
    intact: bool


class SeizurePublic(BaseModel):
    category: str
    description: str
    quantity: str
    unit: str


class InspectionPublic(BaseModel):
    id: int | None
    container: str | None
    bill_of_lading: str | None
    air_waybill: str | None
    hs_codes: list[str] = Field(description="The 6-digit HS headings.")
    tariff_codes: list[str] = Field(description="The 10-digit Mexican codes given (fracción + NICO).")
    goods: list[GoodsPublic]
    port_of_loading: str
    port_of_entry: str
    departed_on: str | None
    arrived_on: str
    inspected_on: str
    seals: list[SealPublic]
    risk_reason: str
    risk_text: str
    outcome: str
    seizures: list[SeizurePublic]
    notes: str
    source: str | None = Field(description="The partner a received inspection came from (null: ours).")
    source_id: int | None
    recorded_at: datetime | None

    @classmethod
    def of(cls, inspection: Inspection) -> InspectionPublic:
        return cls.model_validate(inspection.to_json())


class InspectionList(BaseModel):
    inspections: list[InspectionPublic]


class ImportPublic(BaseModel):
    imported: int
    format: str
    sha256: str = Field(description="SHA-256 of the file imported (in the customs.import audit entry).")
    inspections: list[int]


class PushPublic(BaseModel):
    id: int
    inspection: int
    partner: str
    agreement: str
    agreement_version: int
    status: str = Field(description="queued, sent, refused or cancelled.")
    queued_at: datetime
    sent_at: datetime | None
    receipt_id: str | None
    reasons: list[str]


class PushList(BaseModel):
    pushes: list[PushPublic]


class PushSend(_Body):
    partner: _Short | None = Field(default=None, description="Only this partner's queue.")


class PushResultPublic(BaseModel):
    partner: str
    status: str = Field(description="sent, refused, cancelled or failed (still queued).")
    inspections: list[int]
    receipt_id: str | None
    reasons: list[str]
    error: str | None


class PushResults(BaseModel):
    results: list[PushResultPublic]


class ReceiptResult(BaseModel):
    accepted: list[int]
    duplicates: list[int]
    errors: list[dict[str, object]]


class CustomsReceiptPublic(BaseModel):
    """A signed receipt of a partner's push (an entry of our exchange log with it)."""

    request_id: str
    request_sha256: str
    registry: str
    partner: str
    operation: str
    status: str = Field(description="accepted or refused (reasons say why; nothing is kept).")
    reasons: list[str]
    received_at: datetime
    answered_at: datetime
    result: ReceiptResult
