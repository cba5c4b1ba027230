"""Pushing held and seized inspections to partner customs administrations, and receiving theirs.

**The sending side.** When one of our inspections is recorded (or imported) with the outcome
held or seized, it is queued -- in the same transaction -- for every partner whose customs
agreement in force says ``push: true`` (:meth:`padron.sharing.customs.Customs.record_many`).
:func:`send_pushes` (``padron customs push``, ``POST /v1/customs/pushes/send``) sends each
partner its queued inspections, at most :data:`MAX_PUSH_BATCH` a request, as a signed request
(RFC 9421, like every gateway request) to ``POST /v1/partner/customs/inspections``, with the
attributes the agreement in force *now* lists; an agreement that no longer pushes (suspended,
expired, amended) cancels what was queued under it. The partner answers with a signed receipt;
the queue keeps the receipt's id and digest, and ``customs.push`` in the audit log records what
was sent, to whom, under which agreement, and the receipt.

**The receiving side** (:func:`receive_push`). A partner's push is accepted only from a partner
with a customs agreement in force, after the nonce check (a replay is refused), and only if every
record passes the same checks as our own (all or nothing). Received inspections are stored
apart -- marked with the partner and its own number for them, a repeated push is recognised --
they are never answered to another partner nor pushed on. The receipt is an entry of our
exchange log with the partner (:mod:`padron.sharing.exchange`) and carries its checkpoint and
proofs, so the sender can check it and cosign it like any answer; ``customs.push.received``
(and ``customs.received`` per inspection) is in our audit log.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import httpx
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from padron.domain.access import AccessContext, Channel, Purpose, Role
from padron.domain.errors import PadronError
from padron.domain.jsontext import loads_strict
from padron.registry.service import Registry
from padron.registry.storage.models import (
    CustomsInspectionRow,
    CustomsPushRow,
    GatewayNonceRow,
    PartnerRow,
)
from padron.sharing.agreements import Operation, Partner
from padron.sharing.client import CUSTOMS_PUSH_PATH
from padron.sharing.customs import Customs, Inspection, check_inspection
from padron.sharing.exchange import entry_of
from padron.sharing.keys import GatewayIdentity
from padron.sharing.store import Sharing, partner_ref

PUSH_PATH: Final = CUSTOMS_PUSH_PATH
PUSH_OPERATION: Final = "customs-push"
#: inspections one push request carries at most
MAX_PUSH_BATCH: Final = 50
#: queue entries a list shows at most
MAX_LIST: Final = 500

#: how to reach a partner's gateway (tests: a TestClient of the partner's application)
Connect = Callable[[Partner], httpx.Client]


class QueueStatus:
    QUEUED = "queued"
    SENT = "sent"
    REFUSED = "refused"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class QueuedPush:
    id: int
    inspection: int
    partner: str
    agreement: str
    agreement_version: int
    status: str
    queued_at: datetime
    sent_at: datetime | None
    receipt_id: str | None
    reasons: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "inspection": self.inspection,
            "partner": self.partner,
            "agreement": self.agreement,
            "agreement_version": self.agreement_version,
            "status": self.status,
            "queued_at": self.queued_at.isoformat(),
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "receipt_id": self.receipt_id,
            "reasons": list(self.reasons),
        }


def _queued(row: CustomsPushRow) -> QueuedPush:
    return QueuedPush(
        row.id,
        row.inspection_id,
        row.partner_id,
        row.agreement_id,
        row.agreement_version,
        row.status,
        row.queued_at,
        row.sent_at,
        row.receipt_id,
        tuple(row.reasons),
    )


def queue(
    registry: Registry, *, status: str | None = None, partner: str | None = None, limit: int = MAX_LIST
) -> list[QueuedPush]:
    """The push queue, oldest first (of one status, of one partner)."""
    query = select(CustomsPushRow).order_by(CustomsPushRow.id)
    if status is not None:
        query = query.where(CustomsPushRow.status == status)
    if partner is not None:
        query = query.where(CustomsPushRow.partner_id == partner)
    with registry.db.read_session() as session:
        return [_queued(r) for r in session.scalars(query.limit(max(1, min(limit, MAX_LIST))))]


@dataclass(frozen=True)
class PushResult:
    """What one push request to a partner came to."""

    partner: str
    #: sent (the partner accepted them), refused (its receipt says why), cancelled (our agreement
    #: no longer pushes), failed (not reached, or its answer did not check: still queued)
    status: str
    inspections: tuple[int, ...]
    receipt_id: str | None = None
    reasons: tuple[str, ...] = ()
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "partner": self.partner,
            "status": self.status,
            "inspections": list(self.inspections),
            "receipt_id": self.receipt_id,
            "reasons": list(self.reasons),
            "error": self.error,
        }


def send_pushes(
    registry: Registry,
    me: GatewayIdentity,
    ctx: AccessContext,
    *,
    partner: str | None = None,
    connect: Connect | None = None,
    clock: Callable[[], datetime] | None = None,
) -> list[PushResult]:
    """Send every queued inspection (of ``partner``) to its partner, a batch at a time; a partner
    that cannot be reached (or whose receipt does not check) keeps its queue for the next run."""
    now = clock or (lambda: datetime.now(UTC))
    results: list[PushResult] = []
    stalled: set[str] = set()
    while True:  # every round takes entries out of the queue or stalls their partner
        waiting = [
            q
            for q in queue(registry, status=QueueStatus.QUEUED, partner=partner, limit=MAX_LIST)
            if q.partner not in stalled
        ]
        if not waiting:
            return results
        for partner_id in sorted({q.partner for q in waiting}):
            entries = [q for q in waiting if q.partner == partner_id]
            done = _send_to(registry, me, ctx, partner_id, entries, connect, now)
            results.extend(done)
            if any(r.status == "failed" for r in done):
                stalled.add(partner_id)


def _send_to(
    registry: Registry,
    me: GatewayIdentity,
    ctx: AccessContext,
    partner_id: str,
    entries: Sequence[QueuedPush],
    connect: Connect | None,
    now: Callable[[], datetime],
) -> list[PushResult]:
    from padron.sharing.client import PeerClient

    sharing = Sharing(registry)
    terms, stored = None, None
    for candidate, _ in sharing.in_force(partner_id, now().date()):
        customs_terms = candidate.agreement.operations.get(Operation.CUSTOMS)
        if customs_terms is not None and customs_terms.push:
            terms, stored = customs_terms, candidate
            break
    if terms is None or stored is None:
        return [_cancel(registry, ctx, partner_id, entries, now())]
    customs = Customs(registry)
    target = sharing.partner(partner_id)
    results: list[PushResult] = []
    client = PeerClient(me, target, http=connect(target) if connect else None, registry=registry)
    try:
        for start in range(0, len(entries), MAX_PUSH_BATCH):
            batch = entries[start : start + MAX_PUSH_BATCH]
            records = [customs.inspection(q.inspection) for q in batch]
            payload = {
                "agreement": {"id": stored.agreement.id, "version": stored.agreement.version},
                "inspections": [{"id": r.id, **r.attributes(terms.attributes)} for r in records],
            }
            try:
                received = client.push_customs(payload, ctx)
            except PadronError as error:  # not reached, refused, or its receipt does not check
                results.append(_failed(registry, ctx, partner_id, batch, error))
                break
            results.append(
                _receipt(registry, ctx, partner_id, batch, received.answer, received.sha256, now())
            )
    finally:
        client.close()
    return results


def _audit(
    registry: Registry, session: Session, ctx: AccessContext, partner: str, outcome: str, **details: Any
) -> None:
    registry.audit.record(
        session, ctx, "customs.push", subject=partner_ref(partner), outcome=outcome, details=details
    )


def _mark(session: Session, entries: Sequence[QueuedPush], **values: Any) -> None:
    for entry in entries:
        row = session.get(CustomsPushRow, entry.id, with_for_update=True)
        if row is not None and row.status == QueueStatus.QUEUED:
            for name, value in values.items():
                setattr(row, name, value)


def _cancel(
    registry: Registry, ctx: AccessContext, partner: str, entries: Sequence[QueuedPush], at: datetime
) -> PushResult:
    reasons = ["agreement-not-pushing"]

    def work(session: Session) -> None:
        _mark(session, entries, status=QueueStatus.CANCELLED, sent_at=at, reasons=reasons)
        _audit(
            registry,
            session,
            ctx,
            partner,
            QueueStatus.CANCELLED,
            inspections=[e.inspection for e in entries],
            reasons=reasons,
        )

    registry.transact(work)
    return PushResult(
        partner, QueueStatus.CANCELLED, tuple(e.inspection for e in entries), reasons=tuple(reasons)
    )


def _failed(
    registry: Registry, ctx: AccessContext, partner: str, entries: Sequence[QueuedPush], error: PadronError
) -> PushResult:
    def work(session: Session) -> None:
        _audit(
            registry,
            session,
            ctx,
            partner,
            "failed",
            inspections=[e.inspection for e in entries],
            error=error.code,
            partner_code=error.details.get("partner_code"),
        )

    registry.transact(work)
    return PushResult(
        partner, "failed", tuple(e.inspection for e in entries), error=f"{error.code}: {error.message}"
    )


def _receipt(
    registry: Registry,
    ctx: AccessContext,
    partner: str,
    entries: Sequence[QueuedPush],
    receipt: Mapping[str, Any],
    sha256: str,
    at: datetime,
) -> PushResult:
    accepted = receipt.get("status") == "accepted"
    status = QueueStatus.SENT if accepted else QueueStatus.REFUSED
    reasons = [str(r)[:80] for r in receipt.get("reasons") or []][:20]
    receipt_id = str(receipt.get("request_id"))[:36]

    def work(session: Session) -> None:
        _mark(
            session,
            entries,
            status=status,
            sent_at=at,
            receipt_id=receipt_id,
            receipt_sha256=sha256,
            reasons=reasons,
        )
        _audit(
            registry,
            session,
            ctx,
            partner,
            status,
            inspections=[e.inspection for e in entries],
            agreement={"id": entries[0].agreement, "version": entries[0].agreement_version},
            receipt=receipt_id,
            receipt_sha256=sha256,
            reasons=reasons,
        )

    registry.transact(work)
    return PushResult(partner, status, tuple(e.inspection for e in entries), receipt_id, tuple(reasons))


# --- the receiving side ---------------------------------------------------------------------------


class PushRequest:
    """A partner's push, parsed (GatewayRequestError naming the field otherwise)."""

    def __init__(self, body: bytes) -> None:
        from padron.sharing.gateway import GatewayRequestError

        def bad(message: str, field: str) -> GatewayRequestError:
            return GatewayRequestError(message, field=field)

        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise bad("the push is not UTF-8 JSON", "body") from None
        value = loads_strict(text, what="the customs push", max_depth=8, error=GatewayRequestError)
        if not isinstance(value, dict) or set(value) - {"inspections", "agreement", "log_size"}:
            raise bad('a push is {"inspections": [...], "agreement": {"id", "version"}, "log_size"}', "body")
        items = value.get("inspections")
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_PUSH_BATCH:
            raise bad(f"inspections must be a list of 1-{MAX_PUSH_BATCH} records", "inspections")
        agreement = value.get("agreement")
        if agreement is not None and (
            not isinstance(agreement, dict)
            or set(agreement) != {"id", "version"}
            or not isinstance(agreement["id"], str)
            or len(agreement["id"]) > 63
            or isinstance(agreement["version"], bool)
            or not isinstance(agreement["version"], int)
        ):
            raise bad('agreement must be {"id": "...", "version": N}', "agreement")
        size = value.get("log_size")
        if size is not None and (
            isinstance(size, bool) or not isinstance(size, int) or not 0 <= size < 2**31
        ):
            raise bad("log_size must be an integer", "log_size")
        self.items: list[Any] = items
        self.agreement: Mapping[str, Any] | None = agreement
        self.log_size: int | None = size


