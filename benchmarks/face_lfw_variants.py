"""What each step of padron's face pipeline buys on LFW View 2, and what it costs in processor time:
`python benchmarks/face_lfw_variants.py [--pairs N] [--json]` (all 6,000 pairs: about 15 minutes).

Every image named in pairs.txt is decoded once; HOG runs without and with one upsample (the CNN
detector only where neither finds a face); every distinct face rectangle a variant picks gets its
5 landmarks and the ResNet descriptors of its chip and of the mirrored chip. A variant is then a choice
of detection, face, mirror averaging and score, and its time per image is the sum of the stages it
uses (median over the images; ``time.process_time``, numpy/BLAS pinned to one thread here).

Rows (FTA = failure to acquire, scored -inf: a genuine pair with one is a false non-match):

- baseline: face_recognition's pipeline (HOG with one upsample, its first face, one pass, Euclidean
  distance); its network pass is timed with dlib's own code, the others with padron's numpy ResNet
  (same numbers; see resnet.py);
- + FTA pairs left out: what a face_recognition user who skips images without a face would report
  (on fewer pairs, so not comparable with the rest);
- baseline vectors scored by cosine; padron v1 (largest HOG-1 face, CNN fallback, cosine, one pass);
- detection escalating from HOG without upsampling, with each face choice; + mirror averaging
  (padron v2's default).

dlib's jitter (``num_jitters=10``: ten randomly jittered chips, averaged) is only timed (stage
``resnet_dlib_jitter10``, on every 10th image whose dlib pass is timed): at ten network passes it is far
outside the 100 ms budget, and its randomness would make templates irreproducible.

Reads ../shared/data/faces/lfw; exits 0 with a message when it is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

LFW = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "faces" / "lfw"
Rect = tuple[int, int, int, int]


@dataclass
class ImageRun:
    """Stage times (ms) and detections of one image; descriptors by face rectangle."""

    size: tuple[int, int]
    ms: dict[str, float] = field(default_factory=dict)
    boxes: dict[str, list[Rect]] = field(default_factory=dict)
    single: dict[Rect, npt.NDArray[np.float64]] = field(default_factory=dict)
    mirrored: dict[Rect, npt.NDArray[np.float64]] = field(default_factory=dict)


def _timed(stage: str, run: ImageRun, fn: Callable[[], Any]) -> Any:
    start = time.process_time()
    out = fn()
    run.ms[stage] = run.ms.get(stage, 0.0) + 1000.0 * (time.process_time() - start)
    return out


def analyse(data: bytes, dlib_pass_every: int, k: int) -> ImageRun:
    from padron.biometrics.face import models, resnet
    from padron.biometrics.face.decode import decode_image
    from padron.biometrics.face.extract import CHIP_PADDING, CHIP_SIZE, FaceBox, FaceChoice, choose_face

    m = models.load_models()
    weights = resnet.load(models.model_file(models.RESNET))
    run = ImageRun(size=(0, 0))
    pixels = _timed("decode", run, lambda: decode_image(data).pixels)
    h, w = pixels.shape[:2]
    run.size = (w, h)

    def rects(found: Any) -> list[Rect]:
        return [(r.left(), r.top(), r.right(), r.bottom()) for r in found]

    run.boxes["hog0"] = rects(_timed("hog0", run, partial(m.hog, pixels, 0)))
    run.boxes["hog1"] = rects(_timed("hog1", run, partial(m.hog, pixels, 1)))
    if not run.boxes["hog1"]:  # padron v1 falls back to the CNN here; v2 after HOG-0 too
        run.boxes["mmod"] = _timed(
            "mmod", run, lambda: [rects([d.rect])[0] for d in models.load_mmod()(pixels, 1)]
        )
    wanted: set[Rect] = set()
    for name in ("hog0", "hog1", "mmod"):
        found = run.boxes.get(name, [])
        if found:
            boxes = [FaceBox(*r) for r in found]
            for choice in FaceChoice:
                b = choose_face(boxes, w, h, choice)
                wanted.add((b.left, b.top, b.right, b.bottom))

    def chip_of(shape: Any) -> npt.NDArray[np.uint8]:
        return np.asarray(m.dlib.get_face_chip(pixels, shape, CHIP_SIZE, CHIP_PADDING))

    def both_of(chip: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
        return resnet.descriptors(weights, np.stack([chip, chip[:, ::-1]]))

    for n, r in enumerate(sorted(wanted)):
        shape = _timed("landmarks", run, partial(m.landmarks, pixels, m.dlib.rectangle(*r)))
        chip = _timed("chip", run, partial(chip_of, shape))
        both = _timed("resnet_numpy_x2", run, partial(both_of, chip))
        run.single[r], run.mirrored[r] = both[0], both.mean(axis=0)
        if n == 0 and k % dlib_pass_every == 0:  # a sample of images is enough to time single passes
            _timed("resnet_numpy_x1", run, partial(resnet.descriptors, weights, chip))
            _timed("resnet_dlib_x1", run, partial(m.resnet.compute_face_descriptor, pixels, shape, 1))
            if k % (10 * dlib_pass_every) == 0:  # dlib's jitter: 10 randomly jittered chips, averaged
                _timed(
                    "resnet_dlib_jitter10", run, partial(m.resnet.compute_face_descriptor, pixels, shape, 10)
                )
    run.ms["per_face"] = len(wanted)
    return run


def _analyse_file(job: tuple[Path, int, int]) -> ImageRun:
    path, every, k = job
    return analyse(path.read_bytes(), every, k)


@dataclass(frozen=True)
class Variant:
    name: str
    detection: tuple[str, ...]  # tried in turn until one finds a face
    choice: str
    mirror: bool
    score: str  # "euclidean" on raw vectors or "cosine"
    network: str = "numpy"  # whose network pass is timed


VARIANTS = (
    Variant(
        "baseline: face_recognition (HOG-1, first face, Euclidean)",
        ("hog1",),
        "first",
        False,
        "euclidean",
        "dlib",
    ),
    Variant("baseline vectors scored by cosine", ("hog1",), "first", False, "cosine", "dlib"),
    Variant(
        "padron v1: HOG-1 + CNN fallback, largest face, cosine", ("hog1", "mmod"), "largest", False, "cosine"
    ),
    Variant("HOG-0 -> HOG-1 -> CNN, first face", ("hog0", "hog1", "mmod"), "first", False, "cosine"),
    Variant("HOG-0 -> HOG-1 -> CNN, largest face", ("hog0", "hog1", "mmod"), "largest", False, "cosine"),
    Variant("HOG-0 -> HOG-1 -> CNN, central face", ("hog0", "hog1", "mmod"), "central", False, "cosine"),
    Variant("padron v2 (default): + mirror averaging", ("hog0", "hog1", "mmod"), "central", True, "cosine"),
    Variant("padron v2 scored by Euclidean distance", ("hog0", "hog1", "mmod"), "central", True, "euclidean"),
)


def vectors_of(
    v: Variant, runs: list[ImageRun], medians: dict[str, float]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(n, 128) vectors (NaN rows on failure to acquire) and per-image milliseconds."""
    from padron.biometrics.face.extract import FaceBox, FaceChoice, choose_face

    out = np.full((len(runs), 128), np.nan)
    ms = np.zeros(len(runs))
    for k, run in enumerate(runs):
        ms[k] = run.ms["decode"]
        for det in v.detection:
            # a CNN pass only happened where neither HOG found a face; elsewhere it would not run
            ms[k] += run.ms.get(det, 0.0)
            found = run.boxes.get(det, [])
            if found:
                b = choose_face([FaceBox(*r) for r in found], *run.size, FaceChoice(v.choice))
                r = (b.left, b.top, b.right, b.bottom)
                out[k] = (run.mirrored if v.mirror else run.single)[r]
                ms[k] += run.ms["landmarks"] / run.ms["per_face"] + run.ms["chip"] / run.ms["per_face"]
                if v.network == "dlib":
                    ms[k] += medians["resnet_dlib_x1"]
                elif v.mirror:
                    ms[k] += run.ms["resnet_numpy_x2"] / run.ms["per_face"]
                else:
                    ms[k] += medians["resnet_numpy_x1"]
                break
    return out, ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=None, help="first N matched + N mismatched per fold")
    parser.add_argument("--dlib-every", type=int, default=20, help="time dlib's own pass on every Nth image")
    parser.add_argument("--workers", type=int, default=1, help="processes (each pinned to one thread)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (LFW / "images_deepfunneled").is_dir():
        print(f"skipped: LFW not found at {LFW}", file=sys.stderr)
        return
    from padron.biometrics.face.evaluation import read_lfw_pairs, ten_fold_accuracy
    from padron.biometrics.metrics import fnmr_at_fmr

    pairs = read_lfw_pairs(LFW, limit=args.pairs)
    jobs = [(path, args.dlib_every, k) for k, path in enumerate(pairs.paths)]
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        runs = list(pool.map(_analyse_file, jobs, chunksize=64))
    stages = sorted({s for r in runs for s in r.ms if s != "per_face"})
    per_face = {"landmarks", "chip", "resnet_numpy_x2"}  # summed over the faces analysed in an image
    medians = {
        s: float(
            np.median([r.ms[s] / (r.ms["per_face"] if s in per_face else 1.0) for r in runs if s in r.ms])
        )
        for s in stages
    }
    rows = []
    for v in VARIANTS:
        vec, ms = vectors_of(v, runs, medians)
        ok = np.isfinite(vec[:, 0])
        a, b = vec[pairs.i], vec[pairs.j]
        good = ok[pairs.i] & ok[pairs.j]
        scores = np.full(pairs.i.size, -np.inf)
        if v.score == "euclidean":
            scores[good] = -np.linalg.norm(a[good] - b[good], axis=1)
        else:
            an = a[good] / np.linalg.norm(a[good], axis=1, keepdims=True)
            bn = b[good] / np.linalg.norm(b[good], axis=1, keepdims=True)
            scores[good] = np.einsum("ij,ij->i", an, bn)
        row: dict[str, Any] = {
            "variant": v.name,
            **_figures(scores, pairs.same, pairs.fold, ten_fold_accuracy, fnmr_at_fmr),
        }
        row.update(
            {
                "fta": int((~ok).sum()),
                "ms_median": float(np.median(ms)),
                "ms_p90": float(np.percentile(ms, 90)),
            }
        )
        rows.append(row)
        if v is VARIANTS[0] and not good.all():
            kept = _figures(scores[good], pairs.same[good], pairs.fold[good], ten_fold_accuracy, fnmr_at_fmr)
            rows.append({"variant": "baseline, pairs with an FTA left out", **kept, "pairs": int(good.sum())})
    result = {
        "images": len(runs),
        "pairs": int(pairs.i.size),
        "timing": "time.process_time per image, OMP/OpenBLAS/MKL threads = 1; stage medians in stage_ms",
        "stage_ms": medians,
        "variants": rows,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for row in rows:
            print(
                f"{row['variant']:62s} {100 * row['accuracy_mean']:6.2f}% ± {100 * row['accuracy_std']:.2f}"
                f"  TAR@1e-3 {100 * row['tar_at_far_1e-3']:6.2f}%  FTA {row.get('fta', '-')}"
                f"  {row.get('ms_median', float('nan')):6.1f} ms"
            )
        print(json.dumps(medians, indent=2))


def _figures(
    scores: npt.NDArray[np.float64],
    same: npt.NDArray[np.bool_],
    fold: npt.NDArray[np.intp],
    ten_fold: Callable[..., list[float]],
    fnmr_at_fmr: Callable[..., float],
) -> dict[str, float]:
    acc = ten_fold(scores, same, fold)
    return {
        "accuracy_mean": float(np.mean(acc)),
        "accuracy_std": float(np.std(acc, ddof=1)),
        "tar_at_far_1e-3": 1.0 - fnmr_at_fmr(scores[same], scores[~same], 1e-3),
    }


if __name__ == "__main__":
    main()
