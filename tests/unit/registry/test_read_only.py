"""Read-only calls on SQLite take no write lock: with another process in the middle of a long
write they still answer (disclosures are not read-only: they write their audit entry)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import event

from padron.audit.checkpoint import Signer
from padron.registry.audit import AuditLog
from padron.registry.service import Registry
from tests.support.contexts import OFFICER
from tests.support.synthetic import SyntheticIdentity, draft, identity_service


def test_counts_gallery_sync_and_log_verification_wait_for_no_writer(tmp_path: Path) -> None:
    path = tmp_path / "padron.db"
    registry = Registry.open(f"sqlite:///{path}", migrate=True)
    service = identity_service(registry)
    service.enroll(draft(0), SyntheticIdentity.make(0).capture(1), OFFICER, reason="r")
    log = AuditLog(registry, origin="padron.test/audit", signer=Signer.generate("padron.test/audit"))
    log.checkpoint()

    # padron's connections give up on a held lock after 0.2 s instead of 60 (fails fast if broken)
    @event.listens_for(registry.db.engine, "connect")
    def impatient(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=200")

    registry.db.engine.dispose()
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another process in the middle of a long write
        assert registry.count() == 1
        assert service.gallery_stats()["subjects"] == 1
        assert log.verify().ok and len(log.notes()) == 1
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        registry.close()
