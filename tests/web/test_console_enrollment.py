"""The enrollment desk on the API test application: the CURP preview and the rule that fails,
a sample's quality at once, and the three outcomes of an enrollment."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from padron.domain.access import Role
from padron.registry.service import Registry
from padron.registry.storage.models import AuditEntryRow
from tests.api.conftest import person_upload, synthetic_image
from tests.web.conftest import log_in

PERSON = {
    "given_names": "Ana",
    "first_surname": "López",
    "second_surname": "Ruiz",
    "birth_date": "1990-01-02",
    "sex": "M",
    "birth_state": "DF",
}


def desk(client: TestClient, csrf: str, path: str, **kwargs: Any) -> Any:
    return client.post(path, headers={"X-CSRF-Token": csrf, "Accept": "application/json"}, **kwargs)


def test_the_preview_shows_the_curp_or_the_rule_that_failed(console: TestClient) -> None:
    csrf = log_in(console, Role.REGISTRAR)
    page = console.get("/console/enrollment")
    assert page.status_code == 200 and 'for="given_names"' in page.text and 'id="finger_10"' in page.text
    ok = desk(console, csrf, "/console/enrollment/preview", data=PERSON).json()
    assert ok == {"curp": "LORA900102MDFPZN04", "error": None}
    bad_state = desk(
        console, csrf, "/console/enrollment/preview", data={**PERSON, "birth_state": "XX"}
    ).json()
    assert bad_state["curp"] is None and bad_state["error"]["code"] == "PAD-STATE-001"
    missing = desk(console, csrf, "/console/enrollment/preview", data={"given_names": "Ana"}).json()
    assert missing["error"]["code"] == "PAD-API-001"
    # without the session's token the desk's calls are refused
    refused = console.post("/console/enrollment/preview", data=PERSON)
    assert refused.status_code == 403


def test_each_sample_gets_its_quality_at_once(console: TestClient) -> None:
    csrf = log_in(console, Role.REGISTRAR)
    good = desk(
        console,
        csrf,
        "/console/enrollment/quality",
        files={"finger_2": ("2.png", synthetic_image(1, 1), "image/png")},
    ).json()
    assert good["ok"] is True and good["slot"] == "2" and good["quality"] == 80.0
    bad = desk(
        console, csrf, "/console/enrollment/quality", files={"face": ("f.png", b"not an image", "image/png")}
    ).json()
    assert bad["ok"] is False and bad["error"]["code"] and bad["thumbnail"] is None


def test_an_enrollment_is_issued_refused_as_a_duplicate_or_sent_to_adjudication(
    console: TestClient, sqlite_registry: Registry
) -> None:
    csrf = log_in(console, Role.REGISTRAR)
    issued = desk(console, csrf, "/console/enrollment", data=PERSON, files=person_upload(0))
    assert issued.status_code == 201, issued.text
    curp = issued.json()["curp"]
    assert issued.json()["status"] == "issued" and curp.startswith("LORA900102MDFPZN")
    again = desk(
        console,
        csrf,
        "/console/enrollment",
        data={**PERSON, "given_names": "Anita"},
        files=person_upload(0, 2),
    )
    assert again.status_code == 200 and again.json() == {
        "status": "refused",
        "curp": None,
        "duplicate_of": curp,
        "cases": [],
    }
    record = console.get(f"/console/persons/{curp}")
    assert record.status_code == 200 and curp in record.text and "LÓPEZ" in record.text
    for i in range(1, 4):
        other = {**PERSON, "given_names": ["Luis", "Rosa", "Pedro"][i - 1], "birth_date": f"198{i}-05-06"}
        assert (
            desk(console, csrf, "/console/enrollment", data=other, files=person_upload(i)).status_code == 201
        )
    grey = {"face": ("face.png", synthetic_image(2, 9, cosine=0.86), "image/png")}
    pending = desk(console, csrf, "/console/enrollment", data={**PERSON, "given_names": "Tomás"}, files=grey)
    assert pending.status_code == 202 and pending.json()["status"] == "pending" and pending.json()["cases"]
    with sqlite_registry.db.read_session() as session:
        channels = set(
            session.scalars(select(AuditEntryRow.channel).where(AuditEntryRow.action == "enrollment.submit"))
        )
    assert channels == {"console"}
    bad = desk(console, csrf, "/console/enrollment", data={**PERSON, "sex": "Q"}, files=person_upload(5))
    assert bad.status_code == 422 and bad.json()["code"] == "PAD-SEX-001"
