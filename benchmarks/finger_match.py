"""Fingerprint speed on one core: comparisons per second (prepared probe vs many candidates) and
median extraction milliseconds per print for each chain.

    python benchmarks/finger_match.py --json [--candidates 10000] [--prints 20]

Times are processor time of this process (``time.process_time``) with every thread pool pinned to
one thread, i.e. the cost on one core, whatever else the machine is running; the wall-clock rate
is reported beside it. Templates come from FVC2002 DB1_B in ../shared/data (extracted once,
then cached); without that folder the matching figure uses synthetic minutiae (40 per print)
and extraction is skipped.
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


def extraction(prints: int) -> dict[str, Any]:
    if not DATA.is_dir():
        return {"skipped": f"{DATA} is absent"}
    import cv2
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    from padron.biometrics.fingerprint.extract import Chain, extract
    from padron.biometrics.fingerprint.image import decode
    from padron.biometrics.fingerprint.quality import nfiq2

    paths = sorted(DATA.glob("*.tif"))[:prints]
    images = [decode(p.read_bytes()) for p in paths]
    out: dict[str, Any] = {"prints": len(images), "source": "FVC2002 DB1_B, 388x374 at 500 dpi"}
    for chain in Chain:
        extract(images[0], chain)  # build the engines once (not timed)
        times = []
        for image in images:
            start = time.process_time()
            extract(image, chain)
            times.append(1000 * (time.process_time() - start))
        out[f"{chain.value}_ms_median"] = statistics.median(times)
    times = []
    for image in images:
        start = time.process_time()
        nfiq2(image)
        times.append(1000 * (time.process_time() - start))
    out["nfiq2_ms_median"] = statistics.median(times)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--prints", type=int, default=20, help="prints timed per extraction chain")
    parser.add_argument("--chain", default=None, help="chain whose templates are matched (default chain)")
    args = parser.parse_args()
    from padron.biometrics.fingerprint.extract import DEFAULT_CHAIN

    chain = args.chain or DEFAULT_CHAIN.value
    result = {
        "matching": matching(args.candidates, chain),
        "extraction": extraction(args.prints),
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
