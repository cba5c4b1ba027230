"""benchmarks/dedup_scale.py as its user runs it, at a size a test can afford."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_dedup_scale_catches_planted_duplicates_and_reuses_its_template_cache(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "dedup_scale.py"),
        "--people",
        "24",
        "--duplicates",
        "3",
        "--site-people",
        "6",
        "--fingers",
        "2,7",
        "--backends",
        "memory",
        "--workers",
        "1",
        "--cache",
        str(tmp_path),
        "--json",
    ]
    first = json.loads(subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout)
    [memory] = first["backends"]
    assert first["template_cache_hit"] is False
    assert memory["enrollments"] == 27 and memory["planted_duplicates"] == 3
    assert memory["fnir"] == 0.0 and memory["fpir"] == 0.0
    assert memory["statuses"] == {"issued": 24, "refused": 3}
    assert list(tmp_path.glob("*.npz"))
    again = json.loads(subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout)
    assert again["template_cache_hit"] is True
    assert again["backends"][0]["statuses"] == memory["statuses"]
