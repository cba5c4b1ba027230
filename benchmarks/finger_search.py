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
DISTRACTOR_VERSION = 1  # bump when synthetic_template changes


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


def cached_distractors(count: int, seed: int) -> list[Template]:
    """Distractor envelopes, synthesized once and kept as plain byte arrays (npz, no pickle)."""
    from padron.biometrics.fingerprint.template import ALGORITHM, TEMPLATE_VERSION
    from padron.domain.template import Modality

    root = Path(os.environ.get("PADRON_CACHE_DIR", Path.home() / ".cache" / "padron"))
    path = (
        root / "finger_search" / f"distractors-v{DISTRACTOR_VERSION}-t{TEMPLATE_VERSION}-{seed}-{count}.npz"
    )
    # the generator is sequential from the seed: a larger cached set starts with this one
    larger = sorted(
        path.parent.glob(f"distractors-v{DISTRACTOR_VERSION}-t{TEMPLATE_VERSION}-{seed}-*.npz"),
        key=lambda p: int(p.stem.rsplit("-", 1)[1]),
    )
    larger = [p for p in larger if int(p.stem.rsplit("-", 1)[1]) >= count]
    if larger:
        with np.load(larger[0], allow_pickle=False) as z:
            data, ends = z["data"], z["ends"][:count]
        starts = np.concatenate([[0], ends[:-1]])
        return [
            Template(Modality.FINGERPRINT, ALGORITHM, TEMPLATE_VERSION, data[a:b].tobytes())
            for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
        ]
    rng = np.random.default_rng(seed)
    out = [to_envelope(synthetic_template(rng)) for _ in range(count)]
    path.parent.mkdir(parents=True, exist_ok=True)
    payloads = [np.frombuffer(t.payload, dtype=np.uint8) for t in out]
    np.savez(path, data=np.concatenate(payloads), ends=np.cumsum([len(p) for p in payloads]))
    return out


