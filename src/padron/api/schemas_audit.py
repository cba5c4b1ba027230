"""Public schemas of ``/v1/audit``: entries as their canonical JSON, the verification report,
signed checkpoints and inclusion receipts (beside :mod:`padron.api.schemas`, in the same style).
"""

from __future__ import annotations

import base64
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from padron.audit.checkpoint import MAX_NOTE_BYTES
from padron.audit.entry import AuditEntry
from padron.audit.verify import FindingKind, InclusionReceipt, LogReport


class AuditEntryPublic(BaseModel):
    """One audit entry: the JSON object of its canonical bytes, field for field
    (padron.audit.entry). Written with its keys sorted, no whitespace and non-ASCII characters
    as themselves, it gives back the exact bytes the log hashes."""

    v: int = Field(description="The entry format's version (1).")
    seq: int = Field(description="The entry's index in the log, from 0.")
    prev: str = Field(description="Hex RFC 6962 leaf hash of entry seq - 1 (64 zeros for entry 0).")
    at: str = Field(description="When, in UTC: YYYY-MM-DDTHH:MM:SS.ffffffZ.")
    actor: str
    role: str
    purpose: str
    legal_basis: str | None
    case_ref: str | None
    channel: str
    partner: str | None
    action: str = Field(examples=["person.read"])
    subject: str | None = Field(description="Whose record (person:<id>), or which key (key:<key id>).")
    outcome: str
    details: dict[str, JsonValue]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryPublic:
        return cls.model_validate(entry.to_dict())


class AuditEntries(BaseModel):
    entries: list[AuditEntryPublic] = Field(description="Newest first.")


class FindingPublic(BaseModel):
    kind: FindingKind
    index: int | None = Field(description="The entry (its seq; for inserted, the stored row's position).")
    related: list[int] = Field(description="Other entries involved (a swap's partner, a run of deletions).")
    checkpoint: int | None = Field(description="Position of the checkpoint involved, oldest first.")
    message: str


class LogReportPublic(BaseModel):
    """What verifying the whole log found: ``ok`` only when nothing."""

    ok: bool
    entries: int = Field(description="Stored entries.")
    checkpoints: int = Field(description="Stored checkpoints.")
    verified_checkpoints: int = Field(description="Checkpoints whose signature and root hold.")
    latest_size: int | None = Field(description="Size of the newest of those.")
    findings: list[FindingPublic]

    @classmethod
    def of(cls, report: LogReport) -> LogReportPublic:
        return cls.model_validate(report.to_dict())


class CheckpointList(BaseModel):
    origin: str = Field(description="The log's name in its checkpoints.")
    key: str | None = Field(description="The log's public key (<name>+<hex id>+<base64>), if it has one.")
    checkpoints: list[str] = Field(description="Every signed checkpoint (C2SP signed note), oldest first.")


NoteText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NOTE_BYTES)]


class CosignedCheckpoint(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    note: NoteText = Field(
        description="A checkpoint this log signed, as kept, with the authority's signature line added."
    )


class CosignatureStored(BaseModel):
    size: int = Field(description="The size of the checkpoint that now carries the cosignature.")
    signers: list[str] = Field(description="The known keys whose signatures on it verify.")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


class InclusionReceiptPublic(BaseModel):
    """That entry ``index`` is in the log as signed: the audit path leads from the entry's leaf
    hash to the root of ``checkpoint`` (padron.audit.verify.verify_receipt checks it)."""

    index: int
    entry: AuditEntryPublic
    entry_base64: str = Field(description="The entry's canonical bytes (what is hashed), base64.")
    proof: list[str] = Field(description="The RFC 6962 audit path, leaf upwards, each hash in base64.")
    checkpoint: str = Field(description="The signed checkpoint the path leads to.")

    @classmethod
    def of(cls, receipt: InclusionReceipt) -> InclusionReceiptPublic:
        return cls(
            index=receipt.index,
            entry=AuditEntryPublic.of(AuditEntry.from_bytes(receipt.entry)),
            entry_base64=_b64(receipt.entry),
            proof=[_b64(node) for node in receipt.proof],
            checkpoint=receipt.checkpoint,
        )
