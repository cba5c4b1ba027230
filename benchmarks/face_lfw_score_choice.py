"""Where does the 1:N difference between padron and the baseline come from? Re-scores LFW's open-set
experiment from the template cache filled by `padron evaluate face ... --baseline dlib` (no cache: the
templates are computed, about an hour): `python benchmarks/face_lfw_score_choice.py [--json]`.

Rows: padron as shipped; the baseline as shipped (Euclidean distance of raw vectors); the baseline's
vectors scored by cosine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from padron.biometrics.face.cache import TemplateCache, default_cache_dir
from padron.biometrics.face.evaluation import (
    FPIRS,
    PadronPipeline,
    Templates,
    extract_images,
    identity_folders,
    lfw_open_set_design,
    open_set,
    pipelines,
)

LFW = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "faces" / "lfw"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (LFW / "images_deepfunneled").is_dir():
        print(f"skipped: LFW not found at {LFW}", file=sys.stderr)
        return
    people = identity_folders(LFW / "images_deepfunneled")
    paths = sorted({p for images in people.values() for p in images})
    index = {p: n for n, p in enumerate(paths)}
    padron, baseline = extract_images(paths, pipelines(True), TemplateCache(default_cache_dir()))
    design = lfw_open_set_design(people, index)

    def figures(t: Templates) -> dict[str, float]:
        return open_set(
            t, design.gallery, design.gallery_ids, design.mated, design.mated_ids, design.nonmated, FPIRS
        )

    unit = baseline.vectors / np.linalg.norm(baseline.vectors, axis=1, keepdims=True)
    result = {
        "padron (cosine, central face, mirror averaging, CNN fallback)": figures(padron),
        "baseline (Euclidean, first face, HOG only)": figures(baseline),
        "baseline vectors scored by cosine": figures(
            Templates(PadronPipeline(), unit, baseline.ok, baseline.extract_ms)
        ),
        "images_acquired_by_the_baseline": int(baseline.ok.sum()),
    }
    print(json.dumps(result, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
