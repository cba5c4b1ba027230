"""/v1/audit as an auditor uses it: who accessed a person's record, whether the stored log still
holds (and where it was changed), the signed checkpoints and an authority's cosignature, and a
receipt that proves one entry is in the signed log."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from padron.api.app import create_app
from padron.audit.checkpoint import Signer, add_cosignature, new_checkpoint, open_checkpoint, sign
from padron.audit.verify import InclusionReceipt, verify_receipt
from padron.domain.access import Role
from padron.registry.audit import AuditLog
from padron.registry.service import Registry
from tests.api.conftest import FakeKeyStore, FakeRateLimiter, assert_problem, auth, enroll

ORIGIN = "padron.test/audit"
AUTHORITY = Signer.generate("inai.test/cosign")
REGISTRAR = "key:registrarid:registrar desk"
AUDITOR = "key:auditorid:auditor desk"


@pytest.fixture
def audit_log(sqlite_registry: Registry) -> AuditLog:
    """The log with its signing key; the authority's key is known, so its cosignature is checked."""
    return AuditLog(
        sqlite_registry, origin=ORIGIN, signer=Signer.generate(ORIGIN), verifiers=[AUTHORITY.verifier()]
    )


@pytest.fixture
def client(sqlite_registry: Registry, audit_log: AuditLog) -> Iterator[TestClient]:
    app = create_app(
        registry=sqlite_registry,
        key_store=FakeKeyStore(),
        rate_limiter=FakeRateLimiter(),
        audit_log=audit_log,
    )
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def entries(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/audit/entries", params=params, headers=auth(Role.AUDITOR))
    assert response.status_code == 200, response.text
    return list(response.json()["entries"])


def test_an_auditor_sees_who_accessed_a_record_and_why(client: TestClient) -> None:
    curp = enroll(client)["curp"]
    other = enroll(client, given_names="Berta")["curp"]
    assert client.get(f"/v1/persons/{curp}", headers=auth(Role.REGISTRAR)).status_code == 200
    assert client.get(f"/v1/persons/{other}", headers=auth(Role.REGISTRAR)).status_code == 200

    found = entries(client, curp=curp)
    # newest first; finding the person by CURP is itself a read of their record, for the audit
    assert [(e["action"], e["actor"], e["purpose"]) for e in found] == [
        ("person.read", AUDITOR, "audit"),
        ("person.read", REGISTRAR, "correction"),
        ("person.create", REGISTRAR, "enrollment"),
    ]
    assert len({e["subject"] for e in found}) == 1 and found[0]["subject"].startswith("person:")
    assert all(e["channel"] == "api" for e in found)

    # the query was recorded, with its filter, under the person it was about
    (query,) = entries(client, action="audit.read", limit=1)
    assert (query["actor"], query["subject"]) == (AUDITOR, found[0]["subject"])
    assert query["details"]["entries"] == 3

    by_registrar = entries(client, actor=REGISTRAR)
    assert [e["action"] for e in by_registrar] == [
        "person.read",
        "person.read",
        "person.create",
        "person.create",
    ]
    assert [e["seq"] for e in entries(client, actor=REGISTRAR, limit=2, offset=1)] == [
        e["seq"] for e in by_registrar[1:3]
    ]


def test_time_filters_need_a_time_zone(client: TestClient) -> None:
    enroll(client)
    assert entries(client, since="2000-01-01T00:00:00Z", action="person.create")
    assert entries(client, until="2000-01-01T00:00:00+00:00") == []
    naive = client.get("/v1/audit/entries?since=2000-01-01T00:00:00", headers=auth(Role.AUDITOR))
    assert assert_problem(naive, 422, "PAD-API-001")["details"]["fields"] == ["since"]
    too_many = client.get("/v1/audit/entries?limit=100000", headers=auth(Role.AUDITOR))
    assert_problem(too_many, 422, "PAD-API-001")


def test_an_unknown_curp_is_404_and_records_nothing(client: TestClient, audit_log: AuditLog) -> None:
    before = audit_log.verify().entries
    response = client.get("/v1/audit/entries?curp=LOXA900102MDFPXN06", headers=auth(Role.AUDITOR))
    assert_problem(response, 404, "PAD-PERSON-001")
    assert audit_log.verify().entries == before


def test_verify_names_the_edited_entry(client: TestClient, sqlite_registry: Registry) -> None:
    curp = enroll(client)["curp"]
    for _ in range(4):
        client.get(f"/v1/persons/{curp}", headers=auth(Role.REGISTRAR))
    report = client.get("/v1/audit/verify", headers=auth(Role.AUDITOR)).json()
    assert report["ok"] is True and report["findings"] == [] and report["entries"] == 5

    # someone with the database file changes who read the record in entry 2
    database = sqlite_registry.db.engine.url.database
    assert database is not None
    with sqlite3.connect(database) as connection:
        (stored,) = connection.execute("SELECT entry FROM audit_entries WHERE seq = 2").fetchone()
        edited = stored.replace(REGISTRAR.encode(), b"key:registrarid:somebody else")
        connection.execute("UPDATE audit_entries SET entry = ? WHERE seq = 2", (edited,))
    connection.close()

    response = client.get("/v1/audit/verify", headers=auth(Role.AUDITOR))
    assert response.status_code == 200
    report = response.json()
    assert report["ok"] is False
    assert [(f["kind"], f["index"]) for f in report["findings"]] == [("edited", 2)]
    assert "entry 2" in report["findings"][0]["message"]


def test_checkpoints_are_listed_and_an_authority_cosigns_one(client: TestClient, audit_log: AuditLog) -> None:
    enroll(client)
    assert client.get("/v1/audit/checkpoints", headers=auth(Role.AUDITOR)).json()["checkpoints"] == []
    first = audit_log.checkpoint()
    enroll(client, given_names="Berta")
    second = audit_log.checkpoint()

    listed = client.get("/v1/audit/checkpoints", headers=auth(Role.AUDITOR)).json()
    assert listed["origin"] == ORIGIN
    assert listed["checkpoints"] == [first, second]  # oldest first, byte for byte
    assert audit_log.signer is not None and listed["key"] == audit_log.signer.verifier().vkey

    # the authority checks the log's signature with the published key and adds its own
    log_key = open_checkpoint(second, [audit_log.signer.verifier()])
    assert log_key.signers == (ORIGIN,)
    cosigned = add_cosignature(second, AUTHORITY, trusted=[audit_log.signer.verifier()])
    stored = client.post(
        "/v1/audit/checkpoints/cosigned", json={"note": cosigned}, headers=auth(Role.AUDITOR)
    )
    assert stored.status_code == 200, stored.text
    assert stored.json() == {"size": 2, "signers": [ORIGIN, "inai.test/cosign"]}
    assert client.get("/v1/audit/checkpoints", headers=auth(Role.AUDITOR)).json()["checkpoints"] == [
        first,
        cosigned,
    ]
    assert client.get("/v1/audit/verify", headers=auth(Role.AUDITOR)).json()["ok"] is True

    # the cosignature cannot be taken off again by sending the note without it
    dropped = client.post("/v1/audit/checkpoints/cosigned", json={"note": second}, headers=auth(Role.AUDITOR))
    assert assert_problem(dropped, 409, "PAD-AUDIT-105")["details"]["dropped"] == ["inai.test/cosign"]


def test_a_cosignature_of_a_checkpoint_never_signed_here_is_refused(
    client: TestClient, audit_log: AuditLog
) -> None:
    enroll(client)
    real = audit_log.checkpoint()
    assert audit_log.signer is not None
    forged = sign(
        new_checkpoint(ORIGIN, [bytes(32)], open_checkpoint(real, audit_log.verifiers).checkpoint.time),
        audit_log.signer,
    )
    unknown = client.post("/v1/audit/checkpoints/cosigned", json={"note": forged}, headers=auth(Role.AUDITOR))
    assert_problem(unknown, 404, "PAD-AUDIT-102")
    resigned = sign(open_checkpoint(real, audit_log.verifiers).checkpoint, Signer.generate(ORIGIN))
    lines = add_cosignature(real, AUTHORITY, trusted=audit_log.verifiers).split("\n")
    lines[1] = "7"  # claims more entries than were signed
    for note, code in (
        ("not a note", "PAD-AUDIT-001"),
        (resigned, "PAD-AUDIT-003"),  # signed by a key that is not the log's
        ("\n".join(lines), "PAD-AUDIT-002"),
    ):
        response = client.post(
            "/v1/audit/checkpoints/cosigned", json={"note": note}, headers=auth(Role.AUDITOR)
        )
        assert_problem(response, 422, code)
    assert audit_log.notes() == [real]
    missing = client.post("/v1/audit/checkpoints/cosigned", json={}, headers=auth(Role.AUDITOR))
    assert assert_problem(missing, 422, "PAD-API-001")["details"]["fields"] == ["note"]


def canonical(entry: dict[str, Any]) -> bytes:
    """An entry's JSON object written the canonical way (padron.audit.entry)."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def test_a_receipt_proves_an_entry_is_in_the_signed_log(client: TestClient, audit_log: AuditLog) -> None:
    curp = enroll(client)["curp"]
    for _ in range(5):
        client.get(f"/v1/persons/{curp}", headers=auth(Role.REGISTRAR))
    not_yet = client.get("/v1/audit/entries/3/proof", headers=auth(Role.AUDITOR))
    assert_problem(not_yet, 422, "PAD-AUDIT-007")
    audit_log.checkpoint()

    response = client.get("/v1/audit/entries/3/proof", headers=auth(Role.AUDITOR))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["index"] == 3 and body["entry"]["seq"] == 3
    assert (body["entry"]["action"], body["entry"]["actor"]) == ("person.read", REGISTRAR)
    assert canonical(body["entry"]) == base64.b64decode(body["entry_base64"])
    receipt = InclusionReceipt(
        index=body["index"],
        entry=canonical(body["entry"]),
        proof=tuple(base64.b64decode(node) for node in body["proof"]),
        checkpoint=body["checkpoint"],
    )
    assert audit_log.signer is not None
    assert verify_receipt(receipt, [audit_log.signer.verifier()]).seq == 3
    assert body["checkpoint"] == audit_log.notes()[-1]

    # reading the entry through its proof was recorded, under the record the entry is about
    (recorded,) = entries(client, action="audit.proof")
    assert (recorded["actor"], recorded["subject"], recorded["details"]) == (
        AUDITOR,
        body["entry"]["subject"],
        {"seq": 3},
    )
    assert_problem(
        client.get("/v1/audit/entries/999/proof", headers=auth(Role.AUDITOR)), 404, "PAD-AUDIT-104"
    )
    assert_problem(client.get("/v1/audit/entries/-1/proof", headers=auth(Role.AUDITOR)), 422, "PAD-API-001")


def test_a_server_from_settings_publishes_its_own_key(tmp_path: Path) -> None:
    from padron.settings import Settings

    settings = Settings(data_dir=tmp_path / "data")
    Registry.open(settings.effective_database_url, migrate=True).close()
    with TestClient(create_app(settings, key_store=FakeKeyStore())) as client:
        listed = client.get("/v1/audit/checkpoints", headers=auth(Role.AUDITOR)).json()
    key_file = (tmp_path / "data" / "audit.key").read_text()
    assert Signer.from_skey(key_file.strip()).verifier().vkey == listed["key"]
    assert listed["origin"] == settings.audit_origin
    assert "PRIVATE" not in json.dumps(listed)
