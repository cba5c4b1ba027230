"""An FVC-style folder of synthetic fingerprints: ``<finger>_<impression>.png``.

``generate_fingerprint_set(out, fingers=N, impressions=K, seed=S)`` (``padron synth fingerprints``)
writes fingers 1..N, impressions 1..K, 8-bit grey PNG (or deflate TIFF) at 500 dpi, the layout of the FVC
databases (``101_1.tif`` ...) so that the FVC evaluation protocol (genuine = all pairs of
impressions of one finger, impostor = pairs of different fingers) runs on a generated folder.
Finger i is finger position ((i - 1) mod 10) + 1 of synthetic individual ``finger_seed(S, i)``.
``fingers.json`` beside the images records the seed, the generator version and each finger's
class and singularities (ground truth). Deterministic from the seed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from padron.synth.errors import SynthOutputExistsError, SynthParameterError
from padron.synth.population import finger_seed

#: Pillow save options: PNG, or TIFF with lossless deflate as the FVC copies in ../shared/data
IMAGE_FORMATS: dict[str, dict[str, Any]] = {
    "png": {"dpi": (500, 500)},
    "tif": {"dpi": (500, 500), "compression": "tiff_adobe_deflate"},
}


def generate_fingerprint_set(
    out: Path,
    *,
    fingers: int,
    impressions: int,
    seed: int = 0,
    cache_dir: Path | None = None,
    image_format: str = "png",
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    from PIL import Image

    from padron.synth.fingerprint import GENERATOR_VERSION, FingerPosition, MasterCache, generate_finger
    from padron.synth.fingerprint import impressions as render

    if not 1 <= fingers <= 1_000_000 or not 1 <= impressions <= 100:
        raise SynthParameterError(
            f"fingers must be 1..1000000 and impressions 1..100 (got {fingers}, {impressions})",
            fingers=fingers,
            impressions=impressions,
        )
    if image_format not in IMAGE_FORMATS:
        raise SynthParameterError(
            f"image format must be one of {', '.join(IMAGE_FORMATS)}, not {image_format!r}",
            image_format=image_format,
        )
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SynthOutputExistsError(f"{out} already exists and is not an empty folder", out=str(out))
    out.mkdir(parents=True, exist_ok=True)
    cache = MasterCache(cache_dir) if cache_dir is not None else None
    started = time.perf_counter()
    manifest: list[dict[str, Any]] = []
    for finger in range(1, fingers + 1):
        individual = finger_seed(seed, finger)
        position = FingerPosition((finger - 1) % 10 + 1)
        master = cache.get(individual, position) if cache else generate_finger(individual, position)
        for k, image in enumerate(render(master, impressions, seed=0), start=1):
            Image.fromarray(image).save(out / f"{finger}_{k}.{image_format}", **IMAGE_FORMATS[image_format])
        manifest.append(
            {
                "finger": finger,
                "finger_seed": individual,
                "position": int(position),
                "class": master.finger_class.value,
                "cores": [[round(x, 1), round(y, 1)] for x, y in master.singularities.cores],
                "deltas": [[round(x, 1), round(y, 1)] for x, y in master.singularities.deltas],
            }
        )
        if progress:
            progress(finger, fingers)
    summary = {
        "out": str(out),
        "fingers": fingers,
        "impressions": impressions,
        "images": fingers * impressions,
        "seed": seed,
        "format": image_format,
        "generator_version": GENERATOR_VERSION,
        "seconds": round(time.perf_counter() - started, 3),
    }
    (out / "fingers.json").write_text(json.dumps(summary | {"fingers_detail": manifest}, indent=1) + "\n")
    return summary
