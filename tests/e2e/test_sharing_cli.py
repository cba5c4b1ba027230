"""`padron partner ...` and `padron agreement ...`: partners and versioned agreements, their
Cedar policies shown to the officer, suspension taking effect on the next request, every change
in the audit log, and bad files refused with a code while nothing is written."""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path
from typing import Any

from padron.registry.service import Registry
from padron.sharing.agreements import Operation, Rung
from padron.sharing.policy import PartnerRequest, Usage, Verdict, evaluate
from padron.sharing.store import Sharing
from tests.e2e.conftest import Cli

KEY = base64.b64encode(bytes(range(32))).decode()
AGREEMENT: dict[str, Any] = {
    "id": "mx-us-2027",
    "partner": "us-dhs",
    "title": "Border security cooperation",
    "legal_basis": "Memorandum of understanding, art. 4",
    "legal_reference": "DOF 2027-01-15",
    "valid_from": "2027-01-01",
    "valid_until": "2027-12-31",
    "purposes": ["border-control"],
    "operations": {
        "verify": {"max_rung": 1, "daily_quota": 100, "approval": "none"},
        "identify": {"max_rung": 1, "candidates": 10, "daily_quota": 20, "approval": "two-officers"},
    },
    "reciprocity": "the same terms both ways",
}


def write(tmp_path: Path, data: Any, name: str = "agreement.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


def add_partner(cli: Cli) -> None:
    added = cli(
        "partner", "add", "--id", "us-dhs", "--agency", "Department of Homeland Security",
        "--country", "USA", "--contact", "liaison@example.gov", "--public-key", KEY,
    )  # fmt: skip
    assert added.code == 0, added.err


def verify_request() -> PartnerRequest:
    return PartnerRequest("us-dhs", Operation.VERIFY, "border-control", Rung.REFERENCE, date(2027, 3, 1))


def test_partners_and_versioned_agreements(initialized_cli: Cli, tmp_path: Path) -> None:
    cli = initialized_cli
    add_partner(cli)
    assert cli("partner", "list", "--json").json["partners"][0]["country"] == "USA"
    first = cli("agreement", "add", write(tmp_path, AGREEMENT), "--json")
    assert first.code == 0, first.err
    stored = first.json
    assert stored["version"] == 1
    assert (
        'permit (principal == Partner::"us-dhs", action == Action::"identify", resource);' in stored["policy"]
    )
    shown = cli("agreement", "show", "mx-us-2027", "--policy")
    assert shown.out == stored["policy"]
    amended = {**AGREEMENT, "operations": {"verify": AGREEMENT["operations"]["verify"]}}
    assert cli("agreement", "add", write(tmp_path, amended, "v2.json"), "--json").json["version"] == 2
    assert "identify" not in cli("agreement", "show", "mx-us-2027", "--json").json["operations"]
    assert "identify" in cli("agreement", "show", "mx-us-2027", "--version", "1", "--json").json["operations"]

    registry = Registry.open(f"sqlite:///{cli.database}")
    try:
        gateway = Sharing(registry)
        [policy] = gateway.policies_in_force("us-dhs", date(2027, 3, 1))
        assert policy.version == 2
        assert evaluate(policy, verify_request(), Usage()).verdict is Verdict.ALLOW
        # suspending takes effect on the next request
        assert cli("agreement", "suspend", "mx-us-2027", "--reason", "review").code == 0
        assert gateway.policies_in_force("us-dhs", date(2027, 3, 1)) == []
        assert cli("agreement", "reinstate", "mx-us-2027", "--reason", "reviewed").code == 0
        assert len(gateway.policies_in_force("us-dhs", date(2027, 3, 1))) == 1
        assert cli("partner", "suspend", "us-dhs", "--reason", "breach").code == 0
        assert gateway.policies_in_force("us-dhs", date(2027, 3, 1)) == []
    finally:
        registry.close()

    log = cli("audit", "log", "--json").json
    actions = [e["action"] for e in (log["entries"] if isinstance(log, dict) else log)]
    for action in ("partner.add", "agreement.add", "agreement.status", "partner.status"):
        assert action in actions


def test_bad_partners_and_agreement_files_are_refused_and_write_nothing(
    initialized_cli: Cli, tmp_path: Path
) -> None:
    cli = initialized_cli
    cli.refused(
        "partner", "add", "--id", "us-dhs", "--agency", "DHS", "--country", "US", "--contact", "c",
        "--public-key", KEY, code="PAD-SHARE-002",
    )  # fmt: skip
    cli.refused("agreement", "add", write(tmp_path, AGREEMENT), code="PAD-SHARE-005")  # no such partner
    add_partner(cli)
    cli.refused(
        "partner", "add", "--id", "us-dhs", "--agency", "DHS", "--country", "USA", "--contact", "c",
        "--public-key", KEY, code="PAD-SHARE-007",
    )  # fmt: skip
    for bad in (
        "{not json",
        '{"id": "a", "id": "b"}',
        {**AGREEMENT, "valid_until": "2026-01-01"},
        {**AGREEMENT, "colour": "red"},
        {**AGREEMENT, "raw_biometrics": "yes"},
        {**AGREEMENT, "operations": {"verify": {"max_rung": 1, "candidates": 5}}},
        {**AGREEMENT, "operations": {"disclose": {"max_rung": 2, "attributes": ["fingerprints"]}}},
        {**AGREEMENT, "purposes": ['x" || true']},
    ):
        cli.refused("agreement", "add", write(tmp_path, bad, "bad.json"), code="PAD-SHARE-001")
    cli.refused("agreement", "show", "nothing-here", code="PAD-SHARE-006")
    cli.refused("agreement", "suspend", "nothing-here", "--reason", "x", code="PAD-SHARE-006")
