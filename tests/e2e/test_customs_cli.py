"""`padron customs ...`: cargo inspections recorded and searched by container, bill of lading or
air waybill, batch imports that record every row or none (each bad row named with its field and
code), and the push queue of held and seized cargo for partners whose agreement pushes it."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Cli

KEY = base64.b64encode(bytes(range(32))).decode()

RECORD = [
    "customs", "record", "--container", "csqu 305438-3", "--bill-of-lading", "MAEU240117733",
    "--hs", "8517.13", "--hs", "8517.13.01.01", "--loading", "CNSHA", "--entry", "MXZLO",
    "--departed", "2026-10-01", "--arrived", "2026-11-02", "--inspected", "2026-11-03",
    "--seal", "ML-118833:broken", "--seal", "ML-118834", "--risk", "x-ray-anomaly", "--outcome", "seized",
    "--seizure", "drugs:12.5:kg:cocaine hydrochloride, 10 bricks",
    "--seizure", "currency:50000:usd:banknotes",
]  # fmt: skip

HEADER = (
    "container,bill_of_lading,air_waybill,hs_codes,port_of_loading,port_of_entry,departed_on,arrived_on,"
    "inspected_on,seals,risk_reason,risk_text,outcome,seizures,notes"
)
GOOD_ROWS = [
    "MSKU9070323,,,851713;8517130101,CNSHA,MXZLO,2026-10-01,2026-11-02,2026-11-03,ML-1:broken,"
    "canine-alert,,seized,drugs:3:kg:cannabis;ammunition:500:rounds:9 mm cartridges,",
    ",,176-12345675,300490,DEFRA,MXMEX,,2026-11-05,2026-11-05,,random,,cleared,,",
    ",HLCUSHA2611001,,610910;620342,CNSHA,MXZLO,,2026-11-02,2026-11-04,,other,"
    "declared value 90% under market,held,,pallets opened",
]


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_an_inspection_is_recorded_and_found_by_any_of_its_references(initialized_cli: Cli) -> None:
    cli = initialized_cli
    recorded = cli(*RECORD, "--json")
    assert recorded.code == 0, recorded.err
    stored = recorded.json
    assert stored["container"] == "CSQU3054383" and stored["hs_codes"] == ["851713"]
    assert stored["tariff_codes"] == ["8517130101"]
    assert stored["goods"][1] == {
        "code": "8517130101",
        "heading": "851713",
        "fraccion": "85171301",
        "nico": "01",
    }
    assert stored["seals"] == [
        {"number": "ML-118833", "intact": False},
        {"number": "ML-118834", "intact": True},
    ]
    assert stored["seizures"][1] == {
        "category": "currency",
        "description": "banknotes",
        "quantity": "50000",
        "unit": "USD",
    }
    for reference in ("CSQU3054383", "csqu-305438-3", "MAEU 240117733"):
        (found,) = cli("customs", "list", "--reference", reference, "--json").json["inspections"]
        assert found["id"] == stored["id"]
    assert cli("customs", "list", "--reference", "MSKU9070323", "--json").json["inspections"] == []
    assert cli("customs", "show", str(stored["id"]), "--json").json["outcome"] == "seized"
    text = cli("customs", "list")
    assert text.code == 0 and "CSQU3054383" in text.out
    cli.refused("customs", "show", "999", code="PAD-SHARE-041")
    log = cli("audit", "log", "--json").json
    records = [e for e in log["entries"] if e["action"] == "customs.record"]
    assert [e["subject"] for e in records] == ["cargo:CSQU3054383"]


def test_a_bad_record_is_refused_with_the_code_of_its_field(initialized_cli: Cli) -> None:
    cli = initialized_cli

    def swapped(option: str, value: str) -> list[str]:
        args = [*RECORD]
        args[args.index(option) + 1] = value
        return args

    cli.refused(*swapped("--container", "CSQU3054384"), code="PAD-SHARE-030")  # check digit
    cli.refused(*swapped("--container", "CSQX3054383"), code="PAD-SHARE-030")  # category
    cli.refused(*swapped("--hs", "8517"), code="PAD-SHARE-033")
    cli.refused(*swapped("--entry", "Manzanillo"), code="PAD-SHARE-034")
    cli.refused(*swapped("--inspected", "2026-11-01"), code="PAD-SHARE-035")  # before the arrival
    cli.refused(*swapped("--risk", "hunch"), code="PAD-SHARE-037")
    cli.refused(*swapped("--outcome", "cleared"), code="PAD-SHARE-038")  # cleared, with seizures
    cli.refused(*swapped("--seizure", "firearms:2.5:units:pistols"), code="PAD-SHARE-039")
    cli.refused(*swapped("--seal", "ML 118833"), code="PAD-SHARE-036")
    cli.refused(*RECORD, "--air-waybill", "176-12345675", code="PAD-SHARE-032")  # B/L and AWB
    cli.refused(*RECORD, "--notes", "driver HEGJ900517HDFRRN03 was nervous", code="PAD-SHARE-040")
    cli.refused(*RECORD, "--air-waybill", "176-12345676", code="PAD-SHARE-031")
    refused = cli.refused(*swapped("--container", "CSQU3054384"), "--json", code="PAD-SHARE-030")
    assert refused.json["error"]["details"] == {"field": "container", "rule": "check-digit", "expected": "3"}


def test_a_csv_import_records_every_row_or_none(initialized_cli: Cli, tmp_path: Path) -> None:
    cli = initialized_cli
    bad = [
        GOOD_ROWS[0],
        GOOD_ROWS[1].replace("176-12345675", "176-12345670"),  # AWB check digit
        GOOD_ROWS[2].replace("610910", "6109").replace("other,", "random,"),  # HS; other's text kept
    ]
    refused = cli.refused(
        "customs", "import", write(tmp_path, "bad.csv", "\n".join([HEADER, *bad]) + "\n"), "--json",
        code="PAD-SHARE-043",
    )  # fmt: skip
    error = refused.json["error"]
    assert error["details"]["invalid_rows"] == 2 and error["details"]["total_rows"] == 3
    rows = {(r["row"], r["field"], r["code"]) for r in error["details"]["rows"]}
    assert rows == {
        (2, "air_waybill", "PAD-SHARE-031"),
        (3, "hs_codes[0]", "PAD-SHARE-033"),
        (3, "risk_text", "PAD-SHARE-037"),
    }
    assert {r["line"] for r in error["details"]["rows"]} == {3, 4}
    text = cli.refused(
        "customs", "import", write(tmp_path, "bad2.csv", "\n".join([HEADER, *bad])), code="PAD-SHARE-043"
    )
    assert "row 2 (line 3): air_waybill: PAD-SHARE-031" in text.err
    assert cli("customs", "list", "--json").json["inspections"] == []
    # the same file with the rows corrected: all three in
    imported = cli(
        "customs", "import", write(tmp_path, "good.csv", "\n".join([HEADER, *GOOD_ROWS])), "--json"
    )
    assert imported.code == 0, imported.err
    assert imported.json["imported"] == 3 and len(imported.json["inspections"]) == 3
    listed = cli("customs", "list", "--json").json["inspections"]
    assert [i["outcome"] for i in listed] == ["seized", "held", "cleared"]  # by inspection date
    assert listed[0]["seizures"][1] == {
        "category": "ammunition",
        "description": "9 mm cartridges",
        "quantity": "500",
        "unit": "rounds",
    }
    assert listed[1]["risk_text"] == "declared value 90% under market"
    assert [
        i["air_waybill"]
        for i in cli("customs", "list", "--reference", "17612345675", "--json").json["inspections"]
    ] == ["17612345675"]
    log = cli("audit", "log", "--json").json["entries"]
    (batch,) = [e for e in log if e["action"] == "customs.import"]
    assert batch["details"]["rows"] == 3 and batch["details"]["format"] == "csv"
    assert len([e for e in log if e["action"] == "customs.record"]) == 3


def test_a_json_import_records_every_row_or_none(initialized_cli: Cli, tmp_path: Path) -> None:
    cli = initialized_cli
    good: dict[str, Any] = {
        "container": "MSKU9070323",
        "hs_codes": ["851713"],
        "port_of_loading": "CNSHA",
        "port_of_entry": "MXZLO",
        "arrived_on": "2026-11-02",
        "inspected_on": "2026-11-03",
        "risk_reason": "intelligence",
        "outcome": "seized",
        "seizures": [{"category": "firearms", "description": "AR-15 rifles", "quantity": 4, "unit": "units"}],
    }
    bad = [
        good,
        {**good, "seizures": [{**good["seizures"][0], "quantity": 4.0}]},  # a float
        {**good, "colour": "red"},
        "not an object",
    ]
    refused = cli.refused(
        "customs", "import", write(tmp_path, "bad.json", json.dumps({"inspections": bad})), "--json",
        code="PAD-SHARE-043",
    )  # fmt: skip
    rows = {(r["row"], r["field"], r["code"]) for r in refused.json["error"]["details"]["rows"]}
    assert rows == {
        (2, "seizures[0].quantity", "PAD-SHARE-039"),
        (3, "colour", "PAD-SHARE-022"),
        (4, "row", "PAD-SHARE-022"),
    }
    for broken in ("{", '{"inspections": []}', '{"rows": []}', "[1"):
        cli.refused("customs", "import", write(tmp_path, "broken.json", broken), code="PAD-SHARE-042")
    cli.refused(
        "customs", "import", write(tmp_path, "nothing.csv", "container,hs_codes\n"), code="PAD-SHARE-042"
    )
    cli.refused("customs", "import", write(tmp_path, "file.txt", "x"), code="PAD-SHARE-042")
    imported = cli("customs", "import", write(tmp_path, "good.json", json.dumps([good, good])), "--json")
    assert imported.code == 0, imported.err
    assert imported.json["imported"] == 2
    assert len(cli("customs", "list", "--outcome", "seized", "--json").json["inspections"]) == 2


def test_held_and_seized_cargo_is_queued_for_partners_whose_agreement_pushes_it(
    initialized_cli: Cli, tmp_path: Path
) -> None:
    cli = initialized_cli
    added = cli(
        "partner", "add", "--id", "us-cbp", "--agency", "Customs and Border Protection", "--country", "USA",
        "--contact", "liaison@example.gov", "--public-key", KEY, "--url", "http://127.0.0.1:9",
    )  # fmt: skip
    assert added.code == 0, added.err
    attributes = [
        "container", "bill_of_lading", "air_waybill", "hs_codes", "port_of_loading", "port_of_entry",
        "arrived_on", "inspected_on", "risk_reason", "risk_text", "outcome", "seizures",
    ]  # fmt: skip
    agreement = {
        "id": "mx-us-customs",
        "partner": "us-cbp",
        "title": "Customs mutual assistance",
        "legal_basis": "CMAA art. 3",
        "legal_reference": "DOF 2026-01-15",
        "valid_from": "2026-01-01",
        "valid_until": "2030-12-31",
        "purposes": ["customs-control"],
        "operations": {
            "customs": {"max_rung": 2, "approval": "none", "attributes": attributes, "push": True}
        },
    }
    shown = cli("agreement", "add", write(tmp_path, "a.json", json.dumps(agreement)), "--json")
    assert shown.code == 0, shown.err
    assert "// customs: held and seized inspections are pushed to us-cbp" in shown.json["policy"]
    # a push without the records' required attributes is refused
    short = {
        **agreement,
        "operations": {"customs": {"max_rung": 2, "attributes": ["container"], "push": True}},
    }
    cli.refused("agreement", "add", write(tmp_path, "short.json", json.dumps(short)), code="PAD-SHARE-001")
    assert cli(*RECORD, "--json").code == 0  # seized: queued
    imported = cli(
        "customs", "import", write(tmp_path, "good.csv", "\n".join([HEADER, *GOOD_ROWS])), "--json"
    )
    assert imported.code == 0, imported.err
    queued = cli("customs", "queue", "--json").json["pushes"]
    assert [(q["partner"], q["status"]) for q in queued] == [("us-cbp", "queued")] * 3  # seized, seized, held
    assert queued[0]["agreement"] == "mx-us-customs"
    # the partner cannot be reached: exit 1, the inspections stay queued
    pushed = cli("customs", "push", "--json")
    assert pushed.code == 1 and pushed.json["failed"] == 1
    assert pushed.json["results"][0]["error"].startswith("PAD-SHARE-018")
    assert {q["status"] for q in cli("customs", "queue", "--json").json["pushes"]} == {"queued"}
    # the agreement suspended: what was queued under it is cancelled on the next push
    assert cli("agreement", "suspend", "mx-us-customs", "--reason", "review").code == 0
    cancelled = cli("customs", "push", "--json")
    assert cancelled.code == 0 and cancelled.json["results"][0]["status"] == "cancelled"
    assert {q["status"] for q in cli("customs", "queue", "--json").json["pushes"]} == {"cancelled"}
    log = cli("audit", "log", "--json").json["entries"]
    assert [e["outcome"] for e in log if e["action"] == "customs.push"] == [
        "cancelled",
        "failed",
    ]  # newest first
