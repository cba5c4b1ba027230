"""The console end to end in headless Chromium: log in, decide an adjudication case, approve a
partner's request with two officers, find it all in the audit explorer, see the dashboard, and
check that a verifier's session opens neither the adjudication nor the audit pages. Every page
visited passes axe-core's WCAG 2.1 A/AA rules; screenshots go to test-artifacts/.

The registry runs padron's real use cases on synthetic samples (tests/api/conftest.py); the
enrollment desk with real images is in test_enrollment_desk.py."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import expect

from padron.api.app import create_app
from padron.audit.checkpoint import Signer, add_cosignature
from padron.domain.access import AccessContext, Purpose, Role
from padron.registry.audit import AuditLog
from padron.registry.service import Registry
from padron.sharing.agreements import Agreement, Approval, Operation, OperationTerms, Partner, Rung
from padron.sharing.client import PeerClient
from padron.sharing.keys import GatewayIdentity
from padron.sharing.references import References, new_key
from padron.sharing.store import Sharing
from tests.api.conftest import (
    PERSON,
    FakeKey,
    FakeKeyStore,
    FakeRateLimiter,
    synthetic_image,
    synthetic_samples,
    token_for,
)
from tests.support.synthetic import identity_service
from tests.web.browser.conftest import Server, check_accessibility, log_in, screenshot, serve

pytestmark = [pytest.mark.xdist_group("browser"), pytest.mark.slow, pytest.mark.browser]

ADMIN = AccessContext.cli("test:admin", Purpose.ADMINISTRATION)
ORIGIN = "padron.test/audit"
OFFICER2 = "pdn_officer2id_secretofficer2"
TODAY = datetime.now(UTC).date()


def identify_request() -> dict[str, Any]:
    image = base64.b64encode(synthetic_image(0, 7)).decode()
    return {
        "operation": "identify",
        "purpose": "border-control",
        "rung": 1,
        "case_ref": "DHS-2026-0042",
        "probe": {"fingers": {"2": image, "7": image}},
    }


def gateway_identity(name: str) -> GatewayIdentity:
    return GatewayIdentity(name, Ed25519PrivateKey.generate(), References(new_key()))


class World:
    """A served registry with synthetic people, a grey-zone case and a partner."""

    def __init__(self, server: Server, registry: Registry, me: GatewayIdentity, audit: AuditLog) -> None:
        self.server, self.registry, self.me, self.audit = server, registry, me, audit
        self.url = server.url
        self.http = httpx.Client(base_url=server.url, timeout=30)
        self.curps: list[str] = []
        self.case_id = 0
        self.dhs: PeerClient | None = None
        self.reference = ""

    def headers(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(role)}"}

    def enroll(self, i: int, files: dict[str, Any] | None = None, **fields: Any) -> httpx.Response:
        names = ["Ana", "Luis", "Rosa", "Pedro", "Elena", "Jorge", "Marta", "Iván"]
        person = {**PERSON, "given_names": names[i], "birth_date": f"19{60 + i}-03-04", **fields}
        upload = files or {
            "face": ("face.png", synthetic_image(i, 1), "image/png"),
            "finger_2": ("2.png", synthetic_image(i, 1), "image/png"),
            "finger_7": ("7.png", synthetic_image(i, 1), "image/png"),
        }
        import json

        return self.http.post(
            "/v1/enrollments",
            data={"person": json.dumps(person)},
            files=upload,
            headers=self.headers(Role.REGISTRAR),
        )

    def partner(self) -> PeerClient:
        them = gateway_identity("us-dhs")
        sharing = Sharing(self.registry)
        sharing.add_partner(
            Partner("us-dhs", "Homeland Security", "USA", "liaison@example.org", them.public_key), ADMIN
        )
        terms = {
            Operation.IDENTIFY: OperationTerms(
                max_rung=Rung.REFERENCE, candidates=1, daily_quota=5, approval=Approval.NONE
            ),
            Operation.DISCLOSE: OperationTerms(
                max_rung=Rung.CORE_DATA,
                daily_quota=10,
                approval=Approval.TWO_OFFICERS,
                attributes=frozenset({"curp", "given_names", "first_surname"}),
            ),
        }
        sharing.add_agreement(
            Agreement(
                id="mx-us-dhs",
                version=1,
                partner="us-dhs",
                title="Border security cooperation",
                legal_basis="Memorandum of understanding, art. 4",
                legal_reference="DOF 2026-01-15",
                valid_from=TODAY - timedelta(days=30),
                valid_until=TODAY + timedelta(days=365),
                purposes=frozenset({"border-control"}),
                operations=terms,
            ),
            ADMIN,
        )
        us = Partner("mx-renapo", "RENAPO", "MEX", "gateway@example.mx", self.me.public_key)
        return PeerClient(them, us, http=self.http)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("console")
    registry = Registry.open(f"sqlite:///{folder / 'padron.db'}", migrate=True)
    keys = FakeKeyStore()
    keys.keys[OFFICER2] = FakeKey(key_id="officer2id", name="oficial 2", role=Role.OFFICER)
    authority = Signer.generate("inai.test/cosign")
    audit = AuditLog(
        registry, origin=ORIGIN, signer=Signer.generate(ORIGIN), verifiers=[authority.verifier()]
    )
    me = gateway_identity("mx-renapo")
    app = create_app(
        registry=registry,
        key_store=keys,
        rate_limiter=FakeRateLimiter(),
        audit_log=audit,
        identity=identity_service,
        samples=synthetic_samples,
        gateway_identity=me,
    )
    server = serve(app)
    w = World(server, registry, me, audit)
    try:
        for i in range(4):
            response = w.enroll(i)
            assert response.status_code == 201, response.text
            w.curps.append(response.json()["curp"])
        grey = {"face": ("face.png", synthetic_image(2, 9, cosine=0.86), "image/png")}
        pending = w.enroll(7, files=grey, given_names="Tomás", birth_date="1964-03-04")
        assert pending.status_code == 202, pending.text
        w.case_id = pending.json()["cases"][0]
        # a partner's request that finds curps[0], and an adjudicator's read of the case (API)
        w.dhs = w.partner()
        found = w.dhs.ask(identify_request())
        assert found.answer["status"] == "answered", found.answer
        (w.reference,) = found.answer["result"]["references"]
        read = w.http.get(f"/v1/adjudication/cases/{w.case_id}", headers=w.headers(Role.ADJUDICATOR))
        assert read.status_code == 200, read.text
        audit.add_cosigned(add_cosignature(audit.checkpoint(), authority, trusted=audit.verifiers))
        yield w
    finally:
        w.http.close()
        server.stop()
        registry.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-MX")
    try:
        yield context.new_page()
    finally:
        context.close()


def test_login_keyboard_focus_and_languages(world: World, page: Any) -> None:
    page.goto(f"{world.url}/console/login")
    check_accessibility(page)
    # keyboard: the key field has the focus, Tab moves to the button, visibly focused
    assert page.evaluate("document.activeElement.id") == "token"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "submit"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.get_by_label("Clave de API").fill("pdn_nobody_secret")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("PAD-")
    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_label("API key").fill(token_for(Role.ADJUDICATOR))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{world.url}/console")
    assert page.get_by_role("link", name="Adjudication").first.is_visible()
    # on every page the first Tab reaches the skip link, and Enter jumps to the content
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["padron_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert page.evaluate("document.cookie").find("padron_session") == -1  # not readable by scripts
    check_accessibility(page)


def test_an_adjudicator_resolves_a_case(world: World, page: Any) -> None:
    log_in(page, world.url, token_for(Role.ADJUDICATOR))
    page.get_by_role("navigation").get_by_role("link", name="Adjudicación").click()
    check_accessibility(page)
    page.get_by_role("link", name=f"Caso {world.case_id}").click()
    page.wait_for_load_state("networkidle")
    images = page.locator("figure img")
    assert images.count() >= 4
    assert all(images.nth(i).evaluate("img => img.naturalWidth > 0") for i in range(images.count()))
    assert page.locator("tr.differs").count() >= 1  # the given names differ
    check_accessibility(page)
    screenshot(page, "adjudication-case")
    page.get_by_label("Motivo de la decisión").fill("Rostros distintos; nombres distintos.")
    page.get_by_role("button", name="Personas distintas").click()
    page.wait_for_url(f"{world.url}/console/adjudication?decided={world.case_id}")
    assert page.get_by_role("status").inner_text().startswith(f"Caso {world.case_id}")
    assert "No hay casos abiertos." in page.content()


def test_two_officers_approve_a_partner_request(world: World, browser: Any) -> None:
    dhs = world.dhs
    assert dhs is not None
    asked = dhs.ask(
        {
            "operation": "disclose",
            "purpose": "border-control",
            "rung": 2,
            "case_ref": "DHS-2026-0042",
            "reference": world.reference,
        }
    )
    request_id = asked.answer["request_id"]
    first = browser.new_context(viewport={"width": 1280, "height": 900})
    second = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        one, two = first.new_page(), second.new_page()
        log_in(one, world.url, token_for(Role.OFFICER))
        one.get_by_role("navigation").get_by_role("link", name="Solicitudes de socios").click()
        card = one.locator("article", has_text="disclose")
        assert "curp, first_surname, given_names" in card.inner_text()
        assert "0 / 2" in card.inner_text()
        check_accessibility(one)
        card.get_by_label("Motivo").fill("Tratado art. 4; expediente revisado.")
        card.get_by_role("button", name="Aprobar").click()
        one.wait_for_url(f"{world.url}/console/gateway/{request_id}")
        assert "1 / 2" in one.content() and "falta otro oficial" in one.content()
        assert one.get_by_role("button", name="Aprobar").count() == 0  # not twice by one officer
        log_in(two, world.url, OFFICER2)
        two.goto(f"{world.url}/console/gateway/{request_id}")
        assert "1 / 2" in two.content()
        check_accessibility(two)
        screenshot(two, "partner-approval")
        two.get_by_label("Motivo").fill("Segunda revisión: procede.")
        two.get_by_role("button", name="Aprobar").click()
        two.wait_for_url(f"{world.url}/console/gateway/{request_id}")
        assert "answered" in two.content() and "2 / 2" in two.content()
        assert dhs.fetch(request_id).answer["status"] == "answered"
        two.goto(f"{world.url}/console/gateway")
        report = two.locator("table").last.inner_text()
        assert "us-dhs" in report
    finally:
        first.close()
        second.close()


def test_the_auditor_finds_the_entries(world: World, page: Any) -> None:
    log_in(page, world.url, token_for(Role.AUDITOR))
    page.get_by_role("navigation").get_by_role("link", name="Auditoría").click()
    assert "íntegro" in page.locator("#log-status").inner_text()
    assert "cofirmado" in page.content()  # the authority's cosignature
    page.get_by_label("Persona (CURP)").fill(world.curps[0])
    page.get_by_role("button", name="Buscar").click()
    page.wait_for_url(f"**/console/audit?curp={world.curps[0]}*")
    entries = page.locator("#entries").inner_text()
    assert "enrollment.submit" in entries and "gateway.identify" in entries and "us-dhs" in entries
    page.get_by_label("Persona (CURP)").fill("")
    page.get_by_label("Propósito").select_option("adjudication")
    page.get_by_role("button", name="Buscar").click()
    entries = page.locator("#entries").inner_text()
    assert "case.read" in entries and "adjudicator desk" in entries and "enrollment.submit" not in entries
    check_accessibility(page)
    screenshot(page, "audit-explorer")
    page.goto(f"{world.url}/console/audit/resident?curp={world.curps[0]}")
    accesses = page.locator("#accesses").inner_text()
    assert "partner-request" in accesses and "us-dhs" in accesses
    check_accessibility(page)
    # the auditor's own queries are in the log, made through the console
    page.goto(f"{world.url}/console/audit?actor=key:auditorid:auditor%20desk")
    entries = page.locator("#entries").inner_text()
    assert "audit.read" in entries and "console" in entries


def test_the_dashboard_draws_its_figures(world: World, page: Any) -> None:
    log_in(page, world.url, token_for(Role.ADMIN))
    page.get_by_role("navigation").get_by_role("link", name="Tablero").click()
    page.wait_for_load_state("networkidle")
    figures = page.locator(".charts img")
    assert figures.count() == 3
    assert all(figures.nth(i).evaluate("img => img.naturalWidth > 0") for i in range(3))
    check_accessibility(page)
    screenshot(page, "dashboard")


def test_a_verifier_opens_neither_adjudication_nor_audit(world: World, page: Any) -> None:
    log_in(page, world.url, token_for(Role.VERIFIER))
    assert page.get_by_role("navigation").get_by_role("link").count() == 1  # only the start page
    for path in ("/console/adjudication", f"/console/adjudication/{world.case_id}", "/console/audit"):
        response = page.goto(f"{world.url}{path}")
        assert response is not None and response.status == 403, path
        assert "PAD-AUTH-006" in page.content()
    check_accessibility(page)
    screenshot(page, "verifier-refused")
    page.goto(f"{world.url}/console")
    page.get_by_role("button", name="Cerrar sesión").click()
    page.wait_for_url(f"{world.url}/console/login")
    page.goto(f"{world.url}/console")
    assert page.url.startswith(f"{world.url}/console/login")  # the session is gone


def test_screenshots_are_written(world: World) -> None:
    from tests.web.browser.conftest import ARTIFACTS

    for name in ("adjudication-case", "partner-approval"):
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 10_000, name
