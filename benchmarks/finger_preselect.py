#!/usr/bin/env python3
"""How the fingerprint search's cost grows with the gallery: one JSON object.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/finger_preselect.py --sizes 10000,30000,99000 --json

The gallery is padron's fingerprint gallery (``TemplateGallery`` with the FingerprintMatcher, ten
finger slots, the MinHash pre-selection) holding the first N unique persons of the synthetic
population that ``benchmarks/dedup_scale.py`` makes (``--population``/``--duplicates``/``--seed``:
its template cache must exist, ``dedup_scale.py --prepare`` makes it), ten fingers each. It is
grown to each size in turn (the same persons, in the same order), and at each size the same
probes are searched: ``--mated`` persons drawn at random among the first ``min(sizes)`` (so every
size searches the same mated probes), captured again as a planted duplicate is (impression set 1,
their own finger size: children's small fingers included) and ``--unmated`` unique persons never
enrolled (the last of the plan). Nothing else runs: no registry, vault or fusion, so this is the
gallery's own cost.

Reported per size: processor time per search (``time.process_time``, thread pools pinned to one
thread) p50/p90/p99, split into the pre-selection (votes) and the whole search; subjects sent to
the full matcher (shortlist) and its share of the gallery (penetration); pre-selection FNIR = mated
probes whose original is not in the shortlist; rank-1 = mated probes whose top candidate is their
original; the mate's rank in the fused votes and the FNIR the vote order alone would give at fixed
penetrations (the curve); for unmated probes the best candidate's score. Then the fit of
cost = a * N ** b between the sizes (least squares on log-log, and b between each pair).
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import dedup_scale  # noqa: E402  (the template cache)
from padron.domain.template import Template  # noqa: E402
from padron.synth.population import plan_records  # noqa: E402

POSITIONS = tuple(range(1, 11))
#: fixed penetrations of the vote-order curve (share of the gallery's persons)
CURVE = (0.00003, 0.0001, 0.0003, 0.001, 0.003, 0.01)


def load_payloads(folder: Path, wanted: set[int]) -> dict[int, list[bytes]]:
    """Template payloads of these record indices (0-based, plan order), read part by part."""
    out: dict[int, list[bytes]] = {}
    for part in sorted({i // dedup_scale.PART for i in wanted}):
        path = folder / f"part-{part:05d}.npz"
        if not path.exists():
            raise SystemExit(
                f"{path} is missing: run benchmarks/dedup_scale.py --prepare for this population"
            )
        rows = dedup_scale._load_part(path)
        for i in wanted:
            if i // dedup_scale.PART == part:
                out[i] = rows[i - part * dedup_scale.PART]
    return out


def samples(payloads: list[bytes]) -> dict[str, Template]:
    return {str(p): dedup_scale._envelope(t) for p, t in zip(POSITIONS, payloads, strict=True)}


def quantiles(values: list[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=np.float64)
    return {q: round(float(np.quantile(a, v)), 2) for q, v in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))}


def fit(sizes: list[int], costs: list[float]) -> dict[str, Any]:
    """cost = a * N ** b, least squares in log-log; and b between consecutive sizes."""
    x, y = np.log(np.asarray(sizes, dtype=np.float64)), np.log(np.asarray(costs, dtype=np.float64))
    b, log_a = np.polyfit(x, y, 1) if len(sizes) > 1 else (float("nan"), float("nan"))
    pairs = {
        f"{sizes[i]}-{sizes[i + 1]}": round(float((y[i + 1] - y[i]) / (x[i + 1] - x[i])), 3)
        for i in range(len(sizes) - 1)
    }
    return {"a_ms": round(float(np.exp(log_a)), 4), "b": round(float(b), 3), "b_between": pairs}


def measure(
    gallery: Any, probes: list[tuple[str, int | None, dict[str, Template]]], k: int
) -> dict[str, Any]:
    n = len(gallery)
    search_ms: list[float] = []
    vote_ms: list[float] = []
    shortlist: list[int] = []
    cascades: list[int] = []
    in_shortlist = rank1 = mated = cascade_lost = 0
    missed: list[dict[str, Any]] = []
    vote_rank: list[int] = []
    unmated_best: list[float] = []
    margins_mated: list[float] = []  # the mate's fused vote / the best other subject's
    margins_unmated: list[float] = []  # the best subject's fused vote / the second's
    deepest = int(np.ceil(max(CURVE) * n))
    for _ref, mate, probe in probes:
        t0 = time.process_time()
        found = gallery.search(probe, k)
        search_ms.append(1000 * (time.process_time() - t0))
        shortlist.append(gallery.last_shortlist or n)
        if gallery.last_cascade is not None:
            cascades.append(gallery.last_cascade)
        t0 = time.process_time()
        order = gallery.preselect(probe, deepest)
        vote_ms.append(1000 * (time.process_time() - t0))
        fused, _, _ = gallery._votes(probe, extra=False)
        top2 = np.sort(fused)[-2:]
        if mate is None:
            unmated_best.append(found[0].score if found else 0.0)
            margins_unmated.append(float(top2[1] / max(top2[0], 1e-9)))
            continue
        want = f"p:{mate}"
        mated += 1
        chosen = gallery.last_preselection or []
        in_shortlist += int(want in chosen)
        cascade_lost += int(want in chosen and all(c.ref != want for c in found))
        rank1 += int(bool(found) and found[0].ref == want)
        if not found or found[0].ref != want:
            top = found[0].ref if found else None
            missed.append({"probe": _ref, "in_shortlist": want in chosen, "top": top})
        vote_rank.append(order.index(want) + 1 if want in order else n + 1)
        mate_vote = float(fused[gallery._subject_id[want]])
        fused[gallery._subject_id[want]] = 0.0
        margins_mated.append(mate_vote / max(float(fused.max()), 1e-9))
    ranks = np.asarray(vote_rank)
    return {
        "persons": n,
        "search_ms": quantiles(search_ms),
        "search_ms_mean": round(float(np.mean(search_ms)), 2),
        "preselection_ms": quantiles(vote_ms),
        "shortlist": {
            **quantiles([float(s) for s in shortlist]),
            "mean": round(float(np.mean(shortlist)), 1),
        },
        "penetration": round(float(np.mean(shortlist)) / n, 6),
        "mated_probes": mated,
        "preselection_fnir": round(1 - in_shortlist / max(mated, 1), 4),
        "rank1": round(rank1 / max(mated, 1), 4),
        "mates_lost_by_cascade": cascade_lost,
        "cascade_mean": round(float(np.mean(cascades)), 1) if cascades else None,
        "missed": missed,
        "mate_vote_rank": {
            "max": int(ranks.max()) if len(ranks) else None,
            "p99": float(np.quantile(ranks, 0.99)) if len(ranks) else None,
        },
        "vote_order_fnir_at_penetration": {
            str(p): round(float(np.mean(ranks > max(1, int(np.ceil(p * n))))), 4) for p in CURVE
        },
        "vote_margin_mated": {**quantiles(margins_mated), "min": round(min(margins_mated), 3)}
        if margins_mated
        else None,
        "vote_margin_unmated": {**quantiles(margins_unmated), "max": round(max(margins_unmated), 3)}
        if margins_unmated
        else None,
        "unmated_probes": len(unmated_best),
        "unmated_best_score": quantiles(unmated_best) if unmated_best else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--population", type=int, default=100_000, help="persons of the cached population")
    parser.add_argument("--duplicates", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sizes", default="10000,30000,99000")
    parser.add_argument("--mated", type=int, default=100)
    parser.add_argument("--unmated", type=int, default=100)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--cache", type=Path, default=dedup_scale.CACHE)
    parser.add_argument(
        "--shortlist-threshold",
        type=int,
        default=None,
        help="persons above which the pre-selection runs (default: the gallery's, 2,000)",
    )
    parser.add_argument(
        "--planted",
        action="store_true",
        help="mated probes: the planted duplicates (their own cached templates) whose original is among "
        "the first min(--sizes) persons, instead of --mated persons captured again",
    )
    parser.add_argument("--shortlist-scale", type=float, default=None, help="default: the gallery's")
    parser.add_argument(
        "--cascade-fingers", type=int, default=None, help="0: no cascade (default: the gallery's)"
    )
    parser.add_argument("--cascade-keep", type=int, default=None, help="default: the gallery's")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    records = plan_records(args.population, args.duplicates, args.seed)
    folder = args.cache / dedup_scale.cache_key(args.population, args.duplicates, args.seed, POSITIONS)
    originals = [i for i, r in enumerate(records) if r.duplicate_of is None]
    if sizes[-1] + args.unmated > len(originals):
        raise SystemExit(f"--sizes up to {sizes[-1]} and --unmated {args.unmated} exceed the population")
    enrolled = originals[: sizes[-1]]
    rng = np.random.default_rng(args.seed)
    mated = sorted(rng.choice(sizes[0], size=min(args.mated, sizes[0]), replace=False).tolist())
    first = {records[i].number for i in enrolled[: sizes[0]]}
    planted = [i for i, r in enumerate(records) if r.duplicate_of in first] if args.planted else []
    unmated = originals[len(originals) - args.unmated :]
    payloads = load_payloads(folder, set(enrolled) | set(unmated) | set(planted))
    probes: list[tuple[str, int | None, dict[str, Template]]] = []
    for i in planted:
        probes.append((f"planted:{records[i].number}", records[i].duplicate_of, samples(payloads[i])))
    for j in [] if args.planted else mated:
        r = records[enrolled[j]]
        again = dedup_scale._person_templates((args.seed, r.identity, r.finger_scale, 1, POSITIONS))
        probes.append((f"again:{r.number}", r.number, samples(again)))
    probes += [(f"new:{i}", None, samples(payloads[i])) for i in unmated]

    gallery = dedup_scale.finger_gallery(args.shortlist_threshold)
    for name in ("shortlist_scale", "cascade_fingers", "cascade_keep"):
        if getattr(args, name) is not None:
            setattr(gallery, name, getattr(args, name))
    results = []
    loaded = 0
    load_s = 0.0
    for size in sizes:
        t0 = time.process_time()
        for start in range(loaded, size, 10_000):
            chunk = enrolled[start : min(size, start + 10_000)]
            gallery.add_many(
                [(f"p:{records[i].number}", {s: [t] for s, t in samples(payloads[i]).items()}) for i in chunk]
            )
        load_s += time.process_time() - t0
        loaded = size
        result = measure(gallery, probes, args.k)
        result["gallery_stats"] = gallery.stats()
        results.append(result)
        print(f"{size}: {json.dumps(result)}", file=sys.stderr, flush=True)
    out = {
        "population": args.population,
        "sizes": sizes,
        "fingers_per_person": len(POSITIONS),
        "mated_probes": len(planted) if args.planted else len(mated),
        "mated_kind": "planted duplicates" if args.planted else "enrolled persons captured again",
        "unmated_probes": len(unmated),
        "k": args.k,
        "gallery": {
            "shortlist_threshold": gallery.shortlist_threshold,
            "shortlist": gallery.shortlist,
            "penetration": gallery.penetration,
            "slot_shortlist": gallery.slot_shortlist,
            "relative_shortlist": gallery.relative_shortlist,
            "shortlist_scale": gallery.shortlist_scale,
            "cascade_fingers": gallery.cascade_fingers,
            "cascade_keep": gallery.cascade_keep,
        },
        "results": results,
        "fit_search_p50": fit(sizes, [r["search_ms"]["p50"] for r in results]),
        "fit_search_mean": fit(sizes, [r["search_ms_mean"] for r in results]),
        "load_cpu_s": round(load_s, 1),
        "timing": "process_time, one thread (OMP/OpenBLAS/MKL pinned to 1)",
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(out, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