def persons(
    fvc: dict[tuple[str, str, int], Template], distractors: list[Template], penetrations: tuple[float, ...]
) -> dict[str, Any]:
    """Person level: six-finger persons. FVC person j holds finger j of each of the six B sets
    (slots 1-6), impression 1 enrolled, impressions 5-8 as probes (40 six-finger probes);
    distractor persons are six distractor prints each. Exhaustive search against the indexed one."""
    from padron.matching.backends.memory import TemplateGallery
    from padron.matching.modalities import FingerprintMatcher

    dbs = sorted({db for db, _, _ in fvc})
    fingers = sorted({f for _, f, _ in fvc})
    slots = [str(s + 1) for s in range(len(dbs))]
    items = [
        (f"fvc:{f}", {slot: [fvc[(db, f, 1)]] for slot, db in zip(slots, dbs, strict=True)}) for f in fingers
    ]
    for person in range(len(distractors) // len(slots)):
        chunk = distractors[person * len(slots) : (person + 1) * len(slots)]
        items.append((f"syn:{person}", {slot: [t] for slot, t in zip(slots, chunk, strict=True)}))
    matcher = FingerprintMatcher()
    exhaustive = TemplateGallery(matcher, slots=slots, shortlist_threshold=10**9)
    indexed = TemplateGallery(matcher, slots=slots, shortlist_threshold=0)
    exhaustive.add_many(items)
    indexed.add_many(items)
    n = len(indexed)
    misses = dict.fromkeys(penetrations, 0)
    ex_ms, ix_ms, shortlist = [], [], []
    ex_rank1 = ix_rank1 = agree = 0
    probes = [
        (f"fvc:{f}", {slot: fvc[(db, f, i)] for slot, db in zip(slots, dbs, strict=True)})
        for f in fingers
        for i in (5, 6, 7, 8)
    ]
    for ref, probe in probes:
        start = time.process_time()
        want = exhaustive.search(probe, 1)[0].ref
        ex_ms.append(1000 * (time.process_time() - start))
        start = time.process_time()
        got = indexed.search(probe, 1)[0].ref
        ix_ms.append(1000 * (time.process_time() - start))
        shortlist.append(indexed.last_shortlist or 0)
        ex_rank1 += int(want == ref)
        ix_rank1 += int(got == ref)
        agree += int(got == want)
        order = indexed.preselect(probe, int(np.ceil(max(penetrations) * n)))
        position = order.index(ref) if ref in order else len(order) + 1
        for p in misses:
            misses[p] += int(position >= int(np.ceil(p * n)))
    return {
        "gallery_persons": n,
        "fingers_per_person": len(slots),
        "mated_probes": len(probes),
        "exhaustive": {"p50_ms": percentile(ex_ms, 50), "rank1_identification": ex_rank1 / len(probes)},
        "indexed": {
            "p50_ms": percentile(ix_ms, 50),
            "p99_ms": percentile(ix_ms, 99),
            "penetration_rate": float(np.mean(shortlist)) / n,
            "rank1_identification": ix_rank1 / len(probes),
            "rank1_agreement_with_exhaustive": agree / len(probes),
        },
        "preselection_fnir_at_penetration": {str(p): m / len(probes) for p, m in misses.items()},
    }


#: penetrations of the FVC-alone curve (share of the other prints)
FVC_CURVE = (0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)


def fvc_only(fvc: dict[tuple[str, str, int], Template], specs: list[str]) -> dict[str, Any]:
    """The 480 FVC prints alone, each probing the other 479: pre-selection misses of the
    exhaustive rank-1 mate (probes whose exhaustive rank-1 is a mate) at each penetration of
    :data:`FVC_CURVE`, per index setting; and, with the default index and the gallery's own
    shortlist rule (pre-selection forced on), rank-1 identification FNIR of the indexed search
    beside exhaustive matching's on every probe."""
    from padron.biometrics.fingerprint.matcher import FingerprintComparator
    from padron.matching.backends.memory import TemplateGallery
    from padron.matching.finger_index import IndexParameters
    from padron.matching.modalities import FingerprintMatcher

    keys = sorted(fvc)
    refs = [f"{db}:{f}:{i}" for db, f, i in keys]
    templates = [fvc[k] for k in keys]
    comparator = FingerprintComparator()
    candidates = comparator.candidates(templates)
    scores = np.stack([comparator.scores(comparator.prepare(t), candidates) for t in templates])
    np.fill_diagonal(scores, -1.0)
    best = scores.argmax(axis=1)
    finger = [r.rsplit(":", 1)[0] for r in refs]
    mated = [q for q in range(len(refs)) if finger[int(best[q])] == finger[q]]
    out: dict[str, Any] = {
        "prints": len(refs),
        "probes_with_exhaustive_rank1_mate": len(mated),
        "exhaustive_rank1_fnir": round(1 - len(mated) / len(refs), 4),
    }
    default = f"{IndexParameters().bands}x{IndexParameters().band_width}"
    for spec in dict.fromkeys([default, *specs]):
        bands, width = (int(v) for v in spec.split("x"))
        gallery = TemplateGallery(
            FingerprintMatcher(),
            slots=[SLOT],
            shortlist_threshold=0,
            index=IndexParameters(bands=bands, band_width=width),
        )
        gallery.add_many([(r, {SLOT: [t]}) for r, t in zip(refs, templates, strict=True)])
        misses = dict.fromkeys(FVC_CURVE, 0)
        for q in mated:
            order = [r for r in gallery.preselect({SLOT: templates[q]}, len(refs)) if r != refs[q]]
            want = refs[int(best[q])]
            position = order.index(want) if want in order else len(order)
            for p in misses:
                misses[p] += int(position >= max(1, int(np.ceil(p * (len(refs) - 1)))))
        entry: dict[str, Any] = {
            "preselection_fnir_at_penetration": {
                str(p): round(m / max(len(mated), 1), 5) for p, m in misses.items()
            }
        }
        if spec == default:
            # the gallery's own search: its shortlist rule, every probe (itself excluded)
            wrong = agree = 0
            shortlisted = []
            for q in range(len(refs)):
                found = [c.ref for c in gallery.search({SLOT: templates[q]}, 2) if c.ref != refs[q]]
                shortlisted.append((gallery.last_shortlist or 1) - 1)
                wrong += int(not found or found[0].rsplit(":", 1)[0] != finger[q])
                agree += int(bool(found) and found[0] == refs[int(best[q])])
            entry["indexed_search"] = {
                "rank1_fnir": round(wrong / len(refs), 4),
                "fnir_points_above_exhaustive": round(
                    100 * (wrong / len(refs) - out["exhaustive_rank1_fnir"]), 2
                ),
                "rank1_agreement_with_exhaustive": round(agree / len(refs), 4),
                "shortlist_mean": round(float(np.mean(shortlisted)), 1),
                "penetration": round(float(np.mean(shortlisted)) / (len(refs) - 1), 4),
            }
        out[spec] = entry
    return out


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
    parser.add_argument("--compare", default="", help="other index settings, e.g. 8x4,12x3 (bands x width)")
    parser.add_argument("--persons", action="store_true", help="only the six-finger person-level run")
    parser.add_argument("--fvc-only", action="store_true", help="only the FVC prints, all against all")
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
    if args.fvc_only:
        out = fvc_only(fvc, [c for c in args.compare.split(",") if c])
        print(json.dumps(out, indent=None if args.json else 2))
        return 0
    gallery_items = [(f"fvc:{db}:{f}:{i}", t) for (db, f, i), t in sorted(fvc.items()) if i <= 4]
    probes = [(f"{db}:{f}", t) for (db, f, i), t in sorted(fvc.items()) if i > 4][: args.probes]
    start = time.process_time()
    distractors = [(f"syn:{i}", t) for i, t in enumerate(cached_distractors(args.distractors, args.seed))]
    synth_s = time.process_time() - start
    if args.persons:
        out = persons(fvc, [t for _, t in distractors], (0.005, 0.01, 0.02, 0.05))
        out["timing"] = "process_time, one thread (OMP/OpenBLAS/MKL pinned to 1)"
        print(json.dumps(out, indent=None if args.json else 2))
        return 0

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
    reference: list[tuple[Template, str]] = []  # probes whose exhaustive rank-1 is a mate
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
            reference.append((probe, refs[best]))
            position = order.index(refs[best]) if refs[best] in order else len(order) + 1
            for p in miss_at:
                miss_at[p] += int(position >= int(np.ceil(p * n)))
            missed_default += int(top != refs[best])

    compared = {}
    for spec in [c for c in args.compare.split(",") if c]:
        bands, width = (int(v) for v in spec.split("x"))
        other = TemplateGallery(
            matcher, slots=[SLOT], shortlist_threshold=0, index=IndexParameters(bands=bands, band_width=width)
        )
        other.add_many([(ref, {SLOT: [t]}) for ref, t in gallery_items + distractors])
        misses = dict.fromkeys(miss_at, 0)
        for probe, want in reference:
            order = other.preselect({SLOT: probe}, int(np.ceil(0.05 * n)))
            position = order.index(want) if want in order else len(order) + 1
            for p in misses:
                misses[p] += int(position >= int(np.ceil(p * n)))
        compared[spec] = {
            "index_bytes_per_finger": other.stats()["index_bytes"] / n,
            "preselection_fnir_at_penetration": {str(p): m / max(counted, 1) for p, m in misses.items()},
        }

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
        "other_index_settings": compared,
        "timing": "process_time, one thread (OMP/OpenBLAS/MKL pinned to 1)",
    }
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
