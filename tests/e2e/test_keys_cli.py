"""`padron keys`: a token is printed once, at creation, and works until it is revoked; lists never
show it; bad roles, names, limits and expiries are refused with their codes and write nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from padron.domain.access import Role
from padron.registry.keys import KeyStore, RevokedKeyError
from padron.registry.service import Registry
from tests.e2e.conftest import Cli

TOKEN = re.compile(r"pdn_[a-z2-7]{12}_([a-z2-7]{52})")


@contextmanager
def key_store(cli: Cli) -> Iterator[KeyStore]:
    """The keys as the HTTP service will see them."""
    registry = Registry.open(f"sqlite:///{cli.database}")
    try:
        yield KeyStore(registry)
    finally:
        registry.close()


def stored_bytes(cli: Cli) -> bytes:
    return b"".join(
        path.read_bytes() for path in (cli.database, cli.database.with_name("padron.db-wal")) if path.exists()
    )


def test_create_shows_the_token_once(initialized_cli: Cli) -> None:
    cli = initialized_cli
    created = cli("keys", "create", "--role", "verifier", "--name", "kiosk CDMX 01")
    assert created.code == 0, created.err
    (token,) = [m.group(0) for m in TOKEN.finditer(created.out)]
    secret = TOKEN.fullmatch(token).group(1)  # type: ignore[union-attr]
    assert "shown only now" in created.err
    assert "kiosk CDMX 01" in created.out and "verifier" in created.out

    with key_store(cli) as keys:
        key = keys.authenticate(token)
    assert key.role is Role.VERIFIER and key.name == "kiosk CDMX 01" and key.created_by == "test:officer"

    as_json = cli("keys", "create", "--role", "admin", "--name", "ops", "--json").json
    assert TOKEN.fullmatch(as_json["token"]) and as_json["token"] != token
    assert as_json["key"]["role"] == "admin" and as_json["key"]["state"] == "active"
    assert "shown only now" in as_json["warning"]

    for args in (("keys", "list"), ("keys", "list", "--all"), ("keys", "list", "--json")):
        shown = cli(*args)
        assert shown.code == 0 and key.key_id in shown.out  # (a name may wrap in a narrow table)
        assert secret not in shown.out + shown.err and "pdn_" not in shown.out
    listed = cli("keys", "list", "--json").json["keys"]
    assert [k["name"] for k in listed] == ["kiosk CDMX 01", "ops"]
    assert all("hash" not in field and "token" not in field for k in listed for field in k)
    assert secret.encode() not in stored_bytes(cli)


def test_revoke(initialized_cli: Cli) -> None:
    cli = initialized_cli
    created = cli("keys", "create", "--role", "registrar", "--name", "desk 4", "--json").json
    key_id, token = created["key"]["key_id"], created["token"]
    revoked = cli("keys", "revoke", key_id, "--reason", "tablet stolen", "--actor", "test:security")
    assert revoked.code == 0 and "revoked" in revoked.out and key_id in revoked.out
    with key_store(cli) as keys, pytest.raises(RevokedKeyError):
        keys.authenticate(token)
    assert cli("keys", "list", "--json").json["keys"] == []
    assert "no API keys" in cli("keys", "list").out
    (listed,) = cli("keys", "list", "--all", "--json").json["keys"]
    assert listed["state"] == "revoked" and listed["revoked_by"] == "test:security"
    assert listed["revoke_reason"] == "tablet stolen"

    cli.refused("keys", "revoke", key_id, "--reason", "again", code="PAD-KEY-008")
    cli.refused("keys", "revoke", "a" * 12, "--reason", "r", code="PAD-KEY-007")
    cli.refused("keys", "revoke", "not-a-key", "--reason", "r", code="PAD-KEY-007")
    cli.refused("keys", "revoke", key_id, code="PAD-CLI-001", status=2)  # --reason is required
    # the name of a revoked key may be given to its successor
    assert cli("keys", "create", "--role", "registrar", "--name", "desk 4").code == 0


def test_a_leaked_token_can_be_revoked_by_itself(initialized_cli: Cli) -> None:
    cli = initialized_cli
    token = cli("keys", "create", "--role", "partner", "--name", "agency X", "--json").json["token"]
    result = cli("keys", "revoke", token, "--reason", "posted in a public repository", "--json")
    assert result.json["key"]["state"] == "revoked"
    secret = TOKEN.fullmatch(token).group(1)  # type: ignore[union-attr]
    mistyped = cli.refused("keys", "revoke", token[:-1], "--reason", "r", code="PAD-AUTH-001")
    assert secret[:-1] not in mistyped.out + mistyped.err


def test_expiry(initialized_cli: Cli) -> None:
    cli = initialized_cli
    dated = cli(
        "keys", "create", "--role", "auditor", "--name", "audit 2099", "--expires", "2099-01-31", "--json"
    )
    assert dated.json["key"]["expires_at"] == "2099-01-31T00:00:00+00:00"
    lasting = cli(
        "keys", "create", "--role", "auditor", "--name", "campaign", "--expires-in", "90d", "--json"
    )
    assert lasting.json["key"]["expires_at"] > lasting.json["key"]["created_at"]
    limited = cli("keys", "create", "--role", "verifier", "--name", "slow", "--rate-limit", "30", "--json")
    assert limited.json["key"]["rate_limit_per_minute"] == 30
    listed = cli("keys", "list")
    assert listed.code == 0 and dated.json["key"]["key_id"] in listed.out


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("--role", "superuser", "--name", "x"), "PAD-KEY-002"),
        (("--role", "admin", "--name", ""), "PAD-KEY-001"),
        (("--role", "admin", "--name", "x\x1b[2J"), "PAD-KEY-001"),
        (("--role", "admin", "--name", "x" * 101), "PAD-KEY-001"),
        (("--role", "admin", "--name", "x", "--expires", "2027-02-30"), "PAD-KEY-003"),
        (("--role", "admin", "--name", "x", "--expires", "next week"), "PAD-KEY-003"),
        (("--role", "admin", "--name", "x", "--expires-in", "soon"), "PAD-KEY-003"),
        (("--role", "admin", "--name", "x", "--expires", "2099-01-01", "--expires-in", "9d"), "PAD-KEY-003"),
        (("--role", "admin", "--name", "x", "--expires", "2020-01-01"), "PAD-KEY-004"),
        (("--role", "admin", "--name", "x", "--expires-in", "0d"), "PAD-KEY-004"),
        (("--role", "admin", "--name", "x", "--rate-limit", "0"), "PAD-KEY-005"),
        (("--role", "admin", "--name", "taken"), "PAD-KEY-006"),
        (("--name", "x"), "PAD-CLI-001"),
    ],
)
def test_create_refusals(initialized_cli: Cli, args: tuple[str, ...], code: str) -> None:
    cli = initialized_cli
    assert cli("keys", "create", "--role", "admin", "--name", "taken").code == 0
    status = 2 if code == "PAD-CLI-001" else 1
    cli.refused("keys", "create", *args, code=code, status=status)
    refused = cli.refused("keys", "create", *args, "--json", code=code, status=status)
    assert refused.json["error"]["code"] == code
    assert len(cli("keys", "list", "--json").json["keys"]) == 1
