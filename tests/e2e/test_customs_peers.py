"""The customs exchange between two `padron serve` processes (each its own data directory, keys
and registry, each the other's partner): Mexico's customs records a seizure on the command line,
the partner asks about the container over signed HTTP, and Mexico pushes the seizure to the
partner with `padron customs push`; the partner keeps it apart, both sides audit it, and both
reciprocity reports count the customs exchange."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_workers import stop
from tests.e2e.test_gateway_peers import Peer

pytestmark = [pytest.mark.slow]

TODAY = datetime.now(UTC).date()
ATTRIBUTES = [
    "container", "bill_of_lading", "air_waybill", "hs_codes", "tariff_codes", "port_of_loading",
    "port_of_entry", "arrived_on", "inspected_on", "seals", "risk_reason", "risk_text", "outcome", "seizures",
]  # fmt: skip


def agreement(with_partner: str, *, push: bool) -> dict[str, Any]:
    return {
        "id": f"customs-{with_partner}",
        "partner": with_partner,
        "title": "Customs mutual assistance",
        "legal_basis": "CMAA art. 3",
        "legal_reference": "DOF 2026-11-30",
        "valid_from": (TODAY - timedelta(days=1)).isoformat(),
        "valid_until": (TODAY + timedelta(days=365)).isoformat(),
        "purposes": ["customs-control"],
        "operations": {
            "customs": {"max_rung": 2, "approval": "none", "attributes": ATTRIBUTES, "push": push},
        },
    }


def test_a_seizure_is_asked_about_and_pushed_between_two_registries(tmp_path: Path) -> None:
    mx, us = Peer(tmp_path, "mx", "mx-anam"), Peer(tmp_path, "us", "us-cbp")
    for peer in (mx, us):
        peer("init")
    identities = {p.gateway_id: p("gateway", "identity", "--json") for p in (mx, us)}
    for here, there in ((mx, us), (us, mx)):
        here(
            "partner", "add", "--id", there.gateway_id, "--agency", f"Customs {there.gateway_id}",
            "--country", "USA" if there is us else "MEX", "--contact", "liaison@example.org",
            "--public-key", identities[there.gateway_id]["public_key"], "--url", there.url,
        )  # fmt: skip
        terms = here.dir / "agreement.json"
        terms.write_text(json.dumps(agreement(there.gateway_id, push=here is mx)))
        here("agreement", "add", str(terms))
    seized = mx(
        "customs", "record", "--container", "MSKU9070323", "--hs", "8517.13.01.01", "--loading", "CNSHA",
        "--entry", "MXZLO", "--arrived", "2026-11-02", "--inspected", "2026-11-03", "--seal", "ML-1:broken",
        "--risk", "canine-alert", "--outcome", "seized", "--seizure", "drugs:12.5:kg:cocaine", "--json",
    )  # fmt: skip
    assert mx("customs", "queue", "--json")["pushes"][0]["status"] == "queued"
    for peer in (mx, us):
        peer.start()
    try:
        asked = us(
            "gateway", "ask", mx.gateway_id, "--operation", "customs", "--purpose", "customs-control",
            "--rung", "2", "--case", "CBP-77", "--cargo", "MSKU 907032 3", "--json",
        )  # fmt: skip
        (record,) = asked["answer"]["result"]["records"]
        assert record["seizures"] == [
            {"category": "drugs", "description": "cocaine", "quantity": "12.5", "unit": "kg"}
        ]
        assert record["tariff_codes"] == ["8517130101"] and "notes" not in record
        pushed = mx("customs", "push", "--json")
        (result,) = pushed["results"]
        assert result["status"] == "sent" and result["inspections"] == [seized["id"]]
        assert mx("customs", "push", "--json")["results"] == []  # nothing left
    finally:
        for peer in (mx, us):
            if peer.server is not None:
                stop(peer.server)
    (received,) = us("customs", "list", "--received", "--json")["inspections"]
    assert (received["source"], received["source_id"], received["container"]) == (
        "mx-anam",
        seized["id"],
        "MSKU9070323",
    )
    assert us("customs", "list", "--json")["inspections"] == []  # not among its own
    assert [e.outcome for e in us.audit("customs.push.received")] == ["accepted"]
    assert [e.outcome for e in mx.audit("customs.push")] == ["sent"]
    period = ["--from", TODAY.isoformat(), "--to", TODAY.isoformat(), "--json"]
    mine = mx("gateway", "reciprocity", us.gateway_id, *period)["customs"]
    assert mine == {
        "they_asked": {"answered": 1},
        "we_asked": {},
        "we_pushed": {"sent": 1},
        "they_pushed": {},
    }
    theirs = us("gateway", "reciprocity", mx.gateway_id, *period)["customs"]
    assert theirs == {
        "they_asked": {},
        "we_asked": {"answered": 1},
        "we_pushed": {},
        "they_pushed": {"accepted": 1},
    }
    # each side keeps the other's checkpoints of their exchange: mx's answer in mx's log, the receipt in us's
    logs = {
        peer.gateway_id: {r["partner"]: r for r in peer("gateway", "log", "--json")["logs"]}
        for peer in (mx, us)
    }
    assert logs["mx-anam"]["us-cbp"]["ours_size"] == logs["mx-anam"]["us-cbp"]["ours_cosigned"] == 1
    assert logs["us-cbp"]["mx-anam"]["ours_size"] == logs["us-cbp"]["mx-anam"]["ours_cosigned"] == 1
    assert logs["mx-anam"]["us-cbp"]["theirs_size"] == logs["us-cbp"]["mx-anam"]["theirs_size"] == 1
