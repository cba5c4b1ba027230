"""Peer to peer, no central router: two padron servers on 127.0.0.1, each with its own data
directory, keys and registry, are each other's partners. They exchange public keys and
agreements with the command line, then A asks B and B asks A over signed HTTP; a disclosure of
core data waits for two distinct officers of the answering side; both sides keep the exchange in
their own audit logs, and the person concerned finds the foreign query in their access history.
Real fingerprints (FVC2002 DB1_B) through padron's extractors."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from padron.interchange import ansinist
from padron.registry.audit import person_ref
from padron.registry.service import Registry
from padron.registry.storage.models import AuditEntryRow, PersonRow
from tests.api.test_serve import free_port, server_env
from tests.api.test_workers import stop, wait_ready

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]

TODAY = datetime.now(UTC).date()


class Peer:
    def __init__(self, tmp_path: Path, name: str, gateway_id: str) -> None:
        self.dir = tmp_path / name
        self.dir.mkdir()
        self.env = server_env(self.dir)
        self.env.update(PADRON_GATEWAY_ID=gateway_id, PADRON_ACTOR=f"officer:{name}-1")
        self.gateway_id = gateway_id
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server: Any = None
        #: the CURP of the one person enrolled here
        self.enrolled = ""

    def __call__(self, *args: str, actor: str | None = None) -> dict[str, Any]:
        env = dict(self.env, **({"PADRON_ACTOR": actor} if actor else {}))
        done = subprocess.run(
            [sys.executable, "-m", "padron.cli.main", *args],
            cwd=self.dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"padron {' '.join(args)}: {done.stdout}\n{done.stderr}"
        return json.loads(done.stdout) if "--json" in args else {}

    def start(self) -> None:
        log = (self.dir / "server.log").open("w")
        self.server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "padron.cli.main",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            cwd=self.dir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_ready(self.server, self.url, self.dir / "server.log")

    @property
    def database(self) -> Path:
        return self.dir / "data" / "padron.db"

    def audit(self, action: str) -> list[AuditEntryRow]:
        registry = Registry.open(f"sqlite:///{self.database}")
        try:
            with registry.db.read_session() as session:
                return list(session.scalars(select(AuditEntryRow).where(AuditEntryRow.action == action)))
        finally:
            registry.close()

    def person_id(self, curp: str) -> int:
        registry = Registry.open(f"sqlite:///{self.database}")
        try:
            with registry.db.read_session() as session:
                found = session.scalar(select(PersonRow.id).where(PersonRow.curp == curp))
                assert found is not None
                return int(found)
        finally:
            registry.close()


def nist_query(index: Path, middle: Path) -> bytes:
    """A partner's query as ANSI/NIST-ITL 1-2011: Type-1 and two Type-14 finger images (PNG)."""
    from PIL import Image

    records = []
    for idc, (position, tif) in enumerate(((2, index), (7, middle)), start=1):
        with Image.open(tif) as image:
            buffer = io.BytesIO()
            image.convert("L").save(buffer, format="PNG")
        records.append(
            ansinist.finger_record_for(
                buffer.getvalue(), idc=idc, position=position, source_agency="GTRENAP", capture_date=TODAY
            )
        )
    tx = ansinist.Transaction(
        type_of_transaction="SRE",
        date=TODAY,
        destination_agency="MXRENAPO",
        originating_agency="GTRENAP",
        control_number="GT-11b",
        records=tuple(records),
        native_scanning_resolution="19.69",
        nominal_transmitting_resolution="19.69",
    )
    return ansinist.encode(tx)


def agreement(with_partner: str) -> dict[str, Any]:
    return {
        "id": f"coop-{with_partner}",
        "partner": with_partner,
        "title": "Reciprocal identity cooperation",
        "legal_basis": "Bilateral memorandum, art. 4",
        "legal_reference": "DOF 2026-11-30",
        "valid_from": (TODAY - timedelta(days=1)).isoformat(),
        "valid_until": (TODAY + timedelta(days=365)).isoformat(),
        "purposes": ["border-control"],
        "operations": {
            "identify": {"max_rung": 1, "candidates": 1, "daily_quota": 50, "approval": "none"},
            "disclose": {
                "max_rung": 2,
                "daily_quota": 10,
                "approval": "two-officers",
                "attributes": ["curp", "given_names", "first_surname"],
            },
        },
        "reciprocity": "the same terms both ways",
    }


