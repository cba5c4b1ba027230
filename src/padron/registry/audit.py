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

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from padron.audit.checkpoint import Signer, Verifier, new_checkpoint, open_checkpoint, sign
from padron.audit.entry import AuditEntry, link_after
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


def person_ref(person_id: int) -> str:
    """How an entry names whose record it touched (an id, not a name or CURP: the entry stays
    meaningful after a correction re-issues the CURP, and carries no demographic data)."""
    return f"person:{person_id}"


def attempt_ref(attempt_id: int) -> str:
    return f"attempt:{attempt_id}"


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
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
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
            details=dict(details or {}),
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
        return list(session.scalars(select(AuditCheckpointRow.note).order_by(AuditCheckpointRow.id)))

    def checkpoint(self) -> str:
        """Sign the log as it is now (size, Merkle root, time) and keep the signed note."""
        if self.signer is None:
            raise AuditKeyMissingError("no audit signing key: set PADRON_AUDIT_KEY (or create the key file)")
        signer = self.signer

        def work(session: Session) -> str:
            if session.get_bind().dialect.name == "postgresql":  # no entry slips in meanwhile
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
            hashes = leaf_hashes(self._stored(session))
            checkpoint = new_checkpoint(self.origin, hashes, self._clock())
            note = sign(checkpoint, signer)
            session.add(
                AuditCheckpointRow(size=checkpoint.size, root=checkpoint.root, at=checkpoint.time, note=note)
            )
            return note

        return self.registry.transact(work)

    def notes(self) -> list[str]:
        """Every signed checkpoint, oldest first (what an outside authority keeps and cosigns)."""
        with self.registry.db.read_session() as session:
            return self._notes(session)

    def add_cosigned(self, note: str) -> None:
        """Store an authority's cosignature: ``note`` is a kept checkpoint with more signatures."""
        opened = open_checkpoint(note, self.verifiers)

        def work(session: Session) -> None:
            row = session.scalar(
                select(AuditCheckpointRow)
                .where(AuditCheckpointRow.size == opened.checkpoint.size)
                .where(AuditCheckpointRow.root == opened.checkpoint.root)
            )
            if row is None:
                raise AuditCheckpointUnknownError(
                    f"no checkpoint of {opened.checkpoint.size} entries with this root was signed here"
                )
            row.note = note

        self.registry.transact(work)

    def verify(self) -> LogReport:
        """Check every entry and checkpoint (padron.audit.verify.verify_log)."""
        with self.registry.db.read_session() as session:
            stored, notes = self._stored(session), self._notes(session)
        return verify_log(stored, notes, self.verifiers, origin=self.origin)

    def prove(self, seq: int) -> InclusionReceipt:
        with self.registry.db.read_session() as session:
            stored, notes = self._stored(session), self._notes(session)
        return prove(seq, stored, notes, self.verifiers)

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
    ) -> list[AuditEntry]:
        """Entries, newest first, filtered; reading the log is itself recorded ("audit.read")."""
        query = select(AuditEntryRow.entry).order_by(AuditEntryRow.seq.desc()).limit(limit).offset(offset)
        for column, value in (
            (AuditEntryRow.subject, subject),
            (AuditEntryRow.actor, actor),
            (AuditEntryRow.action, action),
            (AuditEntryRow.partner, partner),
        ):
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(AuditEntryRow.at >= since)
        if until is not None:
            query = query.where(AuditEntryRow.at < until)
        filters = {"subject": subject, "actor": actor, "action": action, "partner": partner}

        def work(session: Session) -> list[AuditEntry]:
            found = [AuditEntry.from_bytes(data) for data in session.scalars(query)]
            details = {k: v for k, v in filters.items() if v is not None} | {"entries": len(found)}
            self.registry.audit.record(session, ctx, "audit.read", subject=subject, details=details)
            return found

        return self.registry.transact(work)
