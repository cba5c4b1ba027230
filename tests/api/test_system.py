"""Liveness, readiness, metrics, the docs page, the OpenAPI document and the factory's settings."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from padron.api.app import create_app
from padron.api.config import ServingDatabaseError
from padron.api.roles import ENDPOINT_ACCESS
from padron.domain.access import Role
from padron.registry.service import Registry
from padron.registry.storage.database import Database
from padron.settings import Settings
from tests.api.conftest import FakeKeyStore, FakeRateLimiter, assert_problem, auth, enroll


def test_health_and_ready_on_a_migrated_registry(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready" and ready.json()["schema_revision"]


def test_an_unmigrated_database_is_alive_but_not_ready(tmp_path: Path) -> None:
    registry = Registry(Database(f"sqlite:///{tmp_path / 'padron.db'}"))
    try:
        with TestClient(create_app(registry=registry, key_store=FakeKeyStore())) as client:
            assert client.get("/health").status_code == 200
            body = assert_problem(client.get("/ready"), 503, "PAD-STORE-002")
            assert "padron init" in body["detail"]
            # once migrated, the same server is ready
            registry.db.migrate()
            assert client.get("/ready").status_code == 200
    finally:
        registry.close()


def test_the_factory_opens_the_database_only_when_the_server_starts(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    app = create_app(Settings(data_dir=data_dir), key_store=FakeKeyStore())
    assert not data_dir.exists()  # building the app made nothing
    with TestClient(app) as client:
        assert data_dir.is_dir()
        assert_problem(client.get("/ready"), 503, "PAD-STORE-002")
        Database(f"sqlite:///{data_dir / 'padron.db'}").migrate()
        # the galleries, which could not load without a schema, load now (in the background)
        deadline = time.monotonic() + 60
        while (ready := client.get("/ready")).status_code == 503 and time.monotonic() < deadline:
            assert ready.json()["code"] == "PAD-API-008", ready.text
            time.sleep(0.05)
        assert ready.status_code == 200, ready.text
        assert ready.json()["gallery"] == "ready"


def test_production_refuses_to_serve_from_sqlite(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, environment="production", vault_key="a2V5")
    with pytest.raises(ServingDatabaseError):
        create_app(settings)


def test_metrics_count_requests_by_route_template_without_personal_data(client: TestClient) -> None:
    curp = enroll(client)["curp"]
    client.get(f"/v1/persons/{curp}", headers=auth(Role.AUDITOR))
    client.get(f"/v1/persons/{curp}", headers=auth(Role.AUDITOR))
    client.get("/v1/persons/NOSUCHCURP", headers=auth(Role.AUDITOR))
    client.get(f"/nothing/{curp}")
    response = client.get("/metrics", headers=auth(Role.ADMIN))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'padron_http_requests_total{method="GET",route="/v1/persons/{curp}",status="200"} 2.0' in text
    assert 'padron_http_requests_total{method="GET",route="/v1/persons/{curp}",status="404"} 1.0' in text
    assert 'padron_http_requests_total{method="POST",route="/v1/persons",status="201"} 1.0' in text
    assert 'padron_http_requests_total{method="GET",route="(unmatched)",status="404"} 1.0' in text
    assert (
        'padron_http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/v1/persons/{curp}"}'
        in text
    )
    assert curp not in text and "NOSUCHCURP" not in text


def test_two_apps_in_one_process_count_separately(sqlite_registry: Registry) -> None:
    first = create_app(registry=sqlite_registry, key_store=FakeKeyStore(), rate_limiter=FakeRateLimiter())
    second = create_app(registry=sqlite_registry, key_store=FakeKeyStore(), rate_limiter=FakeRateLimiter())
    with TestClient(first) as a, TestClient(second) as b:
        a.get("/health")
        a.get("/health")
        text = b.get("/metrics", headers=auth(Role.ADMIN)).text
    assert 'route="/health"' not in text


def test_docs_page_lists_every_endpoint_with_its_roles_and_loads_nothing_from_outside(
    client: TestClient,
) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    for (method, path), access in ENDPOINT_ACCESS.items():
        if access.console:  # the web console's pages are not API operations
            assert path not in page
        elif path not in ("/docs", "/openapi.json"):
            assert f"<code>{method}</code></td><td><code>{path}</code>" in page
    assert "adjudicator, auditor, registrar" in page
    assert "<script" not in page and "<link" not in page and "<img" not in page
    assert not re.search(r"""(src|href)=['"]?(https?:)?//""", page)


def test_openapi_documents_roles_keys_and_problems(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert set(schema["components"]["securitySchemes"]) == {"HTTPBearer", "APIKeyHeader", "PartnerSignature"}
    for (method, path), access in ENDPOINT_ACCESS.items():
        if path in ("/docs", "/openapi.json"):
            continue
        if access.console:  # the web console's pages are not API operations
            assert path not in schema["paths"]
            continue
        operation = schema["paths"][path][method.lower()]
        assert operation["x-padron-roles"] == sorted(r.value for r in access.roles)
        assert bool(operation.get("security")) == (not access.public), path
        if access.signed:
            assert operation["security"] == [{"PartnerSignature": []}], path
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert list(response["content"]) == ["application/problem+json"], (path, status)
