"""Anti-fishing: patterns in a partner's requests that no single request shows.

The agreement caps the candidates and a 1:N search names only candidates above a high threshold
(:mod:`padron.sharing.gateway`); the probe is deleted after the search. Beyond one request:

- **repeated probe**: the same probe sent :data:`MAX_REPEATS` times within
  :data:`REPEAT_WINDOW` (recognised by a keyed digest, not by keeping it) is refused
  (``repeated-probe``) and flagged;
- **repeated subject**: one person named to the partner :data:`SUBJECT_MAX` times within
  :data:`SUBJECT_WINDOW` (fishing around one resident) is flagged; the answer still goes;
- **enumeration**: at least :data:`ENUMERATION_MIN_REQUESTS` answered requests of one
  operation within :data:`ENUMERATION_WINDOW` with at most :data:`ENUMERATION_MAX_HIT_RATE`
  of them hits (probing the registry for whoever is in it) is flagged, and the partner's
  operation is **throttled** (``enumeration-throttled``) until an officer clears the flag.

Flags are for officers (``padron gateway flags``, ``GET /v1/gateway/flags``); raising and
clearing one is recorded in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from padron.domain.access import AccessContext
from padron.domain.errors import ErrorCategory, PadronError
from padron.domain.text import require_actor_reason
from padron.registry.audit import person_ref
from padron.registry.service import Registry
from padron.registry.storage.models import AuditEntryRow, GatewayFlagRow, GatewayRequestRow
from padron.sharing.store import partner_ref

REPEAT_WINDOW: Final = timedelta(hours=24)
#: a probe sent this many times before within the window is refused
MAX_REPEATS: Final = 2
SUBJECT_WINDOW: Final = timedelta(hours=24)
SUBJECT_MAX: Final = 5
ENUMERATION_WINDOW: Final = timedelta(hours=1)
ENUMERATION_MIN_REQUESTS: Final = 20
ENUMERATION_MAX_HIT_RATE: Final = 0.05

REPEATED_PROBE: Final = "repeated-probe"
REPEATED_SUBJECT: Final = "repeated-subject"
ENUMERATION: Final = "enumeration"
THROTTLED: Final = "enumeration-throttled"


class UnknownFlagError(PadronError):
    code = "PAD-SHARE-021"
    category = ErrorCategory.NOT_FOUND
    summary = "No open anti-fishing flag with this number."


@dataclass(frozen=True)
class Flag:
    id: int
    partner: str
    operation: str
    kind: str
    request_id: str | None
    details: dict[str, Any]
    at: datetime
    cleared_at: datetime | None
    cleared_by: str | None
    clear_reason: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "partner": self.partner,
            "operation": self.operation,
            "kind": self.kind,
            "request_id": self.request_id,
            "details": dict(self.details),
            "at": self.at.isoformat(),
            "cleared_at": self.cleared_at.isoformat() if self.cleared_at else None,
            "cleared_by": self.cleared_by,
            "clear_reason": self.clear_reason,
        }


def _flag(row: GatewayFlagRow) -> Flag:
    return Flag(
        row.id,
        row.partner_id,
        row.operation,
        row.kind,
        row.request_id,
        dict(row.details),
        row.at,
        row.cleared_at,
        row.cleared_by,
        row.clear_reason,
    )


def _raise_flag(
    registry: Registry,
    session: Session,
    ctx: AccessContext,
    partner: str,
    operation: str,
    kind: str,
    request_id: str | None,
    details: dict[str, Any],
    now: datetime,
) -> None:
    session.add(
        GatewayFlagRow(
            partner_id=partner, operation=operation, kind=kind, request_id=request_id, details=details, at=now
        )
    )
    registry.audit.record(
        session,
        ctx,
        "gateway.flag",
        subject=partner_ref(partner),
        outcome=kind,
        details={"operation": operation, "request": request_id, **details},
    )


def refusal(
    session: Session, partner: str, operation: str, probe_digest: str | None, now: datetime
) -> tuple[str, dict[str, Any]] | None:
    """Why a new request must be refused before it is decided (the reason and the flag's
    details), or None."""
    throttled = session.scalar(
        select(func.count())
        .select_from(GatewayFlagRow)
        .where(
            GatewayFlagRow.partner_id == partner,
            GatewayFlagRow.operation == operation,
            GatewayFlagRow.kind == ENUMERATION,
            GatewayFlagRow.cleared_at.is_(None),
        )
    )
    if throttled:
        return THROTTLED, {}
    if probe_digest is not None:
        repeats = int(
            session.scalar(
                select(func.count())
                .select_from(GatewayRequestRow)
                .where(
                    GatewayRequestRow.partner_id == partner,
                    GatewayRequestRow.probe_digest == probe_digest,
                    GatewayRequestRow.received_at >= now - REPEAT_WINDOW,
                )
            )
            or 0
        )
        if repeats >= MAX_REPEATS:
            return REPEATED_PROBE, {
                "times_before": repeats,
                "window_hours": int(REPEAT_WINDOW.total_seconds() // 3600),
            }
    return None


def record_refusal(
    registry: Registry, session: Session, ctx: AccessContext, partner: str, operation: str,
    reason: str, details: dict[str, Any], request_id: str, now: datetime,
) -> None:  # fmt: skip
    if reason == REPEATED_PROBE:
        _raise_flag(registry, session, ctx, partner, operation, REPEATED_PROBE, request_id, details, now)


def after_answer(
    registry: Registry,
    session: Session,
    ctx: AccessContext,
    partner: str,
    operation: str,
    request_id: str,
    persons: list[int],
    now: datetime,
) -> None:
    """Flag the patterns an answer completes: one person named again and again, an enumeration."""
    for person in persons:
        named = int(
            session.scalar(
                select(func.count())
                .select_from(AuditEntryRow)
                .where(
                    AuditEntryRow.partner == partner,
                    AuditEntryRow.subject == person_ref(person),
                    AuditEntryRow.action.like("gateway.%"),
                    AuditEntryRow.at >= now - SUBJECT_WINDOW,
                )
            )
            or 0
        )
        if named >= SUBJECT_MAX:
            _raise_flag(
                registry, session, ctx, partner, operation, REPEATED_SUBJECT, request_id,
                {"person": person_ref(person), "times": named}, now,
            )  # fmt: skip
    recent = (
        select(func.count())
        .select_from(GatewayRequestRow)
        .where(
            GatewayRequestRow.partner_id == partner,
            GatewayRequestRow.operation == operation,
            GatewayRequestRow.status == "answered",
            GatewayRequestRow.received_at >= now - ENUMERATION_WINDOW,
        )
    )
    answered = int(session.scalar(recent) or 0)
    hits = int(session.scalar(recent.where(GatewayRequestRow.hit.is_(True))) or 0)
    if answered >= ENUMERATION_MIN_REQUESTS and hits <= ENUMERATION_MAX_HIT_RATE * answered:
        open_flag = session.scalar(
            select(func.count())
            .select_from(GatewayFlagRow)
            .where(
                GatewayFlagRow.partner_id == partner,
                GatewayFlagRow.operation == operation,
                GatewayFlagRow.kind == ENUMERATION,
                GatewayFlagRow.cleared_at.is_(None),
            )
        )
        if not open_flag:
            window = int(ENUMERATION_WINDOW.total_seconds() // 60)
            details = {"answered": answered, "hits": hits, "window_minutes": window}
            _raise_flag(registry, session, ctx, partner, operation, ENUMERATION, request_id, details, now)


def flags(registry: Registry, *, open_only: bool = True) -> list[Flag]:
    query = select(GatewayFlagRow).order_by(GatewayFlagRow.id.desc()).limit(500)
    if open_only:
        query = query.where(GatewayFlagRow.cleared_at.is_(None))
    with registry.db.read_session() as session:
        return [_flag(r) for r in session.scalars(query)]


def clear(registry: Registry, flag_id: int, ctx: AccessContext, *, reason: str, now: datetime) -> Flag:
    """An officer clears a flag (an enumeration throttle is lifted)."""
    _, reason = require_actor_reason(ctx.actor, reason)

    def work(session: Session) -> Flag:
        row = session.get(GatewayFlagRow, flag_id)
        if row is None or row.cleared_at is not None:
            raise UnknownFlagError(f"no open flag {flag_id}", flag=flag_id)
        row.cleared_at, row.cleared_by, row.clear_reason = now, ctx.actor, reason
        registry.audit.record(
            session,
            ctx,
            "gateway.flag-clear",
            subject=partner_ref(row.partner_id),
            outcome=row.kind,
            details={"flag": flag_id, "reason": reason},
        )
        return _flag(row)

    return registry.transact(work)
