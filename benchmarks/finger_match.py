"""Fingerprint speed on one core: comparisons per second (prepared probe vs many candidates) and
median extraction milliseconds per print for each chain.

    python benchmarks/finger_match.py --json [--candidates 10000] [--prints 10] [--no-keras]

Times are processor time of this process (``time.process_time``) with every thread pool pinned to
one thread, i.e. the cost on one core, whatever else the machine is running; the wall-clock
figures are reported beside them, and LEADER is also timed with two onnxruntime threads.
Matching templates come from FVC2002 DB1_B in ../shared/data (extracted once, then cached);
extraction is timed on ``--prints`` prints of each of the six FVC B sets. Without that folder
the matching figure uses synthetic minutiae (40 per print) and extraction is skipped.
"""

from __future__ import annotations

import os

# one core: pin every BLAS/OpenMP pool before numpy or torch load
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("KERAS_BACKEND", "torch")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from padron.biometrics.fingerprint.evaluation import FVC_B_SETS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "fingerprints" / "FVC2002" / "DB1_B"


def _templates(chain: str) -> tuple[list[Any], str]:
    from padron.biometrics.fingerprint.extract import Chain
    from padron.biometrics.fingerprint.minutiae import Minutiae
    from padron.biometrics.fingerprint.pipeline import extract_bytes
    from padron.biometrics.fingerprint.template import create

    if DATA.is_dir():
        out = []
        for path in sorted(DATA.glob("*.tif")):
            extraction, quality = extract_bytes(path.read_bytes(), chain)
            out.append(create(extraction.minutiae, extraction.foreground.shape, extraction.chain, quality))
        return out, f"FVC2002 DB1_B ({chain})"
    rng = np.random.default_rng(7)
    synthetic = []
    for _ in range(80):
        n = 40
        m = Minutiae.from_lists(
            rng.uniform(40, 340, n),
            rng.uniform(40, 340, n),
            rng.uniform(0, 2 * np.pi, n),
            rng.integers(1, 3, n),
            rng.integers(20, 100, n),
        )
        synthetic.append(create(m, (388, 374), Chain.CLASSIC, None))
    return synthetic, "synthetic (40 minutiae per print)"


def matching(candidates: int, chain: str, repeats: int = 3) -> dict[str, Any]:
    from padron.biometrics.fingerprint.matcher import FingerprintComparator

    templates, source = _templates(chain)
    comparator = FingerprintComparator()
    gallery = [templates[i % len(templates)] for i in range(candidates)]
    candidate_set = comparator.candidates(gallery)
    rates, wall = [], []
    for k in range(repeats):
        probe = comparator.prepare(templates[k % len(templates)])
        start, start_wall = time.process_time(), time.perf_counter()
        comparator.scores(probe, candidate_set)
        rates.append(candidates / (time.process_time() - start))
        wall.append(candidates / (time.perf_counter() - start_wall))
    return {
        "comparisons_per_s": statistics.median(rates),
        "comparisons_per_s_wall_clock": statistics.median(wall),
        "candidates": candidates,
        "templates": source,
        "median_valid_cylinders": float(np.median([t.cylinder_count for t in templates])),
    }


FVC = ROOT.parent / "shared" / "data" / "fingerprints"


def _timed(run: Any, images: list[Any]) -> tuple[list[float], list[float]]:
    """Processor and wall-clock milliseconds of ``run(image)`` for each image."""
    cpu, wall = [], []
    for image in images:
        start, start_wall = time.process_time(), time.perf_counter()
        run(image)
        cpu.append(1000 * (time.process_time() - start))
        wall.append(1000 * (time.perf_counter() - start_wall))
    return cpu, wall


def extraction(prints: int, keras: bool) -> dict[str, Any]:
    """Median extraction time per print over ``prints`` prints of each FVC B set (every
    ``80 // prints``-th file), per chain: processor time with one thread (the cost on one core)
    and wall-clock time; LEADER also with two onnxruntime threads; optionally pyfing's own Keras
    LEADER (on the PyTorch backend) on the same prints for comparison."""
    if not FVC.is_dir():
        return {"skipped": f"{FVC} is absent"}
    import cv2
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    from padron.biometrics.fingerprint.extract import (
        LEADER_CROP_SAVING,
        LEADER_MARGIN,
        RAW_QUALITY,
        Chain,
        _foreground,
        extract,
    )
    from padron.biometrics.fingerprint.image import decode
    from padron.biometrics.fingerprint.leader import FastLeader, foreground_window
    from padron.biometrics.fingerprint.quality import nfiq2

    images = []
    for name, dpi in FVC_B_SETS.items():
        paths = sorted((FVC / name).glob("*.tif"))
        images += [decode(p.read_bytes(), dpi) for p in paths[:: max(1, len(paths) // prints)][:prints]]
    out: dict[str, Any] = {
        "prints": len(images),
        "source": f"{prints} prints from each of the six FVC B sets, resampled to 500 dpi",
    }
    for chain in Chain:
        extract(images[0], chain)  # build the engines once (not timed)
        cpu, wall = _timed(lambda image, c=chain: extract(image, c), images)
        out[f"{chain.value}_ms_median"] = statistics.median(cpu)
        out[f"{chain.value}_wall_ms_median"] = statistics.median(wall)
        if chain is Chain.LEADER:
            out["leader_ms_by_set"] = {
                name: statistics.median(cpu[i * prints : (i + 1) * prints])
                for i, name in enumerate(FVC_B_SETS)
            }
    two = FastLeader(RAW_QUALITY[Chain.LEADER], threads=2)

    def leader_two_threads(image: Any) -> None:
        window = foreground_window(_foreground(image.pixels), LEADER_MARGIN)
        two.run(image.pixels, window, min_saving=LEADER_CROP_SAVING)

    cpu, wall = _timed(leader_two_threads, images)
    out["leader_2_threads_ms_median"] = statistics.median(cpu)
    out["leader_2_threads_wall_ms_median"] = statistics.median(wall)
    if keras:
        import pyfing

        reference = pyfing.Leader(
            pyfing.LeaderParameters(minutia_quality_threshold=RAW_QUALITY[Chain.LEADER])
        )

        def keras_leader(image: Any) -> None:
            with torch.no_grad():
                _foreground(image.pixels)
                reference.run(image.pixels, 500)

        cpu, wall = _timed(keras_leader, images)
        out["pyfing_keras_leader_ms_median"] = statistics.median(cpu)
        out["pyfing_keras_leader_wall_ms_median"] = statistics.median(wall)
    cpu, _ = _timed(nfiq2, images)
    out["nfiq2_ms_median"] = statistics.median(cpu)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--prints", type=int, default=10, help="prints timed per FVC B set and chain")
    parser.add_argument(
        "--no-keras", action="store_true", help="skip timing pyfing's own Keras LEADER for comparison"
    )
    parser.add_argument("--chain", default=None, help="chain whose templates are matched (default chain)")
    args = parser.parse_args()
    from padron.biometrics.fingerprint.extract import DEFAULT_CHAIN

    chain = args.chain or DEFAULT_CHAIN.value
    result = {
        "matching": matching(args.candidates, chain),
        "extraction": extraction(args.prints, keras=not args.no_keras),
        "load_average_1min": os.getloadavg()[0],
        "cpu_count": os.cpu_count(),
    }
    if args.json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        for section, values in result.items():
            print(section, values)


if __name__ == "__main__":
    main()
