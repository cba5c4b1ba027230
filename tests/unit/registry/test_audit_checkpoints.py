"""AuditLog.checkpoint_if_due, on SQLite and PostgreSQL: a checkpoint is signed when N entries were
added or T passed since the last one (judged by an injected time, never the wall clock), not
otherwise, and once when several workers ask at the same moment."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from padron.audit.checkpoint import Checkpoint, CheckpointPolicy, Signer, open_checkpoint
from padron.audit.entry import AuditEntry
from padron.domain.access import AccessContext
from padron.registry.audit import AuditKeyMissingError, AuditLog
from padron.registry.service import Registry
from tests.support.contexts import READER

ORIGIN = "padron.test/audit"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
#: every 3 entries or every hour
POLICY = CheckpointPolicy(every=3, interval=timedelta(hours=1))


def add_entries(registry: Registry, count: int, ctx: AccessContext = READER) -> None:
    """``count`` audit entries (the reads of one person's record are what the log holds most)."""
    with registry.db.session() as session:
        for _ in range(count):
            registry.audit.record(session, ctx, "person.read", subject="person:1")


def signed(note: str, log: AuditLog) -> Checkpoint:
    return open_checkpoint(note, log.verifiers).checkpoint


@pytest.fixture
def log(registry: Registry) -> AuditLog:
    return AuditLog(registry, origin=ORIGIN, signer=Signer.generate(ORIGIN))


def test_nothing_is_signed_for_an_empty_log(log: AuditLog) -> None:
    assert log.checkpoint_if_due(POLICY, T0 + timedelta(days=30)) is None
    assert log.notes() == []


def test_the_first_entries_are_signed_at_once(log: AuditLog) -> None:
    add_entries(log.registry, 1)
    note = log.checkpoint_if_due(POLICY, T0)
    assert note is not None and log.notes() == [note]
    checkpoint = signed(note, log)
    assert (checkpoint.size, checkpoint.time) == (1, T0)


def test_due_by_count(log: AuditLog) -> None:
    add_entries(log.registry, 1)
    assert log.checkpoint_if_due(POLICY, T0) is not None
    add_entries(log.registry, 2)
    assert log.checkpoint_if_due(POLICY, T0 + timedelta(minutes=1)) is None  # 2 of 3, and no hour
    add_entries(log.registry, 1)
    note = log.checkpoint_if_due(POLICY, T0 + timedelta(minutes=2))
    assert note is not None and signed(note, log).size == 4
    assert len(log.notes()) == 2
    assert log.verify().ok


def test_due_by_time(log: AuditLog) -> None:
    add_entries(log.registry, 1)
    assert log.checkpoint_if_due(POLICY, T0) is not None
    add_entries(log.registry, 1)
    assert log.checkpoint_if_due(POLICY, T0 + timedelta(minutes=59)) is None
    note = log.checkpoint_if_due(POLICY, T0 + timedelta(hours=1))
    assert note is not None
    assert (signed(note, log).size, signed(note, log).time) == (2, T0 + timedelta(hours=1))


def test_not_due_when_nothing_was_added(log: AuditLog) -> None:
    add_entries(log.registry, 5)
    assert log.checkpoint_if_due(POLICY, T0) is not None
    assert log.checkpoint_if_due(POLICY, T0 + timedelta(days=365)) is None
    assert len(log.notes()) == 1


def test_a_checkpoint_is_never_dated_before_the_last_one(log: AuditLog) -> None:
    """A worker whose clock lags still signs checkpoints in time order (verify would call a
    checkpoint dated before its predecessor inconsistent)."""
    add_entries(log.registry, 1)
    assert log.checkpoint_if_due(POLICY, T0) is not None
    add_entries(log.registry, 3)
    note = log.checkpoint_if_due(POLICY, T0 - timedelta(minutes=5))
    assert note is not None and signed(note, log).time == T0
    assert log.verify().ok


def test_a_log_without_its_key_cannot_sign(registry: Registry) -> None:
    add_entries(registry, 1)
    with pytest.raises(AuditKeyMissingError):
        AuditLog(registry, origin=ORIGIN).checkpoint_if_due(POLICY, T0)


class RacingPolicy(CheckpointPolicy):
    """POLICY, but each thread's first check (the one made before any lock) waits until every
    racer has made it: all of them have found a checkpoint due before any of them signs."""

    _barrier: threading.Barrier
    _checked: set[int]

    def __init__(self, racers: int) -> None:
        super().__init__(every=POLICY.every, interval=POLICY.interval)
        object.__setattr__(self, "_barrier", threading.Barrier(racers))
        object.__setattr__(self, "_checked", set())

    def due(self, last: Checkpoint | None, size: int, now: datetime) -> bool:
        answer = super().due(last, size, now)
        if threading.get_ident() not in self._checked:
            self._checked.add(threading.get_ident())
            assert answer, "the race needs a checkpoint due"
            self._barrier.wait(timeout=60)
        return answer


def test_two_workers_at_once_sign_one_checkpoint(log: AuditLog) -> None:
    add_entries(log.registry, 3)
    policy = RacingPolicy(racers=2)
    results: list[str | None] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            results.append(log.checkpoint_if_due(policy, T0))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sorted(results, key=lambda r: r is not None) == [None, log.notes()[0]]
    assert len(log.notes()) == 1
    assert log.verify().ok


def test_an_entry_proof_is_recorded_with_the_entry_it_disclosed(log: AuditLog) -> None:
    add_entries(log.registry, 3)
    log.checkpoint()
    receipt = log.prove(1, READER)
    assert AuditEntry.from_bytes(receipt.entry).seq == 1
    (recorded,) = log.query(READER, action="audit.proof")
    assert (recorded.subject, dict(recorded.details)) == ("person:1", {"seq": 1})
