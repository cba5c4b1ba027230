"""The sharing gateway between two local padron instances, for ``padron demo``.

Two registries, each with its own data directory, database, keys and HTTP server on 127.0.0.1:
``mx-renapo`` (the answering registry) and ``us-dhs`` (a foreign partner running the same
software). They exchange public keys; then, in order: a request refused for lack of an
agreement, a hit / no-hit identification answered with a per-partner reference, a follow-up for
core data that waits for two distinct officers and is then answered with the agreed attributes
only, a customs record exchanged both ways with the reciprocity report, and both sides'
cosigned exchange-log checkpoints verified.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from padron.domain.access import AccessContext, Purpose, Role

ADMIN = AccessContext.cli("demo:admin", Purpose.ADMINISTRATION)
FINGERS = (2, 7)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _iso(seed: int, position: int, impression: int) -> bytes:
    from padron.biometrics.fingerprint import iso19794 as iso
    from padron.synth.templates import HEIGHT, WIDTH, impression_minutiae, master_minutiae

    minutiae = impression_minutiae(master_minutiae(seed, position), impression)
    view = iso.view_from_minutiae(minutiae, finger_position=position, quality=60)
    return iso.write(iso.IsoRecord(width=WIDTH, height=HEIGHT, views=(view,)))


@dataclass
class Instance:
    name: str
    directory: Path
    registry: Any = None
    me: Any = None
    url: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    server: Any = None
    thread: threading.Thread | None = None

    def key(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


@contextmanager
def _instance(name: str, directory: Path) -> Iterator[Instance]:
    import uvicorn

    from padron.api.app import create_app
    from padron.registry.factory import build_identity_service
    from padron.registry.keys import KeyStore
    from padron.registry.service import Registry
    from padron.settings import Settings
    from padron.sharing.keys import build_gateway_identity

    directory.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=directory, gateway_id=name)
    registry = Registry.open(f"sqlite:///{directory / 'padron.db'}", migrate=True)
    instance = Instance(name, directory, registry, build_gateway_identity(settings))
    keys = KeyStore(registry)
    for key_name, role in (
        ("registrar", Role.REGISTRAR),
        ("officer-1", Role.OFFICER),
        ("officer-2", Role.OFFICER),
    ):
        instance.tokens[key_name] = keys.create(f"demo {key_name}", role, created_by="demo").token
    identity = build_identity_service(settings, registry=registry)
    app = create_app(registry=registry, identity=identity, gateway_identity=instance.me)
    port = _free_port()
    instance.url = f"http://127.0.0.1:{port}"
    # log_config None: the demo runs inside a command (or a test) whose logging is not uvicorn's
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
    )
    instance.server = uvicorn.Server(config)
    instance.thread = threading.Thread(target=instance.server.run, name=f"demo-{name}", daemon=True)
    instance.thread.start()
    deadline = time.monotonic() + 60
    while not instance.server.started:
        if time.monotonic() > deadline or not instance.thread.is_alive():
            raise RuntimeError(f"the demo server {name} did not start")
        time.sleep(0.05)
    try:
        yield instance
    finally:
        instance.server.should_exit = True
        instance.thread.join(timeout=30)
        registry.close()


def _agreement(partner: str, today: date, operations: dict[str, Any]) -> Any:
    from padron.sharing.files import agreement_from_json

    return agreement_from_json(
        {
            "id": f"coop-{partner}",
            "partner": partner,
            "title": "Border and customs cooperation",
            "legal_basis": "Memorandum of understanding on border security, art. 4",
            "legal_reference": "DOF 2026-11-30",
            "valid_from": (today - timedelta(days=1)).isoformat(),
            "valid_until": (today + timedelta(days=365)).isoformat(),
            "purposes": ["border-control"],
            "operations": operations,
            "reciprocity": "the same terms both ways",
        }
    )


def run(base: Path, *, say: Callable[..., None]) -> dict[str, Any]:
    import httpx
    from sqlalchemy import select

    from padron.audit.checkpoint import open_checkpoint
    from padron.registry.storage.models import ExchangeCheckpointRow
    from padron.sharing.agreements import Partner
    from padron.sharing.client import PeerClient
    from padron.sharing.customs import Customs, inspection_from_json
    from padron.sharing.exchange import reciprocity, signer_of, status, verifier_of
    from padron.sharing.store import Sharing

    started = time.perf_counter()
    today = datetime.now(UTC).date()
    say("sharing gateway: two local instances, mx-renapo and us-dhs")
    out: dict[str, Any] = {}
    with _instance("mx-renapo", base / "mx-renapo") as mx, _instance("us-dhs", base / "us-dhs") as us:
        # each registers the other, by its public key and URL
        for here, there, country in ((mx, us, "USA"), (us, mx, "MEX")):
            partner = Partner(
                there.name, f"Registry {there.name}", country, "gateway@example.org", there.me.public_key,
                url=there.url,
            )  # fmt: skip
            Sharing(here.registry).add_partner(partner, ADMIN)
        # three residents of mx-renapo, enrolled with ISO minutiae records over HTTP
        curps = []
        for i, (given, surname) in enumerate((("ANA", "LÓPEZ"), ("LUIS", "PÉREZ"), ("ROSA", "DÍAZ"))):
            person = {"given_names": given, "first_surname": surname, "second_surname": "RUIZ",
                      "birth_date": f"19{70 + i}-05-0{i + 1}", "sex": "M" if i != 1 else "H",
                      "birth_state": "JC", "reason": "demo"}  # fmt: skip
            files = {f"finger_template_{p}": (f"{p}.iso", _iso(9000 + i, p, 1)) for p in FINGERS}
            answer = httpx.post(
                f"{mx.url}/v1/enrollments",
                data={"person": json.dumps(person)},
                files=files,
                headers=mx.key("registrar"),
                timeout=120,
            )
            answer.raise_for_status()
            curps.append(answer.json()["curp"])
        us_to_mx = PeerClient(us.me, Sharing(us.registry).partner("mx-renapo"), registry=us.registry)
        mx_to_us = PeerClient(mx.me, Sharing(mx.registry).partner("us-dhs"), registry=mx.registry)
        asking = AccessContext.cli("demo:us-officer", Purpose.PARTNER_REQUEST, case_ref="DHS-2026-0042")

        def probe(seed: int, impression: int) -> dict[str, Any]:
            return {
                "finger_templates": {
                    str(p): base64.b64encode(_iso(seed, p, impression)).decode("ascii") for p in FINGERS
                }
            }

        identify = {
            "operation": "identify",
            "purpose": "border-control",
            "rung": 1,
            "case_ref": "DHS-2026-0042",
        }
        # 1. no agreement yet: refused, with the reason
        refused = us_to_mx.ask({**identify, "probe": probe(9000, 2)}, asking).answer
        say(f"  1. us-dhs asks before any agreement: {refused['status']} ({', '.join(refused['reasons'])})")
        out["no_agreement"] = {"status": refused["status"], "reasons": refused["reasons"]}
        # the agreements, both ways (each side's officers sign their own)
        terms = {
            "identify": {"max_rung": 1, "candidates": 1, "daily_quota": 100, "approval": "none"},
            "disclose": {"max_rung": 2, "daily_quota": 10, "approval": "two-officers",
                         "attributes": ["curp", "given_names", "first_surname"]},
            "customs": {"max_rung": 2, "daily_quota": 100, "approval": "none",
                        "attributes": ["container", "inspected_on", "outcome", "hs_codes", "seizures"]},
        }  # fmt: skip
        stored = Sharing(mx.registry).add_agreement(_agreement("us-dhs", today, terms), ADMIN)
        Sharing(us.registry).add_agreement(_agreement("mx-renapo", today, terms), ADMIN)
        out["policy_sha256"] = stored.policy_sha256
        # 2. hit / no-hit, with a reference for us-dhs only
        hit = us_to_mx.ask({**identify, "probe": probe(9000, 2)}, asking).answer
        miss = us_to_mx.ask({**identify, "probe": probe(9100, 1)}, asking).answer
        (reference,) = hit["result"]["references"]
        say(f"  2. identify a resident: hit={hit['result']['hit']}, reference {reference[:16]}...; "
            f"someone unknown: hit={miss['result']['hit']}")  # fmt: skip
        out["identify"] = {
            "hit": hit["result"]["hit"],
            "unknown_hit": miss["result"]["hit"],
            "rung": hit["rung"],
        }
        # 3. the follow-up for core data waits for two distinct officers of mx-renapo
        follow = us_to_mx.ask(
            {"operation": "disclose", "purpose": "border-control", "rung": 2, "case_ref": "DHS-2026-0042",
             "reference": reference},
            asking,
        ).answer  # fmt: skip
        request_id = follow["request_id"]
        decisions = []
        for officer in ("officer-1", "officer-2"):
            decided = httpx.post(
                f"{mx.url}/v1/gateway/requests/{request_id}/approve",
                json={"reason": f"checked against the agreement ({officer})"},
                headers=mx.key(officer),
                timeout=60,
            )
            decided.raise_for_status()
            decisions.append(decided.json()["status"])
        released = us_to_mx.fetch(request_id, asking).answer
        say(f"  3. follow-up: {follow['status']}; after officer 1: {decisions[0]}; after officer 2: "
            f"{decisions[1]} -> {released['result']['person']}")  # fmt: skip
        out["follow_up"] = {
            "first": follow["status"],
            "after_one_officer": decisions[0],
            "after_two_officers": decisions[1],
            "disclosed": sorted(released["result"]["person"]),
        }
        # 4. customs: each side records an inspection and asks the other
        day = today.isoformat()
        inspected = {"arrived_on": day, "inspected_on": day, "risk_reason": "x-ray-anomaly"}
        Customs(mx.registry).record(
            inspection_from_json(
                {**inspected, "container": "MSKU1234565", "hs_codes": ["8517.13.01.01"],
                 "port_of_loading": "CNSHA", "port_of_entry": "MXZLO", "outcome": "held"}
            ),
            ADMIN,
        )  # fmt: skip
        Customs(us.registry).record(
            inspection_from_json(
                {**inspected, "container": "TGHU7654320", "hs_codes": ["930100"], "port_of_loading": "MXZLO",
                 "port_of_entry": "USLAX", "outcome": "seized",
                 "seizures": [{"category": "firearms", "description": "rifles", "quantity": 4,
                               "unit": "units"}]}
            ),
            ADMIN,
        )  # fmt: skip
        cargo = {"operation": "customs", "purpose": "border-control", "rung": 2, "case_ref": "CUSTOMS-7"}
        got_mx = us_to_mx.ask({**cargo, "cargo": "MSKU1234565"}, asking).answer["result"]["records"]
        got_us = mx_to_us.ask({**cargo, "cargo": "TGHU7654320"}, ADMIN).answer["result"]["records"]
        report = reciprocity(mx.registry, "us-dhs", today, today).to_json()
        say(f"  4. customs: us-dhs got {got_mx}; mx-renapo got {got_us}")
        say(
            f"     reciprocity at mx-renapo: they asked {report['they_asked']}, we asked {report['we_asked']}"
        )
        out["customs"] = {"received_by_us_dhs": got_mx, "received_by_mx_renapo": got_us}
        out["reciprocity_mx_renapo"] = report
        # 5. both sides' cosigned checkpoints, verified with both keys
        verified = {}
        for here, there in ((mx, us), (us, mx)):
            (log,) = status(here.registry, [there.name])
            with here.registry.db.read_session() as session:
                notes = list(session.scalars(select(ExchangeCheckpointRow.note)))
            keys = [signer_of(here.me).verifier(), verifier_of(there.name, there.me.public_key)]
            both = all(set(open_checkpoint(n, keys).signers) == {here.name, there.name} for n in notes)
            verified[here.name] = {
                "our_log": log.ours_size,
                "cosigned_by_partner": log.ours_cosigned,
                "their_log_kept": log.theirs_size,
                "checkpoints": len(notes),
                "all_signed_by_both": both,
                "split_views": log.split_views,
            }
        say(f"  5. cosigned checkpoints: {verified}")
        out["checkpoints"] = verified
        us_to_mx.close()
        mx_to_us.close()
    out["seconds"] = round(time.perf_counter() - started, 2)
    return out
