"""The face gallery's two exact scans (numpy below ``faiss_threshold`` rows, ``faiss.knn`` from it on)
return the same candidates and scores as a brute-force reference, through growth, removals that
crowd the top rows and several templates per subject."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from padron.matching.backends.memory import VectorGallery


def _unit(v: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    out: npt.NDArray[np.float32] = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    return out


def _structured(n: int, seed: int) -> npt.NDArray[np.float32]:
    """Vectors sharing a dominant direction, like face templates (mean cosine ~0.8)."""
    rng = np.random.default_rng(seed)
    return _unit(2.0 * np.ones((1, 128)) / np.sqrt(128) + rng.normal(scale=0.09, size=(n, 128)))


def _brute(
    refs: list[str], vectors: npt.NDArray[np.float32], query: npt.NDArray[np.float32], k: int
) -> list[str]:
    best: dict[str, float] = {}
    for ref, score in zip(refs, (vectors @ query).tolist(), strict=True):
        best[ref] = max(best.get(ref, -np.inf), score)
    return [r for r, _ in sorted(best.items(), key=lambda item: (-item[1], item[0]))[:k]]


def _pair() -> tuple[VectorGallery, VectorGallery]:
    return VectorGallery(faiss_threshold=10**9), VectorGallery(faiss_threshold=1)


def test_both_scans_answer_as_brute_force_search_does() -> None:
    vectors = _structured(2000, seed=1)
    refs = [f"s{i % 1500}" for i in range(2000)]  # 500 subjects with two templates
    queries = _unit(vectors[::97] + np.random.default_rng(2).normal(scale=0.03, size=(21, 128)))
    for gallery in _pair():
        for ref in sorted(set(refs)):
            rows = [i for i, r in enumerate(refs) if r == ref]
            gallery.add_vectors(ref, vectors[rows])
        for query, found in zip(queries, gallery.search_vectors(queries, 10), strict=True):
            assert [c.ref for c in found] == _brute(refs, vectors, query, 10)
            for c in found:
                rows = [i for i, r in enumerate(refs) if r == c.ref]
                assert c.score == float(np.max(np.add.reduce(vectors[rows] * query, axis=-1)))
    numpy_scan, faiss_scan = _pair()
    for gallery in (numpy_scan, faiss_scan):
        gallery.bulk_load(refs[:1500], vectors[:1500])
    single = [faiss_scan.search_vectors(q, 5)[0] for q in queries]  # one probe: one thread
    assert single == faiss_scan.search_vectors(queries, 5) == numpy_scan.search_vectors(queries, 5)


def test_removed_rows_that_crowd_the_top_are_stepped_over() -> None:
    """Probes whose 300 nearest rows were removed (more than FAISS's scan over-fetches) still get
    the best live subjects; a growing gallery keeps answering exactly."""
    base = _structured(1, seed=3)[0]
    near = _unit(base + np.random.default_rng(4).normal(scale=0.01, size=(300, 128)))
    far = _structured(3000, seed=5)
    for gallery in _pair():
        gallery.bulk_load([f"far{i}" for i in range(3000)], far)
        gallery.bulk_load([f"near{i}" for i in range(300)], near)
        for i in range(300):
            gallery.remove(f"near{i}")
        assert gallery.describe()["removed_rows"] == 300  # not compacted: still in the scan
        found = gallery.search_vectors(base, 10)[0]
        assert [c.ref for c in found] == _brute([f"far{i}" for i in range(3000)], far, base, 10)
        more = _structured(5000, seed=6)  # growth past the first capacity
        gallery.bulk_load([f"new{i}" for i in range(5000)], more)
        every = np.concatenate([far, more])
        names = [f"far{i}" for i in range(3000)] + [f"new{i}" for i in range(5000)]
        assert [c.ref for c in gallery.search_vectors(base, 10)[0]] == _brute(names, every, base, 10)
        assert len(gallery) == 8000