def _check_items(items: Sequence[Any]) -> tuple[list[tuple[int, Inspection]], list[dict[str, Any]]]:
    good: list[tuple[int, Inspection]] = []
    errors: list[dict[str, Any]] = []
    for row, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            errors.append(
                {"row": row, "field": "inspection", "code": "PAD-SHARE-022", "message": "not an object"}
            )
            continue
        source_id = item.get("id")
        if isinstance(source_id, bool) or not isinstance(source_id, int) or not 0 < source_id < 2**31:
            errors.append(
                {
                    "row": row,
                    "field": "id",
                    "code": "PAD-SHARE-022",
                    "message": "id must be a positive integer",
                }
            )
            continue
        checked, problems = check_inspection({k: v for k, v in item.items() if k != "id"})
        if problems:
            errors.extend(
                {
                    "row": row,
                    "id": source_id,
                    "field": str(p.details.get("field")),
                    "code": p.code,
                    "message": p.message,
                }
                for p in problems[:10]
            )
            continue
        good.append((source_id, Inspection(**checked)))
    return good, errors


def receive_push(gateway: Any, signed: Any, body: bytes) -> dict[str, Any]:
    """Check and store a partner's push (its signature verified by the caller); the receipt,
    with its exchange-log block, for the caller to sign. ``gateway`` is the
    :class:`padron.sharing.gateway.Gateway` of this registry."""
    from padron.sharing.gateway import ReplayError, UnknownGatewayRequestError

    push = PushRequest(body)
    registry: Registry = gateway.registry
    partner: str = signed.key_id
    now: datetime = gateway._clock()
    digest = hashlib.sha256(body).hexdigest()
    receipt_id = str(uuid.uuid4())
    in_force = [
        stored
        for stored, _ in gateway.sharing.in_force(partner, now.date())
        if Operation.CUSTOMS in stored.agreement.operations
    ]
    reasons: list[str] = []
    good: list[tuple[int, Inspection]] = []
    errors: list[dict[str, Any]] = []
    if not in_force:
        reasons.append("no-customs-agreement-in-force")
    else:
        good, errors = _check_items(push.items)
        if errors:
            reasons.append("invalid-records")
    agreement = in_force[0].agreement if in_force else None
    ctx = AccessContext(
        actor=f"partner:{partner}",
        role=Role.PARTNER,
        channel=Channel.PARTNER,
        purpose=Purpose.CUSTOMS,
        legal_basis=f"{agreement.legal_reference} ({agreement.id} v{agreement.version})"
        if agreement
        else None,
        partner=partner,
    )

    def work(session: Session) -> tuple[dict[str, Any], int]:
        if session.get(PartnerRow, partner, with_for_update=True) is None:  # one at a time per partner
            raise UnknownGatewayRequestError(f"no partner {partner!r}", partner=partner)
        if session.get(GatewayNonceRow, (partner, signed.nonce)) is not None:
            raise ReplayError(
                f"the nonce of this push was used before by {partner}: replay refused", partner=partner
            )
        session.execute(delete(GatewayNonceRow).where(GatewayNonceRow.expires_at < now))
        session.add(GatewayNonceRow(partner_id=partner, nonce=signed.nonce, expires_at=signed.expires))
        accepted: list[int] = []
        duplicates: list[int] = []
        for source_id, inspection in good if not reasons else []:
            known = session.scalar(
                select(CustomsInspectionRow.id).where(
                    CustomsInspectionRow.source_partner == partner,
                    CustomsInspectionRow.source_id == source_id,
                )
            )
            if known is not None:
                duplicates.append(source_id)
                continue
            row = Customs._store(session, inspection, ctx.actor, now, source=partner, source_id=source_id)
            registry.audit.record(
                session,
                ctx,
                "customs.received",
                subject=f"cargo:{inspection.reference}",
                outcome=inspection.outcome.value,
                details={
                    "inspection": row.id,
                    "partner": partner,
                    "source_id": source_id,
                    "receipt": receipt_id,
                },
            )
            accepted.append(source_id)
        receipt: dict[str, Any] = {
            "request_id": receipt_id,
            "request_sha256": digest,
            "registry": gateway.me.id,
            "partner": partner,
            "operation": PUSH_OPERATION,
            "status": "refused" if reasons else "accepted",
            "rung": None,
            "reasons": reasons,
            "agreement": {"id": agreement.id, "version": agreement.version} if agreement else None,
            "received_at": now.isoformat(),
            "answered_at": now.isoformat(),
            "result": {"accepted": accepted, "duplicates": duplicates, "errors": errors[:200]},
        }
        session.flush()
        seq = gateway.log.append(session, partner, entry_of(receipt), now)
        registry.audit.record(
            session,
            ctx,
            "customs.push.received",
            subject=partner_ref(partner),
            outcome=receipt["status"],
            details={
                "receipt": receipt_id,
                "request_sha256": digest,
                "accepted": len(accepted),
                "duplicates": len(duplicates),
                "errors": len(errors),
                "reasons": reasons,
                "their_agreement": dict(push.agreement) if push.agreement else None,
            },
        )
        return receipt, seq

    receipt, seq = registry.transact(work)
    receipt["log"] = gateway.log.proof(partner, seq, push.log_size)
    return receipt


def receipt_body(receipt: Mapping[str, Any]) -> bytes:
    return json.dumps(receipt, sort_keys=True, separators=(",", ":")).encode("utf-8")
