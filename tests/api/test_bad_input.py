# ruff: noqa: E501 -- the corpus is a table, one request a line
"""A corpus of bad requests over HTTP: each is answered 4xx with its PAD- code, the server stays up,
and the database is byte-for-byte as it was."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from padron.api.app import create_app
from padron.domain.access import Role
from padron.registry.service import Registry
from tests.api.conftest import PERSON, FakeKeyStore, FakeRateLimiter, auth
from tests.support.dbstate import sqlite_state

REGISTRAR = auth(Role.REGISTRAR)
JSON = {"Content-Type": "application/json"}


def _person(**changes: Any) -> bytes:
    return json.dumps({**PERSON, "reason": "alta", **changes}).encode()


#: name -> (method, path, body bytes, extra headers, expected status, expected code)
CORPUS: dict[str, tuple[str, str, bytes, dict[str, str], int, str]] = {
    "zero-byte body": ("POST", "/v1/persons", b"", JSON, 422, "PAD-API-001"),
    "not JSON": ("POST", "/v1/persons", b"given_names=Ana", JSON, 400, "PAD-API-003"),
    "wrong content type": ("POST", "/v1/persons", _person(), {"Content-Type": "text/plain"}, 415, "PAD-API-006"),
    "unknown field": ("POST", "/v1/persons", _person(height="1.70"), JSON, 422, "PAD-API-001"),
    "null where a string belongs": ("POST", "/v1/persons", _person(given_names=None), JSON, 422, "PAD-API-001"),
    "a number where a string belongs": ("POST", "/v1/persons", _person(sex=1), JSON, 422, "PAD-API-001"),
    "NaN": ("POST", "/v1/persons", _person().replace(b'"Ana"', b"NaN"), JSON, 400, "PAD-API-003"),
    "repeated key": ("POST", "/v1/persons", b'{"given_names":"A","given_names":"B"}', JSON, 400, "PAD-API-003"),
    "deep nesting": ("POST", "/v1/persons", b"[" * 5000 + b"]" * 5000, JSON, 400, "PAD-API-003"),
    "10 MB string": ("POST", "/v1/persons", _person(given_names="A" * 10_000_000), JSON, 413, "PAD-API-002"),
    "not UTF-8": ("POST", "/v1/persons", _person(given_names="Añá").replace(b"\\u00f1", b"\xf1"), JSON, 400, "PAD-API-003"),
    "SQL-looking name": ("POST", "/v1/persons", _person(first_surname="x'); DROP TABLE persons;--"), JSON, 422, "PAD-NAME-002"),
    "SQL-looking CURP": ("GET", "/v1/persons/' OR '1'='1", b"", {}, 404, "PAD-PERSON-001"),
    "control characters in the reason": ("POST", "/v1/persons", _person(reason="alta\x1b[2J"), JSON, 422, "PAD-PERSON-008"),
    "a date that is not one": ("POST", "/v1/persons", _person(birth_date="1990-02-30"), JSON, 422, "PAD-DATE-001"),
    "unknown route": ("GET", "/v1/people", b"", {}, 404, "PAD-API-004"),
    "wrong method": ("DELETE", "/v1/persons", b"", {}, 405, "PAD-API-005"),
}  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Path]]:
    folder = tmp_path_factory.mktemp("bad-input")
    registry = Registry.open(f"sqlite:///{folder / 'padron.db'}", migrate=True)
    app = create_app(registry=registry, key_store=FakeKeyStore(), rate_limiter=FakeRateLimiter())
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            assert (
                client.post("/v1/persons", content=_person(), headers={**REGISTRAR, **JSON}).status_code
                == 201
            )
            yield client, folder / "padron.db"
    finally:
        registry.close()


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_a_bad_request_is_refused_with_its_code_and_writes_nothing(
    served: tuple[TestClient, Path], name: str
) -> None:
    client, database = served
    method, path, body, headers, status, code = CORPUS[name]
    before = sqlite_state(database)
    response = client.request(method, path, content=body or None, headers={**REGISTRAR, **headers})
    assert response.status_code == status, (name, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code, response.text[:300]
    assert sqlite_state(database) == before, f"{name} was refused but wrote"
    assert client.get("/health").status_code == 200  # the server is still up
