"""The `padron` command line as a user meets it: output, exit status, error codes, no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from padron.domain.curp import validate_curp
from tests.e2e.conftest import Cli


@pytest.fixture
def padron(cli: Cli) -> Cli:
    return cli


MAKE = ["curp", "make", "--given", "Gloria", "--first-surname", "Hernández", "--second-surname", "García"]


def test_curp_make_prints_the_curp_on_its_last_line(padron) -> None:
    result = padron(*MAKE, "--birth", "1956-04-27", "--sex", "M", "--state", "VZ")
    assert result.code == 0 and result.last_line == "HEGG560427MVZRRL04"
    result = padron(*MAKE, "--birth", "1956-04-27", "--sex", "m", "--state", "vz", "--homonym", "3", "--json")
    assert result.json["curp"][16] == "3" and validate_curp(result.json["curp"])


def test_curp_make_after_2000_defaults_to_a(padron) -> None:
    result = padron(*MAKE, "--birth", "2005-04-27", "--sex", "M", "--state", "NE")
    assert result.last_line[16] == "A" and result.last_line[11:13] == "NE"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--birth", "1956-04-27", "--sex", "M", "--state", "ZZ"], "PAD-STATE-001"),
        (["--birth", "2999-04-27", "--sex", "M", "--state", "VZ"], "PAD-DATE-002"),
        (["--birth", "1956-02-30", "--sex", "M", "--state", "VZ"], "PAD-DATE-001"),
        (["--birth", "1956-04-27", "--sex", "Q", "--state", "VZ"], "PAD-SEX-001"),
        (["--birth", "1980-04-27", "--sex", "M", "--state", "VZ", "--homonym", "B"], "PAD-CURP-008"),
    ],
)
def test_curp_make_bad_input(padron, args: list[str], code: str) -> None:
    result = padron(*MAKE, *args)
    assert result.code == 1 and code in result.err and "error" in result.err
    result = padron(*MAKE, *args, "--json")
    assert result.code == 1 and result.json["error"]["code"] == code


def test_curp_make_empty_surname_and_digits(padron) -> None:
    base = ["curp", "make", "--birth", "1990-01-01", "--sex", "H", "--state", "JC"]
    assert "PAD-NAME-001" in padron(*base, "--given", "Juan", "--first-surname", " ").err
    assert "PAD-NAME-002" in padron(*base, "--given", "Juan 2", "--first-surname", "Pérez").err


@pytest.mark.parametrize(
    ("curp", "rule"),
    [
        ("HEGG560427MVZRRL0", "length"),
        ("HEGG560427MVZRRL040", "length"),
        ("HEGG560427MVZRRL05", "check-digit"),
        ("HEGG560427MXXRRL04", "state"),
    ],
)
def test_curp_check_reports_the_failed_rule(padron, curp: str, rule: str) -> None:
    result = padron("curp", "check", curp)
    assert result.code == 1 and result.out.startswith(f"invalid: {rule}:")
    assert padron("curp", "check", curp, "--json").json["rule"] == rule


def test_curp_check_valid_normalizes_case_and_spaces(padron) -> None:
    result = padron("curp", "check", " hegg560427mvzrrl04 ")
    assert result.code == 0 and result.out.strip() == "valid"


def test_person_commands_need_init(padron) -> None:
    result = padron("person", "list")
    assert result.code == 1 and "PAD-STORE-002" in result.err and "padron init" in result.err


@pytest.fixture
def initialized(padron, monkeypatch: pytest.MonkeyPatch, database_url: str):
    if not database_url.startswith("sqlite"):
        monkeypatch.setenv("PADRON_DATABASE_URL", database_url)
    first = padron("init", "--json")
    assert first.code == 0 and first.json["previous_revision"] is None
    again = padron("init", "--json")
    assert again.json["previous_revision"] == again.json["revision"]
    return padron


ADD = ["person", "add", "--given", "Juan", "--first-surname", "Hernández", "--second-surname", "García"]


def test_person_lifecycle_on_each_backend(initialized) -> None:
    padron = initialized
    one = padron(*ADD, "--birth", "1990-05-17", "--sex", "H", "--state", "DF", "--json").json
    two = padron(*ADD, "--birth", "1990-05-17", "--sex", "H", "--state", "DF", "--json").json
    assert (one["curp"], two["curp"]) == ("HEGJ900517HDFRRN03", "HEGJ900517HDFRRN11")

    shown = padron("person", "show", one["curp"].lower())
    assert shown.code == 0 and "HEGJ900517HDFRRN03" in shown.out and "JUAN HERNÁNDEZ GARCÍA" in shown.out

    updated = padron(
        "person", "update", one["curp"], "--set", "birth_date=1990-05-18", "--reason", "typo", "--json"
    ).json
    assert updated["curp"].startswith("HEGJ900518") and updated["version"] == 2
    assert padron("person", "show", one["curp"], "--json").json["former_curps"] == [one["curp"]]

    suspended = padron(
        "person", "update", updated["curp"], "--status", "suspended", "--reason", "check", "--json"
    )
    assert suspended.json["status"] == "suspended"

    history = padron("person", "history", one["curp"], "--json").json["history"]
    assert [h["kind"] for h in history] == ["created", "updated", "status"]
    assert history[1]["changes"]["curp"] == [one["curp"], updated["curp"]]
    assert all(h["actor"] == "test:officer" for h in history)
    table = padron("person", "history", updated["curp"])
    assert "typo" in table.out and "suspended" in table.out

    listed = padron("person", "list", "--json").json
    assert listed["total"] == 2 and {p["curp"] for p in listed["persons"]} == {updated["curp"], two["curp"]}

    merged = padron("person", "merge", two["curp"], "--into", updated["curp"], "--reason", "dup", "--json")
    assert merged.code == 1 and merged.json["error"]["code"] == "PAD-PERSON-003"  # target suspended


def test_person_bad_input(initialized) -> None:
    padron = initialized
    assert "PAD-PERSON-001" in padron("person", "show", "HEGG560427MVZRRL04").err
    added = padron(*ADD, "--birth", "1990-05-17", "--sex", "H", "--state", "DF", "--json").json
    bad_field = padron("person", "update", added["curp"], "--set", "height=180", "--reason", "r")
    assert bad_field.code == 1 and "PAD-PERSON-004" in bad_field.err
    bad_form = padron("person", "update", added["curp"], "--set", "first_surname", "--reason", "r")
    assert "PAD-GEN-002" in bad_form.err
    bad_status = padron("person", "update", added["curp"], "--status", "asleep", "--reason", "r")
    assert "PAD-PERSON-002" in bad_status.err
    assert (
        "PAD-NAT-001"
        in padron(*ADD, "--birth", "1990-05-17", "--sex", "H", "--state", "DF", "--nationality", "Mexico").err
    )
    assert padron("person", "list", "--json").json["total"] == 1  # nothing half-written


def test_demo_json(padron) -> None:
    result = padron("demo", "--people", "40", "--no-biometrics", "--no-gateway", "--json")
    assert result.code == 0
    summary = result.json
    assert summary["audit_chain_valid"] is True
    assert summary["enrolled"] == 40 and summary["unique_curps"] == 40 and summary["all_curps_valid"]
    first, second = summary["homonym"]["curps"]
    assert first[:16] == second[:16] and first != second
    correction = summary["correction"]
    assert correction["old_curp"] != correction["new_curp"]
    assert correction["old_curp_resolves_to"] == correction["new_curp"]
    assert [h["kind"] for h in correction["history"]] == ["created", "updated", "status", "status"]


def test_console_script_usage_error_and_internal_errors_have_no_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "PADRON_DATA_DIR": str(tmp_path)}
    env.pop("PADRON_DATABASE_URL", None)
    cmd = [sys.executable, "-m", "padron.cli.main"]
    usage = subprocess.run([*cmd, "curp", "make"], capture_output=True, text=True, env=env, timeout=60)
    assert usage.returncode == 2 and "Missing option" in usage.stderr and "Traceback" not in usage.stderr
    env["PADRON_DATABASE_URL"] = "mysql://nobody@127.0.0.1/x"
    config = subprocess.run([*cmd, "person", "list"], capture_output=True, text=True, env=env, timeout=60)
    assert config.returncode == 1 and "PAD-CONF-001" in config.stderr and "Traceback" not in config.stderr
    env["PADRON_DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    down = subprocess.run([*cmd, "person", "list"], capture_output=True, text=True, env=env, timeout=60)
    assert down.returncode == 1 and "PAD-STORE-001" in down.stderr and "Traceback" not in down.stderr


def test_demo_runs_the_gateway_between_two_local_instances(padron) -> None:
    result = padron("demo", "--people", "6", "--no-biometrics", "--json")
    assert result.code == 0, result.err
    gateway = result.json["gateway"]
    assert gateway["no_agreement"] == {"status": "denied", "reasons": ["no-agreement-in-force"]}
    assert gateway["identify"] == {"hit": True, "unknown_hit": False, "rung": 1}
    assert gateway["follow_up"] == {
        "first": "pending",
        "after_one_officer": "pending",
        "after_two_officers": "answered",
        "disclosed": ["curp", "first_surname", "given_names"],
    }
    assert [r["outcome"] for r in gateway["customs"]["received_by_us_dhs"]] == ["held"]
    assert [r["outcome"] for r in gateway["customs"]["received_by_mx_renapo"]] == ["seized"]
    report = gateway["reciprocity_mx_renapo"]
    assert report["they_asked"]["customs"] == {"answered": 1} and report["we_asked"] == {"answered": 1}
    for side in gateway["checkpoints"].values():
        assert side["all_signed_by_both"] and side["split_views"] == 0
        assert side["our_log"] == side["cosigned_by_partner"] > 0 and side["their_log_kept"] > 0
