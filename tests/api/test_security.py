"""Who may call what: every route x every role x (no key / bad key), and how keys are presented."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from padron.api.app import create_app
from padron.api.roles import CONSOLE_ROLES, ENDPOINT_ACCESS, PUBLIC, EndpointAccess, protected
from padron.api.security import (
    SESSION_COOKIE,
    EndpointDeclarationError,
    authenticated,
    check_endpoint_access,
)
from padron.domain.access import AccessContext, Purpose, Role
from padron.registry.service import Registry
from padron.registry.sessions import SESSION_ID_LENGTH, ConsoleSessions
from tests.api.conftest import (
    PERSON,
    FakeRateLimiter,
    assert_problem,
    auth,
    enroll,
    token_for,
)

#: an upload with a part no endpoint takes: an admitted caller gets 422 PAD-UPLOAD-003, nothing is done
UNKNOWN_PART: dict[str, Any] = {"files": {"unknown": ("x.bin", b"x", "application/octet-stream")}}

#: for each endpoint: the request a caller the endpoint admits makes, and the status it gets.
#: Write endpoints get an empty JSON object, so an admitted caller gets the route's own 422 and
#: nothing is written.
REQUESTS: dict[tuple[str, str], tuple[dict[str, Any], int]] = {
    ("GET", "/health"): ({}, 200),
    ("GET", "/ready"): ({}, 200),
    ("GET", "/openapi.json"): ({}, 200),
    ("GET", "/docs"): ({}, 200),
    ("GET", "/metrics"): ({}, 200),
    ("GET", "/v1/persons/{curp}"): ({}, 200),
    ("GET", "/v1/persons/{curp}/history"): ({}, 200),
    ("POST", "/v1/persons"): ({"json": {}}, 422),
    ("PATCH", "/v1/persons/{curp}"): ({"json": {}}, 422),
    ("POST", "/v1/persons/{curp}/merge"): ({"json": {}}, 422),
    ("GET", "/v1/audit/entries"): ({}, 200),
    ("GET", "/v1/audit/entries/{seq}/proof"): ({}, 404),  # no such entry
    ("GET", "/v1/audit/verify"): ({}, 200),
    ("GET", "/v1/audit/checkpoints"): ({}, 200),
    ("POST", "/v1/audit/checkpoints/cosigned"): ({"json": {}}, 422),
    ("POST", "/v1/enrollments"): (UNKNOWN_PART, 422),
    ("POST", "/v1/verifications"): (UNKNOWN_PART, 422),
    ("POST", "/v1/identifications"): (UNKNOWN_PART, 422),
    ("GET", "/v1/adjudication/cases"): ({}, 200),
    ("GET", "/v1/adjudication/cases/{case_id}"): ({}, 404),  # no such case
    ("POST", "/v1/adjudication/cases/{case_id}/decision"): ({"json": {}}, 422),
    ("GET", "/v1/adjudication/cases/{case_id}/images"): ({}, 404),
    ("GET", "/v1/adjudication/cases/{case_id}/images/{side}/{slot}"): ({}, 404),
    ("POST", "/v1/residents/accesses"): (UNKNOWN_PART, 422),
    ("POST", "/v1/keys"): ({"json": {}}, 422),
    ("GET", "/v1/keys"): ({}, 200),
    ("POST", "/v1/keys/{key_id}/revoke"): ({"json": {}}, 422),
    ("GET", "/v1/gateway/identity"): ({}, 200),
    # partners sign their requests (tests/api/test_gateway.py): an API key of any role is no
    # signature, so the matrix gets 401 PAD-SHARE-010 for every role
    ("POST", "/v1/partner/requests"): ({"json": {}}, 401),
    ("GET", "/v1/partner/requests/{request_id}"): ({}, 401),
    ("POST", "/v1/partner/checkpoints"): ({"json": {}}, 401),
    ("GET", "/v1/gateway/requests"): ({}, 200),
    ("GET", "/v1/gateway/requests/{request_id}"): ({}, 404),
    ("POST", "/v1/gateway/requests/{request_id}/approve"): ({"json": {}}, 422),
    ("POST", "/v1/gateway/requests/{request_id}/deny"): ({"json": {}}, 422),
    ("GET", "/v1/gateway/flags"): ({}, 200),
    ("GET", "/v1/partners"): ({}, 200),
    ("POST", "/v1/partners"): ({"json": {}}, 422),
    ("POST", "/v1/partners/{partner_id}/status"): ({"json": {}}, 422),
    ("GET", "/v1/agreements"): ({}, 200),
    ("POST", "/v1/agreements"): ({"json": {}}, 422),
    ("GET", "/v1/agreements/{agreement_id}"): ({}, 404),
    ("POST", "/v1/agreements/{agreement_id}/status"): ({"json": {}}, 422),
    ("POST", "/v1/gateway/flags/{flag_id}/clear"): ({"json": {}}, 422),
    ("POST", "/v1/customs/inspections"): ({"json": {}}, 422),
    ("GET", "/v1/customs/inspections"): ({}, 200),
    ("GET", "/v1/customs/inspections/{inspection_id}"): ({}, 404),  # no such inspection
    ("POST", "/v1/customs/imports"): ({"json": {}}, 422),  # a JSON import without its inspections
    ("GET", "/v1/customs/pushes"): ({}, 200),
    ("POST", "/v1/customs/pushes/send"): ({"json": {}}, 200),  # nothing queued: nothing sent
    ("POST", "/v1/partner/customs/inspections"): ({"json": {}}, 401),
    # the web console: a session cookie instead of a key (tests/web); forms get the session's
    # CSRF token and nothing else, so an admitted caller gets the page's own refusal
    ("GET", "/console/login"): ({}, 200),
    ("POST", "/console/login"): ({"data": {"token": ""}}, 403),  # no login token: refused, nothing opened
    ("GET", "/console/static/{name}"): ({}, 200),
    ("GET", "/console"): ({}, 200),
    ("GET", "/console/enrollment"): ({}, 200),
    ("POST", "/console/enrollment/preview"): ({"data": {"x": ""}}, 200),  # the rule that fails
    ("POST", "/console/enrollment/quality"): (UNKNOWN_PART, 422),
    ("POST", "/console/enrollment"): (UNKNOWN_PART, 422),
    ("GET", "/console/persons/{curp}"): ({}, 200),
    ("GET", "/console/adjudication"): ({}, 200),
    ("GET", "/console/adjudication/{case_id}"): ({}, 404),
    ("GET", "/console/adjudication/{case_id}/images/{side}/{slot}"): ({}, 404),
    ("POST", "/console/adjudication/{case_id}/decision"): ({"data": {"x": ""}}, 422),
    ("GET", "/console/gateway"): ({}, 200),
    ("GET", "/console/gateway/{request_id}"): ({}, 404),
    ("POST", "/console/gateway/{request_id}/approve"): ({"data": {"x": ""}}, 422),
    ("POST", "/console/gateway/{request_id}/deny"): ({"data": {"x": ""}}, 422),
    ("GET", "/console/audit"): ({}, 200),
    ("GET", "/console/audit/resident"): ({}, 200),
    ("GET", "/console/dashboard"): ({}, 200),
    ("GET", "/console/dashboard/{chart}"): ({}, 200),
    ("POST", "/console/logout"): ({"data": {"x": ""}}, 303),
}

#: what the matrix puts in a path's parameters besides the CURP (an entry and a key that do not exist)
PATH_VALUES = {
    "{seq}": "999999",
    "{key_id}": "a" * 12,
    "{case_id}": "999999",
    "{side}": "applicant",
    "{slot}": "face",
    "{request_id}": "00000000-0000-0000-0000-000000000000",
    "{flag_id}": "999999",
    "{inspection_id}": "999999",
    "{partner_id}": "nobody",
    "{agreement_id}": "nothing",
    "{name}": "console.css",
    "{chart}": "det.png",
}


def app_of(client: TestClient) -> FastAPI:
    assert isinstance(client.app, FastAPI)
    return client.app


def app_routes(client: TestClient) -> set[tuple[str, str]]:
    return {
        (method, getattr(route, "path", ""))
        for route in app_of(client).routes
        for method in getattr(route, "methods", ()) or ()
        if method != "HEAD"
    }


def test_every_route_of_the_app_declares_its_roles_and_has_a_matrix_request(client: TestClient) -> None:
    routes = app_routes(client)
    assert routes == set(ENDPOINT_ACCESS), "a route is missing from padron.api.roles.ENDPOINT_ACCESS"
    assert set(REQUESTS) == routes, "add the new route's request to REQUESTS in this test"


def console_sessions(registry: Registry) -> dict[Role, dict[str, str]]:
    """A console session of every role that may have one: the headers of its requests (the
    session cookie, and the CSRF token a page's script sends)."""
    opened = {}
    for role in CONSOLE_ROLES:
        session = ConsoleSessions(registry).open(f"{role.value}id", f"{role.value} desk", role)
        opened[role] = {
            "Cookie": f"{SESSION_COOKIE}={session.session_id}",
            "X-CSRF-Token": session.csrf,
        }
    return opened


def check_console_page(
    client: TestClient,
    sessions: dict[Role, dict[str, str]],
    access: EndpointAccess,
    call: Any,
    label: str,
    admitted_status: int,
) -> None:
    """A console page: without a session (or with an unknown one) a GET is sent to the login page
    and anything else is 401; an API key is no session; a session of a role the page does not
    admit is 403; partners have no console."""
    unknown = {"Cookie": f"{SESSION_COOKIE}={'x' * SESSION_ID_LENGTH}"}
    for name, headers in (("no session", {}), ("unknown session", unknown), ("an API key", auth(Role.ADMIN))):
        response = call(headers)
        if access.public:
            assert response.status_code == admitted_status, f"{label} with {name}: {response.text}"
        elif label.startswith("GET "):
            assert response.status_code == 303, f"{label} with {name}: {response.text}"
            assert response.headers["location"].startswith("/console/login?next="), label
        else:
            assert response.status_code == 401, f"{label} with {name}: {response.text}"
    for role, headers in sessions.items():
        response = call(headers)
        if access.public or role in access.roles:
            assert response.status_code == admitted_status, f"{label} as {role}: {response.text}"
        else:
            assert response.status_code == 403, f"{label} as {role}: {response.text}"
            assert "PAD-AUTH-006" in response.text, label
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'"), label


def test_role_matrix(client: TestClient, sqlite_registry: Registry) -> None:
    curp = enroll(client)["curp"]
    sessions = console_sessions(sqlite_registry)
    for (method, path), access in ENDPOINT_ACCESS.items():
        options, admitted_status = REQUESTS[(method, path)]
        url = path.replace("{curp}", curp)
        for parameter, value in PATH_VALUES.items():
            url = url.replace(parameter, value)
        label = f"{method} {path}"

        def call(
            headers: dict[str, str], method: str = method, url: str = url, options: Any = options
        ) -> Any:
            return client.request(method, url, headers=headers, follow_redirects=False, **options)

        if access.console:
            check_console_page(client, sessions, access, call, label, admitted_status)
            continue
        if access.signed:  # no API key of any role stands in for the partner's signature
            for headers in ({}, *(auth(role) for role in Role)):
                assert_problem(call(headers), 401, "PAD-SHARE-010")
            continue
        for name, headers in (("no key", {}), ("unknown key", {"Authorization": "Bearer pdn_nobody_x"})):
            response = call(headers)
            if access.public:
                assert response.status_code == admitted_status, f"{label} with {name}: {response.text}"
            else:
                assert response.status_code == 401, f"{label} with {name}: {response.text}"
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
        for role in Role:
            response = call(auth(role))
            if access.public or role in access.roles:
                assert response.status_code == admitted_status, f"{label} as {role}: {response.text}"
            else:
                assert_problem(response, 403, "PAD-AUTH-006")
    assert client.get(f"/v1/persons/{curp}", headers=auth(Role.AUDITOR)).json()["version"] == 1  # unchanged


def test_an_undeclared_route_is_refused(client: TestClient) -> None:
    app = app_of(client)

    @app.get("/v1/forgotten")
    def forgotten(ctx: Annotated[AccessContext, Depends(authenticated)]) -> dict[str, str]:
        return {}

    with pytest.raises(EndpointDeclarationError, match="GET /v1/forgotten declares no roles"):
        check_endpoint_access(app.routes)


def test_declarations_must_match_how_routes_are_wired(client: TestClient) -> None:
    routes = app_of(client).routes
    table: dict[tuple[str, str], EndpointAccess] = dict(ENDPOINT_ACCESS)
    table[("GET", "/health")] = protected(Purpose.ADMINISTRATION, Role.ADMIN)  # but takes no key
    table[("GET", "/v1/persons/{curp}")] = PUBLIC  # but needs one
    table[("DELETE", "/v1/persons/{curp}")] = protected(Purpose.CORRECTION, Role.REGISTRAR)  # no route
    with pytest.raises(EndpointDeclarationError) as refused:
        check_endpoint_access(routes, table)
    message = str(refused.value)
    assert "GET /health has roles but does not depend on authenticated" in message
    assert "GET /v1/persons/{curp} is declared public but depends on authenticated" in message
    assert "DELETE /v1/persons/{curp} is declared but no such route exists" in message


def test_the_key_goes_in_authorization_bearer_or_x_api_key(client: TestClient) -> None:
    token = token_for(Role.ADMIN)
    assert client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/metrics", headers={"Authorization": f"bearer {token}"}).status_code == 200
    assert client.get("/metrics", headers={"X-API-Key": token}).status_code == 200
    both = {"Authorization": f"Bearer {token}", "X-API-Key": token}
    assert client.get("/metrics", headers=both).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": "Bearer "},
        {"X-API-Key": ""},
        {"Authorization": f"Bearer {token_for(Role.ADMIN)}", "X-API-Key": token_for(Role.AUDITOR)},
    ],
    ids=["none", "basic", "empty-bearer", "empty-header", "two-keys"],
)
def test_a_missing_or_ambiguous_key_is_401_without_invalid_token(client: TestClient, headers: Any) -> None:
    body = assert_problem(client.get("/metrics", headers=headers), 401, "PAD-API-007")
    response = client.get("/metrics", headers=headers)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="padron"'
    assert "pdn_" not in body["detail"]  # a key is never echoed


