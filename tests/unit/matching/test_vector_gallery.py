"""The face gallery's three exact scans (numpy below ``faiss_threshold`` rows; from it on ``faiss.knn``
or the certified bfloat16 scan) return the same candidates and scores as a brute-force reference,
through growth, removals that crowd the top rows, compaction, reloads and several templates per
subject; the bfloat16 scan's error bound holds on this machine's matrix units, and a shortlist that
misses a best row is caught by the certificate and answered by FAISS."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

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


def _scans() -> tuple[VectorGallery, VectorGallery, VectorGallery]:
    """numpy, FAISS and bfloat16 (forced on: on a CPU without bfloat16 units PyTorch emulates it)."""
    return (
        VectorGallery(faiss_threshold=10**9),
        VectorGallery(faiss_threshold=1, bf16=False),
        VectorGallery(faiss_threshold=1, bf16=True),
    )


def test_every_scan_answers_as_brute_force_search_does() -> None:
    vectors = _structured(2000, seed=1)
    refs = [f"s{i % 1500}" for i in range(2000)]  # 500 subjects with two templates
    queries = _unit(vectors[::97] + np.random.default_rng(2).normal(scale=0.03, size=(21, 128)))
    for gallery in _scans():
        for ref in sorted(set(refs)):
            rows = [i for i, r in enumerate(refs) if r == ref]
            gallery.add_vectors(ref, vectors[rows])
        for query, found in zip(queries, gallery.search_vectors(queries, 10), strict=True):
            assert [c.ref for c in found] == _brute(refs, vectors, query, 10)
            for c in found:
                rows = [i for i, r in enumerate(refs) if r == c.ref]
                assert c.score == float(np.max(np.add.reduce(vectors[rows] * query, axis=-1)))
    numpy_scan, faiss_scan, bf16_scan = _scans()
    for gallery in (numpy_scan, faiss_scan, bf16_scan):
        gallery.bulk_load(refs[:1500], vectors[:1500])
    single = [faiss_scan.search_vectors(q, 5)[0] for q in queries]  # one probe: one thread
    assert single == faiss_scan.search_vectors(queries, 5) == numpy_scan.search_vectors(queries, 5)
    assert (
        [bf16_scan.search_vectors(q, 5)[0] for q in queries] == bf16_scan.search_vectors(queries, 5) == single
    )
    assert bf16_scan.describe()["scan"].startswith("certified bfloat16")
    assert bf16_scan.describe()["bfloat16_fallback_probes"] == 0


def test_removed_rows_that_crowd_the_top_are_stepped_over() -> None:
    """Probes whose 300 nearest rows were removed (more than FAISS's scan over-fetches) still get
    the best live subjects; a growing gallery keeps answering exactly."""
    base = _structured(1, seed=3)[0]
    near = _unit(base + np.random.default_rng(4).normal(scale=0.01, size=(300, 128)))
    far = _structured(3000, seed=5)
    for gallery in _scans():
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


def test_bfloat16_copy_follows_compaction_and_reload() -> None:
    """Removing a third of the rows compacts (rows renumbered) and a saved state is reloaded: the
    bfloat16 copy is rebuilt, never read with stale row numbers."""
    vectors = _structured(6000, seed=7)
    refs = [f"s{i}" for i in range(6000)]
    queries = _unit(vectors[::250] + np.random.default_rng(8).normal(scale=0.03, size=(24, 128)))
    gallery = VectorGallery(faiss_threshold=1, bf16=True)
    gallery.bulk_load(refs, vectors)
    assert [c.ref for c in gallery.search_vectors(queries[:1], 10)[0]] == _brute(
        refs, vectors, queries[0], 10
    )
    for i in range(0, 6000, 3):
        gallery.remove(f"s{i}")
    assert gallery.describe()["rows"] < 6000  # compacted: rows renumbered
    kept = [i for i in range(6000) if i % 3]
    live_refs, live = [refs[i] for i in kept], vectors[kept]
    for query, found in zip(queries, gallery.search_vectors(queries, 10), strict=True):
        assert [c.ref for c in found] == _brute(live_refs, live, query, 10)
    reloaded = VectorGallery(faiss_threshold=1, bf16=True)
    reloaded.load_state(gallery.export_state())
    assert reloaded.search_vectors(queries, 10) == gallery.search_vectors(queries, 10)
    for g in (gallery, reloaded):  # answered by the bfloat16 scan itself, not its FAISS fallback
        assert g.describe()["bfloat16_fallback_probes"] == 0
        assert g.describe()["bfloat16_bytes"] == g.describe()["rows"] * 128 * 2


def test_bfloat16_scores_stay_within_the_bound() -> None:
    """The error model the certificate rests on, checked on this machine's bfloat16 products: every
    row's bfloat16 score is within the per-probe input bound and the output rounding of its exact
    centred score."""
    import torch

    from padron.matching.backends.bf16 import SLACK, U_OUT, Bf16Scan

    vectors = _structured(20_000, seed=9)
    queries = _unit(vectors[:64] + np.random.default_rng(10).normal(scale=0.05, size=(64, 128)))
    scan = Bf16Scan(128, vectors.mean(axis=0).astype(np.float32))
    scan.extend(vectors)
    e, _ = scan.bounds(queries)
    rows = torch.from_numpy(scan._rows[: scan.count]).view(torch.bfloat16)
    approx = (rows @ torch.from_numpy(queries).to(torch.bfloat16).T.contiguous()).to(torch.float32).numpy()
    exact = (vectors.astype(np.float64) - scan.mu.astype(np.float64)) @ queries.astype(np.float64).T
    slack = e[None, :] + SLACK + U_OUT * np.abs(exact + e[None, :])
    assert np.all(np.abs(approx - exact) <= slack)
    assert 0 < e.max() < 0.01  # a bound that would not be vacuous either


def test_a_shortlist_that_misses_a_best_row_is_caught_and_answered_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the threshold deliberately set too high (rows of the true top dropped from the
    shortlist), the certificate fails for those probes and FAISS answers them: still exact."""
    import padron.matching.backends.bf16 as bf16

    vectors = _structured(5000, seed=11)
    refs = [f"s{i}" for i in range(5000)]
    queries = _unit(vectors[::200] + np.random.default_rng(12).normal(scale=0.03, size=(25, 128)))
    monkeypatch.setattr(bf16, "_threshold_for", lambda v: v + 0.05)
    gallery = VectorGallery(faiss_threshold=1, bf16=True)
    gallery.bulk_load(refs, vectors)
    for query, found in zip(queries, gallery.search_vectors(queries, 10), strict=True):
        assert [c.ref for c in found] == _brute(refs, vectors, query, 10)
    assert gallery.describe()["bfloat16_fallback_probes"] > 0


def test_threads_searching_while_the_copy_is_first_built_agree() -> None:
    from concurrent.futures import ThreadPoolExecutor

    vectors = _structured(8000, seed=13)
    refs = [f"s{i}" for i in range(8000)]
    queries = _unit(vectors[::400] + np.random.default_rng(14).normal(scale=0.03, size=(20, 128)))
    gallery = VectorGallery(faiss_threshold=1, bf16=True)
    gallery.bulk_load(refs, vectors)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda q: gallery.search_vectors(q, 10)[0], queries))
    assert [[c.ref for c in a] for a in answers] == [_brute(refs, vectors, q, 10) for q in queries]
    assert gallery.describe()["bfloat16_bytes"] == 8000 * 128 * 2  # one copy, built once
