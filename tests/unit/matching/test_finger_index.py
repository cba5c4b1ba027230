"""The MinHash cylinder index on its own: keys, votes, merges, renumbering, parameters."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from padron.matching.finger_index import CylinderHasher, CylinderIndex, IndexParameters

BITS = 384


def cylinders(rng: np.random.Generator, n: int = 30, density: float = 0.05) -> npt.NDArray[np.bool_]:
    out: npt.NDArray[np.bool_] = rng.random((n, BITS)) < density
    return out


def test_keys_are_deterministic_and_identical_cylinders_collide_in_every_band() -> None:
    rng = np.random.default_rng(1)
    c = cylinders(rng)
    keys = CylinderHasher(BITS).keys(c)
    again = CylinderHasher(BITS).keys(c.copy())  # another process / shard: same seed, same keys
    assert keys.dtype == np.uint32 and len(keys) == len(c) * IndexParameters().bands
    assert np.array_equal(keys, again)
    other = CylinderHasher(BITS).keys(cylinders(rng))
    assert len(np.intersect1d(keys, other)) < len(keys) // 20  # unrelated cylinders rarely collide


def test_sparse_cylinders_are_not_indexed_and_bad_shapes_are_refused() -> None:
    hasher = CylinderHasher(BITS, IndexParameters(min_bits=4))
    few = np.zeros((3, BITS), dtype=bool)
    few[:, :3] = True
    assert len(hasher.keys(few)) == 0
    with pytest.raises(ValueError):
        hasher.keys(np.zeros((2, 100), dtype=bool))
    with pytest.raises(ValueError):
        IndexParameters(bands=0)
    with pytest.raises(ValueError):
        IndexParameters(max_bucket_share=0)


def test_votes_rank_the_print_sharing_cylinders_first_before_and_after_merging() -> None:
    rng = np.random.default_rng(2)
    hasher = CylinderHasher(BITS)
    prints = [cylinders(rng) for _ in range(200)]
    index = CylinderIndex()
    for row, c in enumerate(prints):
        index.add(row, hasher.keys(c))
    # a probe holding two thirds of print 17's cylinders, with a few bits flipped
    probe = prints[17][:20].copy()
    probe ^= rng.random(probe.shape) < 0.003
    votes = index.votes(hasher.keys(probe), 200)
    assert int(np.argmax(votes)) == 17
    bulk = CylinderIndex()
    rows = np.concatenate([np.full(len(hasher.keys(c)), r) for r, c in enumerate(prints)])
    bulk.add_bulk(rows, np.concatenate([hasher.keys(c) for c in prints]))
    assert np.allclose(bulk.votes(hasher.keys(probe), 200), votes)  # tail + merges == one sort
    # 6 bytes an entry (16 low key bits + a 32-bit row) and the 65,537-offset bucket directory
    assert bulk.entries == index.entries and bulk.nbytes() == 6 * bulk.entries + 8 * 65537


def test_renumbering_drops_removed_rows_and_moves_the_others() -> None:
    rng = np.random.default_rng(3)
    hasher = CylinderHasher(BITS)
    prints = [cylinders(rng) for _ in range(10)]
    index = CylinderIndex()
    for row, c in enumerate(prints):
        index.add(row, hasher.keys(c))
    before = index.votes(hasher.keys(prints[0]), 10)[0]
    mapping = np.array([-1, 0, 1, 2, 3, 4, 5, 6, 7, 8])  # row 0 removed
    index.renumber(mapping)
    assert index.votes(hasher.keys(prints[0]), 9).max() < before / 100  # a stray collision at most
    assert int(np.argmax(index.votes(hasher.keys(prints[5]), 9))) == 4


def test_bulk_loading_in_parts_gives_the_same_index_as_at_once() -> None:
    # a national gallery is loaded in parts (Ray shards get it chunk by chunk): the sorted arrays
    # must come out exactly as one sort of everything would make them
    rng = np.random.default_rng(4)
    hasher = CylinderHasher(BITS)
    prints = [cylinders(rng) for _ in range(60)]
    keys = [hasher.keys(c) for c in prints]
    rows = [np.full(len(k), r) for r, k in enumerate(keys)]
    whole = CylinderIndex()
    whole.add_bulk(np.concatenate(rows), np.concatenate(keys))
    parts = CylinderIndex()
    for a, b in ((0, 7), (7, 30), (30, 31), (31, 60)):
        parts.add_bulk(np.concatenate(rows[a:b]), np.concatenate(keys[a:b]))
    assert np.array_equal(parts._main_keys(), whole._main_keys())
    assert np.array_equal(parts._rows, whole._rows)
    assert np.array_equal(np.diff(parts._main_keys().astype(np.int64)) >= 0, np.ones(parts.entries - 1, bool))


def test_an_index_saved_as_arrays_loads_with_the_same_votes_and_unsorted_keys_are_refused() -> None:
    rng = np.random.default_rng(8)
    hasher = CylinderHasher(BITS)
    prints = [cylinders(rng) for _ in range(30)]
    index = CylinderIndex()
    index.add_bulk(
        np.concatenate([np.full(len(hasher.keys(c)), r) for r, c in enumerate(prints)]),
        np.concatenate([hasher.keys(c) for c in prints]),
    )
    index.add(30, hasher.keys(cylinders(rng)))  # and a tail
    arrays = index.export_arrays()
    loaded = CylinderIndex.from_arrays(IndexParameters(), arrays, 31)
    probe = hasher.keys(prints[4][:15])
    assert np.array_equal(loaded.votes(probe, 31), index.votes(probe, 31))
    with pytest.raises(ValueError, match="rows that do not exist"):
        CylinderIndex.from_arrays(IndexParameters(), arrays, 30)
    keys = np.array([(1 << 16) | 3, (1 << 16) | 5, (2 << 16) | 1], dtype=np.uint32)
    small = CylinderIndex()
    small.add_bulk(np.arange(3), keys)
    swapped = dict(small.export_arrays())
    swapped["low"] = swapped["low"][[1, 0, 2]]
    with pytest.raises(ValueError, match="not sorted"):
        CylinderIndex.from_arrays(IndexParameters(), swapped, 3)
    CylinderIndex.from_arrays(
        IndexParameters(), small.export_arrays(), 3
    )  # the low bits may drop at a bucket


def test_the_bucketed_binary_search_gives_numpy_searchsorted_positions_on_whole_keys() -> None:
    rng = np.random.default_rng(3)
    index = CylinderIndex()
    # few distinct keys, many repeats, and keys sharing a bucket (top 16 bits) with others
    keys = np.concatenate(
        [rng.integers(0, 2**32, 3000, dtype=np.uint32), np.repeat(np.uint32(0x12340000), 50)]
    ).astype(np.uint32)
    keys = np.concatenate([keys, keys[:500] + np.uint32(1)])
    index.add_bulk(np.arange(len(keys), dtype=np.int64) % 97, keys)
    whole = np.sort(keys)
    probe = np.unique(
        np.concatenate(
            [
                keys[::7],
                rng.integers(0, 2**32, 400, dtype=np.uint32),
                np.array([0, 0x12340000, 0x1233FFFF, 2**32 - 1], dtype=np.uint32),
            ]
        )
    )
    lo, hi = index._find_both(probe)
    assert np.array_equal(lo, np.searchsorted(whole, probe, side="left"))
    assert np.array_equal(hi, np.searchsorted(whole, probe, side="right"))
    assert np.array_equal(lo, index._find(probe, right=False))
    assert np.array_equal(hi, index._find(probe, right=True))
    assert int((hi - lo).sum()) >= 50 + len(probe) // 10  # the repeated keys were found


def test_votes_per_group_are_the_row_votes_of_live_rows_summed_bit_for_bit() -> None:
    """``group_votes`` (a subject's vote at a finger position, without a row-sized array) equals
    the row votes gathered per subject, dead rows left out, for rows in the main part and the tail."""
    rng = np.random.default_rng(5)
    hasher = CylinderHasher(BITS)
    prints = [cylinders(rng) for _ in range(300)]
    index = CylinderIndex()
    rows = np.concatenate([np.full(len(hasher.keys(c)), r) for r, c in enumerate(prints[:250])])
    index.add_bulk(rows, np.concatenate([hasher.keys(c) for c in prints[:250]]))
    for row in range(250, 300):  # a tail
        index.add(row, hasher.keys(prints[row]))
    group = rng.permutation(300).astype(np.int32)  # row -> subject, one row each
    alive = rng.random(300) > 0.1
    probe = hasher.keys(prints[260][:20])
    votes = index.votes(probe, 300)
    expected = np.zeros(310)
    expected[group[alive]] = votes[alive]
    got = index.group_votes(probe, 300, group, alive, 310)
    assert np.array_equal(got, expected)
    assert got[group[260]] == votes[260] > 0 or not alive[260]
    size = rng.integers(1, 60, 300).astype(np.int32)  # cylinders per row: votes over their root
    scaled = np.zeros(310)
    scaled[group[alive]] = (votes / np.sqrt(size))[alive]
    assert np.allclose(index.group_votes(probe, 300, group, alive, 310, size), scaled, rtol=1e-12)


def test_a_tail_grown_between_searches_is_the_tail_sorted_at_once() -> None:
    """Keys added after a search are sorted alone and inserted into the sorted tail: the same
    arrays (rows of one key in the order they came) and votes as sorting the whole tail again."""
    rng = np.random.default_rng(9)
    hasher = CylinderHasher(BITS)
    prints = [cylinders(rng) for _ in range(80)]
    grown, at_once = CylinderIndex(), CylinderIndex()
    probe = hasher.keys(prints[5][:25])
    for row, c in enumerate(prints):
        keys = hasher.keys(c)
        grown.add(row, keys)
        at_once.add(row, keys)
        if row % 7 == 0:
            grown.votes(probe, row + 1)  # sorts the tail so far
        if row % 9 == 0:
            grown.add(row, keys[:3])  # a row's keys again, in a later chunk
            at_once.add(row, keys[:3])
    assert grown._tail_size == at_once._tail_size > 0 and not len(grown._low)
    want = at_once._tail()
    got = grown._tail()
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    assert np.array_equal(grown.votes(probe, 80), at_once.votes(probe, 80))