def test_a_refused_key_is_401_invalid_token(client: TestClient) -> None:
    response = client.get("/metrics", headers={"Authorization": "Bearer pdn_revoked_x"})
    assert response.status_code == 401
    assert response.json()["category"] == "unauthenticated"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="padron", error="invalid_token"'


def test_a_rate_limited_key_gets_429_with_retry_after(
    client: TestClient, rate_limiter: FakeRateLimiter
) -> None:
    rate_limiter.exhausted.add("registrarid")
    response = client.get("/v1/persons/LOXA900102MDFPXN06", headers=auth(Role.REGISTRAR))
    assert response.status_code == 429
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["category"] == "rate-limited"
    assert response.headers["Retry-After"] == "3"  # 2.5 s, in whole seconds
    # other keys are not affected
    assert client.get("/v1/persons/LOXA900102MDFPXN06", headers=auth(Role.AUDITOR)).status_code == 404


def test_every_authenticated_request_counts_against_the_limit(
    client: TestClient, rate_limiter: FakeRateLimiter
) -> None:
    client.get("/metrics", headers=auth(Role.VERIFIER))  # refused: 403, but counted
    client.get("/metrics", headers={"Authorization": "Bearer pdn_nobody_x"})  # no key: nothing to count
    assert rate_limiter.checked == ["verifierid"]


