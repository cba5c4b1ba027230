"""The audit log proves itself, on SQLite and on PostgreSQL: signed checkpoints over the stored
entries, and `verify` names exactly what was done to a copy of the database -- an entry edited,
deleted, inserted, two reordered, the log truncated, a checkpoint forged."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, select, update

from padron.audit.checkpoint import Signer
from padron.audit.entry import AuditEntry
from padron.audit.verify import FindingKind
from padron.registry.audit import AuditLog
from padron.registry.service import Registry
from padron.registry.storage.models import AuditCheckpointRow, AuditEntryRow
from tests.contract.test_registry_contract import draft
from tests.support.contexts import OFFICER, READER

ORIGIN = "padron.test/audit"


@pytest.fixture
def log(registry: Registry) -> AuditLog:
    """A log of 30 entries with checkpoints at 10 and 30."""
    audit = AuditLog(registry, origin=ORIGIN, signer=Signer.generate(ORIGIN))
    people = [registry.enroll(draft(), OFFICER, reason="r") for _ in range(5)]
    for person in people:
        registry.get(person.curp, READER)
    audit.checkpoint()
    for i in range(20):
        registry.get(people[i % 5].curp, READER)
    audit.checkpoint()
    return audit


def _kinds(audit: AuditLog) -> set[tuple[str, int | None]]:
    return {(f.kind.value, f.index) for f in audit.verify().findings}


def test_an_untouched_log_verifies_and_proves_an_entry(log: AuditLog) -> None:
    report = log.verify()
    assert report.ok, report.to_dict()
    receipt = log.prove(17)
    assert receipt.index == 17 and AuditEntry.from_bytes(receipt.entry).seq == 17


def test_an_edited_entry_is_named(log: AuditLog) -> None:
    with log.registry.db.session() as session:
        row = session.get(AuditEntryRow, 17)
        assert row is not None
        row.entry = row.entry.replace(b"test:reader", b"test:nobody")
    assert (FindingKind.EDITED.value, 17) in _kinds(log)
    assert not log.verify().ok


def test_a_deleted_entry_is_named(log: AuditLog) -> None:
    with log.registry.db.session() as session:
        session.execute(delete(AuditEntryRow).where(AuditEntryRow.seq == 12))
    assert (FindingKind.DELETED.value, 12) in _kinds(log)


def test_reordered_entries_are_named(log: AuditLog) -> None:
    with log.registry.db.session() as session:
        a = session.scalar(select(AuditEntryRow.entry).where(AuditEntryRow.seq == 20))
        b = session.scalar(select(AuditEntryRow.entry).where(AuditEntryRow.seq == 21))
        session.execute(update(AuditEntryRow).where(AuditEntryRow.seq == 20).values(entry=b))
        session.execute(update(AuditEntryRow).where(AuditEntryRow.seq == 21).values(entry=a))
    kinds = {kind for kind, _ in _kinds(log)}
    assert FindingKind.REORDERED.value in kinds


def test_an_inserted_entry_is_named(log: AuditLog) -> None:
    with log.registry.db.session() as session:
        rows = list(
            session.scalars(
                select(AuditEntryRow).where(AuditEntryRow.seq >= 5).order_by(AuditEntryRow.seq.desc())
            )
        )
        forged = AuditEntry.from_bytes(rows[-1].entry)  # entry 5, copied as a forgery at place 5
        for row in rows:  # make room: every later row moves one place up
            session.execute(
                update(AuditEntryRow).where(AuditEntryRow.seq == row.seq).values(seq=row.seq + 1000)
            )
        session.flush()
        for row in rows:
            session.execute(
                update(AuditEntryRow).where(AuditEntryRow.seq == row.seq + 1000).values(seq=row.seq + 1)
            )
        fake = (
            forged.to_bytes()
            .replace(b"test:officer", b"test:forger ")
            .replace(b"test:reader", b"test:forger")
        )
        session.execute(
            insert(AuditEntryRow).values(
                seq=5, at=forged.at, actor="test:forger", role=forged.role, purpose=forged.purpose,
                channel=forged.channel, partner=None, action=forged.action, subject=forged.subject,
                outcome=forged.outcome, entry=fake,
            )
        )  # fmt: skip
    assert (FindingKind.INSERTED.value, 5) in _kinds(log)


def test_a_truncated_log_is_named(log: AuditLog) -> None:
    with log.registry.db.session() as session:
        session.execute(delete(AuditEntryRow).where(AuditEntryRow.seq >= 25))
    assert FindingKind.TRUNCATED.value in {kind for kind, _ in _kinds(log)}


def test_a_forged_checkpoint_is_named(log: AuditLog) -> None:
    with log.registry.db.session() as session:
        row = session.scalar(select(AuditCheckpointRow).order_by(AuditCheckpointRow.id.desc()).limit(1))
        assert row is not None
        lines = row.note.split("\n")
        lines[1] = "31"  # claims one entry more than was signed
        row.note = "\n".join(lines)
    assert FindingKind.BAD_SIGNATURE.value in {kind for kind, _ in _kinds(log)}


def test_an_authority_cosigns_and_its_signature_is_kept(log: AuditLog) -> None:
    from padron.audit.checkpoint import add_cosignature, open_checkpoint

    authority = Signer.generate("inai.test/cosign")
    note = log.notes()[-1]
    cosigned = add_cosignature(note, authority, trusted=log.verifiers)
    log.add_cosigned(cosigned)
    kept = log.notes()[-1]
    opened = open_checkpoint(kept, [*log.verifiers, authority.verifier()])
    assert set(opened.signers) == {ORIGIN, "inai.test/cosign"}
    assert log.verify().ok
