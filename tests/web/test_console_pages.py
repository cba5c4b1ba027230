"""The console's pages on the API test application: adjudication (the queue, a case side by
side, images as PNG, the decision), partner requests (the two-person rule), every page using
the same use cases as the API with channel console."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient
from sqlalchemy import select

from padron.domain.access import Role
from padron.registry.service import Registry
from padron.registry.storage.models import AuditEntryRow
from padron.sharing.agreements import Partner
from padron.sharing.client import PeerClient
from padron.sharing.store import Sharing
from tests.api.conftest import FakeKey, FakeKeyStore, synthetic_image
from tests.api.test_biometrics import enroll, issued
from tests.api.test_gateway import ADMIN, TERMS, agreement, identity
from tests.web.conftest import log_in


def console_entries(registry: Registry, action: str) -> list[AuditEntryRow]:
    with registry.db.read_session() as session:
        rows = session.scalars(select(AuditEntryRow).where(AuditEntryRow.action == action))
        return [r for r in rows if r.channel == "console"]


def grey_case(client: TestClient) -> tuple[int, list[str]]:
    curps = [issued(client, i) for i in range(4)]
    grey = {"face": ("face.png", synthetic_image(2, 9, cosine=0.86), "image/png")}
    pending = enroll(client, 7, files=grey, given_names="Tomás")
    assert pending.status_code == 202, pending.text
    return int(pending.json()["cases"][0]), curps


def test_an_adjudicator_sees_a_case_side_by_side_and_decides_it(
    console: TestClient, sqlite_registry: Registry
) -> None:
    case_id, curps = grey_case(console)
    csrf = log_in(console, Role.ADJUDICATOR)
    queue = console.get("/console/adjudication")
    assert queue.status_code == 200 and f"/console/adjudication/{case_id}" in queue.text
    assert "TOMÁS" in queue.text and curps[2] in queue.text
    page = console.get(f"/console/adjudication/{case_id}")
    assert page.status_code == 200, page.text
    assert 'class="differs"' in page.text  # the given names differ: highlighted, and said in words
    assert "difiere" in page.text and "ROSA" in page.text and "TOMÁS" in page.text
    assert f"/console/adjudication/{case_id}/images/applicant/face" in page.text
    assert f"/console/adjudication/{case_id}/images/candidate/2" in page.text
    image = console.get(f"/console/adjudication/{case_id}/images/candidate/2")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG") and image.headers["cache-control"] == "no-store"
    assert console.get(f"/console/adjudication/{case_id}/images/applicant/3").status_code == 404
    # the case read, its images and the decision are recorded with channel console
    assert console_entries(sqlite_registry, "case.read") and console_entries(sqlite_registry, "case.images")
    no_reason = console.post(
        f"/console/adjudication/{case_id}/decision", data={"csrf": csrf, "decision": "different"}
    )
    assert no_reason.status_code == 422 and "PAD-API-001" in no_reason.text
    decided = console.post(
        f"/console/adjudication/{case_id}/decision",
        data={"csrf": csrf, "decision": "different", "reason": "caras distintas"},
    )
    assert decided.status_code == 303
    assert "Decidido" in console.get(decided.headers["location"]).text
    (entry,) = console_entries(sqlite_registry, "case.decide")
    assert entry.outcome == "different" and entry.actor == "key:adjudicatorid:adjudicator desk"
    again = console.post(
        f"/console/adjudication/{case_id}/decision",
        data={"csrf": csrf, "decision": "same", "reason": "otra vez"},
    )
    assert again.status_code == 409 and "PAD-ADJ-002" in again.text


def test_an_auditor_reads_the_queue_but_not_the_images(console: TestClient) -> None:
    case_id, _ = grey_case(console)
    log_in(console, Role.AUDITOR)
    queue = console.get("/console/adjudication")
    assert queue.status_code == 200 and f'href="/console/adjudication/{case_id}"' not in queue.text
    assert console.get(f"/console/adjudication/{case_id}").status_code == 403
    assert console.get(f"/console/adjudication/{case_id}/images/applicant/face").status_code == 403


def partner_world(console: TestClient, registry: Registry) -> PeerClient:
    us_key = console.get("/v1/gateway/identity").json()["public_key"]
    them = identity("us-dhs")
    sharing = Sharing(registry)
    sharing.add_partner(
        Partner("us-dhs", "Agency us-dhs", "USA", "liaison@example.org", them.public_key), ADMIN
    )
    sharing.add_agreement(agreement("us-dhs", **TERMS), ADMIN)
    us = Partner("mx-renapo", "RENAPO", "MEX", "gateway@example.mx", us_key)
    return PeerClient(them, us, http=console)


def test_two_officers_approve_a_disclosure_and_the_page_shows_the_rule(
    console: TestClient, sqlite_registry: Registry, key_store: FakeKeyStore
) -> None:
    issued(console, 0)
    dhs = partner_world(console, sqlite_registry)
    image = base64.b64encode(synthetic_image(0, 7)).decode()
    probe = {"fingers": {"2": image, "7": image}}
    found = dhs.ask(
        {"operation": "identify", "purpose": "border-control", "rung": 1, "case_ref": "DHS-1", "probe": probe}
    )
    (reference,) = found.answer["result"]["references"]
    asked = dhs.ask(
        {
            "operation": "disclose",
            "purpose": "border-control",
            "rung": 2,
            "case_ref": "DHS-2",
            "reference": reference,
        }
    )
    request_id = asked.answer["request_id"]
    csrf = log_in(console, Role.OFFICER)
    listing = console.get("/console/gateway")
    assert listing.status_code == 200 and request_id in listing.text
    assert "curp, first_surname, given_names" in listing.text  # exactly what would be disclosed
    assert "Regla de dos personas" in listing.text and "0 / 2" in listing.text
    assert "Reporte de reciprocidad" in listing.text
    first = console.post(
        f"/console/gateway/{request_id}/approve", data={"csrf": csrf, "reason": "tratado art. 4"}
    )
    assert first.status_code == 303
    page = console.get(f"/console/gateway/{request_id}")
    assert "1 / 2" in page.text and "falta otro oficial" in page.text
    assert f'action="/console/gateway/{request_id}/approve"' not in page.text  # no second vote of one officer
    twice = console.post(f"/console/gateway/{request_id}/approve", data={"csrf": csrf, "reason": "otra"})
    assert twice.status_code == 409 and "PAD-SHARE-017" in twice.text
    # another officer (another key) approves: the answer is released
    key_store.keys["pdn_officer2_secret"] = FakeKey(key_id="officer2", name="officer 2", role=Role.OFFICER)
    console.cookies.clear()
    csrf2 = log_in(console, Role.OFFICER, token="pdn_officer2_secret")
    second = console.post(
        f"/console/gateway/{request_id}/approve", data={"csrf": csrf2, "reason": "revisado"}
    )
    assert second.status_code == 303
    assert "answered" in console.get(f"/console/gateway/{request_id}").text
    assert dhs.fetch(request_id).answer["status"] == "answered"
    assert len(console_entries(sqlite_registry, "gateway.approve")) == 2