def test_the_key_is_the_actor_of_the_change(client: TestClient) -> None:
    curp = enroll(client)["curp"]
    entries = client.get(f"/v1/persons/{curp}/history", headers=auth(Role.AUDITOR)).json()["entries"]
    assert [e["actor"] for e in entries] == ["key:registrarid:registrar desk"]


def test_a_real_key_works_until_it_is_revoked(sqlite_registry: Registry) -> None:
    from padron.registry.keys import KeyStore

    store = KeyStore(sqlite_registry)
    issued = store.create("mesa 4", Role.REGISTRAR, created_by="test:admin")
    auditor = store.create("inai", Role.AUDITOR, created_by="test:admin")
    with TestClient(create_app(registry=sqlite_registry)) as client:  # the server's own key store
        bearer = {"Authorization": f"Bearer {issued.token}"}
        body = {**PERSON, "reason": "alta"}
        created = client.post("/v1/persons", json=body, headers=bearer)
        assert created.status_code == 201, created.text
        history = client.get(
            f"/v1/persons/{created.json()['curp']}/history", headers={"X-API-Key": auditor.token}
        )
        assert history.json()["entries"][0]["actor"] == f"key:{issued.key.key_id}:mesa 4"
        assert_problem(client.get("/metrics", headers=bearer), 403, "PAD-AUTH-006")
        store.revoke(issued.key.key_id, revoked_by="test:admin")
        assert_problem(client.post("/v1/persons", json=body, headers=bearer), 401, "PAD-AUTH-003")
