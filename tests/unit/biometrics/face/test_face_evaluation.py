"""Protocol arithmetic on synthetic vectors: 10-fold accuracy, open-set 1:N, LFW files, the cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from padron.biometrics.face.cache import Extraction, TemplateCache
from padron.biometrics.face.errors import EvaluationDataError
from padron.biometrics.face.evaluation import (
    BaselinePipeline,
    PadronPipeline,
    Templates,
    acquired_pairs_only,
    all_first_impostors,
    best_threshold,
    lfw_open_set_design,
    open_set,
    read_lfw_pairs,
    ten_fold_accuracy,
)


def unit(rows: np.ndarray) -> np.ndarray:
    return np.asarray(rows / np.linalg.norm(rows, axis=1, keepdims=True))


def templates(vectors: np.ndarray, ok: np.ndarray | None = None) -> Templates:
    ok = np.ones(len(vectors), dtype=bool) if ok is None else ok
    v = vectors.copy()
    v[~ok] = np.nan
    return Templates(PadronPipeline(), v, ok, np.full(len(v), 10.0))


def test_best_threshold_separates_separable_scores() -> None:
    scores = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    labels = np.array([False, False, False, True, True, True])
    t = best_threshold(scores, labels)
    assert 0.3 < t <= 0.7
    assert np.all((scores >= t) == labels)


def test_best_threshold_never_cuts_between_equal_scores() -> None:
    scores = np.array([0.5, 0.5, 0.5, 0.9])
    labels = np.array([False, True, True, True])
    t = best_threshold(scores, labels)
    assert t <= 0.5  # accepting all three 0.5 scores (2 right) beats rejecting them (1 right)


def test_ten_fold_accuracy_tests_each_fold_on_a_threshold_from_the_others() -> None:
    rng = np.random.default_rng(0)
    labels = np.tile(np.repeat([True, False], 30), 10)
    folds = np.repeat(np.arange(10), 60)
    scores = np.where(labels, rng.normal(0.7, 0.1, labels.size), rng.normal(0.2, 0.1, labels.size))
    scores[folds == 3] = np.where(labels[folds == 3], 0.1, 0.9)  # one fold with every label reversed
    accuracies = ten_fold_accuracy(scores, labels, folds)
    assert len(accuracies) == 10
    assert accuracies[3] == 0.0
    assert min(a for k, a in enumerate(accuracies) if k != 3) > 0.9


def test_failures_to_acquire_score_minus_inf() -> None:
    v = unit(np.random.default_rng(1).normal(size=(4, 128)))
    t = templates(v, ok=np.array([True, True, False, True]))
    s = t.pair_scores(np.array([0, 0, 2]), np.array([1, 2, 3]))
    assert np.isfinite(s[0]) and s[1] == -np.inf and s[2] == -np.inf
    assert t.summary()["fta"] == 1


def test_acquired_pairs_only_drops_failures_instead_of_counting_them_wrong() -> None:
    labels = np.tile([True, False], 50)
    folds = np.repeat(np.arange(10), 10)
    scores = np.where(labels, 0.9, 0.1)
    scores[:10:2] = -np.inf  # five genuine pairs of fold 0 lost to failures to acquire
    assert ten_fold_accuracy(scores, labels, folds)[0] == 0.5
    kept = acquired_pairs_only(scores, labels, folds)
    assert kept["pairs"] == 95
    assert kept["accuracy_mean"] == 1.0


def test_open_set_rank1_and_fnir_on_a_planted_gallery() -> None:
    rng = np.random.default_rng(2)
    centres = unit(rng.normal(size=(10, 128)))
    # images 0-9: one per identity (gallery); 10-19: a near copy of each (mated probes);
    # 20-24: five strangers (non-mated probes)
    vectors = np.vstack(
        [centres, unit(centres + 0.05 * rng.normal(size=(10, 128))), unit(rng.normal(size=(5, 128)))]
    )
    t = templates(vectors)
    gallery = np.arange(10)
    figures = open_set(
        t, gallery, gallery.copy(), np.arange(10, 20), np.arange(10), np.arange(20, 25), (0.2,)
    )
    assert figures["rank1"] == 1.0
    assert figures["fnir_at_fpir_0.2"] == 0.0
    # swap two probes' labels: those two are now misidentified
    labels = np.arange(10)
    labels[[0, 1]] = [1, 0]
    worse = open_set(t, gallery, gallery.copy(), np.arange(10, 20), labels, np.arange(20, 25), (0.2,))
    assert worse["rank1"] == pytest.approx(0.8)


def test_lfw_open_set_design_follows_the_issue() -> None:
    people = {
        "Bob": [Path("b1"), Path("b2"), Path("b3")],  # 2+ images, index 1 -> not enrolled
        "Ann": [Path("a1"), Path("a2")],  # 2+ images, index 0 -> enrolled with a1
        "Cid": [Path("c1")],  # single -> distractor
        "Dee": [Path("d1"), Path("d2")],  # 2+ images, index 2 -> enrolled with d1
    }
    index = {p: n for n, p in enumerate(p for imgs in people.values() for p in imgs)}
    d = lfw_open_set_design(people, index)
    name = {v: k.name for k, v in index.items()}
    assert sorted(name[i] for i in d.gallery) == ["a1", "c1", "d1"]
    assert sorted(name[i] for i in d.mated) == ["a2", "d2"]
    assert sorted(name[i] for i in d.nonmated) == ["b1", "b2", "b3"]


def test_all_first_impostors_covers_every_pair_once() -> None:
    v = unit(np.random.default_rng(3).normal(size=(6, 128)))
    t = templates(v, ok=np.array([True, True, True, True, False, True]))
    scores = all_first_impostors(t, np.arange(6))
    assert scores.size == 15
    assert np.sum(scores == -np.inf) == 5  # every pair with image 4
    finite = np.sort(scores[np.isfinite(scores)])
    expected = np.sort([v[a] @ v[b] for a in range(6) for b in range(a + 1, 6) if 4 not in (a, b)])
    assert np.allclose(finite, expected)


def test_baseline_similarity_is_minus_euclidean_distance() -> None:
    a = np.array([[0.0, 0.0], [3.0, 4.0]])
    b = np.array([[0.0, 0.0]])
    assert np.allclose(BaselinePipeline().similarity(a, b)[:, 0], [0.0, -5.0])
    assert np.allclose(BaselinePipeline().paired(a, a[::-1]), [-5.0, -5.0])


def write_lfw(root: Path, lines: list[str]) -> None:
    for line in lines[1:]:
        parts = line.split()
        names = (
            [(parts[0], parts[1]), (parts[0], parts[2])]
            if len(parts) == 3
            else [(parts[0], parts[1]), (parts[2], parts[3])]
        )
        for name, n in names:
            path = root / "images_deepfunneled" / name / f"{name}_{int(n):04d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x")
    (root / "pairs.txt").write_text("\n".join(lines) + "\n")


def test_read_lfw_pairs_folds_and_limit(tmp_path: Path) -> None:
    lines = [
        "2\t2",
        "A\t1\t2",
        "B\t1\t2",
        "A\t1\tB\t1",
        "C\t1\tA\t2",
        "C\t1\t2",
        "D\t1\t3",
        "D\t1\tC\t2",
        "B\t2\tD\t3",
    ]
    write_lfw(tmp_path, lines)
    pairs = read_lfw_pairs(tmp_path)
    assert pairs.same.tolist() == [True, True, False, False] * 2
    assert pairs.fold.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    first = read_lfw_pairs(tmp_path, limit=1)
    assert first.same.tolist() == [True, False, True, False]
    assert first.fold.tolist() == [0, 0, 1, 1]


def test_malformed_or_incomplete_lfw_folder_refused(tmp_path: Path) -> None:
    with pytest.raises(EvaluationDataError):
        read_lfw_pairs(tmp_path)
    write_lfw(tmp_path, ["1\t1", "A\t1\t2", "A\t1\tB\t1"])
    (tmp_path / "pairs.txt").write_text("1\t2\nA\t1\t2\nA\t1\tB\t1\n")  # header promises 4 pairs
    with pytest.raises(EvaluationDataError, match="promises 4"):
        read_lfw_pairs(tmp_path)


def test_cache_round_trip_keeps_vectors_and_failures(tmp_path: Path) -> None:
    cache = TemplateCache(tmp_path)
    v = np.arange(128, dtype=np.float32)
    cache.put("abc", "p1", Extraction(v, {"sharpness": 3.0}, None, "hog", 12.5))
    cache.put("def", "p1", Extraction(None, None, "PAD-FACE-010", None, 0.0))
    cache.close()
    again = TemplateCache(tmp_path)
    hit = again.get("abc", "p1")
    assert hit is not None and hit.vector is not None
    assert np.array_equal(hit.vector, v) and hit.measures == {"sharpness": 3.0}
    miss = again.get("def", "p1")
    assert miss is not None and not miss.ok and miss.error_code == "PAD-FACE-010"
    assert again.get("abc", "another-pipeline") is None
