"""The customs exchange over HTTP, on SQLite and PostgreSQL: inspections recorded, searched and
imported (every row or none) by customs officers, and pushed between two registries -- each
the other's partner -- as signed requests answered with signed receipts that are entries of the
receiver's exchange log; received inspections kept apart; the reciprocity report counting
customs both ways."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from padron.api.app import create_app
from padron.audit.entry import AuditEntry
from padron.domain.access import AccessContext, Purpose, Role
from padron.registry.service import Registry
from padron.registry.storage.models import AuditEntryRow, CustomsPushRow, ExchangeCheckpointRow
from padron.sharing.agreements import (
    CUSTOMS_ATTRIBUTES,
    Agreement,
    Approval,
    Operation,
    OperationTerms,
    Partner,
    Rung,
)
from padron.sharing.client import PeerClient, PeerError
from padron.sharing.customs import Customs
from padron.sharing.customs_push import send_pushes
from padron.sharing.exchange import reciprocity
from padron.sharing.keys import GatewayIdentity
from padron.sharing.store import Sharing
from tests.api.conftest import (
    FakeKeyStore,
    FakeRateLimiter,
    assert_problem,
    auth,
    gateway_identity,
    synthetic_samples,
)
from tests.support.synthetic import identity_service

ADMIN = AccessContext.cli("test:admin", Purpose.ADMINISTRATION)
TODAY = datetime.now(UTC).date()
CUSTOMS = auth(Role.CUSTOMS)

SEIZED: dict[str, Any] = {
    "container": "MSKU9070323",
    "bill_of_lading": "MAEU240117733",
    "hs_codes": ["8517.13", "8517130101"],
    "port_of_loading": "CNSHA",
    "port_of_entry": "MXZLO",
    "departed_on": "2026-10-01",
    "arrived_on": "2026-11-02",
    "inspected_on": "2026-11-03",
    "seals": [{"number": "ML-118833", "intact": False}],
    "risk_reason": "canine-alert",
    "outcome": "seized",
    "seizures": [
        {"category": "drugs", "description": "cocaine hydrochloride", "quantity": "12.5", "unit": "kg"},
        {"category": "currency", "description": "banknotes", "quantity": 50000, "unit": "USD"},
    ],
    "notes": "false floor in the container",
}
CLEARED: dict[str, Any] = {
    "air_waybill": "176-12345675",
    "hs_codes": ["300490"],
    "port_of_loading": "DEFRA",
    "port_of_entry": "MXMEX",
    "arrived_on": "2026-11-05",
    "inspected_on": "2026-11-05",
    "risk_reason": "random",
    "outcome": "cleared",
}
HEADER = (
    "container,bill_of_lading,air_waybill,hs_codes,port_of_loading,port_of_entry,arrived_on,inspected_on,"
    "seals,risk_reason,risk_text,outcome,seizures"
)


def agreement(partner: str, *, push: bool, attributes: frozenset[str] = CUSTOMS_ATTRIBUTES) -> Agreement:
    return Agreement(
        id=f"customs-{partner}",
        version=1,
        partner=partner,
        title="Customs mutual assistance",
        legal_basis="CMAA art. 3",
        legal_reference="DOF 2026-01-15",
        valid_from=TODAY - timedelta(days=30),
        valid_until=TODAY + timedelta(days=365),
        purposes=frozenset({"customs-control"}),
        operations={
            Operation.CUSTOMS: OperationTerms(
                max_rung=Rung.CORE_DATA, approval=Approval.NONE, attributes=attributes, push=push
            )
        },
    )


class Side:
    """One registry with its gateway over HTTP."""

    def __init__(self, registry: Registry, me: GatewayIdentity, peers: dict[str, TestClient]) -> None:
        self.registry, self.me = registry, me
        self.app = create_app(
            registry=registry,
            key_store=FakeKeyStore(),
            rate_limiter=FakeRateLimiter(),
            identity=identity_service,
            samples=synthetic_samples,
            gateway_identity=me,
            peer_http=lambda partner: peers[partner.id],
        )
        self.client: TestClient

    def knows(self, other: Side, *, push: bool) -> None:
        """``other`` as a partner of this registry, under a customs agreement."""
        Sharing(self.registry).add_partner(
            Partner(other.me.id, f"Customs {other.me.id}", "USA", "liaison@example.org", other.me.public_key),
            ADMIN,
        )
        Sharing(self.registry).add_agreement(agreement(other.me.id, push=push), ADMIN)

    def entries(self, action: str) -> list[AuditEntryRow]:
        with self.registry.db.read_session() as session:
            return list(session.scalars(select(AuditEntryRow).where(AuditEntryRow.action == action)))


@pytest.fixture
def sides(registry: Registry, tmp_path: Path) -> Iterator[tuple[Side, Side]]:
    """Mexico's customs (on each backend) and a partner's (its own SQLite registry)."""
    partner_registry = Registry.open(f"sqlite:///{tmp_path / 'cbp.db'}", migrate=True)
    peers: dict[str, TestClient] = {}
    mx = Side(registry, gateway_identity("mx-anam"), peers)
    us = Side(partner_registry, gateway_identity("us-cbp"), peers)
    try:
        with (
            TestClient(mx.app, raise_server_exceptions=False) as mx_client,
            TestClient(us.app, raise_server_exceptions=False) as us_client,
        ):
            mx.client, us.client = mx_client, us_client
            peers.update({"mx-anam": mx_client, "us-cbp": us_client})
            yield mx, us
    finally:
        partner_registry.close()


@pytest.fixture
def client(sides: tuple[Side, Side]) -> TestClient:
    return sides[0].client


def test_inspections_are_recorded_searched_and_read(client: TestClient) -> None:
    created = client.post("/v1/customs/inspections", json=SEIZED, headers=CUSTOMS)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["hs_codes"] == ["851713"] and body["tariff_codes"] == ["8517130101"]
    assert body["seizures"][1] == {
        "category": "currency",
        "description": "banknotes",
        "quantity": "50000",
        "unit": "USD",
    }
    assert body["source"] is None and body["recorded_at"]
    assert client.post("/v1/customs/inspections", json=CLEARED, headers=CUSTOMS).status_code == 201
    for reference in ("MSKU9070323", "maeu-240117733"):
        found = client.get("/v1/customs/inspections", params={"reference": reference}, headers=CUSTOMS).json()
        assert [i["id"] for i in found["inspections"]] == [body["id"]]
    awb = client.get(
        "/v1/customs/inspections", params={"reference": "176 1234 5675"}, headers=auth(Role.AUDITOR)
    )
    assert [i["outcome"] for i in awb.json()["inspections"]] == ["cleared"]
    seized = client.get("/v1/customs/inspections", params={"outcome": "seized"}, headers=CUSTOMS).json()
    assert len(seized["inspections"]) == 1
    one = client.get(f"/v1/customs/inspections/{body['id']}", headers=CUSTOMS)
    assert one.json()["seals"] == [{"number": "ML-118833", "intact": False}]
    assert_problem(client.get("/v1/customs/inspections/999", headers=CUSTOMS), 404, "PAD-SHARE-041")


BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"container": "MSKU9070324"}, "PAD-SHARE-030", "container"),
    ({"air_waybill": "176-12345675"}, "PAD-SHARE-032", "air_waybill"),  # with a B/L
    ({"hs_codes": ["85171"]}, "PAD-SHARE-033", "hs_codes[0]"),
    ({"port_of_entry": "ZZZLO"}, "PAD-SHARE-034", "port_of_entry"),
    ({"departed_on": "2026-12-01"}, "PAD-SHARE-035", "departed_on"),
    ({"inspected_on": (TODAY + timedelta(days=3)).isoformat()}, "PAD-SHARE-035", "inspected_on"),
    (
        {"seals": [{"number": "A", "intact": True}, {"number": "A", "intact": False}]},
        "PAD-SHARE-036",
        "seals",
    ),
    ({"risk_reason": "other"}, "PAD-SHARE-037", "risk_text"),
    ({"seizures": []}, "PAD-SHARE-038", "seizures"),
    ({"seizures": [{**SEIZED["seizures"][0], "unit": "rounds"}]}, "PAD-SHARE-039", "seizures[0].unit"),
    ({"seizures": [{**SEIZED["seizures"][1], "unit": "XXX"}]}, "PAD-SHARE-039", "seizures[0].unit"),
    ({"notes": "consignee ana@example.com"}, "PAD-SHARE-040", "notes"),
]


def test_a_bad_inspection_is_422_with_its_field_and_code(client: TestClient) -> None:
    for change, code, field in BAD:
        refused = client.post("/v1/customs/inspections", json={**SEIZED, **change}, headers=CUSTOMS)
        assert assert_problem(refused, 422, code)["details"]["field"] == field, change
    assert client.get("/v1/customs/inspections", headers=CUSTOMS).json()["inspections"] == []
    assert_problem(
        client.post("/v1/customs/inspections", json={**SEIZED, "quantity": 1.5}, headers=CUSTOMS),
        422,
        "PAD-API-001",
    )


def test_an_import_records_every_row_or_none(client: TestClient) -> None:
    rows = [
        "MSKU9070323,,,851713,CNSHA,MXZLO,2026-11-02,2026-11-03,ML-1:broken,canine-alert,,seized,drugs:3:kg:cannabis",
        ",,176-12345675,300490,DEFRA,MXMEX,2026-11-05,2026-11-05,,random,,cleared,",
    ]
    bad = [rows[0].replace("MSKU9070323", "MSKU9070322"), rows[1].replace("cleared,", "seized,")]
    csv_headers = {**CUSTOMS, "Content-Type": "text/csv; charset=utf-8"}
    refused = client.post(
        "/v1/customs/imports", content="\n".join([HEADER, *bad]).encode(), headers=csv_headers
    )
    details = assert_problem(refused, 422, "PAD-SHARE-043")["details"]
    assert [(r["row"], r["field"], r["code"]) for r in details["rows"]] == [
        (1, "container", "PAD-SHARE-030"),
        (2, "seizures", "PAD-SHARE-038"),
    ]
    assert client.get("/v1/customs/inspections", headers=CUSTOMS).json()["inspections"] == []
    done = client.post(
        "/v1/customs/imports", content="\n".join([HEADER, *rows]).encode(), headers=csv_headers
    )
    assert done.status_code == 201, done.text
    assert done.json()["imported"] == 2 and done.json()["format"] == "csv"
    as_json = client.post("/v1/customs/imports", json={"inspections": [SEIZED, CLEARED]}, headers=CUSTOMS)
    assert as_json.status_code == 201 and as_json.json()["imported"] == 2
    bad_json = client.post(
        "/v1/customs/imports", json={"inspections": [SEIZED, {**CLEARED, "outcome": "lost"}]}, headers=CUSTOMS
    )
    assert assert_problem(bad_json, 422, "PAD-SHARE-043")["details"]["rows"][0]["row"] == 2
    assert len(client.get("/v1/customs/inspections", headers=CUSTOMS).json()["inspections"]) == 4
    assert_problem(
        client.post("/v1/customs/imports", content=b"x", headers={**CUSTOMS, "Content-Type": "text/plain"}),
        415,
        "PAD-API-006",
    )
    assert_problem(
        client.post("/v1/customs/imports", content=b"container\n", headers=csv_headers), 422, "PAD-SHARE-042"
    )
    too_big = b"x" * (4 * 1024 * 1024 + 1)
    assert_problem(
        client.post("/v1/customs/imports", content=too_big, headers=csv_headers), 413, "PAD-API-002"
    )


def test_held_and_seized_cargo_is_pushed_to_a_partner_that_keeps_it_apart(sides: tuple[Side, Side]) -> None:
    mx, us = sides
    mx.knows(us, push=True)  # mx pushes to us-cbp
    us.knows(mx, push=False)  # us-cbp takes mx's customs records (and does not push back)
    for record in (SEIZED, CLEARED):
        assert mx.client.post("/v1/customs/inspections", json=record, headers=CUSTOMS).status_code == 201
    queued = mx.client.get("/v1/customs/pushes", headers=CUSTOMS).json()["pushes"]
    assert [(q["partner"], q["status"]) for q in queued] == [("us-cbp", "queued")]  # the seized one only
    sent = mx.client.post("/v1/customs/pushes/send", json={}, headers=CUSTOMS)
    assert sent.status_code == 200, sent.text
    (result,) = sent.json()["results"]
    assert result["status"] == "sent" and result["inspections"] == [queued[0]["inspection"]]
    (pushed,) = mx.client.get("/v1/customs/pushes", headers=CUSTOMS).json()["pushes"]
    assert pushed["status"] == "sent" and pushed["receipt_id"] == result["receipt_id"]
    # the partner keeps it apart: received from mx-anam, not among its own
    us_customs = Customs(us.registry)
    assert us_customs.inspections() == []
    (received,) = us_customs.inspections(received=True)
    assert received.source == "mx-anam" and received.source_id == queued[0]["inspection"]
    assert received.container == "MSKU9070323" and [g.code for g in received.goods] == ["8517130101"]
    assert [s.unit for s in received.seizures] == ["kg", "USD"]
    listed = us.client.get("/v1/customs/inspections", params={"source": "received"}, headers=CUSTOMS).json()
    assert [i["source"] for i in listed["inspections"]] == ["mx-anam"]
    # both sides audited it; the receipt is in the partner's exchange log, cosigned by mx
    assert [e.outcome for e in mx.entries("customs.push")] == ["sent"]
    assert [e.outcome for e in us.entries("customs.push.received")] == ["accepted"]
    assert [e.subject for e in us.entries("customs.received")] == ["cargo:MSKU9070323"]
    with mx.registry.db.read_session() as session:
        (theirs,) = session.scalars(select(ExchangeCheckpointRow)).all()
        assert (theirs.partner_id, theirs.side, theirs.size) == ("us-cbp", "theirs", 1)
    with us.registry.db.read_session() as session:
        (ours,) = session.scalars(select(ExchangeCheckpointRow)).all()
        assert (ours.partner_id, ours.side, ours.size) == ("mx-anam", "ours", 1)
    # a received inspection is never answered to another partner: us-cbp's gateway answers from its own
    ask = {
        "operation": "customs",
        "purpose": "customs-control",
        "rung": 0,
        "case_ref": "MX-1",
        "cargo": "MSKU9070323",
    }
    mx_asks = PeerClient(mx.me, Sharing(mx.registry).partner("us-cbp"), http=us.client, registry=mx.registry)
    assert mx_asks.ask(ask, ADMIN).answer["result"] == {"cargo": "MSKU9070323", "hit": False}
    # pushed again (the receipt lost on the way): recognised, not stored twice
    with mx.registry.db.session() as session:
        session.execute(update(CustomsPushRow).values(status="queued"))
    again = send_pushes(mx.registry, mx.me, ADMIN, connect=lambda p: us.client)
    assert [r.status for r in again] == ["sent"]
    assert len(us_customs.inspections(received=True)) == 1
    receipts = sorted(us.entries("customs.push.received"), key=lambda e: e.seq)
    counts = [AuditEntry.from_bytes(e.entry).details or {} for e in receipts]
    assert [(d["accepted"], d["duplicates"]) for d in counts] == [(1, 0), (0, 1)]
    # the reciprocity reports count the customs exchange both ways
    mine = reciprocity(mx.registry, "us-cbp", TODAY, TODAY).to_json()["customs"]
    assert mine["we_pushed"] == {"sent": 1} and mine["we_asked"] == {"answered": 1}
    theirs_report = reciprocity(us.registry, "mx-anam", TODAY, TODAY).to_json()["customs"]
    assert theirs_report["they_pushed"] == {"accepted": 1, "duplicates": 1}
    assert theirs_report["they_asked"] == {"answered": 1}


def test_a_push_is_refused_without_an_agreement_or_with_a_bad_record(sides: tuple[Side, Side]) -> None:
    mx, us = sides
    mx.knows(us, push=True)
    Sharing(us.registry).add_partner(
        Partner("mx-anam", "Customs mx", "MEX", "x@example.mx", mx.me.public_key), ADMIN
    )  # a partner, but no customs agreement on its side
    assert mx.client.post("/v1/customs/inspections", json=SEIZED, headers=CUSTOMS).status_code == 201
    (refused,) = send_pushes(mx.registry, mx.me, ADMIN, connect=lambda p: us.client)
    assert refused.status == "refused" and refused.reasons == ("no-customs-agreement-in-force",)
    assert Customs(us.registry).inspections(received=True) == []
    (entry,) = mx.client.get("/v1/customs/pushes", headers=CUSTOMS).json()["pushes"]
    assert entry["status"] == "refused" and entry["reasons"] == ["no-customs-agreement-in-force"]
    # with an agreement, a record that does not check is refused with its errors; nothing is kept
    Sharing(us.registry).add_agreement(agreement("mx-anam", push=False), ADMIN)
    client = PeerClient(mx.me, Sharing(mx.registry).partner("us-cbp"), http=us.client, registry=mx.registry)
    bad = {"id": 7, **{**SEIZED, "container": "MSKU9070322"}}
    receipt = client.push_customs({"inspections": [{"id": 6, **CLEARED}, bad]}).answer
    assert receipt["status"] == "refused" and receipt["reasons"] == ["invalid-records"]
    assert receipt["result"]["accepted"] == []
    assert [(e["row"], e["field"], e["code"]) for e in receipt["result"]["errors"]] == [
        (2, "container", "PAD-SHARE-030")
    ]
    assert Customs(us.registry).inspections(received=None) == []
    # a malformed push is a 422, an unsigned one a 401
    with pytest.raises(PeerError) as malformed:
        client.push_customs({"inspections": []})
    assert malformed.value.details["partner_code"] == "PAD-SHARE-014"
    unsigned = us.client.post("/v1/partner/customs/inspections", json={"inspections": [CLEARED]})
    assert_problem(unsigned, 401, "PAD-SHARE-010")


def test_a_replayed_push_is_refused(sides: tuple[Side, Side]) -> None:
    from padron.sharing.signing import Message, headers_of, sign_request

    mx, us = sides
    us.knows(mx, push=False)
    body = json.dumps({"inspections": [{"id": 1, **CLEARED}]}).encode()
    message = Message(
        "POST",
        "http://testserver/v1/partner/customs/inspections",
        headers_of([("Content-Type", "application/json")]),
    )
    sign_request(message, body, key_id=mx.me.id, key=mx.me.key)
    headers = dict(message.headers.items())
    first = us.client.post("/v1/partner/customs/inspections", content=body, headers=headers)
    assert first.status_code == 200 and first.json()["status"] == "accepted"
    replay = us.client.post("/v1/partner/customs/inspections", content=body, headers=headers)
    assert_problem(replay, 401, "PAD-SHARE-015")
    assert len(Customs(us.registry).inspections(received=True)) == 1
