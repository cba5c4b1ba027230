#!/usr/bin/env python3
"""Fingerprint 1:N: padron's indexed gallery (MCC MinHash pre-selection + full matcher on the
shortlist) against exhaustive matching, on one core. One JSON object with ``--json``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/finger_search.py --distractors 10000 --json

Gallery: impressions 1-4 of every finger of the six FVC B sets in ../shared/data (240 prints,
templates from the extraction cache ~/.cache/padron/fingerprint, LEADER chain) plus
``--distractors`` synthetic prints; each print is its own subject in finger slot 1. Probes:
impressions 5-8 (240 mated probes, 4 mates each in the gallery).

Distractors are synthesized at minutia level, not from images (an image + extraction costs ~1 s
per print): a fingertip silhouette, class and singularities from padron.synth, the zero-pole
orientation field they imply, 15-75 minutiae (mean 46) placed at least 10 px apart in a random contact
region, each pointing along the local ridge orientation (either way, +-6 degrees), then padron's
own cylinder builder. They are distinct fingers by construction, so none is a mate of a probe.

Figures: per-probe processor time (``time.process_time``, every thread pool pinned to one thread)
of the indexed search (p50/p99 ms) and of exhaustive matching; penetration rate (subjects sent to
the full matcher / gallery subjects); FNIR of the pre-selection = share of mated probes whose
exhaustive rank-1 mate (probes whose exhaustive rank-1 is a mate) is missing from the shortlist,
also at other penetration rates; rank-1 identification rate of both searches; bytes per
enrolled finger (templates + index, and everything the gallery allocated, by tracemalloc).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("KERAS_BACKEND", "torch")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from padron.biometrics.fingerprint.extract import Chain  # noqa: E402
from padron.biometrics.fingerprint.minutiae import Minutiae  # noqa: E402
from padron.biometrics.fingerprint.template import FingerprintTemplate, create, to_envelope  # noqa: E402
from padron.domain.finger import FingerPosition  # noqa: E402
from padron.domain.template import Template  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "fingerprints"
SLOT = "1"


def fvc_templates() -> dict[tuple[str, str, int], Template]:
    """(database, finger, impression) -> template envelope, through the extraction cache."""
    from padron.biometrics.fingerprint.pipeline import extract_bytes

    out = {}
    for db in sorted(DATA.glob("FVC*/DB*_B")):
        for path in sorted(db.glob("*.tif")):
            finger, impression = path.stem.split("_")
            extraction, nfiq2 = extract_bytes(path.read_bytes(), Chain.LEADER)
            t = create(extraction.minutiae, extraction.foreground.shape, extraction.chain, nfiq2)
            out[(f"{db.parent.name}/{db.name}", finger, int(impression))] = to_envelope(t)
    return out


def synthetic_template(rng: np.random.Generator, height: int = 400, width: int = 320) -> FingerprintTemplate:
    """A distractor print synthesized at minutia level (see the module docstring)."""
    from padron.synth.fingerprint.master import choose_class
    from padron.synth.fingerprint.orientation import orientation_field, place_singularities
    from padron.synth.fingerprint.shape import random_silhouette

    position = FingerPosition(int(rng.integers(1, 11)))
    finger_class = choose_class(position, rng)
    # the field on a grid 4x coarser than the image (orientation varies slowly), read at x/4, y/4
    h4, w4 = height // 4, width // 4
    silhouette = random_silhouette(rng, h4, w4, scale=0.25)
    singularities = place_singularities(finger_class, silhouette, rng, scale=0.25)
    theta = orientation_field(
        finger_class, silhouette, singularities, h4, w4, rng, noise=0.15, smoothing=1.0, scale=0.25
    )
    inside = np.kron(silhouette.mask(h4, w4), np.ones((4, 4), dtype=bool))
    # contact region: an ellipse around a jittered centre, as a partial impression
    yy, xx = np.mgrid[0 : 4 * h4, 0 : 4 * w4]
    cy, cx = rng.uniform(0.35, 0.6) * height, rng.uniform(0.4, 0.6) * width
    ry, rx = rng.uniform(0.25, 0.42) * height, rng.uniform(0.3, 0.45) * width
    inside &= ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
    ys, xs = np.nonzero(inside)
    count = int(np.clip(rng.normal(46, 12), 15, 75))
    chosen: list[tuple[float, float]] = []
    for i in rng.permutation(len(xs))[: count * 20].tolist():
        x, y = float(xs[i]), float(ys[i])
        if all((x - a) ** 2 + (y - b) ** 2 >= 100.0 for a, b in chosen):
            chosen.append((x, y))
            if len(chosen) == count:
                break
    px = np.array([c[0] for c in chosen])
    py = np.array([c[1] for c in chosen])
    along = theta[py.astype(int) // 4, px.astype(int) // 4].astype(np.float64)
    # the image's y axis points down; minutia angles are counter-clockwise from the x axis
    angle = -along + np.pi * rng.integers(0, 2, len(chosen)) + rng.normal(0, 0.1, len(chosen))
    minutiae = Minutiae.from_lists(px, py, angle, rng.integers(1, 3, len(chosen)), np.full(len(chosen), 60))
    return create(minutiae, (height, width), Chain.CLASSIC, None)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--distractors", type=int, default=10_000)
    parser.add_argument("--probes", type=int, default=240, help="mated probes used (of 240)")
    parser.add_argument("--penetration", type=float, default=0.01, help="the gallery's shortlist share")
    parser.add_argument("--bands", type=int, default=None, help="index bands (default: the gallery's)")
    parser.add_argument("--band-width", type=int, default=None)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(json.dumps({"skipped": f"{DATA} is absent (FVC B sets needed)"}))
        return 0

    from padron.biometrics.fingerprint.matcher import FingerprintComparator
    from padron.matching.backends.memory import TemplateGallery
    from padron.matching.finger_index import IndexParameters
    from padron.matching.modalities import FingerprintMatcher

    fvc = fvc_templates()
    gallery_items = [(f"fvc:{db}:{f}:{i}", t) for (db, f, i), t in sorted(fvc.items()) if i <= 4]
    probes = [(f"{db}:{f}", t) for (db, f, i), t in sorted(fvc.items()) if i > 4][: args.probes]
    rng = np.random.default_rng(args.seed)
    start = time.process_time()
    distractors = [(f"syn:{i}", to_envelope(synthetic_template(rng))) for i in range(args.distractors)]
    synth_s = time.process_time() - start

    matcher = FingerprintMatcher()
    tracemalloc.start()
    params = IndexParameters()
    params = IndexParameters(
        bands=args.bands or params.bands, band_width=args.band_width or params.band_width
    )
    gallery = TemplateGallery(
        matcher, slots=[SLOT], shortlist_threshold=0, penetration=args.penetration, index=params
    )
    start = time.process_time()
    gallery.add_many([(ref, {SLOT: [t]}) for ref, t in gallery_items + distractors])
    build_s = time.process_time() - start
    traced, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    stats = gallery.stats()
    n = len(gallery)

    # exhaustive: the full matcher against every print, in blocks (the same comparator)
    comparator = FingerprintComparator()
    refs = [ref for ref, _ in gallery_items + distractors]
    templates = [t for _, t in gallery_items + distractors]
    blocks = [comparator.candidates(templates[s : s + 2000]) for s in range(0, n, 2000)]
    mate_of = np.array([ref.startswith("fvc:") for ref in refs])
    finger_of = np.array([ref.rsplit(":", 1)[0][4:] if ref.startswith("fvc:") else "" for ref in refs])

    exhaustive_ms, indexed_ms, preselect_ms, shortlist_sizes = [], [], [], []
    ex_rank1 = ix_rank1 = counted = 0
    miss_at: dict[float, int] = {p: 0 for p in (0.005, 0.01, 0.02, 0.05)}
    missed_default = 0
    for finger, probe in probes:
        prepared = comparator.prepare(probe)
        start = time.process_time()
        scores = np.concatenate([comparator.scores(prepared, b) for b in blocks])
        exhaustive_ms.append(1000 * (time.process_time() - start))
        best = int(np.lexsort((np.array(refs), -scores))[0])
        mated_rank1 = mate_of[best] and finger_of[best] == finger
        ex_rank1 += int(mated_rank1)

        start = time.process_time()
        found = gallery.search({SLOT: probe}, 1)
        indexed_ms.append(1000 * (time.process_time() - start))
        shortlist_sizes.append(gallery.last_shortlist or 0)
        top = found[0].ref if found else ""
        ix_rank1 += int(top.startswith("fvc:") and top.rsplit(":", 1)[0][4:] == finger)

        start = time.process_time()
        order = gallery.preselect({SLOT: probe}, int(np.ceil(0.05 * n)))
        preselect_ms.append(1000 * (time.process_time() - start))
        if mated_rank1:
            counted += 1
            position = order.index(refs[best]) if refs[best] in order else len(order) + 1
            for p in miss_at:
                miss_at[p] += int(position >= int(np.ceil(p * n)))
            missed_default += int(top != refs[best])

    result: dict[str, Any] = {
        "gallery_fingers": n,
        "fvc_gallery_prints": len(gallery_items),
        "distractors": args.distractors,
        "distractor_source": "synthetic minutiae (padron.synth orientation field), padron's cylinders",
        "mated_probes": len(probes),
        "probes_with_exhaustive_rank1_mate": counted,
        "indexed": {
            "p50_ms": percentile(indexed_ms, 50),
            "p99_ms": percentile(indexed_ms, 99),
            "preselection_p50_ms": percentile(preselect_ms, 50),
            "penetration_rate": float(np.mean(shortlist_sizes)) / n,
            "fnir_vs_exhaustive": missed_default / max(counted, 1),
            "rank1_identification": ix_rank1 / max(len(probes), 1),
        },
        "exhaustive": {
            "p50_ms": percentile(exhaustive_ms, 50),
            "p99_ms": percentile(exhaustive_ms, 99),
            "rank1_identification": ex_rank1 / max(len(probes), 1),
        },
        "preselection_fnir_at_penetration": {str(p): m / max(counted, 1) for p, m in miss_at.items()},
        "bytes_per_finger": {
            "templates": stats["template_bytes"] / n,
            "index": stats["index_bytes"] / n,
            "gallery_overhead": max(0, traced - stats["index_bytes"]) / n,
            "total": (stats["template_bytes"] + traced) / n,
        },
        "gallery_build_s_per_1000_fingers": 1000 * build_s / n,
        "distractor_synthesis_s": synth_s,
        "index": {
            "bands": params.bands,
            "band_width": params.band_width,
        },
        "timing": "process_time, one thread (OMP/OpenBLAS/MKL pinned to 1)",
    }
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
