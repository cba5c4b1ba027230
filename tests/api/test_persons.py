"""/v1/persons: enroll, read, correct, change status, merge, history; and refused bodies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from padron.api.bodies import MAX_BODY_BYTES
from padron.api.schemas import PersonCreate
from padron.cli.person_file import PersonFile
from padron.domain.access import Role
from padron.registry.service import Registry
from tests.api.conftest import PERSON, FakeKeyStore, FakeRateLimiter, assert_problem, auth, enroll, make_app

REGISTRAR = auth(Role.REGISTRAR)


@pytest.fixture
def any_client(registry: Registry) -> Iterator[TestClient]:
    """A client on SQLite and on PostgreSQL (the suite's `registry` fixture)."""
    with TestClient(make_app(registry, FakeKeyStore(), FakeRateLimiter())) as client:
        yield client


def test_a_person_is_created_read_corrected_and_the_history_shows_it(any_client: TestClient) -> None:
    client = any_client
    created = client.post("/v1/persons", json=PERSON, headers=REGISTRAR)
    assert created.status_code == 201
    person = created.json()
    assert person == {
        "curp": person["curp"],
        "given_names": "ANA",
        "first_surname": "LÓPEZ",
        "second_surname": "RUIZ",
        "birth_date": "1990-01-02",
        "sex": "M",
        "birth_state": "DF",
        "nationality": "MEX",
        "status": "active",
        "merged_into": None,
        "version": 1,
    }
    old_curp = person["curp"]
    assert old_curp.startswith("LORA900102MDF")
    assert created.headers["Location"] == f"/v1/persons/{old_curp}"
    assert client.get(created.headers["Location"], headers=auth(Role.ADJUDICATOR)).json() == person

    # a corrected first surname changes the CURP's letters: a new CURP is issued
    corrected = client.patch(
        f"/v1/persons/{old_curp}",
        json={"first_surname": "Muñoz", "reason": "acta de nacimiento", "expected_version": 1},
        headers=REGISTRAR,
    )
    assert corrected.status_code == 200, corrected.text
    new = corrected.json()
    assert new["first_surname"] == "MUÑOZ" and new["version"] == 2
    assert new["curp"] != old_curp and new["curp"].startswith("MURA900102MDF")

    # the old CURP still finds the person, under the new one
    assert client.get(f"/v1/persons/{old_curp}", headers=auth(Role.AUDITOR)).json()["curp"] == new["curp"]

    history = client.get(f"/v1/persons/{old_curp}/history", headers=auth(Role.AUDITOR)).json()
    assert history["curp"] == new["curp"]
    assert [e["kind"] for e in history["entries"]] == ["created", "updated"]
    update = history["entries"][1]
    assert update["reason"] == "acta de nacimiento"
    assert update["actor"] == "key:registrarid:registrar desk"
    assert update["changes"]["curp"] == {"old": old_curp, "new": new["curp"]}
    assert update["changes"]["first_surname"] == {"old": "LÓPEZ", "new": "MUÑOZ"}


def test_a_status_change_and_a_merge(client: TestClient) -> None:
    duplicate = enroll(client)["curp"]
    survivor = enroll(client, given_names="Beatriz")["curp"]
    suspended = client.patch(
        f"/v1/persons/{duplicate}", json={"status": "suspended", "reason": "revisión"}, headers=REGISTRAR
    )
    assert suspended.json()["status"] == "suspended"
    merged = client.post(
        f"/v1/persons/{duplicate}/merge", json={"into": survivor, "reason": "duplicado"}, headers=REGISTRAR
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["status"] == "merged" and merged.json()["merged_into"] == survivor
    again = client.post(
        f"/v1/persons/{duplicate}/merge", json={"into": survivor, "reason": "otra vez"}, headers=REGISTRAR
    )
    assert_problem(again, 409, "PAD-PERSON-003")


def test_an_unknown_status_names_the_field(client: TestClient) -> None:
    curp = enroll(client)["curp"]
    response = client.patch(
        f"/v1/persons/{curp}", json={"status": "vanished", "reason": "x"}, headers=REGISTRAR
    )
    body = assert_problem(response, 422, "PAD-API-001")
    assert body["details"]["fields"] == ["status"]


def test_an_update_that_names_nothing_is_refused(client: TestClient) -> None:
    curp = enroll(client)["curp"]
    body = assert_problem(
        client.patch(f"/v1/persons/{curp}", json={"reason": "nothing"}, headers=REGISTRAR), 422, "PAD-API-001"
    )
    assert "nothing to update" in body["detail"]


def test_validation_errors_name_every_field(client: TestClient) -> None:
    body = {key: value for key, value in PERSON.items() if key != "given_names"}
    body["sex"] = 1
    body["birth_state"] = None
    response = client.post("/v1/persons", json=body, headers=REGISTRAR)
    problem = assert_problem(response, 422, "PAD-API-001")
    assert problem["details"]["fields"] == ["birth_state", "given_names", "sex"]
    problems = {e["field"]: e["problem"] for e in problem["details"]["errors"]}
    assert problems == {"given_names": "missing", "sex": "string_type", "birth_state": "string_type"}
    assert "given_names is missing" in problem["detail"]


def test_an_unknown_field_is_refused_by_name(client: TestClient) -> None:
    response = client.post("/v1/persons", json={**PERSON, "curp": "LORA900102MDFPXN01"}, headers=REGISTRAR)
    body = assert_problem(response, 422, "PAD-API-001")
    assert body["details"]["fields"] == ["curp"]
    assert body["details"]["errors"][0]["problem"] == "extra_forbidden"
    assert client.get("/v1/persons/LORA900102MDFPXN01", headers=REGISTRAR).status_code == 404


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'{"given_names": "Ana",', "not valid JSON"),
        (b'{"given_names": "Ana", "given_names": "Eva"}', "appears twice"),
        (b'{"given_names": NaN}', "NaN is not a JSON value"),
        (b'{"given_names": "\xff"}', "not UTF-8"),
        (b"[" * 40 + b"]" * 40, "nested deeper"),
    ],
    ids=["syntax", "repeated-key", "nan", "latin-1", "deep"],
)
def test_a_body_that_cannot_be_parsed_is_400(client: TestClient, content: bytes, fragment: str) -> None:
    headers = {**REGISTRAR, "Content-Type": "application/json"}
    body = assert_problem(client.post("/v1/persons", content=content, headers=headers), 400, "PAD-API-003")
    assert fragment in body["detail"]


