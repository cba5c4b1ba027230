#!/usr/bin/env python3
"""1:N face search speed: padron's default face gallery beside FAISS IndexFlatIP, same run.

    .venv/bin/python benchmarks/face_search.py --gallery 1000000 --json

Gallery: N synthetic L2-normalized 128-d templates (dlib's embedding size). Mated probes: a
gallery template plus Gaussian noise (cosine ~0.9 to its source, like a second photo of the same
face); they are searched one at a time (p50 / p99 latency) and in one batch (probes per second).
``rank1_agreement`` is the share of mated probes whose rank-1 subject from padron equals the
rank-1 of exact search (FAISS flat). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import numpy.typing as npt

from padron.matching.backends.memory import VectorGallery

F32 = npt.NDArray[np.float32]


def unit(v: npt.NDArray[np.float64]) -> F32:
    out: F32 = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    return out


def percentiles(samples: list[float]) -> tuple[float, float]:
    ms = np.asarray(samples) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gallery", type=int, default=100_000)
    parser.add_argument("--probes", type=int, default=1000, help="mated probes in the batch")
    parser.add_argument("--single", type=int, default=200, help="probes timed one at a time")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    args = parser.parse_args()

    import faiss

    rng = np.random.default_rng(args.seed)
    dim = 128
    vectors = np.empty((args.gallery, dim), dtype=np.float32)
    for start in range(0, args.gallery, 100_000):  # in chunks: float64 temporaries stay small
        stop = min(args.gallery, start + 100_000)
        vectors[start:stop] = unit(rng.normal(size=(stop - start, dim)))
    refs = [f"s{i}" for i in range(args.gallery)]
    sources = rng.choice(args.gallery, size=args.probes, replace=False)
    probes = unit(vectors[sources] + rng.normal(scale=0.04, size=(args.probes, dim)))

    t0 = time.perf_counter()
    gallery = VectorGallery()
    gallery.bulk_load(refs, vectors)
    padron_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    flat = faiss.IndexFlatIP(dim)
    flat.add(vectors)
    flat_build = time.perf_counter() - t0

    # exact answers
    _, exact_labels = flat.search(probes, 1)
    exact_top1 = [refs[i] for i in exact_labels[:, 0]]

    def timed_padron() -> dict[str, float | str]:
        singles = []
        for q in probes[: args.single]:
            t = time.perf_counter()
            gallery.search_vectors(q.reshape(1, -1), args.k)
            singles.append(time.perf_counter() - t)
        t = time.perf_counter()
        results = gallery.search_vectors(probes, args.k)
        batched = time.perf_counter() - t
        agreement = np.mean([r[0].ref == e for r, e in zip(results, exact_top1, strict=True)])
        p50, p99 = percentiles(singles)
        return {
            "batched_probes_per_s": round(len(probes) / batched, 1),
            "p50_ms": round(p50, 3),
            "p99_ms": round(p99, 3),
            "rank1_agreement": float(agreement),
            "mated_rank1_correct": float(
                np.mean([r[0].ref == f"s{s}" for r, s in zip(results, sources, strict=True)])
            ),
            "build_s": round(padron_build, 1),
            "index": "simhash-shortlist+exact-rerank"
            if len(refs) >= gallery.shortlist_threshold
            else "exact",
        }

    def timed_flat() -> dict[str, float]:
        singles = []
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)  # FAISS's best single-probe setting here (as padron uses)
        for q in probes[: args.single]:
            t = time.perf_counter()
            flat.search(q.reshape(1, -1), args.k)
            singles.append(time.perf_counter() - t)
        faiss.omp_set_num_threads(threads)
        t = time.perf_counter()
        flat.search(probes, args.k)
        batched = time.perf_counter() - t
        p50, p99 = percentiles(singles)
        return {
            "batched_probes_per_s": round(len(probes) / batched, 1),
            "p50_ms": round(p50, 3),
            "p99_ms": round(p99, 3),
            "rank1_agreement": 1.0,
            "build_s": round(flat_build, 1),
        }

    padron_result = timed_padron()
    flat_result = timed_flat()
    print(
        json.dumps(
            {
                "gallery": args.gallery,
                "probes": args.probes,
                "k": args.k,
                "threads": faiss.omp_get_max_threads(),
                "cpus": os.cpu_count(),
                "padron": padron_result,
                "faiss_flat": flat_result,
                "rank1_agreement": padron_result["rank1_agreement"],
                "batched_speedup": round(
                    float(padron_result["batched_probes_per_s"]) / flat_result["batched_probes_per_s"], 2
                ),
                "p50_ratio": round(float(padron_result["p50_ms"]) / flat_result["p50_ms"], 4),
            }
        )
    )


if __name__ == "__main__":
    main()
