"""/v1/keys on the server's real key store: an administrator creates a key whose token works at
once and is shown only in that answer, lists keys without ever a token or hash, and revokes a key,
which stops working at once; both changes are in the audit log."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from padron.api.app import create_app
from padron.domain.access import Role
from padron.registry.keys import KeyStore, hash_secret, parse_token
from padron.registry.service import Registry
from padron.registry.storage.models import AuditEntryRow
from tests.api.conftest import PERSON, assert_problem
from tests.support.contexts import READER

TOKEN = re.compile(r"pdn_[a-z2-7]{12}_[a-z2-7]{52}")


class Keys:
    """The server, and the first admin key (made on the command line, as an installation does)."""

    def __init__(self, client: TestClient, registry: Registry) -> None:
        self.client, self.registry = client, registry
        issued = KeyStore(registry).create("ops", Role.ADMIN, created_by="cli:root")
        self.admin_id = issued.key.key_id
        self.admin = {"Authorization": f"Bearer {issued.token}"}

    def create(self, **body: Any) -> dict[str, Any]:
        response = self.client.post("/v1/keys", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def listed(self, **params: Any) -> list[dict[str, Any]]:
        response = self.client.get("/v1/keys", params=params, headers=self.admin)
        assert response.status_code == 200, response.text
        return list(response.json()["keys"])


@pytest.fixture
def keys(sqlite_registry: Registry) -> Iterator[Keys]:
    with TestClient(create_app(registry=sqlite_registry), raise_server_exceptions=False) as client:
        yield Keys(client, sqlite_registry)


def test_a_created_key_works_at_once_and_its_token_is_shown_once(keys: Keys) -> None:
    response = keys.client.post("/v1/keys", json={"name": "mesa 4", "role": "registrar"}, headers=keys.admin)
    assert response.status_code == 201, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert TOKEN.fullmatch(body["token"]) and "shown only now" in body["warning"]
    key = body["key"]
    assert (key["name"], key["role"], key["state"]) == ("mesa 4", "registrar", "active")
    assert key["created_by"] == f"key:{keys.admin_id}:ops"
    assert body["token"].split("_")[1] == key["key_id"]

    bearer = {"Authorization": f"Bearer {body['token']}"}
    created = keys.client.post("/v1/persons", json=PERSON, headers=bearer)
    assert created.status_code == 201, created.text
    history = keys.registry.history(created.json()["curp"], READER)
    assert history[0].actor == f"key:{key['key_id']}:mesa 4"


def test_lists_never_show_a_token_or_its_hash(keys: Keys) -> None:
    issued = keys.create(name="kiosk CDMX 01", role="verifier", rate_limit_per_minute=30)
    expiring = keys.create(name="campaign", role="auditor", expires_at="2099-01-31T00:00:00Z")
    keys.client.post(f"/v1/keys/{issued['key']['key_id']}/revoke", json={"reason": "r"}, headers=keys.admin)
    _, secret = parse_token(issued["token"])
    for params in ({}, {"include_revoked": "true"}):
        response = keys.client.get("/v1/keys", params=params, headers=keys.admin)
        text = response.text
        assert "pdn_" not in text and secret not in text and hash_secret(secret) not in text
        assert all("token" not in f and "hash" not in f for k in response.json()["keys"] for f in k)
    assert [k["name"] for k in keys.listed()] == ["ops", "campaign"]
    everything = keys.listed(include_revoked="true")
    assert [(k["name"], k["state"]) for k in everything] == [
        ("ops", "active"),
        ("kiosk CDMX 01", "revoked"),
        ("campaign", "active"),
    ]
    assert everything[1]["rate_limit_per_minute"] == 30
    assert everything[2]["expires_at"].startswith("2099-01-31T00:00:00")
    assert expiring["key"]["expires_at"] == everything[2]["expires_at"]


def test_a_revoked_key_stops_working_at_once(keys: Keys) -> None:
    issued = keys.create(name="desk 4", role="registrar")
    key_id = issued["key"]["key_id"]
    bearer = {"Authorization": f"Bearer {issued['token']}"}
    assert keys.client.get("/v1/persons/LOXA900102MDFPXN06", headers=bearer).status_code == 404

    response = keys.client.post(
        f"/v1/keys/{key_id}/revoke", json={"reason": "tablet stolen"}, headers=keys.admin
    )
    assert response.status_code == 200, response.text
    revoked = response.json()
    assert (revoked["state"], revoked["revoke_reason"]) == ("revoked", "tablet stolen")
    assert revoked["revoked_by"] == f"key:{keys.admin_id}:ops"
    assert_problem(keys.client.get("/v1/persons/LOXA900102MDFPXN06", headers=bearer), 401, "PAD-AUTH-003")

    again = keys.client.post(f"/v1/keys/{key_id}/revoke", json={"reason": "again"}, headers=keys.admin)
    assert_problem(again, 409, "PAD-KEY-008")
    unknown = keys.client.post(f"/v1/keys/{'a' * 12}/revoke", json={"reason": "r"}, headers=keys.admin)
    assert_problem(unknown, 404, "PAD-KEY-007")
    no_reason = keys.client.post(f"/v1/keys/{key_id}/revoke", json={}, headers=keys.admin)
    assert assert_problem(no_reason, 422, "PAD-API-001")["details"]["fields"] == ["reason"]
    # the name of a revoked key may go to its successor
    assert keys.create(name="desk 4", role="registrar")["key"]["state"] == "active"


def test_creation_and_revocation_are_in_the_audit_log(keys: Keys) -> None:
    issued = keys.create(name="inai", role="auditor")
    key_id = issued["key"]["key_id"]
    keys.client.post(f"/v1/keys/{key_id}/revoke", json={"reason": "rotated"}, headers=keys.admin)
    auditor = KeyStore(keys.registry).create("audit desk", Role.AUDITOR, created_by="cli:root")
    response = keys.client.get(
        "/v1/audit/entries", params={"limit": 10}, headers={"Authorization": f"Bearer {auditor.token}"}
    )
    assert response.status_code == 200, response.text
    recorded = [(e["action"], e["subject"], e["actor"], e["purpose"]) for e in response.json()["entries"]]
    admin = f"key:{keys.admin_id}:ops"
    assert recorded == [
        ("key.revoke", f"key:{key_id}", admin, "administration"),
        ("key.create", f"key:{key_id}", admin, "administration"),
    ]
    _, secret = parse_token(issued["token"])
    with keys.registry.db.read_session() as session:
        stored = b"".join(session.scalars(select(AuditEntryRow.entry)))
    assert secret.encode() not in stored and hash_secret(secret).encode() not in stored


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "x", "role": "superuser"}, 422, "PAD-KEY-002"),
        ({"name": "", "role": "admin"}, 422, "PAD-KEY-001"),
        ({"name": "x", "role": "admin", "expires_at": "2020-01-01T00:00:00Z"}, 422, "PAD-KEY-004"),
        ({"name": "x", "role": "admin", "expires_at": "2099-01-01T00:00:00"}, 422, "PAD-KEY-003"),
        ({"name": "x", "role": "admin", "rate_limit_per_minute": 0}, 422, "PAD-KEY-005"),
        ({"name": "x", "role": "admin", "rate_limit_per_minute": "60"}, 422, "PAD-API-001"),
        ({"name": "x", "role": "admin", "token": "pdn_mine"}, 422, "PAD-API-001"),
        ({"name": "ops", "role": "admin"}, 409, "PAD-KEY-006"),
    ],
)
def test_refused_creations_make_no_key(keys: Keys, body: dict[str, Any], status: int, code: str) -> None:
    assert_problem(keys.client.post("/v1/keys", json=body, headers=keys.admin), status, code)
    assert [k["name"] for k in keys.listed(include_revoked="true")] == ["ops"]


def test_only_administrators_manage_keys(keys: Keys) -> None:
    registrar = keys.create(name="desk", role="registrar")
    bearer = {"Authorization": f"Bearer {registrar['token']}"}
    assert_problem(keys.client.get("/v1/keys", headers=bearer), 403, "PAD-AUTH-006")
    refused = keys.client.post("/v1/keys", json={"name": "mine", "role": "admin"}, headers=bearer)
    assert_problem(refused, 403, "PAD-AUTH-006")
    assert [k["name"] for k in keys.listed()] == ["ops", "desk"]
