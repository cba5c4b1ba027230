#!/usr/bin/env python3
"""1:N face search speed and accuracy: padron's default face gallery beside FAISS IndexFlatIP, same run.

    .venv/bin/python benchmarks/face_search.py --gallery 1000000 --json

Two modes (``--mode``; both by default, one after the other in the same run):

* ``isotropic`` -- N synthetic L2-normalized 128-d templates (dlib's embedding size) drawn
  uniformly on the sphere. Mated probes: a gallery template plus Gaussian noise (cosine ~0.9 to
  its source, like a second photo of the same face). Random-hyperplane codes are at their best
  here: every pair of templates is nearly orthogonal.
* ``lfw`` -- real structure: the gallery holds the first template of every LFW person (padron's
  face pipeline, read from the LFW evaluation's template cache, computed if absent: ~15 min)
  among distractors drawn from a Gaussian fitted to those templates (their mean and covariance,
  then L2-normalized), N in all; the probes are the real second images of the gallery's people
  (1,680 with two or more images). Real face templates share a dominant direction (impostor
  cosine ~0.84), which is what a quantized index finds hard.

Probes are searched one at a time (p50 / p99 latency) and in one batch (probes per second).
``rank1_agreement`` is the share of probes whose rank-1 subject from padron equals the rank-1 of
exact search (FAISS flat); ``mated_rank1`` the share whose rank 1 is their own subject. Both sides
use the same number of threads (``threads``: FAISS's OpenMP threads; set OMP_NUM_THREADS).
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from padron.matching.backends.memory import VectorGallery

F32 = npt.NDArray[np.float32]
ROOT = Path(__file__).resolve().parents[1]
LFW = ROOT.parent / "shared" / "data" / "faces" / "lfw"
DIM = 128


def unit(v: npt.NDArray[Any]) -> F32:
    out: F32 = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    return out


def percentiles(samples: list[float]) -> tuple[float, float]:
    ms = np.asarray(samples) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def lfw_templates(lfw: Path) -> dict[str, F32 | npt.NDArray[np.int64]]:
    """First template of every LFW person and second template of those with two or more images
    (padron's pipeline). Read from ``~/.cache/padron/face_search/`` (.npz, no pickle), else from
    the LFW evaluation's template cache (extracting what it lacks), then saved there."""
    from padron.biometrics.face.cache import TemplateCache, default_cache_dir
    from padron.biometrics.face.evaluation import PadronPipeline, extract_images, identity_folders

    pipeline = PadronPipeline()
    key = hashlib.sha256(pipeline.cache_id.encode()).hexdigest()[:16]
    path = default_cache_dir().parent / "face_search" / f"lfw-first-second-{key}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as saved:
            return {name: saved[name] for name in saved.files}
    images = lfw / "images_deepfunneled"
    if not images.is_dir():
        sys.exit(f"skipped: {images} is absent (see ../shared/data/README.md)")
    people = list(identity_folders(images).values())
    firsts = [imgs[0] for imgs in people]
    seconds = [(i, imgs[1]) for i, imgs in enumerate(people) if len(imgs) >= 2]
    cache = TemplateCache(default_cache_dir())
    (templates,) = extract_images(firsts + [p for _, p in seconds], [pipeline], cache)
    cache.close()
    vectors, ok = templates.vectors.astype(np.float32), templates.ok
    n = len(firsts)
    gallery_ids = np.flatnonzero(ok[:n])
    probe_ids = np.asarray([i for i, _ in seconds], dtype=np.int64)
    probe_ok = ok[n:] & ok[probe_ids]  # a probe whose person has no gallery template has no mate
    out: dict[str, F32 | npt.NDArray[np.int64]] = {
        "gallery": vectors[:n][gallery_ids],
        "gallery_ids": gallery_ids.astype(np.int64),
        "probes": vectors[n:][probe_ok],
        "probe_ids": probe_ids[probe_ok],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)  # type: ignore[arg-type]
    return out


def isotropic_data(n: int, probes: int, rng: np.random.Generator) -> tuple[F32, list[str], F32, list[str]]:
    vectors = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):  # in chunks: float64 temporaries stay small
        stop = min(n, start + 100_000)
        vectors[start:stop] = unit(rng.normal(size=(stop - start, DIM)))
    refs = [f"s{i}" for i in range(n)]
    sources = rng.choice(n, size=probes, replace=False)
    queries = unit(vectors[sources] + rng.normal(scale=0.04, size=(probes, DIM)))
    return vectors, refs, queries, [refs[i] for i in sources]


