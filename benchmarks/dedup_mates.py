#!/usr/bin/env python3
"""The planted duplicates of a cached ``dedup_scale`` population that fingerprints see worst: each
duplicate's ten fingers scored against its original's, finger by finger, with padron's matcher.
One JSON object: the weakest pairs (summed similarity, finger scale, birth date) and the median.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dedup_mates.py --people 100000 --duplicates 500

Reads the template cache ``dedup_scale.py --prepare`` wrote (same --people, --duplicates, --seed,
--fingers); refuses to synthesize.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dedup_scale as ds
from padron.matching.modalities import FingerprintMatcher
from padron.synth.population import plan_records


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, required=True)
    parser.add_argument("--duplicates", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fingers", default="1,2,3,4,5,6,7,8,9,10")
    parser.add_argument("--cache", type=Path, default=ds.CACHE)
    parser.add_argument("--weakest", type=int, default=5)
    args = parser.parse_args()
    positions = tuple(int(p) for p in args.fingers.split(","))
    records = plan_records(args.people, args.duplicates, args.seed)
    folder = args.cache / ds.cache_key(args.people, args.duplicates, args.seed, positions)
    if not folder.is_dir():
        raise SystemExit(f"no template cache at {folder}: run dedup_scale.py --prepare with the same options")
    index = {r.number: i for i, r in enumerate(records)}
    pairs = [(i, index[r.duplicate_of]) for i, r in enumerate(records) if r.duplicate_of is not None]
    wanted = {i for pair in pairs for i in pair}
    payloads: dict[int, list[bytes]] = {}
    for part in sorted(folder.glob("part-*.npz")):
        start = int(part.stem.split("-")[1]) * ds.PART
        if any(start <= i < start + ds.PART for i in wanted):
            for offset, person in enumerate(ds._load_part(part)):
                if start + offset in wanted:
                    payloads[start + offset] = person
    matcher = FingerprintMatcher()
    rows: list[dict[str, Any]] = []
    for duplicate, original in pairs:
        scores = [
            float(
                matcher.prepare(ds._envelope(payloads[duplicate][f])).scores(
                    matcher.batch([matcher.decode(ds._envelope(payloads[original][f]))])
                )[0]
            )
            for f in range(len(positions))
        ]
        record = records[duplicate]
        rows.append(
            {
                "record": record.number,
                "summed_similarity": round(sum(scores), 3),
                "finger_scale": round(record.finger_scale, 2),
                "birth_date": record.data.birth_date.isoformat(),
                "scores": [round(s, 3) for s in scores],
            }
        )
    rows.sort(key=lambda r: r["summed_similarity"])
    totals = [r["summed_similarity"] for r in rows]
    print(
        json.dumps(
            {
                "pairs": len(rows),
                "median_summed_similarity": float(np.median(totals)),
                "weakest": rows[: args.weakest],
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
