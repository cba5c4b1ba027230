"""The registry's side of the audit log: every use case appends its entry here, in its own
transaction, so an access is recorded exactly when what it did is committed.

Entries are the canonical bytes of :class:`padron.audit.entry.AuditEntry`, numbered from 0 and
linked to their predecessor (``seq``, ``prev``); appends are serialized (SQLite: the write
transaction; PostgreSQL: an advisory lock held to commit) so that the numbering has no gaps and
no two entries claim the same place. The columns beside the bytes exist to filter queries; what
is shown and verified is always the bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from padron.audit.checkpoint import (
    Checkpoint,
    CheckpointPolicy,
    Signer,
    Verifier,
    new_checkpoint,
    open_checkpoint,
    parse_note,
    sign,
)
from padron.audit.entry import AuditEntry, link_after
from padron.audit.errors import MalformedNoteError
from padron.audit.merkle import leaf_hashes
from padron.audit.verify import InclusionReceipt, LogReport, prove, verify_log
from padron.domain.access import AccessContext
from padron.domain.errors import ConfigurationError, ErrorCategory, PadronError
from padron.registry.storage.models import AuditCheckpointRow, AuditEntryRow

if TYPE_CHECKING:
    from padron.registry.service import Registry

#: key of the PostgreSQL advisory lock that serializes audit appends (held until commit)
AUDIT_LOCK_KEY = 7_201_127


class AuditKeyMissingError(ConfigurationError):
    code = "PAD-AUDIT-101"
    summary = "No signing key for the audit log's checkpoints (PADRON_AUDIT_KEY or the audit key file)."


class AuditCheckpointUnknownError(PadronError):
    code = "PAD-AUDIT-102"
    category = ErrorCategory.NOT_FOUND
    summary = "A cosigned checkpoint names a size and root this log never signed."


class AuditEntryUnknownError(PadronError):
    code = "PAD-AUDIT-104"
    category = ErrorCategory.NOT_FOUND
    summary = "The audit log has no entry at this index (seq) yet."


class AuditCosignatureDroppedError(PadronError):
    code = "PAD-AUDIT-105"
    category = ErrorCategory.CONFLICT
    summary = (
        "A cosigned checkpoint leaves out a signature the kept checkpoint carries; a cosignature "
        "adds signature lines, it never removes one."
    )


def _lock_appends(session: Session) -> None:
    """On PostgreSQL, wait for (and hold until commit) the lock that serializes appends and
    checkpoints; on SQLite the write transaction (BEGIN IMMEDIATE) already does."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})


def _note_text(note: str) -> str | None:
    """The signed text of a stored note (None if it no longer parses)."""
    try:
        return parse_note(note).text
    except MalformedNoteError:
        return None


#: the detail of an entry under a lawful embargo: the date (ISO 8601) from which the person's
#: access history shows it (until then it is only counted)
EMBARGO_DETAIL = "embargo_until"


def person_ref(person_id: int) -> str:
    """How an entry names whose record it touched (an id, not a name or CURP: the entry stays
    meaningful after a correction re-issues the CURP, and carries no demographic data)."""
    return f"person:{person_id}"


def attempt_ref(attempt_id: int) -> str:
    return f"attempt:{attempt_id}"


def _with_embargo(details: Mapping[str, Any] | None, ctx: AccessContext) -> dict[str, Any]:
    """The entry's details, with the context's embargo date (``embargo_until``) where it has one."""
    out = dict(details or {})
    if ctx.embargo_until is not None:
        out[EMBARGO_DETAIL] = ctx.embargo_until.isoformat()
    return out


