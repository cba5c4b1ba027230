"""benchmarks/api_load.py as its user runs it, at a size a test can afford: a real `padron serve`
process, persons enrolled and verified over HTTP, the same probes verified in-process.

Nothing here is timed: the test checks that the load ran without an error, that every answer
over HTTP is the decision the use case gives in-process, and that the decisions are right."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# its own xdist group: the benchmark starts a server on a free port of its own (as
# tests/api/test_serve.py does) and loads both cores for a few seconds
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api_load")]


def test_api_load_runs_without_errors_and_answers_as_the_use_case(tmp_path: Path) -> None:
    out = tmp_path / "api_load.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PADRON_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    command = [sys.executable, str(ROOT / "benchmarks" / "api_load.py")]
    command += ["--users", "2", "--seconds", "2", "--rounds", "1", "--persons", "3"]
    command += ["--image-seconds", "0", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    printed = json.loads(done.stdout)
    assert json.loads(out.read_text()) == printed

    assert printed["users"] == 2
    assert printed["settings"]["enrollments_by_status"] == {"201": 3}
    assert printed["settings"]["probes"] == 12
    assert "1000000 requests a minute" in printed["settings"]["rate_limit"]
    assert printed["errors"] == 0
    assert printed["disagreements_with_inprocess_reference"] == 0
    assert printed["probe_accuracy"]["false_non_matches"] == 0
    assert printed["probe_accuracy"]["false_matches"] == 0
    for side in ("http", "inprocess"):
        figures = printed[side]
        assert figures["requests"] > 0, side
        assert figures["errors"] == 0 and figures["errors_by_status"] == {}, figures
        decisions = figures["decisions"]
        assert decisions["mated_no_match"] == 0 and decisions["nonmated_match"] == 0, decisions
        assert decisions["mated_match"] > 0 and decisions["nonmated_no_match"] > 0, decisions
        assert decisions["mated_match"] + decisions["nonmated_no_match"] == figures["requests"]
    assert printed["http"]["server_cpu_ms_per_verification"] > 0
    assert printed["ratio"] > 0 and isinstance(printed["meets_target"], bool)
    assert printed["reference"]["authentications_per_s"] == 6
    assert printed["image_http"] == "skipped: --image-seconds 0"
