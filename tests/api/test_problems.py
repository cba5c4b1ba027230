"""Every failure is an RFC 9457 problem with its PAD code and the status of its category."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from padron.api.app import create_app
from padron.api.problems import STATUS_BY_CATEGORY
from padron.domain.access import Role
from padron.domain.errors import ErrorCategory
from padron.registry.service import Registry
from padron.registry.storage.database import Database
from tests.api.conftest import (
    CRASHING_TOKEN,
    PERSON,
    FakeKeyStore,
    FakeRateLimiter,
    assert_problem,
    auth,
    enroll,
)


def test_every_category_has_exactly_one_status() -> None:
    assert set(STATUS_BY_CATEGORY) == set(ErrorCategory)
    assert STATUS_BY_CATEGORY == {
        ErrorCategory.INVALID: 422,
        ErrorCategory.NOT_FOUND: 404,
        ErrorCategory.CONFLICT: 409,
        ErrorCategory.UNAUTHENTICATED: 401,
        ErrorCategory.FORBIDDEN: 403,
        ErrorCategory.RATE_LIMITED: 429,
        ErrorCategory.UNAVAILABLE: 503,
        ErrorCategory.INTERNAL: 500,
    }


def test_invalid_is_422_with_the_rule_code(client: TestClient) -> None:
    response = client.post(
        "/v1/persons", json={**PERSON, "birth_date": "1990-02-30"}, headers=auth(Role.REGISTRAR)
    )
    body = assert_problem(response, 422, "PAD-DATE-001")
    assert body["category"] == "invalid"
    assert "1990-02-30" in body["detail"]


def test_not_found_is_404(client: TestClient) -> None:
    body = assert_problem(
        client.get("/v1/persons/LOXA900102MDFPXN06", headers=auth(Role.AUDITOR)), 404, "PAD-PERSON-001"
    )
    assert body["details"] == {"curp": "LOXA900102MDFPXN06"}


def test_conflict_is_409(client: TestClient) -> None:
    curp = enroll(client)["curp"]
    stale = {"nationality": "ESP", "reason": "typo", "expected_version": 7}
    body = assert_problem(
        client.patch(f"/v1/persons/{curp}", json=stale, headers=auth(Role.REGISTRAR)), 409, "PAD-PERSON-007"
    )
    assert body["details"] == {"current": 1}


def test_unauthenticated_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    response = client.get("/v1/persons/X")
    assert_problem(response, 401, "PAD-API-007")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="padron"'


def test_forbidden_is_403_naming_the_roles(client: TestClient) -> None:
    body = assert_problem(client.get("/v1/persons/X", headers=auth(Role.VERIFIER)), 403, "PAD-AUTH-006")
    assert body["details"]["role"] == "verifier"
    assert body["details"]["allowed"] == ["registrar", "adjudicator", "auditor"]


def test_rate_limited_is_429_with_retry_after(client: TestClient, rate_limiter: FakeRateLimiter) -> None:
    rate_limiter.exhausted.add("adminid")
    response = client.get("/metrics", headers=auth(Role.ADMIN))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"


def test_unavailable_is_503_and_says_no_more_than_the_code(tmp_path: Path) -> None:
    empty = tmp_path / "secret-location" / "padron.db"
    registry = Registry(Database(f"sqlite:///{empty}"))  # no schema: never migrated
    app = create_app(registry=registry, key_store=FakeKeyStore(), rate_limiter=FakeRateLimiter())
    try:
        with TestClient(app) as client:
            response = client.get("/v1/persons/LOXA900102MDFPXN06", headers=auth(Role.AUDITOR))
    finally:
        registry.close()
    body = assert_problem(response, 503, "PAD-STORE-001")
    assert "secret-location" not in response.text
    assert body["detail"] == body["title"]
    assert body["instance"].startswith("urn:uuid:")


def test_internal_is_500_logged_with_its_traceback_under_the_instance_id(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="padron.api"):
        response = client.get("/metrics", headers={"Authorization": f"Bearer {CRASHING_TOKEN}"})
    body = assert_problem(response, 500, "PAD-GEN-001")
    assert "hunter2" not in response.text
    logged = [r for r in caplog.records if body["instance"] in r.getMessage()]
    assert logged and logged[0].exc_info is not None
    assert "hunter2" in str(logged[0].exc_info[1])


def test_an_unknown_route_is_a_404_problem(client: TestClient) -> None:
    body = assert_problem(client.get("/v1/nothing-here"), 404, "PAD-API-004")
    assert body["category"] == "not-found"


def test_a_wrong_method_is_a_405_problem_with_allow(client: TestClient) -> None:
    response = client.delete("/v1/persons/LOXA900102MDFPXN06", headers=auth(Role.REGISTRAR))
    body = assert_problem(response, 405, "PAD-API-005")
    assert response.headers["Allow"] == "GET, PATCH"  # every method of the path, not only the first route's
    assert body["details"]["allowed"] == ["GET", "PATCH"]
