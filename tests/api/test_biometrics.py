"""Biometric enrollment, verification, identification, adjudication and the resident's access
history over HTTP: each role gets exactly what it may know, every disclosure is recorded, and
bad uploads get their own codes with nothing written."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from padron.domain.access import AccessContext, Channel, Purpose, Role
from padron.registry.audit import person_ref
from padron.registry.service import Registry
from padron.registry.storage.models import EnrollmentAttemptRow
from tests.api.conftest import PERSON, assert_problem, auth, person_upload, synthetic_image
from tests.support.sample_images import images_for

NAMES = ["Ana", "Luis", "Rosa", "Pedro", "Elena", "Jorge", "Marta", "Iván"]


def person_json(i: int, **fields: Any) -> str:
    return json.dumps(
        {**PERSON, "given_names": NAMES[i % len(NAMES)], "birth_date": f"19{60 + i}-03-04", **fields}
    )


def enroll(client: TestClient, i: int, *, files: Any = None, **fields: Any) -> Any:
    return client.post(
        "/v1/enrollments",
        data={"person": person_json(i, **fields)},
        files=files if files is not None else person_upload(i),
        headers=auth(Role.REGISTRAR),
    )


def issued(client: TestClient, i: int) -> str:
    response = enroll(client, i)
    assert response.status_code == 201, response.text
    return str(response.json()["curp"])


def verify(client: TestClient, curp: str, seed: int, session: int = 5) -> Any:
    return client.post(
        "/v1/verifications",
        data={"curp": curp},
        files=person_upload(seed, session),
        headers=auth(Role.VERIFIER),
    )


def attempts(registry: Registry) -> int:
    with registry.db.read_session() as session:
        return int(session.scalar(select(func.count()).select_from(EnrollmentAttemptRow)) or 0)


def test_enrollment_issues_a_curp_and_refuses_the_same_person_under_another_name(client: TestClient) -> None:
    response = enroll(client, 0)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"status", "attempt_id", "curp", "duplicate_of", "cases"}  # no scores
    assert body["status"] == "issued" and body["duplicate_of"] is None and body["cases"] == []
    assert response.headers["Location"] == f"/v1/persons/{body['curp']}"
    person = client.get(response.headers["Location"], headers=auth(Role.REGISTRAR)).json()
    assert person["given_names"] == "ANA" and person["status"] == "active"

    again = enroll(client, 5, files=person_upload(0, session=2))  # other name, same biometrics
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "refused" and again.json()["duplicate_of"] == body["curp"]
    assert again.json()["curp"] is None


def test_verification_answers_match_or_no_match_and_nothing_else(client: TestClient) -> None:
    ana, luis = issued(client, 0), issued(client, 1)
    genuine = verify(client, ana.lower(), seed=0)
    assert genuine.status_code == 200, genuine.text
    assert genuine.json() == {"curp": ana, "match": True}
    impostor = verify(client, ana, seed=1)
    assert impostor.json() == {"curp": ana, "match": False}
    assert verify(client, luis, seed=1).json()["match"] is True

    revoked = client.patch(
        f"/v1/persons/{luis}", json={"status": "revoked", "reason": "fraud"}, headers=auth(Role.REGISTRAR)
    )
    assert revoked.status_code == 200, revoked.text
    assert_problem(verify(client, luis, seed=1), 409, "PAD-VER-002")
    assert_problem(verify(client, "HEGG560427MVZRRL04", seed=1), 404, "PAD-PERSON-001")


def test_identification_needs_a_case_and_returns_ranked_curps_without_scores(
    client: TestClient, sqlite_registry: Registry
) -> None:
    curps = [issued(client, i) for i in range(4)]
    probe = person_upload(2, session=8)
    missing = client.post("/v1/identifications", files=probe, headers=auth(Role.INVESTIGATOR))
    assert_problem(missing, 422, "PAD-UPLOAD-003")
    response = client.post(
        "/v1/identifications",
        data={"case_ref": "FGR/123/2026", "legal_basis": "CNPP art. 252", "top": "3"},
        files=probe,
        headers=auth(Role.INVESTIGATOR),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {"case_ref": "FGR/123/2026", "candidates": [{"rank": 1, "curp": curps[2]}]}
    # the candidate's access history records the search, its case and legal basis
    entries = client.get(
        "/v1/audit/entries",
        params={"curp": curps[2], "action": "identify.candidate"},
        headers=auth(Role.AUDITOR),
    ).json()["entries"]
    assert [(e["case_ref"], e["legal_basis"], e["role"]) for e in entries] == [
        ("FGR/123/2026", "CNPP art. 252", "investigator")
    ]
    assert_problem(
        client.post(
            "/v1/identifications",
            data={"case_ref": "x", "top": "500"},
            files=probe,
            headers=auth(Role.INVESTIGATOR),
        ),
        422,
        "PAD-API-001",
    )


def test_grey_zone_case_is_listed_read_and_decided(client: TestClient) -> None:
    curps = [issued(client, i) for i in range(6)]
    grey = {"face": ("face.png", synthetic_image(2, 9, cosine=0.86), "image/png")}
    pending = enroll(client, 7, files=grey, given_names="Tomás")
    assert pending.status_code == 202, pending.text
    case_id = pending.json()["cases"][0]
    assert pending.json()["status"] == "pending" and pending.json()["curp"] is None

    page = client.get("/v1/adjudication/cases", headers=auth(Role.ADJUDICATOR))
    assert page.status_code == 200, page.text
    assert page.json()["total"] == 1
    assert [(c["id"], c["candidate_curp"]) for c in page.json()["cases"]] == [(case_id, curps[2])]
    case = client.get(f"/v1/adjudication/cases/{case_id}", headers=auth(Role.ADJUDICATOR)).json()
    assert case["applicant"]["given_names"] == "TOMÁS" and case["status"] == "open"
    assert "face" in case["evidence"]["match"]["slot_scores"]  # adjudicators see the scores

    # the adjudicator sees both faces side by side; the images are the ones submitted
    listed = client.get(f"/v1/adjudication/cases/{case_id}/images", headers=auth(Role.ADJUDICATOR))
    assert listed.status_code == 200, listed.text
    assert [i["slot"] for i in listed.json()["applicant"]] == ["face"]
    assert [i["slot"] for i in listed.json()["candidate"]] == ["face", "2", "7"]
    applicant_face = client.get(listed.json()["applicant"][0]["url"], headers=auth(Role.ADJUDICATOR))
    assert applicant_face.status_code == 200 and applicant_face.headers["content-type"] == "image/png"
    assert applicant_face.content == images_for(["face"], 2 * 10 + 9)["face"]
    assert applicant_face.headers["cache-control"] == "no-store"
    candidate_face = client.get(listed.json()["candidate"][0]["url"], headers=auth(Role.ADJUDICATOR))
    assert candidate_face.content == images_for(["face"], 2 * 10 + 1)["face"]
    assert_problem(
        client.get(f"/v1/adjudication/cases/{case_id}/images/applicant/3", headers=auth(Role.ADJUDICATOR)),
        404,
        "PAD-ADJ-003",
    )
    assert_problem(
        client.get(listed.json()["applicant"][0]["url"], headers=auth(Role.AUDITOR)), 403, "PAD-AUTH-006"
    )
    shown = client.get(
        "/v1/audit/entries", params={"curp": curps[2], "action": "case.images"}, headers=auth(Role.AUDITOR)
    ).json()["entries"]
    assert len(shown) == 2 and {e["role"] for e in shown} == {"adjudicator"}  # one per disclosure

    decided = client.post(
        f"/v1/adjudication/cases/{case_id}/decision",
        json={"same": False, "reason": "different ears"},
        headers=auth(Role.ADJUDICATOR),
    )
    assert decided.status_code == 200, decided.text
    assert (
        decided.json()["decision"] == "different"
        and decided.json()["applicant"]["attempt_status"] == "issued"
    )
    assert decided.json()["adjudicator"] == "key:adjudicatorid:adjudicator desk"
    again = client.post(
        f"/v1/adjudication/cases/{case_id}/decision",
        json={"same": True, "reason": "second thoughts"},
        headers=auth(Role.ADJUDICATOR),
    )
    assert_problem(again, 409, "PAD-ADJ-002")
    assert client.get("/v1/adjudication/cases", headers=auth(Role.ADJUDICATOR)).json()["total"] == 0
    assert_problem(
        client.get("/v1/adjudication/cases/999", headers=auth(Role.ADJUDICATOR)), 404, "PAD-ADJ-001"
    )
    assert (
        client.get("/v1/adjudication/cases", params={"status": "all"}, headers=auth(Role.AUDITOR)).json()[
            "total"
        ]
        == 1
    )


def test_the_resident_sees_who_accessed_their_record_and_counts_embargoed_accesses(
    client: TestClient, sqlite_registry: Registry
) -> None:
    ana = issued(client, 0)
    client.get(f"/v1/persons/{ana}", headers=auth(Role.AUDITOR))
    # an access an officer embargoed until next year, and one whose embargo has ended
    person_id = sqlite_registry.get(ana, AccessContext.system(Purpose.AUDIT)).id
    for until in (date.today() + timedelta(days=365), date.today() - timedelta(days=1)):
        partner = AccessContext(
            actor="officer:7",
            role=Role.PARTNER,
            channel=Channel.PARTNER,
            purpose=Purpose.PARTNER_REQUEST,
            partner="us-dhs",
            legal_basis="Agreement 2026-4",
            embargo_until=until,
        )

        def record(session: Any, ctx: AccessContext = partner) -> None:
            sqlite_registry.audit.record(session, ctx, "partner.verify", subject=person_ref(person_id))

        sqlite_registry.transact(record)

    wrong = client.post(
        "/v1/residents/accesses", data={"curp": ana}, files=person_upload(3, 4), headers=auth(Role.VERIFIER)
    )
    assert_problem(wrong, 403, "PAD-RES-001")
    assert "accesses" not in wrong.json()

    response = client.post(
        "/v1/residents/accesses", data={"curp": ana}, files=person_upload(0, 4), headers=auth(Role.VERIFIER)
    )
    assert response.status_code == 200, response.text
    history = response.json()
    assert history["curp"] == ana and history["embargoed"] == 1
    assert history["next_disclosure"] == (date.today() + timedelta(days=365)).isoformat()
    seen = [(a["action"], a["role"], a["purpose"]) for a in history["accesses"]]
    assert ("enrollment.submit", "registrar", "enrollment") in seen
    assert ("person.read", "auditor", "audit") in seen
    assert ("partner.verify", "partner", "partner-request") in seen  # its embargo has ended
    assert [a["partner"] for a in history["accesses"] if a["action"] == "partner.verify"] == ["us-dhs"]
    assert seen[-1][0] == "person.verify"  # the resident's own verification is an access too
    assert history["total"] == len(history["accesses"]) + 1
    # showing the history is recorded
    entries = client.get(
        "/v1/audit/entries", params={"curp": ana, "action": "resident.history"}, headers=auth(Role.AUDITOR)
    ).json()["entries"]
    assert [e["purpose"] for e in entries] == ["resident-access"]


def test_bad_uploads_get_their_own_codes_and_write_nothing(
    client: TestClient, sqlite_registry: Registry
) -> None:
    registrar = auth(Role.REGISTRAR)
    files = person_upload(0)

    def post(**kwargs: Any) -> Any:
        return client.post("/v1/enrollments", headers=registrar, **kwargs)

    assert_problem(post(json={"person": PERSON}), 415, "PAD-API-006")
    assert_problem(post(data={"person": person_json(0)}), 415, "PAD-API-006")  # a form, not multipart
    only_person = {"person": (None, person_json(0))}  # multipart, a text part and no sample
    assert_problem(post(files=only_person), 422, "PAD-UPLOAD-004")
    assert_problem(post(files=files), 422, "PAD-UPLOAD-003")  # no person
    assert_problem(post(data={"person": person_json(0), "colour": "red"}, files=files), 422, "PAD-UPLOAD-003")
    assert_problem(post(data={"person": "{not json"}, files=files), 400, "PAD-API-003")
    assert_problem(post(data={"person": '{"a": 1, "a": 2}'}, files=files), 400, "PAD-API-003")
    bad_field = assert_problem(
        post(data={"person": person_json(0, given_names=7)}, files=files), 422, "PAD-API-001"
    )
    assert bad_field["details"]["fields"] == ["person.given_names"]
    assert_problem(
        post(data={"person": person_json(0, birth_date="2090-01-01")}, files=files), 422, "PAD-DATE-002"
    )
    unreadable = {"face": ("face.png", b"\x89PNG not really", "image/png")}
    assert_problem(post(data={"person": person_json(0)}, files=unreadable), 422, "PAD-GEN-002")
    both = {**files, "finger_template_2": ("2.iso", b"FMR\x00", "application/octet-stream")}
    assert_problem(post(data={"person": person_json(0)}, files=both), 422, "PAD-UPLOAD-003")
    # a field given twice, a file part without a name, a body with no closing boundary
    boundary = "padronTEST"
    twice = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="person"\r\n\r\n{person_json(0)}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="person"\r\n\r\n{person_json(1)}\r\n'
        f"--{boundary}--\r\n"
    )
    multipart = {"Content-Type": f"multipart/form-data; boundary={boundary}", **registrar}
    assert_problem(client.post("/v1/enrollments", content=twice, headers=multipart), 400, "PAD-UPLOAD-001")
    nameless = f"--{boundary}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--{boundary}--\r\n"
    assert_problem(client.post("/v1/enrollments", content=nameless, headers=multipart), 400, "PAD-UPLOAD-001")
    cut = f'--{boundary}\r\nContent-Disposition: form-data; name="person"\r\n\r\n{person_json(0)}'
    assert_problem(client.post("/v1/enrollments", content=cut, headers=multipart), 400, "PAD-UPLOAD-001")
    no_boundary = {"Content-Type": "multipart/form-data", **registrar}
    assert_problem(client.post("/v1/enrollments", content=twice, headers=no_boundary), 400, "PAD-UPLOAD-001")
    assert attempts(sqlite_registry) == 0
    assert (
        client.get(
            "/v1/audit/entries", params={"action": "enrollment.submit"}, headers=auth(Role.AUDITOR)
        ).json()["entries"]
        == []
    )


def test_an_image_over_the_limit_is_refused_as_it_arrives(client: TestClient, monkeypatch: Any) -> None:
    from padron.api import uploads

    monkeypatch.setattr(uploads, "MAX_IMAGE_BYTES", 1000)
    big = {"face": ("face.png", b"x" * 1001, "image/png")}
    body = assert_problem(
        client.post(
            "/v1/enrollments", data={"person": person_json(0)}, files=big, headers=auth(Role.REGISTRAR)
        ),
        413,
        "PAD-UPLOAD-002",
    )
    assert body["details"] == {"field": "face", "max_bytes": 1000}
