#!/usr/bin/env python3
"""Enrollment throughput of the registry (demographics only): one JSON object on stdout.

    .venv/bin/python benchmarks/registry_enroll.py --people 2000 --json
    .venv/bin/python benchmarks/registry_enroll.py --database-url postgresql+psycopg://... --json

Each enrollment is one transaction (CURP allocation with homonym lookup, person row, CURP row,
history row), as `padron person add` does it. Default: a fresh SQLite file in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from padron.domain.access import AccessContext, Purpose
from padron.domain.person import PersonDraft
from padron.registry.service import Registry
from padron.synth.demographics import DemographicGenerator


def run(url: str, people: int, seed: int) -> dict[str, object]:
    population = DemographicGenerator(seed).people(people)
    registry = Registry.open(url, migrate=True)
    latencies = []
    enrolling = AccessContext.cli("bench", Purpose.ENROLLMENT)
    reading = AccessContext.cli("bench", Purpose.ADMINISTRATION)
    try:
        started = time.perf_counter()
        for p in population:
            t0 = time.perf_counter()
            registry.enroll(PersonDraft(p.data, p.nationality), enrolling, reason="benchmark")
            latencies.append(time.perf_counter() - t0)
        seconds = time.perf_counter() - started
        lookups_started = time.perf_counter()
        persons = registry.persons(reading, limit=people)
        for person in persons[:500]:
            registry.get(person.curp, reading)
        lookup_seconds = time.perf_counter() - lookups_started
    finally:
        registry.close()
    latencies.sort()
    return {
        "backend": url.split(":", 1)[0],
        "people": people,
        "enrollments_per_s": round(people / seconds, 1),
        "enroll_p50_ms": round(1000 * statistics.median(latencies), 2),
        "enroll_p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 2),
        "lookups_per_s": round(min(500, len(persons)) / lookup_seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="an EMPTY database (default: a temporary SQLite file)")
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        result = run(url, args.people, args.seed)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
