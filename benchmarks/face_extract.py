"""Face extraction speed on real photos: `python benchmarks/face_extract.py [--images N] [--json]`.

Times padron's whole extraction (decode, detect, landmarks, quality, descriptor) on the first N LFW
images (sorted by path) and, for comparison, the face_recognition-style baseline on the same images.
Reads ../shared/data/faces/lfw; exits 0 with a message when it is absent. No template cache.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
LFW = REPO.parent / "shared" / "data" / "faces" / "lfw" / "images_deepfunneled"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not LFW.is_dir():
        print(f"skipped: LFW not found at {LFW}", file=sys.stderr)
        return
    from padron.biometrics.face import FaceExtractor
    from padron.biometrics.face.baseline import baseline_vector
    from padron.biometrics.face.errors import FaceError

    files = sorted(LFW.rglob("*.jpg"))[: args.images]
    data = [f.read_bytes() for f in files]
    extractor = FaceExtractor()
    with contextlib.suppress(FaceError):
        extractor.extract(data[0])  # loads the models; not timed
    timings: dict[str, list[float]] = {"padron": [], "baseline": []}
    for blob in data:
        for name in timings:
            start = time.perf_counter()
            try:
                if name == "padron":
                    extractor.extract(blob)
                else:
                    baseline_vector(blob)
            except FaceError:
                continue
            timings[name].append(1000.0 * (time.perf_counter() - start))
    result = {
        "images": len(data),
        "image_size": "250x250 JPEG (LFW deep-funneled)",
        "cpu": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        **{
            f"{name}_ms": {
                "median": float(np.median(t)),
                "p90": float(np.percentile(t, 90)),
                "n": len(t),
            }
            for name, t in timings.items()
            if t
        },
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
