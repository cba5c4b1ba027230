"""The server signs checkpoints by itself: the lifespan starts the checkpoint thread and stops it at
shutdown, a failure is logged and the thread goes on, and the settings say how often."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from padron.api.app import checkpoint_policy, create_app
from padron.api.checkpoints import THREAD_NAME, Checkpointer
from padron.audit.checkpoint import CheckpointPolicy, Signer, open_checkpoint
from padron.domain.errors import ConfigurationError, DatabaseUnavailableError
from padron.registry.audit import AuditLog
from padron.registry.service import Registry
from padron.settings import Settings, load_settings
from tests.api.conftest import FakeKeyStore, FakeRateLimiter, enroll

ORIGIN = "padron.test/audit"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
#: how long a test waits for the thread to do what it was woken for (a bound, not a measurement)
PATIENCE = 30.0


def wait_for(condition: Callable[[], object]) -> bool:
    """Whether ``condition()`` comes true within PATIENCE seconds."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME and t.is_alive()]


class ScriptedLog:
    """An audit log whose checkpoint_if_due fails, then fails again, then signs (and says so)."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls: list[datetime] = []
        self.signed = threading.Event()

    def checkpoint_if_due(self, policy: CheckpointPolicy, now: datetime) -> str | None:
        self.calls.append(now)
        if self.failures:
            raise self.failures.pop(0)
        self.signed.set()
        return f"{ORIGIN}\n7\nroot\ntime x\n\n— sig\n"


def test_a_failure_is_logged_and_the_thread_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    log = ScriptedLog(RuntimeError("a bug"), DatabaseUnavailableError("database down"))
    checkpointer = Checkpointer(log, CheckpointPolicy(), poll_seconds=0.01, clock=lambda: T0)
    with caplog.at_level(logging.INFO, logger="padron.api"):
        checkpointer.start()
        try:
            assert log.signed.wait(PATIENCE)
        finally:
            checkpointer.stop()
    assert not checkpointer.running
    assert log.calls[:3] == [T0, T0, T0]  # judged by the checkpointer's clock
    messages = [(r.levelname, r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert messages[0][0] == "ERROR" and messages[0][2]  # the bug, with its traceback
    # the outage, in one line
    assert any(
        level == "WARNING" and "database down" in text and not trace for level, text, trace in messages
    )
    assert any(level == "INFO" and "7 entries" in text for level, text, _ in messages)


def test_a_lasting_outage_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    log = ScriptedLog(*(DatabaseUnavailableError("database down") for _ in range(3)))
    checkpointer = Checkpointer(log, CheckpointPolicy(), poll_seconds=1.0, clock=lambda: T0)
    with caplog.at_level(logging.WARNING, logger="padron.api"):
        results = [checkpointer.run_once() for _ in range(4)]
    assert results[:3] == [None, None, None] and results[3] is not None
    assert [r.levelname for r in caplog.records] == ["WARNING"]


def test_stopping_a_checkpointer_that_never_started_is_harmless() -> None:
    checkpointer = Checkpointer(ScriptedLog(), CheckpointPolicy(interval=timedelta(seconds=2)))
    assert checkpointer.poll_seconds == 2.0  # looks at least as often as the policy needs
    checkpointer.stop()
    assert not checkpointer.running


def test_the_lifespan_starts_and_stops_the_thread(sqlite_registry: Registry) -> None:
    audit = AuditLog(sqlite_registry, origin=ORIGIN, signer=Signer.generate(ORIGIN))
    app = create_app(
        registry=sqlite_registry,
        key_store=FakeKeyStore(),
        rate_limiter=FakeRateLimiter(),
        audit_log=audit,
        checkpoints=CheckpointPolicy(every=1, interval=timedelta(seconds=0.2)),  # looks every 0.2 s
    )
    assert checkpoint_threads() == []  # building the app starts nothing
    with TestClient(app) as client:
        assert len(checkpoint_threads()) == 1
        enroll(client)
        # a checkpoint of the new entry is due at once: the thread signs it when it next looks
        assert wait_for(audit.notes)
        note = audit.notes()[0]
        assert open_checkpoint(note, audit.verifiers).checkpoint.size >= 1
    assert checkpoint_threads() == []  # stopped at shutdown
    assert audit.verify().ok


def test_a_test_app_without_a_policy_signs_nothing(client: TestClient) -> None:
    assert checkpoint_threads() == []


def test_the_settings_say_how_often(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = checkpoint_policy(Settings(data_dir=tmp_path))
    assert (defaults.every, defaults.interval) == (1000, timedelta(seconds=300))
    monkeypatch.setenv("PADRON_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PADRON_AUDIT_CHECKPOINT_EVERY", "50")
    monkeypatch.setenv("PADRON_AUDIT_CHECKPOINT_SECONDS", "30")
    policy = checkpoint_policy(load_settings())
    assert (policy.every, policy.interval) == (50, timedelta(seconds=30))
    for name in ("PADRON_AUDIT_CHECKPOINT_EVERY", "PADRON_AUDIT_CHECKPOINT_SECONDS"):
        monkeypatch.setenv(name, "0")
        with pytest.raises(ConfigurationError, match=name):
            load_settings()
        monkeypatch.setenv(name, "10")


def test_a_server_from_settings_runs_the_thread(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", audit_checkpoint_seconds=60)
    Registry.open(settings.effective_database_url, migrate=True).close()
    with TestClient(create_app(settings, key_store=FakeKeyStore())):
        assert len(checkpoint_threads()) == 1
    assert checkpoint_threads() == []
