"""Creating and revoking an API key is recorded in the audit log with the change itself, on every
channel: the entry names the key by its id (``key:<key id>``), never by its token or hash."""

from __future__ import annotations

from pathlib import Path

import pytest

from padron.domain.access import AccessContext, Channel, Purpose, Role
from padron.registry.audit import AuditLog
from padron.registry.keys import KeyNameTakenError, KeyStore, hash_secret, parse_token
from padron.registry.service import Registry
from padron.registry.storage.models import AuditEntryRow
from padron.settings import Settings
from tests.e2e.conftest import Cli

ADMIN = AccessContext(
    actor="key:adminkeyid00:ops", role=Role.ADMIN, channel=Channel.API, purpose=Purpose.ADMINISTRATION
)


def entries(registry: Registry) -> list[AuditEntryRow]:
    with registry.db.read_session() as session:
        return list(session.query(AuditEntryRow).order_by(AuditEntryRow.seq))


def test_create_and_revoke_with_a_context_are_recorded(registry: Registry) -> None:
    store = KeyStore(registry)
    issued = store.create(
        "desk 4", Role.REGISTRAR, created_by=ADMIN.actor, rate_limit_per_minute=30, ctx=ADMIN
    )
    store.revoke(issued.key.key_id, revoked_by=ADMIN.actor, reason="tablet stolen", ctx=ADMIN)
    log = AuditLog(registry, origin="padron.test/audit")
    created, revoked = sorted(log.query(ADMIN, subject=f"key:{issued.key.key_id}"), key=lambda e: e.seq)
    assert (created.action, revoked.action) == ("key.create", "key.revoke")
    assert {created.actor, revoked.actor} == {ADMIN.actor}
    assert (created.channel, created.purpose) == ("api", "administration")
    assert dict(created.details) == {
        "name": "desk 4",
        "role": "registrar",
        "expires_at": None,
        "rate_limit_per_minute": 30,
    }
    assert dict(revoked.details) == {"name": "desk 4", "role": "registrar"}
    _, secret = parse_token(issued.token)
    stored = b"".join(row.entry for row in entries(registry))
    assert secret.encode() not in stored and hash_secret(secret).encode() not in stored


def test_without_a_context_nothing_is_recorded(registry: Registry) -> None:
    store = KeyStore(registry)
    issued = store.create("desk 4", Role.REGISTRAR, created_by="test:admin")
    store.revoke(issued.key.key_id, revoked_by="test:admin")
    assert entries(registry) == []


def test_a_refused_creation_records_nothing(registry: Registry) -> None:
    store = KeyStore(registry)
    store.create("desk 4", Role.REGISTRAR, created_by=ADMIN.actor, ctx=ADMIN)
    with pytest.raises(KeyNameTakenError):
        store.create("desk 4", Role.VERIFIER, created_by=ADMIN.actor, ctx=ADMIN)
    assert [row.action for row in entries(registry)] == ["key.create"]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"PADRON_{name.upper()}", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PADRON_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")
    cli = Cli(capsys, tmp_path / "data")
    assert cli("init").code == 0
    return cli


def test_padron_keys_records_its_changes_with_the_cli_actor(cli: Cli) -> None:
    created = cli(
        "keys", "create", "--role", "auditor", "--name", "inai", "--actor", "test:ops", "--json"
    ).json
    key_id = created["key"]["key_id"]
    assert cli("keys", "revoke", key_id, "--reason", "rotated", "--actor", "test:ops").code == 0
    registry = Registry.open(f"sqlite:///{cli.database}")
    try:
        rows = entries(registry)
    finally:
        registry.close()
    assert [(r.action, r.subject, r.actor, r.channel, r.purpose) for r in rows] == [
        ("key.create", f"key:{key_id}", "test:ops", "cli", "administration"),
        ("key.revoke", f"key:{key_id}", "test:ops", "cli", "administration"),
    ]
    assert created["token"].encode() not in b"".join(r.entry for r in rows)
