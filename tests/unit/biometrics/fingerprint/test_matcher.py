from __future__ import annotations

import math

import numpy as np
import pytest

from padron.biometrics.fingerprint.matcher import FingerprintComparator, _Side, _top_pairs
from padron.biometrics.fingerprint.template import to_envelope

from ._synth import moved, random_minutiae, template_of


def _popcount_gamma(comparator: FingerprintComparator, a, b) -> np.ndarray:
    """The MCC bit similarity computed the slow, literal way on the packed bytes."""
    p = comparator.params
    ns2 = a.params.spatial_bits
    nd = a.params.directional_cells
    va, vb = np.nonzero(a.valid)[0], np.nonzero(b.valid)[0]
    out = np.zeros((len(va), len(vb)))
    for r, i in enumerate(va):
        for c, j in enumerate(vb):
            mab = np.unpackbits(a.mask[i] & b.mask[j], bitorder="little")[:ns2]
            mab_bits = np.packbits(np.tile(mab, nd), bitorder="little")
            ca, cb = a.bits[i] & mab_bits, b.bits[j] & mab_bits
            na = int(np.bitwise_count(ca).sum())
            nb = int(np.bitwise_count(cb).sum())
            x = int(np.bitwise_count(ca ^ cb).sum())
            d = abs(
                (float(a.minutiae.angle[i]) - float(b.minutiae.angle[j]) + math.pi) % (2 * math.pi) - math.pi
            )
            if (
                mab.sum() >= p.min_common_cells_ratio * comparator._disc_cells
                and na + nb
                and d <= p.max_direction_difference
            ):
                out[r, c] = 1 - math.sqrt(x) / (math.sqrt(na) + math.sqrt(nb))
    return out


def test_vectorized_similarity_equals_the_popcount_definition(rng: np.random.Generator) -> None:
    comparator = FingerprintComparator()
    a = template_of(random_minutiae(rng, 25))
    b = template_of(moved(random_minutiae(rng, 25), 0.3, 5, -4, 1.0, rng))
    fast = comparator.local_similarities(_Side.of([a]), _Side.of([b]))
    assert np.allclose(fast, _popcount_gamma(comparator, a, b), atol=1e-5)
    assert (fast > 0).sum() > 10


def test_same_finger_scores_far_above_different_fingers(rng: np.random.Generator) -> None:
    comparator = FingerprintComparator()
    finger = random_minutiae(rng)
    probe = comparator.prepare(template_of(finger))
    same = [
        template_of(moved(finger, angle, dx, dy, 2.0, rng))
        for angle, dx, dy in [(0, 0, 0), (0.4, 10, -8), (-0.6, -15, 5)]
    ]
    others = [template_of(random_minutiae(rng)) for _ in range(30)]
    scores = comparator.scores(probe, same + others)
    assert scores[:3].min() > 0.4
    assert scores[3:].max() < 0.2
    assert np.all((scores >= 0) & (scores <= 1))


def test_one_call_over_many_candidates_equals_one_by_one(rng: np.random.Generator) -> None:
    comparator = FingerprintComparator()
    finger = random_minutiae(rng)
    candidates = [template_of(moved(finger, 0.2 * k, k, -k, 2.0, rng)) for k in range(5)]
    candidates += [template_of(random_minutiae(rng, n)) for n in (8, 20, 60)]
    probe_t = template_of(finger)
    together = comparator.scores(comparator.prepare(probe_t), comparator.candidates(candidates))
    one_by_one = [comparator.compare(probe_t, c) for c in candidates]
    assert together.tolist() == one_by_one  # bit for bit: a candidate scores the same in any batch
    # envelopes work as well as in-memory templates, and the score is symmetric enough to trust
    assert comparator.compare(to_envelope(probe_t), to_envelope(candidates[1])) == pytest.approx(
        one_by_one[1], abs=1e-6
    )
    assert comparator.compare(candidates[1], probe_t) == pytest.approx(one_by_one[1], abs=0.1)


def test_an_extended_candidate_set_scores_as_one_built_at_once(rng: np.random.Generator) -> None:
    # galleries grow their cached batch with each enrollment instead of rebuilding it
    comparator = FingerprintComparator()
    finger = random_minutiae(rng)
    candidates = [template_of(moved(finger, 0.1, 2, -2, 2.0, rng))]
    candidates += [template_of(random_minutiae(rng, n)) for n in (8, 20, 35, 60, 12)]
    whole = comparator.candidates(candidates)
    grown = comparator.extend(comparator.extend(comparator.candidates(candidates[:2]), candidates[2:5]), [])
    grown = comparator.extend(grown, candidates[5:])
    assert np.array_equal(grown.counts, whole.counts)
    assert np.array_equal(grown.geo_starts, whole.geo_starts)
    probe = comparator.prepare(template_of(finger))
    assert np.array_equal(comparator.scores(probe, grown), comparator.scores(probe, whole))
    assert comparator.scores(probe, grown)[0] > 0.4


