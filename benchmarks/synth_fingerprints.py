#!/usr/bin/env python3
"""Speed and simple realism figures of the synthetic fingerprint generator: one JSON object.

    nice .venv/bin/python benchmarks/synth_fingerprints.py --masters 20 --impressions 4 --json

Speed: wall-clock and CPU ms per master (growth of the ridge pattern), per impression, per
cached-master load, in this single process (the FFTs run on one thread); on a shared machine the
CPU time is the figure that does not depend on the other jobs (the load average is reported).

Realism, measured the same way on the synthetic impressions and, when ../shared/data is present,
on the first impression of every finger of the 500-dpi FVC sets (FVC2002 DB1_B, FVC2004 DB1_B):

- ridge period (px): peak of the radially summed power spectrum over the foreground;
- foreground share: 16x16 blocks with grey-level sd > 12;
- minutiae: contextual Gabor enhancement (orientation from the gradient structure tensor, the
  generator's filter bank at 9 px), binarization at 0, Zhang-Suen thinning, crossing number,
  inside the eroded foreground -- the same yardstick on both sides, not padron's extractor;
- master minutiae: the same count on the noise-free master pattern (the finger's true minutiae).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from padron.synth.fingerprint import (
    GENERATOR_VERSION,
    FingerPosition,
    MasterCache,
    generate_finger,
    impressions,
)
from padron.synth.fingerprint.measure import (
    foreground,
    image_minutiae_count,
    master_minutiae_count,
    ridge_period,
)
from padron.synth.population import finger_seed

FVC_SETS = ("FVC2002/DB1_B", "FVC2004/DB1_B")
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fingerprints"


def describe(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 2),
        "p10": round(ordered[int(0.1 * (len(ordered) - 1))], 2),
        "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 2),
        "n": len(ordered),
    }


def image_figures(images: list[NDArray[np.uint8]]) -> dict[str, Any]:
    return {
        "ridge_period_px": describe(
            [ridge_period(255 - im.astype(np.float64), foreground(im)) for im in images]
        ),
        "foreground_share": describe([float(foreground(im).mean()) for im in images]),
        "minutiae": describe([float(image_minutiae_count(im)) for im in images]),
    }


def run(masters: int, per_master: int, seed: int) -> dict[str, Any]:
    master_ms, impression_ms, master_minutiae = [], [], []
    master_cpu_ms, impression_cpu_ms = [], []
    classes: Counter[str] = Counter()
    images: list[NDArray[np.uint8]] = []
    generate_finger(0, 1)  # warm the Gabor bank cache
    made = []
    for i in range(1, masters + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        master = generate_finger(finger_seed(seed, i), FingerPosition((i - 1) % 10 + 1))
        master_ms.append(1000 * (time.perf_counter() - t0))
        master_cpu_ms.append(1000 * (time.process_time() - c0))
        made.append(master)
        classes[master.finger_class.value] += 1
        master_minutiae.append(float(master_minutiae_count(master.pattern, master.mask)))
        for k in range(per_master):
            t0, c0 = time.perf_counter(), time.process_time()
            images.extend(impressions(master, 1, seed=k))
            impression_ms.append(1000 * (time.perf_counter() - t0))
            impression_cpu_ms.append(1000 * (time.process_time() - c0))
    with tempfile.TemporaryDirectory() as folder:
        cache = MasterCache(Path(folder))
        for master in made:
            cache.store(master)
        load_ms = []
        for master in made:
            t0 = time.perf_counter()
            cache.load(cache.path(master.seed, master.position), master.seed, master.position)
            load_ms.append(1000 * (time.perf_counter() - t0))
    result: dict[str, Any] = {
        "generator_version": GENERATOR_VERSION,
        "image_size": list(made[0].shape),
        "masters": masters,
        "impressions": len(images),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpu_count": os.cpu_count(),
        "master_ms": describe(master_ms),
        "master_cpu_ms": describe(master_cpu_ms),
        "impression_ms": describe(impression_ms),
        "impression_cpu_ms": describe(impression_cpu_ms),
        "cached_master_load_ms": describe(load_ms),
        "classes": dict(sorted(classes.items())),
        "synthetic": image_figures(images) | {"master_minutiae": describe(master_minutiae)},
    }
    fvc: dict[str, Any] = {}
    if SHARED.is_dir():
        from PIL import Image

        for name in FVC_SETS:
            files = sorted((SHARED / name).glob("*_1.tif"))
            fvc[name] = image_figures([np.asarray(Image.open(f).convert("L")) for f in files])
    else:
        fvc["skipped"] = f"real prints not found at {SHARED}"
    result["fvc_500dpi"] = fvc
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--masters", type=int, default=20)
    parser.add_argument("--impressions", type=int, default=4, help="impressions per master")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    args = parser.parse_args()
    print(json.dumps(run(args.masters, args.impressions, args.seed), indent=2))


if __name__ == "__main__":
    main()
