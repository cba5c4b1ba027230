"""Fixtures of the console tests: the API test application (synthetic samples, a fake key store
with one key per role) and helpers to log in as a role through the login page."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from padron.domain.access import Role
from padron.registry.service import Registry
from tests.api.conftest import (  # the API tests' fixtures, used here too
    FakeKeyStore,
    FakeRateLimiter,
    key_store,
    make_app,
    rate_limiter,
    sqlite_registry,
    token_for,
)

__all__ = ["key_store", "rate_limiter", "sqlite_registry"]


@pytest.fixture
def console(
    sqlite_registry: Registry, key_store: FakeKeyStore, rate_limiter: FakeRateLimiter
) -> Iterator[TestClient]:
    app = make_app(sqlite_registry, key_store, rate_limiter)
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


def login_token(client: TestClient) -> str:
    page = client.get("/console/login")
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


def log_in(client: TestClient, role: Role, *, token: str | None = None) -> str:
    """Log ``client`` in as ``role`` through the login page; returns the session's CSRF token."""
    response = client.post(
        "/console/login",
        data={"csrf": login_token(client), "token": token or token_for(role), "next": "/console"},
    )
    assert response.status_code == 303, response.text
    home = client.get("/console")
    assert home.status_code == 200, home.text
    return csrf_of(home.text)


def csrf_of(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert match is not None, html
    return match.group(1)
