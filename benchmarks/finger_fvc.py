"""The six FVC B databases, padron vs the NBIS baseline: the README table, the DET figure and the
packaged calibration.

    OMP_NUM_THREADS=1 python benchmarks/finger_fvc.py --json [--chain leader] [--plot docs/img/fvc_det.png]
        [--calibration src/padron/biometrics/calibrations/fingerprint-padron-mcc-v1.json]

Each database is evaluated exactly as ``padron evaluate fingerprint DIR --protocol fvc --baseline
nbis [--dpi D]`` does (same functions); FVC2002 DB2_B is scanned at 569 dpi and FVC2004 DB3_B at
512 dpi, the others at 500 dpi. The calibration pools the six databases' genuine and impostor
scores (1,680 genuine, 17,280 impostor comparisons).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("KERAS_BACKEND", "torch")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from padron.biometrics.fingerprint.evaluation import FVC_B_SETS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "fingerprints"
KEYS = ("eer", "fmr100", "fmr1000", "zerofmr", "fte", "extract_ms_median", "comparisons_per_s")


def _row(name: str, ours: dict[str, Any], theirs: dict[str, Any]) -> str:
    def pct(v: float) -> str:
        return f"{100 * v:.2f}"

    cells = [f"{pct(ours[k])} / {pct(theirs[k])}" for k in ("eer", "fmr100", "fmr1000", "zerofmr")]
    return (
        f"| {name} | {' | '.join(cells)} "
        f"| {ours['extract_ms_median']:.0f} / {theirs['extract_ms_median']:.0f} "
        f"| {ours['comparisons_per_s']:,.0f} / {theirs['comparisons_per_s']:,.0f} |"
    )


def _plot(path: Path, curves: dict[str, dict[str, tuple[Any, Any]]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.stats import norm

    from padron.biometrics.metrics import eer, error_curve

    fig, axes = plt.subplots(2, 3, figsize=(15, 9))
    ticks = np.array([1e-3, 1e-2, 5e-2, 0.2, 0.5])
    eps = 1e-4
    for ax, (db, systems) in zip(axes.reshape(-1), curves.items(), strict=True):
        for name, (g, i) in systems.items():
            c = error_curve(g, i)
            ax.plot(
                norm.ppf(np.clip(c.fmr, eps, 1 - eps)),
                norm.ppf(np.clip(c.fnmr, eps, 1 - eps)),
                label=f"{name} (EER {100 * eer(g, i):.2f}%)",
            )
        ax.set_xticks(norm.ppf(ticks), [f"{t:g}" for t in ticks])
        ax.set_yticks(norm.ppf(ticks), [f"{t:g}" for t in ticks])
        ax.set_xlim(norm.ppf(2e-4), norm.ppf(0.6))
        ax.set_ylim(norm.ppf(eps), norm.ppf(0.6))
        ax.set_xlabel("FMR")
        ax.set_ylabel("FNMR")
        ax.set_title(f"{db} (280 genuine, 2,880 impostor)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--chain", default=None)
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument("--calibration", type=Path, default=None)
    parser.add_argument("--no-baseline", action="store_true", help="padron only (no NBIS run)")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"skipped: {DATA} is absent (see ../shared/data/README.md)")
    from padron.biometrics.fingerprint.evaluation import evaluate_nbis, evaluate_padron, fvc_images
    from padron.biometrics.fingerprint.extract import DEFAULT_CHAIN
    from padron.biometrics.fingerprint.template import ALGORITHM, TEMPLATE_VERSION
    from padron.biometrics.metrics import calibrate

    chain = args.chain or DEFAULT_CHAIN.value
    results: dict[str, Any] = {"chain": chain, "databases": {}}
    curves: dict[str, dict[str, tuple[Any, Any]]] = {}
    pooled_g, pooled_i = [], []
    for db, dpi in FVC_B_SETS.items():
        images = fvc_images(DATA / db)
        ours = evaluate_padron(images, chain=chain, dpi=dpi)
        results["databases"][db] = {"dpi": dpi or 500, "padron": {k: ours.as_dict()[k] for k in KEYS}}
        curves[db] = {f"padron ({chain})": (ours.genuine, ours.impostor)}
        if not args.no_baseline:
            theirs = evaluate_nbis(images, dpi=dpi)
            results["databases"][db]["nbis"] = {k: theirs.as_dict()[k] for k in KEYS}
            curves[db]["NBIS"] = (theirs.genuine, theirs.impostor)
        pooled_g.append(ours.genuine)
        pooled_i.append(ours.impostor)
        print(db, results["databases"][db], file=sys.stderr, flush=True)
    systems = ("padron",) if args.no_baseline else ("padron", "nbis")
    for year in ("FVC2002", "FVC2004"):
        for system in systems:
            results[f"{year}_{system}_mean_eer"] = float(
                np.mean([v[system]["eer"] for k, v in results["databases"].items() if k.startswith(year)])
            )
    rows = [_row(db, v["padron"], v.get("nbis", v["padron"])) for db, v in results["databases"].items()]
    results["markdown"] = "\n".join(rows)
    if args.plot:
        _plot(args.plot, curves)
    if args.calibration:
        calibration = calibrate(
            np.concatenate(pooled_g),
            np.concatenate(pooled_i),
            modality="fingerprint",
            algorithm=ALGORITHM,
            template_version=TEMPLATE_VERSION,
            dataset=f"FVC2002 DB1-3_B + FVC2004 DB1-3_B pooled, chain {chain}",
            protocol="FVC all pairs: same-finger pairs genuine, different-finger pairs impostor, each once",
            targets=(1e-2, 1e-3, 1e-4),
        )
        calibration.save(args.calibration)
    if args.json:
        sys.stdout.write(json.dumps(results, indent=2) + "\n")
    else:
        print("\n".join(rows))


if __name__ == "__main__":
    main()