def lfw_data(
    n: int, lfw: Path, rng: np.random.Generator
) -> tuple[F32, list[str], F32, list[str], dict[str, float]]:
    real = lfw_templates(lfw)
    people = np.asarray(real["gallery"], dtype=np.float32)
    if n < len(people):
        sys.exit(f"--gallery {n} is smaller than LFW's {len(people)} gallery templates")
    mean = people.astype(np.float64).mean(axis=0)
    factor = np.linalg.cholesky(np.cov(people.astype(np.float64), rowvar=False) + 1e-9 * np.eye(DIM))
    vectors = np.empty((n, DIM), dtype=np.float32)
    vectors[: len(people)] = people
    for start in range(len(people), n, 100_000):
        stop = min(n, start + 100_000)
        vectors[start:stop] = unit(mean + rng.normal(size=(stop - start, DIM)) @ factor.T)
    order = rng.permutation(n)  # real templates spread among the distractors, not in the first rows
    vectors = np.ascontiguousarray(vectors[order])
    ids = np.asarray(real["gallery_ids"])
    refs = [f"d{row}" for row in range(n)]
    for position, source in enumerate(np.argsort(order)[: len(people)].tolist()):
        refs[source] = f"p{ids[position]}"
    queries = np.asarray(real["probes"], dtype=np.float32)
    truth = [f"p{i}" for i in np.asarray(real["probe_ids"]).tolist()]

    def mean_cosine(a: F32, pairs: int = 200_000) -> float:
        i, j = rng.integers(0, len(a), size=(2, pairs))
        keep = i != j
        return float(np.mean(np.einsum("ij,ij->i", a[i[keep]], a[j[keep]])))

    distractors = vectors[np.asarray([not r.startswith("p") for r in refs])]
    stats = {
        "lfw_templates": len(people),
        "distractors": n - len(people),
        "lfw_impostor_cosine_mean": round(mean_cosine(people), 4),
        "distractor_cosine_mean": round(mean_cosine(distractors[:100_000]), 4),
        "mated_cosine_mean": round(
            float(np.mean(np.einsum("ij,ij->i", queries, people[np.searchsorted(ids, real["probe_ids"])]))), 4
        ),
    }
    return vectors, refs, queries, truth, stats


def run_mode(
    vectors: F32, refs: list[str], probes: F32, truth: list[str], *, k: int, single: int
) -> dict[str, Any]:
    import faiss

    t0 = time.perf_counter()
    gallery = VectorGallery()
    gallery.bulk_load(refs, vectors)
    gallery.search_vectors(probes[:1], k)  # a first search (the bfloat16 copy is built by bulk_load)
    padron_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    flat = faiss.IndexFlatIP(DIM)
    flat.add(vectors)
    flat_build = time.perf_counter() - t0
    threads = faiss.omp_get_max_threads()

    def singles_of(search: Any) -> tuple[float, float]:
        times = []
        for q in probes[:single]:
            t = time.perf_counter()
            search(q.reshape(1, -1))
            times.append(time.perf_counter() - t)
        return percentiles(times)

    # padron: single probes (it uses one thread for them itself), then the batch
    p50, p99 = singles_of(lambda q: gallery.search_vectors(q, k))
    t = time.perf_counter()
    results = gallery.search_vectors(probes, k)
    padron_batched = time.perf_counter() - t
    padron_top1 = [r[0].ref if r else "" for r in results]

    faiss.omp_set_num_threads(1)  # FAISS's best single-probe setting here (as padron uses)
    f50, f99 = singles_of(lambda q: flat.search(q, k))
    faiss.omp_set_num_threads(threads)
    t = time.perf_counter()
    exact_scores, exact_labels = flat.search(probes, k)
    flat_batched = time.perf_counter() - t
    exact_top1 = [refs[i] for i in exact_labels[:, 0]]

    agreement = float(np.mean([a == b for a, b in zip(padron_top1, exact_top1, strict=True)]))
    # padron's scores are the exact cosines: its rank-1 score equals exact search's wherever they agree
    score_error = max(
        abs(float(r[0].score) - float(s)) for r, s in zip(results, exact_scores[:, 0], strict=True) if r
    )
    padron = {
        "batched_probes_per_s": round(len(probes) / padron_batched, 1),
        "p50_ms": round(p50, 3),
        "p99_ms": round(p99, 3),
        "rank1_agreement": agreement,
        "mated_rank1": float(np.mean([a == b for a, b in zip(padron_top1, truth, strict=True)])),
        "rank1_score_max_abs_diff_vs_exact": float(f"{score_error:.3g}"),
        "build_s": round(padron_build, 1),
        "index": gallery.describe(),
    }
    flat_result = {
        "batched_probes_per_s": round(len(probes) / flat_batched, 1),
        "p50_ms": round(f50, 3),
        "p99_ms": round(f99, 3),
        "rank1_agreement": 1.0,
        "mated_rank1": float(np.mean([a == b for a, b in zip(exact_top1, truth, strict=True)])),
        "build_s": round(flat_build, 1),
    }
    return {
        "probes": len(probes),
        "padron": padron,
        "faiss_flat": flat_result,
        "rank1_agreement": agreement,
        "mated_rank1_padron_vs_exact": [padron["mated_rank1"], flat_result["mated_rank1"]],
        "batched_speedup": round(flat_batched / padron_batched, 2),
        "p50_ratio": round(p50 / f50, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gallery", type=int, default=100_000)
    parser.add_argument("--mode", choices=["both", "isotropic", "lfw"], default="both")
    parser.add_argument("--probes", type=int, default=1000, help="isotropic mode: mated probes")
    parser.add_argument("--single", type=int, default=200, help="probes timed one at a time")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lfw", type=Path, default=LFW)
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    args = parser.parse_args()

    import faiss

    out: dict[str, Any] = {
        "gallery": args.gallery,
        "k": args.k,
        "threads": faiss.omp_get_max_threads(),
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    if args.mode in ("both", "isotropic"):
        rng = np.random.default_rng(args.seed)
        vectors, refs, probes, truth = isotropic_data(args.gallery, args.probes, rng)
        out["isotropic"] = run_mode(vectors, refs, probes, truth, k=args.k, single=args.single)
        del vectors, refs
    if args.mode in ("both", "lfw"):
        rng = np.random.default_rng(args.seed + 1)
        vectors, refs, probes, truth, stats = lfw_data(args.gallery, args.lfw, rng)
        out["lfw"] = {**stats, **run_mode(vectors, refs, probes, truth, k=args.k, single=args.single)}
    out["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
