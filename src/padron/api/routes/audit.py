"""``/v1/audit``: the audit log for auditors -- its entries (reading them is recorded), its
verification, its signed checkpoints, an authority's cosignature, and one entry's proof.

Answers are JSON; checkpoints are C2SP signed notes carried as JSON strings (the text an
authority keeps and cosigns, byte for byte). Routes are ``def``: the log is synchronous SQLAlchemy.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Query
from pydantic import AwareDatetime

from padron.api.schemas import PROTECTED, WITH_BODY, Problem, problem_responses
from padron.api.schemas_audit import (
    AuditEntries,
    AuditEntryPublic,
    CheckpointList,
    CosignatureStored,
    CosignedCheckpoint,
    InclusionReceiptPublic,
    LogReportPublic,
)
from padron.api.security import authenticated
from padron.api.state import audit_log
from padron.audit.checkpoint import open_checkpoint
from padron.audit.entry import MAX_INT
from padron.domain.access import AccessContext
from padron.registry.audit import AuditLog, person_ref

Context = Annotated[AccessContext, Depends(authenticated)]
Log = Annotated[AuditLog, Depends(audit_log)]

#: the most entries one page holds
MAX_PAGE = 1000

Filter = Annotated[str | None, Query(max_length=200)]


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


def add_routes(app: FastAPI) -> None:
    router = app.router

    @router.get(
        "/v1/audit/entries",
        name="list_audit_entries",
        summary="Audit entries, newest first, filtered (the query is recorded)",
        description="`curp` finds the person holding or having held the CURP (itself a recorded "
        "read of their record) and lists the entries about them; `since` (inclusive) and `until` "
        "(exclusive) need a time zone. The query is recorded as `audit.read`.",
        responses={
            **problem_responses(*PROTECTED, 422),
            404: _problem("No person holds or held the CURP given as `curp`."),
        },
    )
    def list_audit_entries(
        ctx: Context,
        audit: Log,
        curp: Filter = None,
        actor: Filter = None,
        action: Filter = None,
        partner: Filter = None,
        since: Annotated[AwareDatetime | None, Query()] = None,
        until: Annotated[AwareDatetime | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
        offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
    ) -> AuditEntries:
        subject = person_ref(audit.registry.get(curp, ctx).id) if curp is not None else None
        entries = audit.query(
            ctx,
            subject=subject,
            actor=actor,
            action=action,
            partner=partner,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
        )
        return AuditEntries(entries=[AuditEntryPublic.of(e) for e in entries])

    @router.get(
        "/v1/audit/entries/{seq}/proof",
        name="prove_audit_entry",
        summary="An inclusion receipt of one entry against the latest signed checkpoint",
        description="The entry, its canonical bytes, the RFC 6962 audit path and the checkpoint "
        "it leads to (padron.audit.verify.verify_receipt checks it). Reading the entry is "
        "recorded as `audit.proof`. 422 PAD-AUDIT-007 when no checkpoint covers the entry yet.",
        responses={
            **problem_responses(*PROTECTED, 422),
            404: _problem("The log has no entry with this seq (PAD-AUDIT-104)."),
        },
    )
    def prove_audit_entry(
        seq: Annotated[int, Path(ge=0, le=MAX_INT)], ctx: Context, audit: Log
    ) -> InclusionReceiptPublic:
        return InclusionReceiptPublic.of(audit.prove(seq, ctx))

    @router.get(
        "/v1/audit/verify",
        name="verify_audit_log",
        summary="Check every entry and signed checkpoint",
        description="Always 200 with the report: `ok` false and the findings (kind, index, "
        "message) say exactly where the stored log was changed.",
        responses=problem_responses(*PROTECTED),
    )
    def verify_audit_log(ctx: Context, audit: Log) -> LogReportPublic:
        return LogReportPublic.of(audit.verify())

    @router.get(
        "/v1/audit/checkpoints",
        name="list_audit_checkpoints",
        summary="Every signed checkpoint, oldest first, and the log's public key",
        description="Each checkpoint is a C2SP signed note as a JSON string, with every "
        "cosignature kept so far.",
        responses=problem_responses(*PROTECTED),
    )
    def list_audit_checkpoints(ctx: Context, audit: Log) -> CheckpointList:
        key = audit.signer.verifier().vkey if audit.signer is not None else None
        return CheckpointList(origin=audit.origin, key=key, checkpoints=audit.notes())

    @router.post(
        "/v1/audit/checkpoints/cosigned",
        name="store_audit_cosignature",
        summary="Keep an authority's cosignature of a checkpoint",
        description="The body's `note` is a checkpoint as listed, with the authority's signature "
        "line added; signatures of keys in PADRON_AUDIT_COSIGNERS are verified (`signers`), "
        "others are kept unverified. A note that drops a kept signature is refused (409).",
        responses={
            **problem_responses(*PROTECTED, *WITH_BODY),
            404: _problem("This log never signed a checkpoint of this size, root and time (PAD-AUDIT-102)."),
            409: _problem("The note leaves out a signature the kept checkpoint carries (PAD-AUDIT-105)."),
        },
    )
    def store_audit_cosignature(body: CosignedCheckpoint, ctx: Context, audit: Log) -> CosignatureStored:
        audit.add_cosigned(body.note)
        opened = open_checkpoint(body.note, audit.verifiers)
        return CosignatureStored(size=opened.checkpoint.size, signers=list(opened.signers))
