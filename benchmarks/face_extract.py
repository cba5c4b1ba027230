"""Face extraction speed on real photos: `python benchmarks/face_extract.py [--images N] [--json]`.

Processor time (``time.process_time``; OMP/OpenBLAS/MKL threads pinned to 1 before numpy loads, so
"one core" holds) of padron's whole extraction (decode, detect, landmarks, quality, descriptor) on the
first N LFW images (250x250 JPEG, sorted by path), split into stages, and of the face_recognition-style
baseline on the same images. Stages, timed on their own after the whole extraction:

- ``detect``: padron's detection (HOG without upsampling, escalating only when nothing is found);
  ``detect_v1``: HOG with one upsample, as padron v1 (and the baseline) ran it on these images;
- ``align``: 5 landmarks, the aligned 150x150 chip and the quality measures;
- ``embed``: padron's descriptor (numpy ResNet on the chip and its mirror image, one batch of two);
- ``embed_single``: one numpy pass (no mirror); ``embed_dlib``: dlib's own pass on the same face
  (what the baseline and padron v1 paid).

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
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LFW = REPO.parent / "shared" / "data" / "faces" / "lfw" / "images_deepfunneled"


def _ms(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.process_time()
    out = fn()
    return out, 1000.0 * (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not LFW.is_dir():
        print(f"skipped: LFW not found at {LFW}", file=sys.stderr)
        return
    from padron.biometrics.face import FaceExtractor, models
    from padron.biometrics.face.baseline import baseline_vector
    from padron.biometrics.face.decode import decode_image
    from padron.biometrics.face.errors import FaceError
    from padron.biometrics.face.extract import CHIP_PADDING, CHIP_SIZE, chip_descriptor
    from padron.biometrics.face.quality import measure

    files = sorted(LFW.rglob("*.jpg"))[: args.images]
    data = [f.read_bytes() for f in files]
    extractor = FaceExtractor()
    with contextlib.suppress(FaceError):
        extractor.extract(data[0])  # loads the models; not timed
        baseline_vector(data[0])
    m = models.load_models()
    t: dict[str, list[float]] = {
        k: []
        for k in (
            "padron",
            "decode",
            "detect",
            "detect_v1",
            "align",
            "embed",
            "embed_single",
            "embed_dlib",
            "baseline",
        )
    }
    detectors: dict[str, int] = {}
    for blob in data:
        try:
            sample, ms = _ms(partial(extractor.extract, blob))
        except FaceError:
            continue
        t["padron"].append(ms)
        detectors[sample.detector] = detectors.get(sample.detector, 0) + 1
        image, ms = _ms(partial(decode_image, blob))
        pixels = image.pixels
        t["decode"].append(ms)
        _, ms = _ms(partial(extractor.detect, pixels))
        t["detect"].append(ms)
        t["detect_v1"].append(_ms(partial(m.hog, pixels, 1))[1])
        b = sample.box

        def align(pixels: Any = pixels, b: Any = b) -> Any:
            shape = m.landmarks(pixels, m.dlib.rectangle(b.left, b.top, b.right, b.bottom))
            chip = np.asarray(m.dlib.get_face_chip(pixels, shape, size=CHIP_SIZE, padding=CHIP_PADDING))
            points = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)
            measure(points, chip, [float(b.width)])
            return shape, chip

        (shape, chip), ms = _ms(align)
        t["align"].append(ms)
        t["embed"].append(_ms(partial(chip_descriptor, chip, mirror=True))[1])
        t["embed_single"].append(_ms(partial(chip_descriptor, chip, mirror=False))[1])
        t["embed_dlib"].append(_ms(partial(m.resnet.compute_face_descriptor, pixels, shape, 1))[1])
        with contextlib.suppress(FaceError):
            t["baseline"].append(_ms(partial(baseline_vector, blob))[1])
    summary = {
        f"{name}_ms": {"median": float(np.median(v)), "p90": float(np.percentile(v, 90)), "n": len(v)}
        for name, v in t.items()
        if v
    }
    result = {
        "images": len(data),
        "image_size": "250x250 JPEG (LFW deep-funneled)",
        "timing": "time.process_time, OMP/OpenBLAS/MKL threads = 1",
        "cpu": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "padron_templates_per_second_per_core": 1000.0 / summary["padron_ms"]["median"],
        "padron_detectors": detectors,
        **summary,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