class AuditTrail:
    """Appends entries to the log inside the caller's transaction."""

    def __init__(self, clock: Any = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))

    def record(
        self,
        session: Session,
        ctx: AccessContext,
        action: str,
        *,
        subject: str | None = None,
        outcome: str = "ok",
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        _lock_appends(session)
        last = session.scalar(select(AuditEntryRow.entry).order_by(AuditEntryRow.seq.desc()).limit(1))
        link = link_after(last)
        entry = AuditEntry(
            seq=link.seq,
            prev=link.prev,
            at=self._clock(),
            actor=ctx.actor,
            role=ctx.role.value,
            purpose=ctx.purpose.value,
            channel=ctx.channel.value,
            legal_basis=ctx.legal_basis,
            case_ref=ctx.case_ref,
            partner=ctx.partner,
            action=action,
            subject=subject,
            outcome=outcome,
            details=_with_embargo(details, ctx),
        )
        session.add(
            AuditEntryRow(
                seq=entry.seq,
                at=entry.at,
                actor=entry.actor,
                role=entry.role,
                purpose=entry.purpose,
                channel=entry.channel,
                partner=entry.partner,
                action=entry.action,
                subject=entry.subject,
                outcome=entry.outcome,
                entry=entry.to_bytes(),
            )
        )
        session.flush()
        return entry


class AuditLog:
    """The log as a whole: signed checkpoints, verification, queries (themselves audited).

    ``signer`` is the log's Ed25519 key (named like ``origin``); ``verifiers`` the public keys a
    checkpoint may be signed with -- the log's own and those of authorities that cosign.
    """

    def __init__(
        self,
        registry: Registry,
        *,
        origin: str,
        signer: Signer | None = None,
        verifiers: Sequence[Verifier] = (),
        clock: Any = None,
    ) -> None:
        self.registry = registry
        self.origin = origin
        self.signer = signer
        known = list(verifiers)
        if signer is not None and signer.verifier() not in known:
            known.insert(0, signer.verifier())
        self.verifiers = known
        self._clock = clock or (lambda: datetime.now(UTC))

    def _stored(self, session: Session) -> list[bytes]:
        return list(session.scalars(select(AuditEntryRow.entry).order_by(AuditEntryRow.seq)))

    def _notes(self, session: Session) -> list[str]:
        """The signed notes, oldest first. Read them before the entries: on PostgreSQL each
        statement sees what was committed when it began, and entries are only appended, so the
        entries read afterwards include every entry these checkpoints signed."""
        return list(session.scalars(select(AuditCheckpointRow.note).order_by(AuditCheckpointRow.id)))

    def _latest(self, session: Session) -> Checkpoint | None:
        """The checkpoint signed last (as stored; its note is not verified here)."""
        row = session.scalar(select(AuditCheckpointRow).order_by(AuditCheckpointRow.id.desc()).limit(1))
        return None if row is None else Checkpoint(self.origin, row.size, row.root, row.at)

    def _size(self, session: Session) -> int:
        """How many entries the log holds (seq has no gaps: the last seq + 1, read off its index)."""
        last = session.scalar(select(func.max(AuditEntryRow.seq)))
        return 0 if last is None else int(last) + 1

    def _signer(self) -> Signer:
        if self.signer is None:
            raise AuditKeyMissingError("no audit signing key: set PADRON_AUDIT_KEY (or create the key file)")
        return self.signer

    def _sign(self, session: Session, signer: Signer, at: datetime) -> str:
        """Sign the stored log at ``at`` (never dated before the checkpoint signed last, so the
        checkpoints stay in time order when workers' clocks differ) and keep the note."""
        latest = self._latest(session)
        if latest is not None and at < latest.time:
            at = latest.time
        hashes = leaf_hashes(self._stored(session))
        checkpoint = new_checkpoint(self.origin, hashes, at)
        note = sign(checkpoint, signer)
        session.add(
            AuditCheckpointRow(size=checkpoint.size, root=checkpoint.root, at=checkpoint.time, note=note)
        )
        return note

    def checkpoint(self) -> str:
        """Sign the log as it is now (size, Merkle root, time) and keep the signed note."""
        signer = self._signer()

        def work(session: Session) -> str:
            _lock_appends(session)  # no entry slips in meanwhile
            return self._sign(session, signer, self._clock())

        return self.registry.transact(work)

    def checkpoint_if_due(self, policy: CheckpointPolicy, now: datetime) -> str | None:
        """Sign a checkpoint (dated ``now``) if ``policy`` says one is due at ``now``: the signed
        note, or None when none is due.

        Safe when several processes run it at once (every worker of a server does): the check
        is made again inside the transaction that signs, after taking the lock appends take
        (PostgreSQL: the advisory lock; SQLite: the write transaction), so a checkpoint another
        process signed meanwhile is seen and not signed twice. The first check only reads, so
        a log with nothing due takes no lock."""
        signer = self._signer()
        with self.registry.db.read_session() as session:
            if not policy.due(self._latest(session), self._size(session), now):
                return None

        def work(session: Session) -> str | None:
            _lock_appends(session)
            if not policy.due(self._latest(session), self._size(session), now):
                return None
            return self._sign(session, signer, now)

        return self.registry.transact(work)

    def notes(self) -> list[str]:
        """Every signed checkpoint, oldest first (what an outside authority keeps and cosigns)."""
        with self.registry.db.read_session() as session:
            return self._notes(session)

    def add_cosigned(self, note: str) -> None:
        """Store an authority's cosignature: ``note`` is a kept checkpoint with more signatures
        (every signature line of the kept one stays; AuditCosignatureDroppedError otherwise)."""
        opened = open_checkpoint(note, self.verifiers)
        size, root = opened.checkpoint.size, opened.checkpoint.root

        def work(session: Session) -> None:
            rows = session.scalars(
                select(AuditCheckpointRow)
                .where(AuditCheckpointRow.size == size)
                .where(AuditCheckpointRow.root == root)
                .order_by(AuditCheckpointRow.id)
            )
            row = next((r for r in rows if _note_text(r.note) == opened.note.text), None)
            if row is None:
                raise AuditCheckpointUnknownError(
                    f"no checkpoint of {size} entries with this root and time was signed here", size=size
                )
            kept = parse_note(row.note).signatures
            dropped = sorted({s.name for s in kept if s not in opened.note.signatures})
            if dropped:
                raise AuditCosignatureDroppedError(
                    f"the note leaves out the signature(s) of {', '.join(dropped)} that the kept "
                    f"checkpoint of {size} entries carries; send the kept note with the new "
                    "signature added",
                    size=size,
                    dropped=dropped,
                )
            row.note = note

        self.registry.transact(work)

    def verify(self) -> LogReport:
        """Check every entry and checkpoint (padron.audit.verify.verify_log)."""
        with self.registry.db.read_session() as session:
            notes, stored = self._notes(session), self._stored(session)
        return verify_log(stored, notes, self.verifiers, origin=self.origin)

    def prove(self, seq: int, ctx: AccessContext | None = None) -> InclusionReceipt:
        """An inclusion receipt of entry ``seq`` against the latest checkpoint that verifies
        (AuditEntryUnknownError when the log has no such entry). With ``ctx`` the disclosure of
        the entry is recorded ("audit.proof", subject: the entry's subject) in the same
        transaction."""

        def receipt(stored: list[bytes], notes: list[str]) -> InclusionReceipt:
            if not 0 <= seq < len(stored):
                raise AuditEntryUnknownError(
                    f"the audit log has {len(stored)} entries; there is no entry {seq}",
                    seq=seq,
                    entries=len(stored),
                )
            return prove(seq, stored, notes, self.verifiers)

        if ctx is None:
            with self.registry.db.read_session() as session:
                notes, stored = self._notes(session), self._stored(session)
            return receipt(stored, notes)

        def work(session: Session) -> InclusionReceipt:
            notes = self._notes(session)
            found = receipt(self._stored(session), notes)
            subject = AuditEntry.from_bytes(found.entry).subject
            self.registry.audit.record(session, ctx, "audit.proof", subject=subject, details={"seq": seq})
            return found

        return self.registry.transact(work)

    def query(
        self,
        ctx: AccessContext,
        *,
        subject: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        partner: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
        purpose: str | None = None,
    ) -> list[AuditEntry]:
        """Entries, newest first, filtered; reading the log is itself recorded ("audit.read")."""
        query = select(AuditEntryRow.entry).order_by(AuditEntryRow.seq.desc()).limit(limit).offset(offset)
        for column, value in (
            (AuditEntryRow.subject, subject),
            (AuditEntryRow.actor, actor),
            (AuditEntryRow.action, action),
            (AuditEntryRow.partner, partner),
            (AuditEntryRow.purpose, purpose),
        ):
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(AuditEntryRow.at >= since)
        if until is not None:
            query = query.where(AuditEntryRow.at < until)
        filters = {
            "subject": subject,
            "actor": actor,
            "action": action,
            "partner": partner,
            "purpose": purpose,
        }

        def work(session: Session) -> list[AuditEntry]:
            found = [AuditEntry.from_bytes(data) for data in session.scalars(query)]
            details = {k: v for k, v in filters.items() if v is not None} | {"entries": len(found)}
            self.registry.audit.record(session, ctx, "audit.read", subject=subject, details=details)
            return found

        return self.registry.transact(work)
