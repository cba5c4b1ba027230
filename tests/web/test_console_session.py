"""The console's login, sessions and CSRF protection, its headers and its languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from padron.api.security import SESSION_COOKIE
from padron.domain.access import Role
from padron.registry.service import Registry
from padron.registry.sessions import ConsoleSessions, SessionError, hash_session_id
from padron.registry.storage.models import AuditEntryRow, ConsoleSessionRow
from padron.web.i18n import MESSAGES
from tests.api.conftest import token_for
from tests.web.conftest import csrf_of, log_in, login_token


def actions(registry: Registry) -> list[str]:
    with registry.db.read_session() as session:
        return list(session.scalars(select(AuditEntryRow.action).order_by(AuditEntryRow.seq)))


def test_login_exchanges_a_key_for_an_httponly_samesite_session_cookie(
    console: TestClient, sqlite_registry: Registry
) -> None:
    page = console.get("/console/login")
    assert page.status_code == 200 and 'lang="es"' in page.text and "Clave de API" in page.text
    response = console.post(
        "/console/login", data={"csrf": login_token(console), "token": token_for(Role.ADJUDICATOR)}
    )
    assert response.status_code == 303 and response.headers["location"] == "/console"
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and SESSION_COOKIE in v)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert "Max-Age=28800" in cookie
    session_id = console.cookies[SESSION_COOKIE]
    # only the hash of the session id is stored, never the key
    with sqlite_registry.db.read_session() as session:
        (row,) = session.scalars(select(ConsoleSessionRow))
        assert row.id_hash == hash_session_id(session_id) and row.role == "adjudicator"
        assert session_id not in row.id_hash
    home = console.get("/console")
    assert home.status_code == 200 and "adjudicator desk" in home.text and "Adjudicación" in home.text
    assert "console.login" in actions(sqlite_registry)


def test_the_login_form_needs_its_token_and_a_valid_key(console: TestClient) -> None:
    no_token = console.post("/console/login", data={"token": token_for(Role.ADMIN)})
    assert no_token.status_code == 403 and "PAD-CONSOLE-002" in no_token.text
    assert SESSION_COOKIE not in console.cookies
    bad_key = console.post("/console/login", data={"csrf": login_token(console), "token": "pdn_nobody_x"})
    assert bad_key.status_code == 401 and SESSION_COOKIE not in console.cookies
    # a partner's key opens no console session
    partner = console.post(
        "/console/login", data={"csrf": login_token(console), "token": token_for(Role.PARTNER)}
    )
    assert partner.status_code == 403 and "PAD-AUTH-006" in partner.text
    assert SESSION_COOKIE not in console.cookies


def test_pages_need_a_session_and_forms_the_sessions_csrf_token(console: TestClient) -> None:
    away = console.get("/console")
    assert away.status_code == 303 and away.headers["location"] == "/console/login?next=%2Fconsole"
    csrf = log_in(console, Role.AUDITOR)
    no_csrf = console.post("/console/logout", data={"x": "1"})
    assert no_csrf.status_code == 403 and "PAD-CONSOLE-002" in no_csrf.text
    wrong = console.post("/console/logout", data={"csrf": "0" * 64})
    assert wrong.status_code == 403
    assert console.get("/console").status_code == 200  # still logged in
    out = console.post("/console/logout", data={"csrf": csrf})
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    assert console.get("/console").status_code == 303


def test_a_logged_out_or_expired_session_is_refused(sqlite_registry: Registry) -> None:
    now = [datetime(2026, 12, 2, 9, 0, tzinfo=UTC)]
    sessions = ConsoleSessions(sqlite_registry, clock=lambda: now[0])
    opened = sessions.open("k1", "mesa 1", Role.REGISTRAR)
    assert sessions.resolve(opened.session_id).actor == "key:k1:mesa 1"
    now[0] += timedelta(minutes=31)  # idle too long
    with pytest.raises(SessionError):
        sessions.resolve(opened.session_id)
    again = sessions.open("k1", "mesa 1", Role.REGISTRAR, key_expires_at=now[0] + timedelta(hours=1))
    assert again.expires_at == now[0] + timedelta(hours=1)  # never beyond the key's expiry
    for _ in range(4):
        now[0] += timedelta(minutes=20)
        if now[0] < again.expires_at:
            sessions.resolve(again.session_id)
    with pytest.raises(SessionError):
        sessions.resolve(again.session_id)
    third = sessions.open("k1", "mesa 1", Role.REGISTRAR)
    sessions.end(third)
    with pytest.raises(SessionError):
        sessions.resolve(third.session_id)


def test_revoking_a_key_ends_its_console_sessions(sqlite_registry: Registry) -> None:
    from padron.registry.keys import KeyStore

    store = KeyStore(sqlite_registry)
    issued = store.create("mesa 9", Role.REGISTRAR, created_by="test:admin")
    sessions = ConsoleSessions(sqlite_registry)
    opened = sessions.open(issued.key.key_id, issued.key.name, issued.key.role)
    store.revoke(issued.key.key_id, revoked_by="test:admin")
    with pytest.raises(SessionError):
        sessions.resolve(opened.session_id)


def test_console_responses_carry_security_headers(console: TestClient) -> None:
    for path in ("/console/login", "/console/static/console.css", "/console/static/console.js"):
        response = console.get(path)
        assert response.status_code == 200, path
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["X-Frame-Options"] == "DENY"
    assert console.get("/console/static/../app.py").status_code == 404
    assert console.get("/console/static/other.js").status_code == 404
    # the API keeps problem+json; the console shows pages
    assert console.get("/v1/nothing").headers["content-type"].startswith("application/problem+json")
    assert console.get("/console/nothing").headers["content-type"].startswith("text/html")


def test_spanish_by_default_english_on_request_and_remembered(console: TestClient) -> None:
    assert "Iniciar sesión" in console.get("/console/login").text
    english = console.get("/console/login?lang=en")
    assert 'lang="en"' in english.text and "Log in" in english.text
    assert "Log in" in console.get("/console/login").text  # the cookie remembers it
    assert "Iniciar sesión" in console.get("/console/login?lang=es").text


def test_every_message_has_both_languages() -> None:
    for key, (es, en) in MESSAGES.items():
        assert es.strip() and en.strip(), key


def test_csrf_meta_is_the_sessions_token(console: TestClient) -> None:
    csrf = log_in(console, Role.OFFICER)
    assert csrf == csrf_of(console.get("/console").text)


def test_every_message_a_template_asks_for_exists() -> None:
    import re
    from importlib import resources

    templates = resources.files("padron.web").joinpath("templates")
    used: set[str] = set()
    for item in templates.iterdir():
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_.0-9A-Z]+)["']\s*\)""", item.read_text("utf-8")))
    assert used, "no message found in the templates"
    assert sorted(used - set(MESSAGES)) == []
