"""The audit explorer: entries filtered by person, actor, partner, purpose and date; the log's
verification and its latest checkpoints (its own signature and the authorities' cosignatures);
the resident's view of who looked at a record, when and why. Every query goes through
:meth:`padron.registry.audit.AuditLog.query`, so it is itself recorded (``audit.read``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Final

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import Response

from padron.api.problems import RequestFieldError
from padron.api.security import ConsoleCall, console_authenticated
from padron.api.state import services
from padron.audit.checkpoint import open_checkpoint
from padron.domain.access import Purpose
from padron.domain.errors import PadronError
from padron.registry.audit import AuditLog, person_ref
from padron.web.pages import render

Console = Annotated[ConsoleCall, Depends(console_authenticated)]
Filter = Annotated[str | None, Query(max_length=200)]

#: the entries one page shows, and the checkpoints
PAGE: Final = 200
CHECKPOINTS: Final = 5


def _day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise RequestFieldError(
            f"{field} must be a date YYYY-MM-DD, not {value[:20]!r}", fields=[field]
        ) from None


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def checkpoints(audit: AuditLog) -> list[dict[str, Any]]:
    """The latest checkpoints, newest first: size, time, who signed (the log itself, and the
    authorities whose cosignatures verified)."""
    own = audit.signer.name if audit.signer is not None else audit.origin
    out: list[dict[str, Any]] = []
    for note in reversed(audit.notes()[-CHECKPOINTS:]):
        try:
            opened = open_checkpoint(note, audit.verifiers)
        except PadronError as error:
            out.append({"size": None, "time": None, "signers": [], "cosigned": False, "error": error.code})
            continue
        signers = list(opened.signers)
        lines = sum(1 for line in note.splitlines() if line.startswith("\u2014 "))
        out.append(
            {
                "size": opened.checkpoint.size,
                "time": opened.checkpoint.time,
                "signers": signers,
                "cosigned": any(s != own for s in signers),
                "unverified": max(0, lines - len(signers)),
                "error": None,
            }
        )
    return out


def add_routes(app: FastAPI) -> None:
    router = app.router

    @router.get("/console/audit", include_in_schema=False)
    def console_audit(
        request: Request,
        call: Console,
        curp: Filter = None,
        actor: Filter = None,
        partner: Filter = None,
        purpose: Filter = None,
        since: Filter = None,
        until: Filter = None,
    ) -> Response:
        svc = services(request)
        audit = svc.audit
        filters = {
            "curp": curp,
            "actor": actor,
            "partner": partner,
            "purpose": purpose,
            "since": since,
            "until": until,
        }
        filters = {k: (v.strip() or None) if v is not None else None for k, v in filters.items()}
        if filters["purpose"] is not None and filters["purpose"] not in {p.value for p in Purpose}:
            raise RequestFieldError(f"unknown purpose {filters['purpose']!r}", fields=["purpose"])
        first, last = _day(filters["since"], "since"), _day(filters["until"], "until")
        subject = person_ref(svc.registry.get(filters["curp"], call.ctx).id) if filters["curp"] else None
        entries = audit.query(
            call.ctx,
            subject=subject,
            actor=filters["actor"],
            partner=filters["partner"],
            purpose=filters["purpose"],
            since=_midnight(first) if first else None,
            until=_midnight(last) + timedelta(days=1) if last else None,
            limit=PAGE,
        )
        report = audit.verify()
        return render(
            request,
            "audit.html",
            call,
            filters=filters,
            purposes=[p.value for p in Purpose],
            entries=entries,
            report=report,
            checkpoints=checkpoints(audit),
        )

    @router.get("/console/audit/resident", include_in_schema=False)
    def console_audit_resident(request: Request, call: Console, curp: Filter = None) -> Response:
        svc = services(request)
        person = svc.registry.get(curp.strip(), call.ctx) if curp and curp.strip() else None
        accesses = []
        if person is not None:
            found = svc.audit.query(call.ctx, subject=person_ref(person.id), limit=1000)
            accesses = list(reversed(found))
        return render(request, "audit_resident.html", call, person=person, accesses=accesses, curp=curp or "")
