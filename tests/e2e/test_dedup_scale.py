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
    assert list(tmp_path.glob("*/part-*.npz"))
    again = json.loads(subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout)
    assert again["template_cache_hit"] is True
    assert again["backends"][0]["statuses"] == memory["statuses"]

    # at scale: 17 unique persons loaded as the existing registry, 10 records searched against it
    # (the 3 planted duplicates and the last 7 unique persons)
    seeded_command = [*command, "--searched", "10"]
    seeded = json.loads(
        subprocess.run(seeded_command, check=True, capture_output=True, text=True, env=env).stdout
    )
    [searched] = seeded["backends"]
    assert seeded["existing_registry"]["persons"] == 17 and seeded["existing_registry"]["cache_hit"] is False
    assert searched["registry_persons_at_start"] == 17
    assert searched["enrollments"] == 10 and searched["planted_duplicates"] == 3
    assert searched["statuses"] == {"issued": 7, "refused": 3}
    assert searched["gallery"]["subjects"] == 24
    reused = json.loads(
        subprocess.run(seeded_command, check=True, capture_output=True, text=True, env=env).stdout
    )
    assert reused["existing_registry"]["cache_hit"] is True
    assert reused["backends"][0]["statuses"] == searched["statuses"]
