"""Enroll, verify, identify and adjudicate from the command line with real fingerprint images
(FVC2002 DB1_B) and the production extractor and matcher; and the biometric demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from padron.cli.main import main


@pytest.fixture
def padron(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("PADRON_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("PADRON_DATABASE_URL", raising=False)
    monkeypatch.setenv("PADRON_ACTOR", "test:officer")
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str) -> tuple[int, Any, str]:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as done:
            code = int(done.code or 0)
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, (json.loads(out) if "--json" in args and out.strip() else out), err

    return run


def person(tmp_path: Path, name: str, given: str, birth: str) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(
        json.dumps(
            {
                "given_names": given,
                "first_surname": name,
                "second_surname": "Ruiz",
                "birth_date": birth,
                "sex": "M",
                "birth_state": "JC",
            }
        )
    )
    return str(path)


@pytest.mark.slow
def test_enroll_refuse_verify_identify(padron, tmp_path: Path, shared_data: Path) -> None:
    db = shared_data / "fingerprints" / "FVC2002" / "DB1_B"
    assert padron("init")[0] == 0
    code, first, _ = padron(
        "enroll",
        "--person",
        person(tmp_path, "Lopez", "Ana", "1990-01-02"),
        "--finger",
        f"2={db / '101_1.tif'}",
        "--finger",
        f"7={db / '102_1.tif'}",
        "--json",
    )
    assert code == 0 and first["status"] == "issued", first
    code, other, _ = padron(
        "enroll",
        "--person",
        person(tmp_path, "Soto", "Eva", "1985-03-04"),
        "--finger",
        f"2={db / '103_1.tif'}",
        "--finger",
        f"7={db / '104_1.tif'}",
        "--json",
    )
    assert other["status"] == "issued"
    # the same fingers (other impressions) under another name: not a new identity
    code, again, _ = padron(
        "enroll",
        "--person",
        person(tmp_path, "Mora", "Irma", "1991-05-06"),
        "--finger",
        f"2={db / '101_3.tif'}",
        "--finger",
        f"7={db / '102_3.tif'}",
        "--json",
    )
    assert again["status"] in ("refused", "pending") and again["curp"] is None
    # a script tells the outcomes apart by the exit status alone: 3 duplicate, 4 pending
    assert code == {"refused": 3, "pending": 4}[again["status"]] == again["exit_status"]
    assert again["candidates"][0]["curp"] == first["curp"]

    code, verified, _ = padron(
        "verify",
        first["curp"],
        "--finger",
        f"2={db / '101_5.tif'}",
        "--finger",
        f"7={db / '102_5.tif'}",
        "--json",
    )
    assert code == 0 and verified["match"] is True
    code, rejected, _ = padron("verify", other["curp"], "--finger", f"2={db / '101_5.tif'}", "--json")
    assert code == 5 and rejected["match"] is False and rejected["exit_status"] == 5
    code, found, _ = padron(
        "identify",
        "--finger",
        f"2={db / '101_6.tif'}",
        "--finger",
        f"7={db / '102_6.tif'}",
        "--case",
        "FGR/2026/1",
        "--json",
    )
    assert found["candidates"][0]["curp"] == first["curp"]
    code, _, err = padron("identify", "--finger", f"2={db / '101_6.tif'}")  # no case reference
    assert code == 1 and "PAD-ACCESS-002" in err
    code, stats, _ = padron("gallery", "stats", "--json")
    assert stats["subjects"] >= 2
    code, _, err = padron("verify", first["curp"], "--finger", f"11={db / '101_5.tif'}")
    assert code == 1 and "PAD-FING-010" in err
    code, _, err = padron(
        "verify", first["curp"], "--finger", f"2={db / '101_5.tif'}", "--finger", f"2={db / '101_6.tif'}"
    )
    assert code == 1 and "PAD-PERSON-009" in err and "position 2 twice" in err
    code, _, err = padron(
        "enroll", "--person", str(tmp_path / "missing.json"), "--finger", f"2={db / '101_1.tif'}"
    )
    assert code == 1 and "PAD-FILE-001" in err


@pytest.mark.slow
def test_biometric_demo_catches_every_planted_duplicate(padron) -> None:
    code, summary, _ = padron("demo", "--people", "16", "--duplicates", "4", "--no-gateway", "--json")
    assert code == 0
    assert summary["planted_duplicates"] == 4
    # every duplicate that fingerprints can see is refused or sent to adjudication
    assert summary["duplicates_checkable"] >= 3
    assert summary["duplicates_caught"] == summary["duplicates_checkable"]
    # every unique person ends with a CURP (false alarms are cleared by the adjudicator); no
    # checkable duplicate gets one: 16 persons + the demo's homonym pair (+ under-5 duplicates)
    assert summary["enrolled"] == 16 + 2 + summary["duplicates_under_5_not_checkable"]
    assert summary["adjudication_cases"] >= summary["duplicates_to_adjudication"]
    assert all(v["match"] for v in summary["verification"] if not v.get("impostor"))
    assert not any(v["match"] for v in summary["verification"] if v.get("impostor"))
