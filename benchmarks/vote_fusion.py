#!/usr/bin/env python3
"""How the fingerprint pre-selection should fuse its votes: the planted duplicates' mate ranks under
several normalizations of the per-finger votes. One JSON object.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/vote_fusion.py --persons 20000 --json

The gallery is padron's fingerprint gallery holding the first ``--persons`` unique persons of the
``dedup_scale.py`` population (its template cache must exist: ``dedup_scale.py --prepare``) plus
the originals of all its planted duplicates; each planted duplicate (its own cached templates:
another impression, children's small fingers included) is a ten-finger probe. Per probe finger,
each subject's vote is the weighted collision count of its row (``CylinderIndex.group_votes``);
the fusions compared, summed over the fingers:

* ``sum``: the raw votes (padron before this benchmark);
* ``sqrt``: votes over the square root of the row's cylinders (padron's default now);
* ``linear``: votes over the row's cylinders;
* ``pow0.75``: votes over the row's cylinders to the power 0.75;
* ``finger_max``: votes over the finger's best vote;
* ``sqrt_finger_max``: ``sqrt`` then over the finger's best.

Reported per fusion: the mate's rank among the gallery's subjects (1 = first), its maximum and
99th percentile, how many mates rank below 10, 20 and 32 (the ten-finger shortlist at 100,000
persons is 32 plus one per finger), how many rank first, and the 8 planted duplicates whose mates
rank last (record number, rank).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dedup_scale  # noqa: E402
import finger_preselect  # noqa: E402
from padron.synth.population import plan_records  # noqa: E402

FUSIONS = ("sum", "sqrt", "linear", "pow0.75", "finger_max", "sqrt_finger_max")


def _last(ranks: list[int], count: int) -> list[int]:
    """Positions of the ``count`` largest ranks, largest first."""
    return [int(i) for i in np.argsort(ranks, kind="stable")[::-1][:count]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--population", type=int, default=100_000)
    parser.add_argument("--duplicates", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--persons", type=int, default=20_000, help="unique persons besides the originals")
    parser.add_argument("--cache", type=Path, default=dedup_scale.CACHE)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    positions = finger_preselect.POSITIONS
    records = plan_records(args.population, args.duplicates, args.seed)
    folder = args.cache / dedup_scale.cache_key(args.population, args.duplicates, args.seed, positions)
    index = {r.number: i for i, r in enumerate(records)}
    pairs = [(i, index[r.duplicate_of]) for i, r in enumerate(records) if r.duplicate_of is not None]
    originals_of = {o for _, o in pairs}
    unique = [i for i, r in enumerate(records) if r.duplicate_of is None]
    enrolled = [i for i in unique[: args.persons] if i not in originals_of] + sorted(originals_of)
    payloads = finger_preselect.load_payloads(folder, set(enrolled) | {d for d, _ in pairs})
    gallery = dedup_scale.finger_gallery(None)
    for start in range(0, len(enrolled), 10_000):
        gallery.add_many(
            [
                (f"p:{records[i].number}", {s: [t] for s, t in finger_preselect.samples(payloads[i]).items()})
                for i in enrolled[start : start + 10_000]
            ]
        )
    n = len(gallery._subject_ref)
    ranks: dict[str, list[int]] = {name: [] for name in FUSIONS}
    for duplicate, original in pairs:
        probe = finger_preselect.samples(payloads[duplicate])
        sid = gallery._subject_id[f"p:{records[original].number}"]
        fused = {name: np.zeros(n) for name in FUSIONS}
        for slot, template in probe.items():
            state = gallery._slots[slot]
            keys = gallery._hasher.keys(gallery.matcher.cylinder_bits(gallery.matcher.decode(template)))
            votes = state.index.group_votes(keys, state.rows, state.subject, state.alive[: state.rows], n)
            size = np.ones(n)
            rows = state.first[:n]
            has = rows >= 0
            size[has] = np.maximum(state.count[rows[has]], 1)
            root = votes / np.sqrt(size)
            fused["sum"] += votes
            fused["sqrt"] += root
            fused["linear"] += votes / size
            fused["pow0.75"] += votes / size**0.75
            fused["finger_max"] += votes / max(float(votes.max()), 1e-9)
            fused["sqrt_finger_max"] += root / max(float(root.max()), 1e-9)
        for name, values in fused.items():
            ranks[name].append(int((values > values[sid]).sum()) + 1)
    out: dict[str, Any] = {
        "persons": len(gallery),
        "planted_duplicates": len(pairs),
        "fusions": {
            name: {
                "max_rank": int(np.max(r)),
                "p99_rank": float(np.quantile(r, 0.99)),
                "ranked_below_10": int(np.sum(np.asarray(r) > 10)),
                "ranked_below_20": int(np.sum(np.asarray(r) > 20)),
                "ranked_below_32": int(np.sum(np.asarray(r) > 32)),
                "rank_1": int(np.sum(np.asarray(r) == 1)),
                # the planted duplicates whose mates rank last: (record number, rank)
                "worst": [[records[pairs[i][0]].number, r[i]] for i in _last(r, 8)],
            }
            for name, r in ranks.items()
        },
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(out, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
