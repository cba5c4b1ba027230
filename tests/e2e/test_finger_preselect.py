"""benchmarks/finger_preselect.py as its user runs it, on a population a test can afford."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_search_cost_benchmark_finds_every_mate_through_the_preselection(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    population = ["--population", "70", "--duplicates", "2", "--cache", str(tmp_path)]
    prepare = [sys.executable, str(ROOT / "benchmarks" / "dedup_scale.py"), "--people", "70"]
    prepare += ["--duplicates", "2", "--cache", str(tmp_path), "--workers", "1", "--prepare"]
    subprocess.run(prepare, check=True, capture_output=True, text=True, env=env)
    command = [sys.executable, str(ROOT / "benchmarks" / "finger_preselect.py"), *population]
    command += ["--sizes", "30,60", "--mated", "6", "--unmated", "6", "--shortlist-threshold", "0", "--json"]
    out = json.loads(subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout)
    assert [r["persons"] for r in out["results"]] == [30, 60]
    for result in out["results"]:
        assert result["mated_probes"] == 6 and result["unmated_probes"] == 6
        # the pre-selection ran (a shortlist, not the whole gallery) and kept every mate
        assert result["shortlist"]["mean"] < result["persons"]
        assert result["preselection_fnir"] == 0.0 and result["rank1"] == 1.0
        assert result["mate_vote_rank"]["max"] <= 3
    assert set(out["fit_search_p50"]) == {"a_ms", "b", "b_between"}
