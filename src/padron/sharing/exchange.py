"""A log both sides can check: the exchange log of a registry with each partner, its signed
checkpoints, and the partner's cosignatures.

The answering registry appends one entry to its log with a partner for every state of a
request that it tells the partner (pending, answered, denied), and every answer carries a
checkpoint of that log signed with the registry's gateway key (C2SP signed-note form, origin
``<registry>/exchange/<partner>``), the inclusion proof of the answer's own entry and, when the
partner said which size it last saw, the consistency proof from it (RFC 6962 / 9162 Merkle
tree, :mod:`padron.audit.merkle`). The partner recomputes the entry from the answer it holds,
checks that it is in the tree, that the tree only grew since the last checkpoint it kept, and
that no two checkpoints of one size differ (a **split view**: two versions of the log shown to
different people; it is recorded in the audit log and refused). It keeps the checkpoint
cosigned by itself and sends the cosignature back, so each side holds the other's signature on
the exchange volume: the answering side cannot later hide or inflate what it was asked, and the
asking side cannot deny what it asked.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from padron.audit.checkpoint import (
    Checkpoint,
    Signer,
    Verifier,
    add_cosignature,
    check_extends,
    new_checkpoint,
    open_checkpoint,
    sign,
)
from padron.audit.merkle import consistency_proof, inclusion_proof, leaf_hash, root, verify_inclusion
from padron.domain.access import AccessContext
from padron.domain.errors import ErrorCategory, PadronError
from padron.registry.service import Registry
from padron.registry.storage.models import ExchangeCheckpointRow, ExchangeEntryRow
from padron.sharing.keys import GatewayIdentity
from padron.sharing.signing import private_key_to_b64
from padron.sharing.store import partner_ref

OURS: Final = "ours"
THEIRS: Final = "theirs"


class ExchangeLogError(PadronError):
    code = "PAD-SHARE-019"
    category = ErrorCategory.CONFLICT
    summary = (
        "A partner's exchange log does not check: its checkpoint is unsigned or of another log, "
        "the answer is not in it, or it does not extend the checkpoint kept before."
    )


class SplitViewError(PadronError):
    code = "PAD-SHARE-020"
    category = ErrorCategory.CONFLICT
    summary = (
        "Split view: the partner signed two different checkpoints for one size of its exchange log "
        "(both are kept in the audit log as evidence)."
    )


def origin(registry: str, partner: str) -> str:
    return f"{registry}/exchange/{partner}"


def signer_of(me: GatewayIdentity) -> Signer:
    return Signer.from_base64(me.id, private_key_to_b64(me.key))


def verifier_of(name: str, public_key_b64: str) -> Verifier:
    return Verifier.from_base64(name, public_key_b64)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ExchangeLogError("a proof hash is not base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise ExchangeLogError("a proof hash is not base64 text") from None


def entry_of(answer: Mapping[str, Any]) -> bytes:
    """The exchange-log entry of an answer's state, as both sides compute it from the answer."""
    result = answer.get("result")
    result_sha = (
        hashlib.sha256(json.dumps(result, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        if result is not None
        else None
    )
    value = {
        "request": answer.get("request_id"),
        "request_sha256": answer.get("request_sha256"),
        "status": answer.get("status"),
        "rung": answer.get("rung"),
        "result_sha256": result_sha,
        "at": answer.get("answered_at") or answer.get("received_at"),
    }
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")


class ExchangeLog:
    """This registry's exchange logs with its partners (the answering side), and the partners'
    checkpoints it keeps (the asking side)."""

    def __init__(self, registry: Registry, me: GatewayIdentity) -> None:
        self.registry, self.me = registry, me

    # --- the answering side ----------------------------------------------------------------------

    def append(self, session: Session, partner: str, entry: bytes, at: datetime) -> int:
        """Append ``entry`` to the log with ``partner`` (the caller holds the partner's row lock)."""
        size = int(
            session.scalar(
                select(func.count())
                .select_from(ExchangeEntryRow)
                .where(ExchangeEntryRow.partner_id == partner)
            )
            or 0
        )
        session.add(ExchangeEntryRow(partner_id=partner, seq=size, entry=entry, leaf=leaf_hash(entry), at=at))
        session.flush()
        return size

    def _leaves(self, partner: str) -> list[bytes]:
        with self.registry.db.read_session() as session:
            return list(
                session.scalars(
                    select(ExchangeEntryRow.leaf)
                    .where(ExchangeEntryRow.partner_id == partner)
                    .order_by(ExchangeEntryRow.seq)
                )
            )

    def proof(self, partner: str, seq: int, known_size: int | None = None) -> dict[str, Any]:
        """The log block of an answer: a fresh signed checkpoint, the inclusion proof of entry
        ``seq`` and, from ``known_size`` (what the partner last kept), the consistency proof."""
        leaves = self._leaves(partner)
        checkpoint = new_checkpoint(origin(self.me.id, partner), leaves, datetime.now(UTC))
        block: dict[str, Any] = {
            "checkpoint": sign(checkpoint, signer_of(self.me)),
            "index": seq,
            "inclusion": [_b64(h) for h in inclusion_proof(seq, leaves)],
            "consistency_from": None,
            "consistency": [],
        }
        if known_size is not None and 0 < known_size <= len(leaves):
            block["consistency_from"] = known_size
            block["consistency"] = [_b64(h) for h in consistency_proof(known_size, leaves)]
        return block

    def keep_cosigned(self, partner: str, partner_key_b64: str, note: str, ctx: AccessContext) -> Checkpoint:
        """Keep a checkpoint of our log with ``partner`` that the partner cosigned: it must carry
        our signature and the partner's, and match our log at its size."""
        ours = signer_of(self.me).verifier()
        theirs = verifier_of(partner, partner_key_b64)
        try:
            opened = open_checkpoint(note, [ours, theirs])
        except PadronError as error:
            raise ExchangeLogError(f"the cosigned checkpoint does not verify: {error.message}") from None
        if set(opened.signers) != {ours.name, theirs.name} or ours.name == theirs.name:
            raise ExchangeLogError("the checkpoint must carry this registry's signature and the partner's")
        checkpoint = opened.checkpoint
        if checkpoint.origin != origin(self.me.id, partner):
            raise ExchangeLogError(
                f"the checkpoint is of log {checkpoint.origin}, not of ours with {partner}"
            )
        leaves = self._leaves(partner)
        if checkpoint.size > len(leaves) or root(leaves[: checkpoint.size]) != checkpoint.root:
            raise ExchangeLogError("the cosigned checkpoint does not match this registry's log")

        def work(session: Session) -> None:
            if session.get(ExchangeCheckpointRow, (partner, OURS, checkpoint.size)) is None:
                session.add(
                    ExchangeCheckpointRow(
                        partner_id=partner,
                        side=OURS,
                        size=checkpoint.size,
                        root=checkpoint.root,
                        note=opened.note.render(),
                        received_at=datetime.now(UTC),
                    )
                )
            self.registry.audit.record(
                session,
                ctx,
                "gateway.cosigned",
                subject=partner_ref(partner),
                details={"size": checkpoint.size, "root": _b64(checkpoint.root)},
            )

        self.registry.transact(work)
        return checkpoint

    # --- the asking side --------------------------------------------------------------------------

    def latest_theirs(self, partner: str) -> ExchangeCheckpointRow | None:
        with self.registry.db.read_session() as session:
            return session.scalar(
                select(ExchangeCheckpointRow)
                .where(ExchangeCheckpointRow.partner_id == partner, ExchangeCheckpointRow.side == THEIRS)
                .order_by(ExchangeCheckpointRow.size.desc())
                .limit(1)
            )

    def known_size(self, partner: str) -> int | None:
        latest = self.latest_theirs(partner)
        return latest.size if latest is not None else None


def check_block(
    log: ExchangeLog | None,
    partner: str,
    partner_key_b64: str,
    answer: Mapping[str, Any],
    ctx: AccessContext | None,
    *,
    me: GatewayIdentity,
    registry: Registry | None,
) -> str:
    """Check an answer's log block (inclusion always; consistency, split view and keeping the
    checkpoint when ``log`` keeps this registry's record); returns the cosigned checkpoint."""
    block = answer.get("log")
    if not isinstance(block, Mapping):
        raise ExchangeLogError("the answer carries no exchange-log checkpoint")
    theirs = verifier_of(partner, partner_key_b64)
    note = block.get("checkpoint")
    if not isinstance(note, str):
        raise ExchangeLogError("the answer's checkpoint is missing")
    try:
        opened = open_checkpoint(note, [theirs])
    except PadronError as error:
        raise ExchangeLogError(f"the partner's checkpoint does not verify: {error.message}") from None
    checkpoint = opened.checkpoint
    if checkpoint.origin != origin(partner, me.id):
        raise ExchangeLogError(f"the checkpoint is of log {checkpoint.origin}, not of {partner}'s with us")
    index = block.get("index")
    proof = [_unb64(h) for h in block.get("inclusion") or []]
    if not isinstance(index, int) or not verify_inclusion(
        index, checkpoint.size, leaf_hash(entry_of(answer)), proof, checkpoint.root
    ):
        raise ExchangeLogError("the answer is not in the partner's exchange log as its checkpoint states")
    cosigned = add_cosignature(note, signer_of(me), trusted=[theirs])
    if log is None or registry is None:
        return cosigned
    with registry.db.read_session() as session:
        same = session.get(ExchangeCheckpointRow, (partner, THEIRS, checkpoint.size))
        previous = session.scalar(
            select(ExchangeCheckpointRow)
            .where(ExchangeCheckpointRow.partner_id == partner, ExchangeCheckpointRow.side == THEIRS)
            .order_by(ExchangeCheckpointRow.size.desc())
            .limit(1)
        )
        same_root, same_note = (same.root, same.note) if same is not None else (None, None)
        prev = (previous.size, previous.root, previous.note) if previous is not None else None
    if same_root is not None and same_root != checkpoint.root:
        _record_split_view(registry, ctx, partner, same_note or "", note)
        raise SplitViewError(
            f"{partner} signed two different checkpoints for size {checkpoint.size} of its exchange log",
            partner=partner,
            size=checkpoint.size,
        )
    if prev is not None:
        old = open_checkpoint(prev[2], [theirs]).checkpoint
        if checkpoint.size < old.size:
            raise ExchangeLogError(
                f"{partner}'s exchange log shrank from {old.size} to {checkpoint.size} entries",
                partner=partner,
            )
        if block.get("consistency_from") == old.size:
            try:
                check_extends(old, checkpoint, [_unb64(h) for h in block.get("consistency") or []])
            except PadronError as error:
                _record_split_view(registry, ctx, partner, prev[2], note)
                raise SplitViewError(
                    f"{partner}'s exchange log does not extend the checkpoint kept before: {error.message}",
                    partner=partner,
                    size=checkpoint.size,
                ) from None
    if same_root is None:

        def keep(session: Session) -> None:
            if session.get(ExchangeCheckpointRow, (partner, THEIRS, checkpoint.size)) is None:
                session.add(
                    ExchangeCheckpointRow(
                        partner_id=partner,
                        side=THEIRS,
                        size=checkpoint.size,
                        root=checkpoint.root,
                        note=cosigned,
                        received_at=datetime.now(UTC),
                    )
                )

        registry.transact(keep)
    return cosigned


def _record_split_view(
    registry: Registry, ctx: AccessContext | None, partner: str, first: str, second: str
) -> None:
    from padron.domain.access import Purpose

    context = ctx or AccessContext.system(Purpose.PARTNER_REQUEST)

    def work(session: Session) -> None:
        registry.audit.record(
            session,
            context,
            "gateway.split-view",
            subject=partner_ref(partner),
            outcome="detected",
            details={"first": first, "second": second},
        )

    registry.transact(work)


@dataclass(frozen=True)
class LogStatus:
    partner: str
    #: our log with the partner: its size and the largest size the partner cosigned
    ours_size: int
    ours_cosigned: int | None
    #: the partner's log with us: the largest checkpoint we keep
    theirs_size: int | None
    split_views: int


def status(registry: Registry, partners: Sequence[str]) -> list[LogStatus]:
    from padron.registry.storage.models import AuditEntryRow

    out = []
    with registry.db.read_session() as session:
        for partner in partners:
            size = session.scalar(
                select(func.count())
                .select_from(ExchangeEntryRow)
                .where(ExchangeEntryRow.partner_id == partner)
            )
            cosigned = session.scalar(
                select(func.max(ExchangeCheckpointRow.size)).where(
                    ExchangeCheckpointRow.partner_id == partner, ExchangeCheckpointRow.side == OURS
                )
            )
            theirs = session.scalar(
                select(func.max(ExchangeCheckpointRow.size)).where(
                    ExchangeCheckpointRow.partner_id == partner, ExchangeCheckpointRow.side == THEIRS
                )
            )
            splits = session.scalar(
                select(func.count())
                .select_from(AuditEntryRow)
                .where(
                    AuditEntryRow.action == "gateway.split-view",
                    AuditEntryRow.subject == partner_ref(partner),
                )
            )
            out.append(LogStatus(partner, int(size or 0), cosigned, theirs, int(splits or 0)))
    return out


# --- reciprocity -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reciprocity:
    """What a partner asked of us and what we asked of it in a period, and at which rungs."""

    partner: str
    start: date
    end: date
    #: their requests to us: operation -> status -> count, and rung granted -> count
    asked_of_us: Mapping[str, Mapping[str, int]]
    granted_to_them: Mapping[str, int]
    #: our requests to them (from our audit log): status -> count, rung received -> count
    asked_by_us: Mapping[str, int]
    received_by_us: Mapping[str, int]
    #: our requests to them by operation: operation -> status -> count
    asked_by_us_by_operation: Mapping[str, Mapping[str, int]] = dataclasses.field(default_factory=dict)
    #: the customs exchange both ways: requests (they_asked, we_asked: status -> count), the
    #: inspections we pushed (queue status -> count) and the pushes they sent us (accepted,
    #: duplicates: inspections; refused: pushes)
    customs: Mapping[str, Mapping[str, int]] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "partner": self.partner,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "they_asked": {op: dict(v) for op, v in self.asked_of_us.items()},
            "rungs_we_granted": dict(self.granted_to_them),
            "we_asked": dict(self.asked_by_us),
            "rungs_we_received": dict(self.received_by_us),
            "we_asked_by_operation": {op: dict(v) for op, v in self.asked_by_us_by_operation.items()},
            "customs": {name: dict(v) for name, v in self.customs.items()},
        }


def reciprocity(registry: Registry, partner: str, start: date, end: date) -> Reciprocity:
    """The reciprocity report of ``partner`` for the UTC days ``start`` to ``end``."""
    from padron.audit.entry import AuditEntry
    from padron.registry.storage.models import AuditEntryRow, GatewayRequestRow

    asked: dict[str, dict[str, int]] = {}
    granted: dict[str, int] = {}
    ours: dict[str, int] = {}
    received: dict[str, int] = {}
    first = datetime.combine(start, datetime.min.time(), UTC)
    last = datetime.combine(end, datetime.max.time(), UTC)
    with registry.db.read_session() as session:
        for operation, state, rung in session.execute(
            select(GatewayRequestRow.operation, GatewayRequestRow.status, GatewayRequestRow.rung).where(
                GatewayRequestRow.partner_id == partner,
                GatewayRequestRow.day >= start,
                GatewayRequestRow.day <= end,
            )
        ):
            by_status = asked.setdefault(operation, {})
            by_status[state] = by_status.get(state, 0) + 1
            if state == "answered" and rung is not None:
                granted[str(rung)] = granted.get(str(rung), 0) + 1
        rows = session.scalars(
            select(AuditEntryRow.entry)
            .where(
                AuditEntryRow.action == "gateway.received",
                AuditEntryRow.subject == partner_ref(partner),
                AuditEntryRow.at >= first,
                AuditEntryRow.at <= last,
            )
            .order_by(AuditEntryRow.seq)
        )
        latest: dict[str, Mapping[str, Any]] = {}  # a request's last known state (fetches repeat it)
        for data in rows:
            details = AuditEntry.from_bytes(data).details or {}
            latest[str(details.get("request"))] = details
        by_operation: dict[str, dict[str, int]] = {}
        for details in latest.values():
            state = str(details.get("status"))
            ours[state] = ours.get(state, 0) + 1
            counts = by_operation.setdefault(str(details.get("operation") or "unknown"), {})
            counts[state] = counts.get(state, 0) + 1
            if state == "answered" and details.get("rung") is not None:
                key = str(details["rung"])
                received[key] = received.get(key, 0) + 1
        customs = {
            "they_asked": dict(asked.get("customs", {})),
            "we_asked": dict(by_operation.get("customs", {})),
            "we_pushed": _pushed(session, partner, first, last),
            "they_pushed": _pushes_received(session, partner, first, last),
        }
    return Reciprocity(partner, start, end, asked, granted, ours, received, by_operation, customs)


def _pushed(session: Session, partner: str, first: datetime, last: datetime) -> dict[str, int]:
    """Our inspections queued for ``partner`` whose push was decided (sent, refused, cancelled)
    or queued in the period, by status."""
    from padron.registry.storage.models import CustomsPushRow

    at = func.coalesce(CustomsPushRow.sent_at, CustomsPushRow.queued_at)
    out: dict[str, int] = {}
    for state, count in session.execute(
        select(CustomsPushRow.status, func.count())
        .where(CustomsPushRow.partner_id == partner, at >= first, at <= last)
        .group_by(CustomsPushRow.status)
    ):
        out[str(state)] = int(count)
    return out


def _pushes_received(session: Session, partner: str, first: datetime, last: datetime) -> dict[str, int]:
    """What ``partner`` pushed to us in the period: inspections accepted and duplicates, pushes refused."""
    from padron.audit.entry import AuditEntry
    from padron.registry.storage.models import AuditEntryRow

    out: dict[str, int] = {}
    for data in session.scalars(
        select(AuditEntryRow.entry).where(
            AuditEntryRow.action == "customs.push.received",
            AuditEntryRow.subject == partner_ref(partner),
            AuditEntryRow.at >= first,
            AuditEntryRow.at <= last,
        )
    ):
        entry = AuditEntry.from_bytes(data)
        details = entry.details or {}
        if entry.outcome == "refused":
            out["refused"] = out.get("refused", 0) + 1
            continue
        for name in ("accepted", "duplicates"):
            count = details.get(name)
            if isinstance(count, int) and count:
                out[name] = out.get(name, 0) + count
    return out
