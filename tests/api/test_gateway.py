"""The sharing gateway over HTTP, the partner's side driven by padron's own peer client: signed
requests decided by the agreement, answered as far as it allows (references per partner, core
data only by approved follow-up), officers' two-person rule, replays and forgeries refused, and
every person concerned recorded in their access history."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import select

from padron.api.app import create_app
from padron.audit.merkle import leaf_hash
from padron.domain.access import AccessContext, Purpose, Role
from padron.registry.audit import person_ref
from padron.registry.service import Registry
from padron.registry.storage.models import (
    AuditEntryRow,
    ExchangeCheckpointRow,
    ExchangeEntryRow,
    GatewayRequestRow,
)
from padron.sharing.agreements import Agreement, Approval, Operation, OperationTerms, Partner, Rung
from padron.sharing.client import PeerClient, PeerError
from padron.sharing.exchange import SplitViewError, status
from padron.sharing.keys import GatewayIdentity
from padron.sharing.signing import Message, headers_of, public_key_b64, sign_request
from padron.sharing.store import Sharing
from tests.api.conftest import (
    FakeKey,
    FakeKeyStore,
    FakeRateLimiter,
    assert_problem,
    auth,
    gateway_identity,
    synthetic_image,
    synthetic_samples,
)
from tests.api.test_biometrics import issued
from tests.support.synthetic import identity_service

ADMIN = AccessContext.cli("test:admin", Purpose.ADMINISTRATION)
TODAY = datetime.now(UTC).date()


identity = gateway_identity


def agreement(partner: str, **operations: OperationTerms) -> Agreement:
    return Agreement(
        id=f"mx-{partner}"[:63],
        version=1,
        partner=partner,
        title="Border security cooperation",
        legal_basis="Memorandum of understanding, art. 4",
        legal_reference="DOF 2026-01-15",
        valid_from=TODAY - timedelta(days=30),
        valid_until=TODAY + timedelta(days=365),
        purposes=frozenset({"border-control"}),
        operations={Operation(op): terms for op, terms in operations.items()},
    )


TERMS = {
    "identify": OperationTerms(max_rung=Rung.REFERENCE, candidates=1, daily_quota=5, approval=Approval.NONE),
    "verify": OperationTerms(max_rung=Rung.HIT, daily_quota=100, approval=Approval.NONE),
    "disclose": OperationTerms(
        max_rung=Rung.CORE_DATA,
        daily_quota=10,
        approval=Approval.TWO_OFFICERS,
        attributes=frozenset({"curp", "given_names", "first_surname"}),
    ),
}


class World:
    def __init__(
        self, client: TestClient, registry: Registry, me: GatewayIdentity, keys: FakeKeyStore
    ) -> None:
        self.client, self.registry, self.me, self.keys = client, registry, me, keys
        self.sharing = Sharing(registry)

    def partner(self, name: str, **terms: OperationTerms) -> PeerClient:
        """A partner agency with its own gateway key, registered here under ``terms``."""
        them = identity(name)
        partner = Partner(name, f"Agency {name}", "USA", "liaison@example.org", them.public_key)
        self.sharing.add_partner(partner, ADMIN)
        self.sharing.add_agreement(agreement(name, **(terms or TERMS)), ADMIN)
        us = Partner("mx-renapo", "RENAPO", "MEX", "gateway@example.mx", self.me.public_key)
        return PeerClient(them, us, http=self.client)


@pytest.fixture
def world(registry: Registry) -> Iterator[World]:
    """The answering registry (on SQLite and on PostgreSQL) with its gateway over HTTP."""
    sqlite_registry = registry
    me = identity("mx-renapo")
    keys = FakeKeyStore()
    app = create_app(
        registry=sqlite_registry,
        key_store=keys,
        rate_limiter=FakeRateLimiter(),
        identity=identity_service,
        samples=synthetic_samples,
        gateway_identity=me,
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield World(client, sqlite_registry, me, keys)


def probe(seed: int, session: int = 7) -> dict[str, Any]:
    image = base64.b64encode(synthetic_image(seed, session)).decode()
    return {"fingers": {"2": image, "7": image}}


def identify(seed: int, **fields: Any) -> dict[str, Any]:
    return {
        "operation": "identify",
        "purpose": "border-control",
        "rung": 1,
        "case_ref": "DHS-2026-0042",
        "probe": probe(seed),
        **fields,
    }


def entries(registry: Registry, action: str) -> list[AuditEntryRow]:
    with registry.db.read_session() as session:
        return list(session.scalars(select(AuditEntryRow).where(AuditEntryRow.action == action)))


def test_identify_answers_a_per_partner_reference_and_records_the_person(world: World) -> None:
    ana = issued(world.client, 0)
    dhs, gtm = world.partner("us-dhs"), world.partner("gt-renap")
    first = dhs.ask(identify(0))
    assert first.status_code == 200
    answer = first.answer
    assert answer["status"] == "answered" and answer["rung"] == 1 and answer["result"]["hit"] is True
    (reference,) = answer["result"]["references"]
    assert ana not in json.dumps(answer)  # a reference, never the CURP or a name
    assert answer["agreement"] == {"id": "mx-us-dhs", "version": 1} and answer["registry"] == "mx-renapo"
    # the same person gives the same partner the same reference; another partner another one
    assert dhs.ask(identify(0, probe=probe(0, 8))).answer["result"]["references"] == [reference]
    (other,) = gtm.ask(identify(0)).answer["result"]["references"]
    assert other != reference
    # nobody unknown: hit false, no reference
    nobody = dhs.ask(identify(4)).answer
    assert nobody["result"] == {"hit": False, "references": []}
    # the person's access history names the partner, its case and the agreement's legal basis
    person_id = world.registry.get(ana, ADMIN).id
    (row, *_) = [e for e in entries(world.registry, "gateway.identify") if e.subject == person_ref(person_id)]
    assert row.partner == "us-dhs" and row.channel == "partner"


def test_a_rung_above_the_agreed_one_is_lowered_and_the_answer_says_so(world: World) -> None:
    issued(world.client, 0)
    dhs = world.partner("us-dhs")
    answer = dhs.ask(identify(0, rung=2, candidates=5)).answer
    assert answer["status"] == "answered" and answer["rung_asked"] == 2 and answer["rung"] == 1
    assert set(answer["withheld"]) == {"identify-rung-above-agreed", "identify-too-many-candidates"}
    assert "persons" not in answer["result"]


def test_disclosure_waits_for_two_distinct_officers_then_gives_only_the_agreed_attributes(
    world: World,
) -> None:
    ana = issued(world.client, 0)
    dhs = world.partner("us-dhs")
    (reference,) = dhs.ask(identify(0)).answer["result"]["references"]
    asked = dhs.ask(
        {
            "operation": "disclose",
            "purpose": "border-control",
            "rung": 2,
            "case_ref": "DHS-1",
            "reference": reference,
        }
    )
    assert asked.status_code == 202 and asked.answer["status"] == "pending" and asked.answer["result"] is None
    request_id = asked.answer["request_id"]
    # the officer sees what would be disclosed, and who must approve
    view = world.client.get(f"/v1/gateway/requests/{request_id}", headers=auth(Role.OFFICER)).json()
    assert view["approval"] == "two-officers"
    assert view["would_disclose"] == ["curp", "first_surname", "given_names"]
    body = {"reason": "treaty art. 4 request, case checked"}
    first = world.client.post(
        f"/v1/gateway/requests/{request_id}/approve", json=body, headers=auth(Role.OFFICER)
    )
    assert first.status_code == 200 and first.json()["status"] == "pending"
    # the same officer cannot be the second approver
    again = world.client.post(
        f"/v1/gateway/requests/{request_id}/approve", json=body, headers=auth(Role.OFFICER)
    )
    assert_problem(again, 409, "PAD-SHARE-017")
    assert dhs.fetch(request_id).answer["status"] == "pending"
    # a second officer (another key) approves: the answer is released
    world.keys.keys["pdn_officer2_secret"] = FakeKey(key_id="officer2", name="officer 2", role=Role.OFFICER)
    second_officer = {"Authorization": "Bearer pdn_officer2_secret"}
    second = world.client.post(
        f"/v1/gateway/requests/{request_id}/approve",
        json={**body, "embargo_until": (TODAY + timedelta(days=90)).isoformat()},
        headers=second_officer,
    )
    assert second.status_code == 200, second.text
    assert second.json()["status"] == "answered" and len(second.json()["approvals"]) == 2
    released = dhs.fetch(request_id).answer
    assert released["status"] == "answered" and released["rung"] == 2
    assert released["result"]["person"] == {"curp": ana, "given_names": "ANA", "first_surname": "LÓPEZ"}
    # the probe is gone, the answer sealed (no name in the clear in the database)
    with world.registry.db.read_session() as session:
        row = session.get(GatewayRequestRow, request_id)
        assert row is not None and row.probe is None and row.answer is not None and b"ANA" not in row.answer


def test_denied_requests_say_why_and_nothing_is_searched(world: World) -> None:
    issued(world.client, 0)
    dhs = world.partner("us-dhs")
    wrong_purpose = dhs.ask(identify(0, purpose="tax-collection")).answer
    assert wrong_purpose["status"] == "denied" and wrong_purpose["result"] is None
    assert wrong_purpose["reasons"] == ["purpose-not-agreed"]
    raw = dhs.ask(identify(0, raw_biometrics=True)).answer
    assert "raw-biometrics-never-leave" in raw["reasons"]
    # the daily quota (5 identify requests): denied ones do not count
    for session in range(5):
        assert dhs.ask(identify(1, probe=probe(1, 10 + session))).answer["status"] == "answered"
    over = dhs.ask(identify(1, probe=probe(1, 20))).answer
    assert over["status"] == "denied" and over["reasons"] == ["identify-daily-quota-used"]
    assert not entries(world.registry, "gateway.identify")  # nobody enrolled was found or disclosed


def test_suspending_the_partner_takes_effect_on_the_next_request(world: World) -> None:
    dhs = world.partner("us-dhs")
    world.sharing.set_agreement_status("mx-us-dhs", "suspended", ADMIN, reason="review")  # type: ignore[arg-type]
    assert dhs.ask(identify(0)).answer["reasons"] == ["no-agreement-in-force"]
    world.sharing.set_partner_status("us-dhs", "suspended", ADMIN, reason="review")  # type: ignore[arg-type]
    with pytest.raises(PeerError) as refused:
        dhs.ask(identify(0))
    assert refused.value.details["status"] == 401 and refused.value.details["partner_code"] == "PAD-SHARE-010"
    assert refused.value.details["signed"] is True  # the refusal is signed by the registry too


def _signed_request(them: GatewayIdentity, body: bytes, **headers: str) -> dict[str, str]:
    message = Message(
        "POST", "http://testserver/v1/partner/requests", headers_of([("Content-Type", "application/json")])
    )
    sign_request(message, body, key_id=them.id, key=them.key)
    return {**dict(message.headers.items()), **headers}


def test_unsigned_forged_replayed_and_tampered_requests_are_refused(world: World) -> None:
    dhs = world.partner("us-dhs")
    body = json.dumps(identify(0)).encode()
    post = world.client.post
    unsigned = post("/v1/partner/requests", content=body, headers={"Content-Type": "application/json"})
    assert assert_problem(unsigned, 401, "PAD-SHARE-010")["details"]["reason"] == "unsigned"
    # the refusal carries the registry's signature over its status and body
    from padron.sharing.signing import Reply, verify_refusal

    reply = Reply(401, Message("POST", "http://testserver/"), headers_of(unsigned.headers.items()))
    signed = verify_refusal(
        reply, unsigned.content, lambda k: world.me.key.public_key() if k == world.me.id else None
    )
    assert signed.key_id == "mx-renapo"
    # an API key is no substitute for the partner's signature
    assert_problem(
        post("/v1/partner/requests", content=body, headers=auth(Role.PARTNER)), 401, "PAD-SHARE-010"
    )
    forger = identity("us-dhs")  # claims the partner's id with another key
    forged = post("/v1/partner/requests", content=body, headers=_signed_request(forger, body))
    assert assert_problem(forged, 401, "PAD-SHARE-010")["details"]["reason"] == "invalid"
    headers = _signed_request(dhs.me, body)
    assert post("/v1/partner/requests", content=body, headers=headers).status_code == 200
    replay = post("/v1/partner/requests", content=body, headers=headers)
    assert_problem(replay, 401, "PAD-SHARE-015")
    tampered = post(
        "/v1/partner/requests",
        content=body.replace(b"border", b"border "),
        headers=_signed_request(dhs.me, body),
    )
    assert assert_problem(tampered, 401, "PAD-SHARE-010")["details"]["reason"] == "digest-mismatch"
    unknown = identity("nobody")
    assert_problem(
        post("/v1/partner/requests", content=body, headers=_signed_request(unknown, body)),
        401,
        "PAD-SHARE-010",
    )
    bad = json.dumps({"operation": "identify", "purpose": "border-control", "case_ref": "x"}).encode()
    assert_problem(
        post("/v1/partner/requests", content=bad, headers=_signed_request(dhs.me, bad)), 422, "PAD-SHARE-014"
    )


def test_a_partner_reads_only_its_own_answers(world: World) -> None:
    issued(world.client, 0)
    dhs, gtm = world.partner("us-dhs"), world.partner("gt-renap")
    request_id = dhs.ask(identify(0)).answer["request_id"]
    assert dhs.fetch(request_id).answer["result"]["hit"] is True
    with pytest.raises(PeerError) as refused:
        gtm.fetch(request_id)
    assert refused.value.details["partner_code"] == "PAD-SHARE-016"


def test_an_answer_is_verified_with_the_registry_key(world: World) -> None:
    dhs = world.partner("us-dhs")
    impostor = Partner(
        "mx-renapo", "RENAPO", "MEX", "x@example.mx", public_key_b64(Ed25519PrivateKey.generate())
    )
    fooled = PeerClient(dhs.me, impostor, http=world.client)
    with pytest.raises(Exception) as refused:
        fooled.ask(identify(0))
    assert getattr(refused.value, "code", None) == "PAD-SHARE-010"


def test_verify_answers_match_or_no_match_only(world: World) -> None:
    ana = issued(world.client, 0)
    dhs = world.partner("us-dhs")
    ask = {"operation": "verify", "purpose": "border-control", "rung": 1, "case_ref": "C-9", "curp": ana}
    genuine = dhs.ask({**ask, "probe": probe(0)}).answer
    assert genuine["result"] == {"match": True} and genuine["rung"] == 0
    assert genuine["withheld"] == ["verify-rung-above-agreed"]
    assert dhs.ask({**ask, "probe": probe(3)}).answer["result"] == {"match": False}
    unknown = dhs.ask({**ask, "curp": "XEXX010101HNEXXXA4", "probe": probe(0)}).answer
    assert unknown["result"] == {"match": False} and "not-verifiable" in unknown["withheld"]


@pytest.fixture
def asker(world: World, tmp_path: Any) -> Iterator[tuple[PeerClient, Registry]]:
    """The partner us-dhs as a registry of its own, keeping our checkpoints and cosigning them."""
    registry = Registry.open(f"sqlite:///{tmp_path / 'dhs.db'}", migrate=True)
    dhs = world.partner("us-dhs")
    us = Partner("mx-renapo", "RENAPO", "MEX", "gateway@example.mx", world.me.public_key)
    Sharing(registry).add_partner(us, ADMIN)
    client = PeerClient(dhs.me, us, http=world.client, registry=registry)
    try:
        yield client, registry
    finally:
        registry.close()


def _rows(registry: Registry, model: Any) -> list[Any]:
    with registry.db.read_session() as session:
        return list(session.scalars(select(model)))


def test_both_sides_keep_the_other_s_signature_on_the_exchange_log(
    world: World, asker: tuple[PeerClient, Registry]
) -> None:
    client, dhs_registry = asker
    issued(world.client, 0)
    for seed in (0, 1, 0):
        answer = client.ask(identify(seed)).answer
        assert answer["log"]["checkpoint"].startswith("mx-renapo/exchange/us-dhs\n")
    # the asking side keeps each of our checkpoints, cosigned; we keep its cosignatures
    theirs = _rows(dhs_registry, ExchangeCheckpointRow)
    assert sorted(r.size for r in theirs) == [1, 2, 3] and all(r.side == "theirs" for r in theirs)
    ours = _rows(world.registry, ExchangeCheckpointRow)
    assert sorted(r.size for r in ours) == [1, 2, 3] and all(r.side == "ours" for r in ours)
    assert all("— us-dhs " in r.note and "— mx-renapo " in r.note for r in ours)
    (mine,) = status(world.registry, ["us-dhs"])
    assert (mine.ours_size, mine.ours_cosigned, mine.split_views) == (3, 3, 0)
    # a cosignature of a checkpoint we never signed at that size is refused
    forged = ours[0].note.replace("\n1\n", "\n2\n", 1)
    with pytest.raises(PeerError) as refused:
        client._exchange("POST", "/v1/partner/checkpoints", json.dumps({"checkpoint": forged}).encode(), None)
    assert refused.value.details["partner_code"] == "PAD-SHARE-019"


def test_a_rewritten_exchange_log_is_caught_as_a_split_view(
    world: World, asker: tuple[PeerClient, Registry]
) -> None:
    client, dhs_registry = asker
    client.ask(identify(0))
    client.ask(identify(1))
    # the answering registry rewrites history: its first exchange with us-dhs is edited
    with world.registry.db.session() as session:
        first = session.get(ExchangeEntryRow, ("us-dhs", 0))
        assert first is not None
        first.entry = first.entry.replace(b'"status":"answered"', b'"status":"denied"')
        first.leaf = leaf_hash(first.entry)
    with pytest.raises(SplitViewError):
        client.ask(identify(2))
    assert entries(dhs_registry, "gateway.split-view")  # the evidence is in the asker's audit log
    # it truncates instead: drops its last entry, so the next one takes its place (same size)
    with world.registry.db.session() as session:
        session.execute(
            ExchangeEntryRow.__table__.delete().where(ExchangeEntryRow.seq >= 1)  # type: ignore[attr-defined]
        )
        first = session.get(ExchangeEntryRow, ("us-dhs", 0))
        assert first is not None
        first.entry = first.entry.replace(b'"status":"denied"', b'"status":"answered"')
        first.leaf = leaf_hash(first.entry)
    with pytest.raises(SplitViewError):
        client.ask(identify(3))


def test_fishing_is_throttled_and_flagged_for_officers(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from padron.sharing import vigilance

    monkeypatch.setattr(vigilance, "ENUMERATION_MIN_REQUESTS", 6)
    monkeypatch.setattr(vigilance, "ENUMERATION_MAX_HIT_RATE", 0.5)
    monkeypatch.setattr(vigilance, "SUBJECT_MAX", 3)
    ana = issued(world.client, 0)
    terms = {
        **TERMS,
        "identify": OperationTerms(max_rung=Rung.REFERENCE, daily_quota=100, approval=Approval.NONE),
    }
    dhs = world.partner("us-dhs", **terms)
    officer = auth(Role.OFFICER)
    # the same probe a third time: refused, and flagged
    assert dhs.ask(identify(0)).answer["status"] == "answered"
    assert dhs.ask(identify(0)).answer["status"] == "answered"
    again = dhs.ask(identify(0)).answer
    assert again["status"] == "denied" and again["reasons"] == ["repeated-probe"] and again["result"] is None
    # one resident asked about again and again (other captures): flagged, still answered
    assert dhs.ask(identify(0, probe=probe(0, 30))).answer["result"]["hit"] is True
    flags = world.client.get("/v1/gateway/flags", headers=officer).json()["flags"]
    assert [f["kind"] for f in flags] == ["repeated-subject", "repeated-probe"]
    person = world.registry.get(ana, ADMIN).id
    assert flags[0]["details"]["person"] == person_ref(person)
    # an enumeration: many probes, no hits -> flagged, and the operation throttled
    answers = [dhs.ask(identify(seed)).answer for seed in range(10, 15)]
    # 3 hits among the first 6 answered: the enumeration is flagged, what follows is throttled
    assert [a["result"]["hit"] for a in answers[:3]] == [False, False, False]
    throttled = answers[3]
    assert throttled["status"] == "denied" and throttled["reasons"] == ["enumeration-throttled"]
    (enumeration,) = [
        f
        for f in world.client.get("/v1/gateway/flags", headers=officer).json()["flags"]
        if f["kind"] == "enumeration"
    ]
    assert enumeration["details"] == {"answered": 6, "hits": 3, "window_minutes": 60}
    # verification is another operation: not throttled
    verify = {
        "operation": "verify",
        "purpose": "border-control",
        "case_ref": "C-1",
        "curp": ana,
        "probe": probe(0, 40),
    }
    assert dhs.ask(verify).answer["result"] == {"match": True}
    # an officer clears the flag: the throttle is lifted
    cleared = world.client.post(
        f"/v1/gateway/flags/{enumeration['id']}/clear", json={"reason": "load test agreed"}, headers=officer
    )
    assert cleared.status_code == 200 and cleared.json()["cleared_by"].startswith("key:officerid")
    assert dhs.ask(identify(21)).answer["status"] == "answered"
    assert_problem(
        world.client.post(
            f"/v1/gateway/flags/{enumeration['id']}/clear", json={"reason": "x"}, headers=officer
        ),
        404,
        "PAD-SHARE-021",
    )
    assert {e.outcome for e in entries(world.registry, "gateway.flag")} == {
        "repeated-probe",
        "repeated-subject",
        "enumeration",
    }


def test_the_customs_exchange_answers_cargo_inspections_as_far_as_agreed(world: World) -> None:
    from padron.sharing.agreements import AgreementError
    from padron.sharing.customs import Customs, inspection_from_json

    customs = Customs(world.registry)
    held = inspection_from_json(
        {
            "container": "MSKU 907032-3",
            "bill_of_lading": "MAEU240117733",
            "hs_codes": ["8517.13", "8517.13.01.01"],
            "port_of_loading": "CNSHA",
            "port_of_entry": "MXZLO",
            "departed_on": "2026-10-01",
            "arrived_on": "2026-11-02",
            "inspected_on": "2026-11-03",
            "seals": [{"number": "ML-118833", "intact": False}],
            "risk_reason": "x-ray-anomaly",
            "outcome": "held",
            "notes": "seal broken, pallets re-wrapped",
        }
    )
    customs.record(held, ADMIN)
    cbp = world.partner(
        "us-cbp",
        customs=OperationTerms(
            max_rung=Rung.CORE_DATA,
            daily_quota=100,
            approval=Approval.NONE,
            attributes=frozenset(
                {"container", "inspected_on", "outcome", "hs_codes", "seals", "risk_reason"}
            ),
        ),
    )
    ask = {
        "operation": "customs",
        "purpose": "border-control",
        "rung": 2,
        "case_ref": "CBP-77",
        "cargo": "msku9070323",
    }
    answer = cbp.ask(ask).answer
    assert answer["status"] == "answered" and answer["rung"] == 2
    expected = {
        "container": "MSKU9070323",
        "inspected_on": "2026-11-03",
        "outcome": "held",
        "hs_codes": ["851713"],  # the 6-digit heading, whatever the national code given
        "seals": [{"number": "ML-118833", "intact": False}],
        "risk_reason": "x-ray-anomaly",
    }
    assert answer["result"]["records"] == [
        expected
    ]  # the ports, the notes, the B/L: not agreed, not disclosed
    # the same cargo found by its bill of lading; rung 1 is how many and when
    by_bl = cbp.ask({**ask, "cargo": "MAEU-240117733", "rung": 1}).answer
    assert by_bl["result"] == {
        "cargo": "MAEU240117733",
        "hit": True,
        "inspections": 1,
        "dates": ["2026-11-03"],
    }
    assert cbp.ask({**ask, "cargo": "TGHU0000001", "rung": 0}).answer["result"] == {
        "cargo": "TGHU0000001",
        "hit": False,
    }
    assert {e.subject for e in entries(world.registry, "gateway.customs")} == {
        "cargo:MSKU9070323",
        "cargo:MAEU240117733",
        "cargo:TGHU0000001",
    }
    assert {e.subject for e in entries(world.registry, "customs.record")} == {"cargo:MSKU9070323"}
    # an agreement cannot list personal data for the customs exchange
    with pytest.raises(AgreementError, match="customs may disclose only"):
        agreement("us-cbp", customs=OperationTerms(max_rung=Rung.CORE_DATA, attributes=frozenset({"curp"})))
    # a customs request names a cargo and no biometric probe
    with pytest.raises(PeerError) as refused:
        cbp.ask({**ask, "probe": probe(0)})
    assert refused.value.details["partner_code"] == "PAD-SHARE-014"
    with pytest.raises(PeerError) as malformed:
        cbp.ask({**ask, "cargo": "MS"})
    assert malformed.value.details["partner_code"] == "PAD-SHARE-014"


def test_the_resident_sees_foreign_queries_and_an_embargo_holds_the_details(world: World) -> None:
    from tests.api.conftest import person_upload

    ana = issued(world.client, 0)
    terms = {
        **TERMS,
        "identify": OperationTerms(max_rung=Rung.REFERENCE, daily_quota=10, approval=Approval.ONE_OFFICER),
    }
    dhs = world.partner("us-dhs", **terms)
    gtm = world.partner("gt-renap", **{**TERMS, "identify": TERMS["identify"]})
    assert gtm.ask(identify(0, case_ref="GT-5")).answer["status"] == "answered"
    pending = dhs.ask(identify(0, case_ref="DHS-9", probe=probe(0, 9))).answer
    until = TODAY + timedelta(days=60)
    approved = world.client.post(
        f"/v1/gateway/requests/{pending['request_id']}/approve",
        json={"reason": "investigation in progress", "embargo_until": until.isoformat()},
        headers=auth(Role.OFFICER),
    )
    assert approved.status_code == 200 and approved.json()["embargo_until"] == until.isoformat()
    assert dhs.fetch(pending["request_id"]).answer["result"]["hit"] is True
    history = world.client.post(
        "/v1/residents/accesses", data={"curp": ana}, files=person_upload(0, 6), headers=auth(Role.VERIFIER)
    ).json()
    foreign = [a for a in history["accesses"] if a.get("partner")]
    assert {a["partner"] for a in foreign} == {"gt-renap"}  # the embargoed query is not detailed ...
    assert all(a["case_ref"] == "GT-5" and "DOF 2026-01-15" in a["legal_basis"] for a in foreign)
    assert history["embargoed"] >= 1 and history["next_disclosure"] == until.isoformat()  # ... but counted


def test_a_probe_is_kept_only_as_long_as_the_agreement_says(world: World) -> None:
    import dataclasses

    issued(world.client, 0)
    dhs = world.partner("us-dhs")
    retained = dataclasses.replace(agreement("us-dhs", **TERMS), probe_retention_days=30)
    world.sharing.add_agreement(retained, ADMIN)  # version 2 keeps probes 30 days
    request_id = dhs.ask(identify(0)).answer["request_id"]
    with world.registry.db.read_session() as session:
        row = session.get(GatewayRequestRow, request_id)
        assert row is not None and row.probe is not None
        assert row.probe_kept_until == TODAY + timedelta(days=30)
        assert b"synthetic" not in row.probe  # sealed


def test_a_partner_with_the_longest_identifier_is_served_and_audited(world: World) -> None:
    issued(world.client, 0)
    longest = "p" * 63
    partner = world.partner(longest)
    assert partner.ask(identify(0)).answer["status"] == "answered"
    assert any(e.subject == f"partner:{longest}" for e in entries(world.registry, "gateway.request"))


def _denials(registry: Registry) -> list[tuple[str, ...]]:
    """The reasons of every request the gateway denied, from the audit log."""
    from padron.audit.entry import AuditEntry

    out = []
    for row in entries(registry, "gateway.request"):
        if row.outcome == "deny":
            details = AuditEntry.from_bytes(row.entry).details or {}
            reasons = details["reasons"]
            assert isinstance(reasons, tuple | list)
            out.append(tuple(str(r) for r in reasons))
    return out


def _refusals(registry: Registry) -> list[str]:
    return [row.outcome for row in entries(registry, "gateway.refused")]


def test_red_team_every_attack_is_denied_with_its_reason_and_audited(world: World) -> None:
    import dataclasses

    from padron.sharing.signing import sign_request

    ana = issued(world.client, 0)
    dhs, gtm = world.partner("us-dhs"), world.partner("gt-renap")
    (reference,) = dhs.ask(identify(0)).answer["result"]["references"]
    (gtm_reference,) = gtm.ask(identify(0)).answer["result"]["references"]
    follow_up = {"operation": "disclose", "purpose": "border-control", "rung": 2, "case_ref": "X-1"}

    def denied(client: PeerClient, request: dict[str, Any], reason: str) -> None:
        answer = client.ask(request).answer
        assert answer["status"] == "denied" and reason in answer["reasons"], answer
        assert answer["result"] is None
        assert any(reason in reasons for reasons in _denials(world.registry)), reason

    # attributes beyond the agreement (it lists curp, given_names, first_surname)
    denied(
        dhs,
        {**follow_up, "reference": reference, "attributes": ["curp", "birth_date"]},
        "disclose-attributes-not-agreed",
    )
    # a purpose the agreement does not list
    denied(dhs, identify(1, purpose="tax-collection"), "purpose-not-agreed")
    # raw biometrics the agreement forbids
    denied(dhs, identify(1, raw_biometrics=True, probe=probe(1, 2)), "raw-biometrics-never-leave")
    # partner A presenting partner B's reference
    denied(dhs, {**follow_up, "reference": gtm_reference}, "reference-not-issued-to-partner")
    # a follow-up without a prior hit: a reference to someone never found for this partner
    luis = issued(world.client, 1)
    minted = world.me.references.issue("us-dhs", world.registry.get(luis, ADMIN).id)
    denied(dhs, {**follow_up, "reference": minted}, "no-prior-hit")
    # an expired agreement (and a suspended one: test_suspending_...)
    expired = world.partner("ca-cbsa")
    world.sharing.add_agreement(
        dataclasses.replace(
            agreement("ca-cbsa", **TERMS),
            valid_from=TODAY - timedelta(days=90),
            valid_until=TODAY - timedelta(days=1),
        ),
        ADMIN,
    )
    denied(expired, identify(0, probe=probe(0, 3)), "no-agreement-in-force")
    # an exhausted quota (5 identify a day; one was used above, denied ones do not count)
    for session in range(4):
        dhs.ask(identify(2, probe=probe(2, 40 + session)))
    denied(dhs, identify(2, probe=probe(2, 50)), "identify-daily-quota-used")
    # forged, stale and replayed signatures: 401 before anything is decided, on the record too
    body = json.dumps(identify(3)).encode()
    forged = world.client.post(
        "/v1/partner/requests", content=body, headers=_signed_request(identity("us-dhs"), body)
    )
    assert_problem(forged, 401, "PAD-SHARE-010")
    message = Message(
        "POST", "http://testserver/v1/partner/requests", headers_of([("Content-Type", "application/json")])
    )
    sign_request(
        message, body, key_id="us-dhs", key=dhs.me.key, now=datetime.now(UTC) - timedelta(seconds=400)
    )
    stale = world.client.post("/v1/partner/requests", content=body, headers=dict(message.headers.items()))
    assert assert_problem(stale, 401, "PAD-SHARE-010")["details"]["reason"] == "stale"
    headers = _signed_request(dhs.me, body)
    assert world.client.post("/v1/partner/requests", content=body, headers=headers).status_code == 200
    assert_problem(
        world.client.post("/v1/partner/requests", content=body, headers=headers), 401, "PAD-SHARE-015"
    )
    assert _refusals(world.registry) == ["invalid", "stale", "PAD-SHARE-015"]
    assert {e.subject for e in entries(world.registry, "gateway.refused")} == {"partner:us-dhs"}
    # nothing about Ana or Luis was disclosed by any of these
    disclosed = entries(world.registry, "gateway.disclose")
    assert not disclosed, [e.subject for e in disclosed]
    assert ana and luis


def test_partners_and_agreements_over_http(world: World) -> None:
    admin, officer = auth(Role.ADMIN), auth(Role.OFFICER)
    them = identity("us-dhs")
    partner = {
        "id": "us-dhs",
        "agency": "Department of Homeland Security",
        "country": "USA",
        "contact": "liaison@example.gov",
        "public_key": them.public_key,
        "url": "https://gateway.example.gov",
    }
    created = world.client.post("/v1/partners", json=partner, headers=admin)
    assert created.status_code == 201 and created.json()["status"] == "active"
    assert_problem(world.client.post("/v1/partners", json=partner, headers=admin), 409, "PAD-SHARE-007")
    assert_problem(
        world.client.post("/v1/partners", json={**partner, "id": "x", "country": "Mexico"}, headers=admin),
        422,
        "PAD-SHARE-002",
    )
    terms = {
        "id": "mx-us-2027",
        "partner": "us-dhs",
        "title": "Border security cooperation",
        "legal_basis": "Memorandum of understanding, art. 4",
        "legal_reference": "DOF 2026-11-30",
        "valid_from": TODAY.isoformat(),
        "valid_until": (TODAY + timedelta(days=30)).isoformat(),
        "purposes": ["border-control"],
        "operations": {"identify": {"max_rung": 1, "daily_quota": 10, "approval": "none"}},
    }
    stored = world.client.post("/v1/agreements", json=terms, headers=admin)
    assert stored.status_code == 201, stored.text
    assert (
        'permit (principal == Partner::"us-dhs", action == Action::"identify", resource);'
        in stored.json()["policy"]
    )
    shown = world.client.get("/v1/agreements/mx-us-2027", headers=officer).json()
    assert shown["policy"] == stored.json()["policy"] and shown["terms"]["version"] == 1
    bad = world.client.post(
        "/v1/agreements", json={**terms, "operations": {"identify": {"max_rung": 7}}}, headers=admin
    )
    assert_problem(bad, 422, "PAD-SHARE-001")
    assert [
        a["terms"]["version"]
        for a in world.client.get("/v1/agreements", headers=officer).json()["agreements"]
    ] == [1]
    suspended = world.client.post(
        "/v1/agreements/mx-us-2027/status", json={"status": "suspended", "reason": "review"}, headers=admin
    )
    assert suspended.json()["terms"]["status"] == "suspended"
    assert world.client.post("/v1/agreements", json=terms, headers=officer).status_code == 403


def test_an_unreadable_probe_is_denied_with_its_code_not_left_pending(world: World) -> None:
    dhs = world.partner("us-dhs")
    garbage = base64.b64encode(b"not an image").decode()
    answer = dhs.ask(identify(0, probe={"fingers": {"2": garbage}})).answer
    assert answer["status"] == "denied" and answer["result"] is None
    assert answer["reasons"] == ["unusable-request:PAD-GEN-002"]
    with world.registry.db.read_session() as session:
        row = session.get(GatewayRequestRow, answer["request_id"])
        assert row is not None and row.status == "denied" and row.probe is None


def test_a_request_no_officer_decides_expires_unsearched(world: World) -> None:
    from padron.sharing.gateway import PENDING_TTL

    issued(world.client, 0)
    dhs = world.partner("us-dhs")
    (reference,) = dhs.ask(identify(0)).answer["result"]["references"]
    follow = {
        "operation": "disclose",
        "purpose": "border-control",
        "rung": 2,
        "case_ref": "D-1",
        "reference": reference,
    }
    request_id = dhs.ask(follow).answer["request_id"]
    from padron.sharing.gateway import Gateway

    gateway = Gateway(world.sharing, lambda: None, world.me, lambda probe: {})  # type: ignore[arg-type,return-value]
    assert gateway.expire_pending(datetime.now(UTC)) == 0  # not yet
    assert gateway.expire_pending(datetime.now(UTC) + PENDING_TTL + timedelta(minutes=1)) == 1
    answer = dhs.fetch(request_id).answer
    assert answer["status"] == "denied" and answer["reasons"] == ["approval-expired"]