def test_a_body_not_sent_as_json_is_415(client: TestClient) -> None:
    headers = {**REGISTRAR, "Content-Type": "application/x-www-form-urlencoded"}
    assert_problem(
        client.post("/v1/persons", content=b"given_names=Ana", headers=headers), 415, "PAD-API-006"
    )


def test_a_body_over_the_limit_is_413_and_nothing_is_written(
    client: TestClient, sqlite_registry: Registry
) -> None:
    big: dict[str, Any] = {**PERSON, "reason": "x" * MAX_BODY_BYTES}
    declared = client.post("/v1/persons", json=big, headers=REGISTRAR)
    body = assert_problem(declared, 413, "PAD-API-002")
    assert body["details"] == {"max_bytes": MAX_BODY_BYTES}

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies as the body streams in
        yield b'{"given_names": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 1):
            yield b"a" * 65536
        yield b'"}'

    headers = {**REGISTRAR, "Content-Type": "application/json"}
    streamed = client.post("/v1/persons", content=chunks(), headers=headers)
    assert_problem(streamed, 413, "PAD-API-002")
    assert sqlite_registry.count() == 0
    assert client.post("/v1/persons", json=PERSON, headers=REGISTRAR).status_code == 201  # the server goes on


def test_person_create_has_the_person_file_fields() -> None:
    """PersonCreate and the command line's person file are one schema (plus the reason)."""
    create = {name: (f.annotation, f.default, f.metadata) for name, f in PersonCreate.model_fields.items()}
    person_file = {name: (f.annotation, f.default, f.metadata) for name, f in PersonFile.model_fields.items()}
    assert {k: v for k, v in create.items() if k != "reason"} == person_file
    assert PersonCreate.model_config["strict"] and PersonCreate.model_config["extra"] == "forbid"