def test_a_set_scored_once_without_pairwise_geometry_scores_identically(rng: np.random.Generator) -> None:
    # search shortlists skip the pairwise minutia geometry and compute the relaxation's pairs
    # while scoring: the scores must not change by a bit, in blocks of any size
    from dataclasses import replace

    finger = random_minutiae(rng)
    candidates = [template_of(moved(finger, 0.2 * k, 3 * k, -k, 2.0, rng)) for k in range(4)]
    candidates += [template_of(random_minutiae(rng, n)) for n in (1, 3, 8, 20, 35, 60, 90, 12)]
    probe_t = template_of(finger)
    for comparator in (
        FingerprintComparator(),
        FingerprintComparator(match_params=replace(FingerprintComparator().params, batch_cylinders=1)),
    ):
        probe = comparator.prepare(probe_t)
        lazy = comparator.candidates(candidates, pairwise=False)
        assert lazy.side.distance.size == 0
        full = comparator.scores(probe, comparator.candidates(candidates))
        assert np.array_equal(comparator.scores(probe, lazy), full)
        assert full[:4].min() > 0.4
    with pytest.raises(ValueError, match="pairwise"):
        FingerprintComparator().extend(lazy, candidates[:1])


def test_small_blocks_give_the_same_scores(rng: np.random.Generator) -> None:
    from dataclasses import replace

    base = FingerprintComparator()
    tiny = FingerprintComparator(match_params=replace(base.params, batch_cylinders=1))
    finger = random_minutiae(rng)
    candidates = [template_of(moved(finger, 0.1, 3, 3, 2.0, rng))] + [
        template_of(random_minutiae(rng)) for _ in range(6)
    ]
    probe = base.prepare(template_of(finger))
    assert np.allclose(base.scores(probe, candidates), tiny.scores(probe, candidates), atol=1e-6)


def test_degenerate_templates_score_zero(rng: np.random.Generator) -> None:
    comparator = FingerprintComparator()
    lonely = template_of(random_minutiae(rng, 1))
    assert lonely.cylinder_count == 0
    normal = template_of(random_minutiae(rng))
    assert comparator.compare(lonely, normal) == 0.0
    assert comparator.compare(normal, lonely) == 0.0
    assert comparator.scores(comparator.prepare(normal), []).shape == (0,)


def test_the_best_pairs_are_those_of_a_full_sort_by_key_with_ties_to_the_lower_index() -> None:
    """The relaxation's pairs: per candidate the ``n_r`` positive gammas first by the key
    ``1e-9 * index - gamma`` (float32), exact key ties (common: 1e-9 steps are below float32's
    resolution at 0.4) by the lower index, whichever row layout the batch gives, the rest gamma 0."""
    rng = np.random.default_rng(3)
    c, bmax, n_a, n_r = 40, 30, 25, 16
    flat = rng.choice(
        np.array([0.0, 0.0, 0.0, 0.25, 0.3125, 0.4, 0.5], dtype=np.float32), size=(c, bmax * n_a)
    )
    flat = (flat * rng.choice(np.array([1.0, 1.0, 0.999], dtype=np.float32), size=flat.shape)).astype(
        np.float32
    )
    flat[3, :] = 0.0  # no positive pair at all
    flat[4, :] = 0.0
    flat[4, [7, 700]] = np.float32(0.5)  # fewer positive pairs than n_r
    top, values = _top_pairs(flat, n_r, bmax, n_a)
    key = np.arange(bmax * n_a, dtype=np.float32) * np.float32(1e-9) - flat
    for row in range(c):
        positive = np.flatnonzero(flat[row] > 0)
        want = positive[np.lexsort((positive, key[row, positive]))][:n_r]
        assert top[row, : len(want)].tolist() == want.tolist()
        assert values[row, : len(want)].tolist() == flat[row, want].tolist()
        assert not values[row, len(want) :].any()
    assert values[4].tolist()[:3] == [0.5, 0.5, 0.0] and top[4, :2].tolist() == [7, 700]
    # a candidate alone (no padding rows of larger candidates) picks the same pairs
    alone_top, alone_values = _top_pairs(flat[:1, : 20 * n_a], n_r, 20, n_a)
    wider = flat[:1].copy()
    wider[:, 20 * n_a :] = 0.0
    padded_top, padded_values = _top_pairs(wider, n_r, bmax, n_a)
    assert np.array_equal(alone_top, padded_top) and np.array_equal(alone_values, padded_values)