def test_two_registries_query_each_other_under_their_agreements(tmp_path: Path, shared_data: Path) -> None:
    fvc = shared_data / "fingerprints" / "FVC2002" / "DB1_B"

    def finger_args(a: int, b: int, impression: int) -> list[str]:
        return [
            "--finger",
            f"2={fvc / f'{a}_{impression}.tif'}",
            "--finger",
            f"7={fvc / f'{b}_{impression}.tif'}",
        ]

    a, b = Peer(tmp_path, "a", "mx-renapo"), Peer(tmp_path, "b", "gt-renap")
    for peer, (given, first, x, y) in ((a, ("Ana", "López", 103, 104)), (b, ("Rosa", "Pérez", 101, 102))):
        peer("init")
        person = peer.dir / "person.json"
        person.write_text(
            json.dumps(
                {
                    "given_names": given,
                    "first_surname": first,
                    "birth_date": "1990-01-02",
                    "sex": "M",
                    "birth_state": "JC",
                }
            )
        )
        peer.enrolled = peer("enroll", "--person", str(person), *finger_args(x, y, 1), "--json")["curp"]
    # exchange identities and agreements (each side registers the other under its gateway id)
    identities = {p.gateway_id: p("gateway", "identity", "--json") for p in (a, b)}
    for here, there in ((a, b), (b, a)):
        here(
            "partner", "add", "--id", there.gateway_id, "--agency", f"Registry {there.gateway_id}",
            "--country", "GTM" if there is b else "MEX", "--contact", "gateway@example.org",
            "--public-key", identities[there.gateway_id]["public_key"], "--url", there.url,
        )  # fmt: skip
        terms = here.dir / "agreement.json"
        terms.write_text(json.dumps(agreement(there.gateway_id)))
        here("agreement", "add", str(terms))
    for peer in (a, b):
        peer.start()
    try:
        # A asks B: B's resident is found, A gets B's reference for A only
        asked = a(
            "gateway", "ask", b.gateway_id, "--operation", "identify", "--purpose", "border-control",
            "--rung", "1", "--case", "MX-2026-7", *finger_args(101, 102, 3), "--json",
        )  # fmt: skip
        answer = asked["answer"]
        assert answer["status"] == "answered" and answer["result"]["hit"] is True
        (reference,) = answer["result"]["references"]
        # B asks A, symmetrically, and someone unknown to A is no hit
        back = b(
            "gateway", "ask", a.gateway_id, "--operation", "identify", "--purpose", "border-control",
            "--rung", "1", "--case", "GT-11", *finger_args(103, 104, 2), "--json",
        )  # fmt: skip
        assert back["answer"]["result"]["hit"] is True
        # the same question with the samples in an ANSI/NIST-ITL 1-2011 transaction (Type-14 PNGs)
        nist = b.dir / "query.an2"
        nist.write_bytes(nist_query(fvc / "103_3.tif", fvc / "104_3.tif"))
        as_nist = b(
            "gateway", "ask", a.gateway_id, "--operation", "identify", "--purpose", "border-control",
            "--rung", "1", "--case", "GT-11b", "--ansi-nist", str(nist), "--json",
        )  # fmt: skip
        assert as_nist["answer"]["result"]["references"] == back["answer"]["result"]["references"]
        # ... and answered the same way: an ANSI/NIST-ITL reply to the query's TCN
        reply = ansinist.decode(base64.b64decode(as_nist["answer"]["result"]["ansi_nist"]))
        assert reply.control_reference == "GT-11b" and reply.destination_agency == "GTRENAP"
        (text,) = [r for r in reply.records if isinstance(r, ansinist.TaggedRecord) and r.type == 2]
        assert text.text(6) == "Y" and text.text(7) == back["answer"]["result"]["references"][0]
        nobody = b(
            "gateway", "ask", a.gateway_id, "--operation", "identify", "--purpose", "border-control",
            "--case", "GT-12", *finger_args(105, 106, 1), "--json",
        )  # fmt: skip
        assert nobody["answer"]["result"] == {"hit": False}
        # A follows up for core data: B's two officers must approve it
        pending = a(
            "gateway", "ask", b.gateway_id, "--operation", "disclose", "--purpose", "border-control",
            "--rung", "2", "--case", "MX-2026-7", "--reference", reference, "--json",
        )  # fmt: skip
        assert pending["http_status"] == 202 and pending["answer"]["status"] == "pending"
        request_id = pending["answer"]["request_id"]
        shown = b("gateway", "show", request_id, "--json")
        assert shown["would_disclose"] == ["curp", "first_surname", "given_names"]
        b("gateway", "approve", request_id, "--reason", "art. 4, case verified", actor="officer:b-1")
        still = a("gateway", "fetch", b.gateway_id, request_id, "--json")
        assert still["answer"]["status"] == "pending"
        b("gateway", "approve", request_id, "--reason", "second check", actor="officer:b-2")
        released = a("gateway", "fetch", b.gateway_id, request_id, "--json")["answer"]
        assert released["status"] == "answered"
        assert released["result"]["person"] == {
            "curp": b.enrolled,
            "given_names": "ROSA",
            "first_surname": "PÉREZ",
        }
    finally:
        for peer in (a, b):
            if peer.server is not None:
                stop(peer.server)
    # both sides keep the exchange: A what it sent and received, B what it was asked and answered
    assert (
        len(a.audit("gateway.sent")) == len(a.audit("gateway.received")) == 4
    )  # identify, disclose, 2 fetches
    assert {e.outcome for e in b.audit("gateway.request")} == {"allow", "pending"}
    # B's resident finds A's query in their access history (partner, case, legal basis)
    subject = person_ref(b.person_id(b.enrolled))
    concerned = [e for e in b.audit("gateway.identify") + b.audit("gateway.disclose") if e.subject == subject]
    assert {e.action for e in concerned} == {"gateway.identify", "gateway.disclose"}
    assert all(e.partner == "mx-renapo" and e.channel == "partner" for e in concerned)
    # each side keeps the other's signed checkpoints of the exchange, cosigned
    a_logs = {r["partner"]: r for r in a("gateway", "log", "--json")["logs"]}
    b_logs = {r["partner"]: r for r in b("gateway", "log", "--json")["logs"]}
    # B told A three states (identify answered, disclose pending, disclose answered); A told B three
    assert b_logs["mx-renapo"]["ours_size"] == b_logs["mx-renapo"]["ours_cosigned"] == 3
    assert a_logs["gt-renap"]["theirs_size"] == 3
    assert a_logs["gt-renap"]["ours_size"] == a_logs["gt-renap"]["ours_cosigned"] == 3
    assert b_logs["mx-renapo"]["theirs_size"] == 3
    assert a_logs["gt-renap"]["split_views"] == b_logs["mx-renapo"]["split_views"] == 0
    # the reciprocity report: what each side asked of the other and at which rungs
    period = ["--from", TODAY.isoformat(), "--to", TODAY.isoformat(), "--json"]
    report = b("gateway", "reciprocity", a.gateway_id, *period)
    assert report["they_asked"] == {"identify": {"answered": 1}, "disclose": {"answered": 1}}
    assert report["rungs_we_granted"] == {"1": 1, "2": 1}
    assert report["we_asked"] == {"answered": 3} and report["rungs_we_received"] == {"1": 2, "0": 1}
    mirror = a("gateway", "reciprocity", b.gateway_id, *period)
    assert mirror["we_asked"] == {"answered": 2} and mirror["rungs_we_received"] == {"1": 1, "2": 1}
