#!/usr/bin/env python3
"""Synthetic fingerprints against real FVC prints through padron's own extractor and matcher.

    .venv/bin/padron synth fingerprints --fingers 20 --impressions 8 --format tif --seed 1 \
        --out /tmp/synth-fvc
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/synth_realism.py /tmp/synth-fvc --json \\
        --plot docs/img/synth_vs_fvc.png    # several folders (--labels a,b) are compared side by side

Labels are split at commas. The README's run (generator v2 and v3, 20 and 60 fingers) is in
docs/synth_realism.json. A set of 20 fingers has only 190 pairs of fingers: its share above FVC's
99.9th percentile rests on a handful of pairs, so use 60 or more fingers for that figure.

For the generated folder and each FVC B set found in ../shared/data (the FVC protocol: genuine =
every pair of impressions of one finger, impostor = every pair of impressions of different
fingers), with padron's production path (``extract_bytes``: pyfing chain, NFIQ 2; the MCC matcher):

- minutiae per print and NFIQ 2 per print (median, 10th-90th percentile);
- direction agreement: of the pairs of minutiae less than 70 px apart (one cylinder's radius)
  whose directions are within 30 degrees of parallel, the share pointing the same way rather
  than opposite ways (0.5: polarities at random). Synthetic v2 prints had 0.84 against FVC's
  0.5-0.6: their minutiae were ridges the flow forced in, all pointing one way within a patch,
  so that the cylinders of different fingers agreed (README, "Realism");
- genuine and impostor score quantiles, EER;
- the impostor tail: the share of impostor pairs above the pooled FVC impostors' 99th and 99.9th
  percentiles (1% and 0.1% on FVC by construction; a synthetic set with ten times as much has a
  tail ten times heavier);
- on the synthetic set, the impostor tail split by pairs of the same class and of different
  classes (classes from the folder's fingers.json), to see whether fingers of one class are too alike.

``--plot`` draws DET curves and score histograms side by side (padron.biometrics.metrics.plot_det).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from padron.biometrics.fingerprint.evaluation import FvcImage, fvc_images, fvc_pairs
from padron.biometrics.metrics import eer

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fingerprints"
FVC_SETS = tuple(f"{year}/DB{db}_B" for year in ("FVC2002", "FVC2004") for db in (1, 2, 3))


def describe(values: Sequence[float] | np.ndarray) -> dict[str, float]:
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return {}
    return {
        "median": round(float(np.median(v)), 4),
        "p10": round(float(np.quantile(v, 0.1)), 4),
        "p90": round(float(np.quantile(v, 0.9)), 4),
    }


def direction_agreement(prints: Sequence[Any], radius: float = 70.0) -> float | None:
    """Share of the near-parallel pairs of neighbouring minutiae that point the same way."""
    same = opposite = 0
    for m in prints:
        x, y, a = (np.asarray(v, dtype=np.float64) for v in (m.x, m.y, m.angle))
        near = np.hypot(x[:, None] - x[None], y[:, None] - y[None]) < radius
        np.fill_diagonal(near, False)
        turn = np.abs(np.angle(np.exp(1j * (a[:, None] - a[None]))))[near]
        same += int(np.sum(turn < np.pi / 6))
        opposite += int(np.sum(turn > 5 * np.pi / 6))
    return round(same / (same + opposite), 3) if same + opposite else None


def measure(folder: Path, chain: str) -> dict[str, Any]:
    """Extract every print (through the cache), score the FVC protocol."""
    from padron.biometrics.fingerprint.matcher import FingerprintComparator
    from padron.biometrics.fingerprint.pipeline import extract_bytes
    from padron.biometrics.fingerprint.template import create
    from padron.domain.errors import PadronError

    images: list[FvcImage] = fvc_images(folder)
    templates: list[Any] = []
    minutiae: list[int] = []
    found: list[Any] = []
    quality: list[int] = []
    failed = 0
    for image in images:
        try:
            extraction, nfiq2 = extract_bytes(image.path.read_bytes(), chain, None, use_cache=True)
        except PadronError:
            templates.append(None)
            failed += 1
            continue
        minutiae.append(len(extraction.minutiae))
        found.append(extraction.minutiae)
        if nfiq2 is not None:
            quality.append(nfiq2)
        shape = (int(extraction.foreground.shape[0]), int(extraction.foreground.shape[1]))
        templates.append(create(extraction.minutiae, shape, extraction.chain, nfiq2))
    comparator = FingerprintComparator()
    ok = [i for i, t in enumerate(templates) if t is not None]
    candidates = comparator.candidates([templates[i] for i in ok])
    matrix = np.zeros((len(images), len(images)))
    for i in ok:
        matrix[i, ok] = comparator.scores(comparator.prepare(templates[i]), candidates)
    genuine_pairs, impostor_pairs = fvc_pairs(images)
    genuine = np.array([matrix[i, j] for i, j in genuine_pairs])
    impostor = np.array([matrix[i, j] for i, j in impostor_pairs])
    return {
        "images": images,
        "genuine": genuine,
        "impostor": impostor,
        "impostor_pairs": impostor_pairs,
        "summary": {
            "prints": len(images),
            "failed": failed,
            "minutiae": describe(minutiae),
            "direction_agreement": direction_agreement(found),
            "nfiq2": describe(quality),
            "nfiq2_min": min(quality) if quality else None,
            "genuine": describe(genuine),
            "impostor": {
                **describe(impostor),
                "p99": round(float(np.quantile(impostor, 0.99)), 4),
                "p999": round(float(np.quantile(impostor, 0.999)), 4),
                "max": round(float(impostor.max()), 4),
            },
            "eer": round(float(eer(genuine, impostor)), 4),
        },
    }


def tail(synthetic: dict[str, Any], folder: Path, t99: float, t999: float) -> dict[str, Any]:
    imp = synthetic["impostor"]
    out: dict[str, Any] = {
        "share_above_fvc_p99": round(float(np.mean(imp > t99)), 5),
        "share_above_fvc_p999": round(float(np.mean(imp > t999)), 5),
        "ratio_at_p99": round(float(np.mean(imp > t99)) / 0.01, 2),
        "ratio_at_p999": round(float(np.mean(imp > t999)) / 0.001, 2),
    }
    manifest = folder / "fingers.json"
    if manifest.exists():
        cls = {int(r["finger"]): r["class"] for r in json.loads(manifest.read_text())["fingers_detail"]}
        images = synthetic["images"]
        same = np.array(
            [cls.get(images[i].finger) == cls.get(images[j].finger) for i, j in synthetic["impostor_pairs"]]
        )
        for name, part in (("same_class", same), ("different_class", ~same)):
            out[name] = {
                "pairs": int(part.sum()),
                "share_above_fvc_p99": round(float(np.mean(imp[part] > t99)), 5) if part.any() else None,
            }
    return out


def plot(path: Path, curves: dict[str, tuple[np.ndarray, np.ndarray]], chain: str) -> None:
    """Genuine score histograms and impostor tails (P(score > s), log scale), side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6))
    bins = np.linspace(0, 0.9, 46)
    for name, (genuine, impostor) in curves.items():
        left.hist(genuine, bins=bins, density=True, histtype="step", linewidth=1.6, label=name)
        s = np.sort(impostor)
        right.step(s, 1.0 - np.arange(1, s.size + 1) / s.size, where="post", linewidth=1.6, label=name)
    left.set(xlabel="similarity", ylabel="density", title="genuine pairs")
    right.set(
        xlabel="similarity",
        ylabel="P(impostor score > s)",
        yscale="log",
        xlim=(0, 0.12),
        title="impostor tail",
    )
    right.set_ylim(bottom=1e-4)
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"padron ({chain} chain, MCC matcher), FVC protocol: synthetic vs real FVC B prints")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "synthetic", type=Path, nargs="+", help="FVC-style folders from `padron synth fingerprints`"
    )
    parser.add_argument("--labels", default=None, help="comma-separated names of the synthetic folders")
    parser.add_argument("--chain", default="classic")
    parser.add_argument(
        "--fvc", default=",".join(FVC_SETS), help="FVC sets under ../shared/data/fingerprints"
    )
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    labels = args.labels.split(",") if args.labels else [f.name for f in args.synthetic]
    started = time.perf_counter()
    synthetic = {
        label: measure(folder, args.chain) for label, folder in zip(labels, args.synthetic, strict=True)
    }
    real = {
        name: measure(SHARED / name, args.chain) for name in args.fvc.split(",") if (SHARED / name).is_dir()
    }
    out: dict[str, Any] = {"chain": args.chain, "synthetic": {k: v["summary"] for k, v in synthetic.items()}}
    out["fvc"] = {name: r["summary"] for name, r in real.items()}
    curves = {f"synthetic: {k}": (v["genuine"], v["impostor"]) for k, v in synthetic.items()}
    if real:
        pooled_genuine = np.concatenate([r["genuine"] for r in real.values()])
        pooled = np.concatenate([r["impostor"] for r in real.values()])
        t99, t999 = float(np.quantile(pooled, 0.99)), float(np.quantile(pooled, 0.999))
        out["fvc_pooled"] = {
            "genuine": describe(pooled_genuine),
            "impostor": {**describe(pooled), "p99": round(t99, 4), "p999": round(t999, 4)},
        }
        out["impostor_tail"] = {
            label: tail(synthetic[label], folder, t99, t999)
            for label, folder in zip(labels, args.synthetic, strict=True)
        }
        curves[f"FVC2002+2004 B sets ({len(real)} pooled)"] = (pooled_genuine, pooled)
    if args.plot is not None:
        plot(args.plot, curves, args.chain)
        out["plot"] = str(args.plot)
    out["omp_num_threads"] = os.environ.get("OMP_NUM_THREADS")
    out["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
