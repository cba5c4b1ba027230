"""Fingerprint pre-selection: locality-sensitive hashing of Minutia Cylinder-Code bit vectors.

After Cappelli, Ferrara & Maltoni, "Fingerprint Indexing Based on Minutia Cylinder-Code" (IEEE
TPAMI 2011): every cylinder is hashed, the hashes go into inverted lists, and a probe's candidates
are the gallery prints whose cylinders collide most often with the probe's. padron's cylinders are
sparse (about 4 % of the 384 bits are set, median 16 per cylinder), so random bit-sampling hashes
are mostly all-zero; padron hashes the *set* of on-bits with MinHash instead (the probability that
two cylinders share a MinHash is their Jaccard similarity). ``bands`` hash keys per cylinder, each
the combination of ``band_width`` MinHashes, so two cylinders collide in a band with probability
J ** band_width. A vote is weighted by the key's inverse frequency (log(entries / bucket size)):
keys that half the gallery shares say little. Chosen on the FVC B sets (see README, "ABIS").

Storage is compact: per entry the low 16 bits of its 32-bit key (the top 16 bits are the entry's
bucket in a directory of offsets) and a 32-bit row number, 6 bytes, kept sorted so that a probe's
keys are found by binary search; new entries go to a small sorted tail merged into the main
arrays in linear time when it grows. Nothing is trained: the MinHash permutations come from a
fixed seed, so every process and Ray shard computes the same keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Bits = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class IndexParameters:
    """Tuning constants of the pre-selection (defaults measured on the FVC B sets)."""

    bands: int = 8  # hash keys per cylinder (index entries per cylinder); 16: 2x memory, see README
    band_width: int = 4  # MinHashes combined into one key: collision probability J ** band_width
    min_bits: int = 4  # cylinders with fewer on-bits are not indexed (their MinHashes are noise)
    max_bucket_share: float = 0.02  # keys shared by more than this share of the rows are skipped
    seed: int = 20261129

    def __post_init__(self) -> None:
        if not 1 <= self.bands <= 64 or not 1 <= self.band_width <= 6:
            raise ValueError("bands must be 1-64 and band_width 1-6")
        if self.min_bits < 1 or not 0 < self.max_bucket_share <= 1:
            raise ValueError("min_bits must be >= 1 and max_bucket_share in (0, 1]")


class CylinderHasher:
    """Cylinder bit vectors -> ``bands`` 32-bit keys per indexable cylinder."""

    def __init__(self, bits: int, params: IndexParameters | None = None) -> None:
        self.params = params or IndexParameters()
        p = self.params
        rng = np.random.default_rng(p.seed)
        count = p.bands * p.band_width
        self._ranks = np.stack([rng.permutation(bits) for _ in range(count)]).astype(np.int16)
        self._bits = bits

    def keys(self, cylinders: Bits) -> U32:
        """Keys of every cylinder with at least ``min_bits`` on-bits, flattened (cylinder-major)."""
        p = self.params
        cylinders = np.asarray(cylinders, dtype=bool)
        if cylinders.ndim != 2 or cylinders.shape[1] != self._bits:
            raise ValueError(f"expected (n, {self._bits}) cylinder bits, got {cylinders.shape}")
        cylinders = cylinders[cylinders.sum(axis=1) >= p.min_bits]
        n = len(cylinders)
        if n == 0:
            return np.zeros(0, dtype=np.uint32)
        # the smallest rank among each cylinder's on-bits, per permutation: gathered over the
        # on-bits only (a few per cent of the bits), every cylinder having at least min_bits >= 1
        rows, cols = np.nonzero(cylinders)
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        mins = np.minimum.reduceat(self._ranks[:, cols], starts, axis=1).T.astype(np.int64)
        grouped = mins.reshape(n, p.bands, p.band_width)
        value = np.broadcast_to(np.arange(p.bands, dtype=np.int64)[None, :], (n, p.bands)).copy()
        for j in range(p.band_width):
            value = value * 1024 + grouped[:, :, j]
        # multiplicative hashing to 32 bits (uint64 arithmetic wraps modulo 2**64)
        mixed = value.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        mixed ^= mixed >> np.uint64(29)
        mixed *= np.uint64(0xBF58476D1CE4E5B9)
        out: U32 = (mixed >> np.uint64(32)).astype(np.uint32).reshape(-1)
        return out


def _ranges(lo: I64, sizes: I64) -> I64:
    """Concatenation of ``arange(lo[i], lo[i] + sizes[i])`` for every i, vectorized."""
    total = int(sizes.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    out: I64 = np.arange(total, dtype=np.int64) + np.repeat(lo - starts, sizes)
    return out


#: the main entries are bucketed by the top bits of their key: per entry only the low 16 bits
_DIR_BITS = 16
_LOW_MASK = np.uint32((1 << (32 - _DIR_BITS)) - 1)


class CylinderIndex:
    """Inverted lists key -> rows (one row per enrolled finger), as sorted parallel arrays.

    The main entries are sorted by key and bucketed by the key's top 16 bits: a directory of
    65,537 offsets says where each bucket starts, and per entry only the key's low 16 bits and
    the row (32 bits) are kept -- 6 bytes an entry instead of 8. A probe key's entries are found
    by a binary search inside its bucket (vectorized over the probe's keys), with the positions
    ``numpy.searchsorted`` would give on the full keys, so votes are those of plain sorted arrays.
    The tail (recent additions, merged when it grows) keeps whole 32-bit keys."""

    def __init__(self, params: IndexParameters | None = None) -> None:
        self.params = params or IndexParameters()
        self._dir = np.zeros(0, dtype=np.int64)  # empty until there are main entries
        self._low = np.zeros(0, dtype=np.uint16)
        self._rows = np.zeros(0, dtype=np.uint32)
        self._tail_keys: list[U32] = []
        self._tail_rows: list[U32] = []
        self._tail_size = 0
        self._sorted_tail: tuple[U32, U32] | None = None

    @property
    def entries(self) -> int:
        return int(self._low.shape[0]) + self._tail_size

    def nbytes(self) -> int:
        return int(self._dir.nbytes + self._low.nbytes + self._rows.nbytes) + 8 * self._tail_size

    def add(self, row: int, keys: U32) -> None:
        if len(keys) == 0:
            return
        self._tail_keys.append(np.asarray(keys, dtype=np.uint32))
        self._tail_rows.append(np.full(len(keys), row, dtype=np.uint32))
        self._tail_size += len(keys)
        if self._tail_size > max(1 << 16, len(self._low) // 8):
            self._merge()

    def add_bulk(self, rows: I64, keys: U32) -> None:
        """Many entries at once (``rows[i]`` owns ``keys[i]``; start-up rebuild): the new entries
        are sorted, then merged into the main arrays in linear time, so loading a gallery in
        parts costs about what loading it at once does."""
        self._merge()
        keys = np.asarray(keys, dtype=np.uint32)
        order = np.argsort(keys, kind="stable")
        keys, rows32 = keys[order], np.asarray(rows, dtype=np.uint32)[order]
        self._insert(keys, rows32)

    def renumber(self, mapping: I64) -> None:
        """Rows compacted: ``mapping[old] = new`` or -1 for a removed row."""
        self._merge()
        new = mapping[self._rows.astype(np.int64)]
        keep = new >= 0
        self._set_main(self._main_keys()[keep], new[keep].astype(np.uint32))

    def export_arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        """The entries as they are held: the bucket directory, low key bits and rows of the main
        part, and the tail's keys and rows in their order (the arrays are never changed in
        place, only replaced, so these stay valid)."""
        empty = np.zeros(0, dtype=np.uint32)
        return {
            "dir": self._dir,
            "low": self._low,
            "rows": self._rows,
            "tail_keys": np.concatenate(self._tail_keys) if self._tail_keys else empty,
            "tail_rows": np.concatenate(self._tail_rows) if self._tail_rows else empty,
        }

    @classmethod
    def from_arrays(
        cls, params: IndexParameters, arrays: dict[str, npt.NDArray[np.generic]], rows: int
    ) -> CylinderIndex:
        """An index holding what :meth:`export_arrays` gave (``rows``: the rows it may name);
        ValueError when the arrays are not such an index."""
        index = cls(params)
        directory, low, owners = arrays["dir"], arrays["low"], arrays["rows"]
        tail_keys: U32 = np.asarray(arrays["tail_keys"], dtype=np.uint32)
        tail_rows: U32 = np.asarray(arrays["tail_rows"], dtype=np.uint32)
        if arrays["tail_keys"].dtype != np.uint32 or arrays["tail_rows"].dtype != np.uint32:
            raise ValueError("index tail arrays must be uint32")
        for a, dtype in ((directory, np.int64), (low, np.uint16), (owners, np.uint32)):
            if a.dtype != dtype or a.ndim != 1:
                raise ValueError(f"index arrays must be 1-d {np.dtype(dtype).name}")
        if tail_keys.ndim != 1 or tail_rows.ndim != 1:
            raise ValueError("index tail arrays must be 1-d")
        if len(low) != len(owners) or len(tail_keys) != len(tail_rows):
            raise ValueError("index keys and rows differ in length")
        if len(low):
            if len(directory) != (1 << _DIR_BITS) + 1 or directory[0] != 0 or directory[-1] != len(low):
                raise ValueError("index directory does not cover its entries")
            if bool(np.any(np.diff(directory) < 0)):
                raise ValueError("index directory is not monotone")
        elif len(directory) not in (0, (1 << _DIR_BITS) + 1):
            raise ValueError("index directory has the wrong size")
        for a in (owners, tail_rows):
            if len(a) and int(a.max()) >= rows:
                raise ValueError("index entries name rows that do not exist")
        if len(low):
            index._dir = np.asarray(directory, dtype=np.int64)
        index._low = np.asarray(low, dtype=np.uint16)
        index._rows = np.asarray(owners, dtype=np.uint32)
        if len(low) > 1:
            # sorted keys: inside a bucket the low bits never go down (they may at a bucket's start)
            drops = np.flatnonzero(index._low[1:] < index._low[:-1]) + 1
            at = np.minimum(np.searchsorted(index._dir, drops), len(index._dir) - 1)
            if len(drops) and not bool(np.all(index._dir[at] == drops)):
                raise ValueError("index keys are not sorted")
        if len(tail_keys):
            index._tail_keys, index._tail_rows = [tail_keys], [tail_rows]
            index._tail_size = len(tail_keys)
        return index

    def votes(self, keys: U32, rows: int) -> F64:
        """Weighted collision count of every row 0..rows-1 with the probe's keys."""
        out = np.zeros(rows, dtype=np.float64)
        for hit, weights in self._hits(keys, rows):
            out += np.bincount(hit, weights=weights, minlength=rows)[:rows]
        return out

    def group_votes(
        self,
        keys: U32,
        rows: int,
        group: npt.NDArray[np.integer[Any]],
        alive: npt.NDArray[np.bool_],
        groups: int,
        size: npt.NDArray[np.integer[Any]] | None = None,
    ) -> F64:
        """:meth:`votes` summed per group (``group[row]`` in 0..groups-1, a finger position's rows
        per subject) over the rows ``alive`` only, without a row-sized array: for a gallery whose
        subjects have one row each, each subject's vote. With ``size`` (a row's cylinders), each
        row's votes are divided by the square root of its size."""
        root = np.ones(rows) if size is None else np.sqrt(np.maximum(size[:rows], 1).astype(np.float64))
        return self.divided_group_votes(keys, rows, group, np.where(alive[:rows], root, np.inf), groups)

    def divided_group_votes(
        self, keys: U32, rows: int, group: npt.NDArray[np.integer[Any]], divisor: F64, groups: int
    ) -> F64:
        """Each row's votes divided by ``divisor[row]`` (``inf``: a row left out), summed per
        group: :meth:`group_votes` with the rows' divisors kept by the caller (a gallery keeps
        them as rows come and go), so a search reads one value per collision."""
        out = np.zeros(groups, dtype=np.float64)
        for hit, weights in self._hits(keys, rows):
            out += np.bincount(group[hit], weights=weights / divisor[hit], minlength=groups)[:groups]
        return out

    def _hits(self, keys: U32, rows: int) -> list[tuple[npt.NDArray[np.uint32], F64]]:
        """The rows colliding with the probe's keys and each collision's weight, main part and
        tail apart (a row appears once per colliding key)."""
        probe = np.unique(np.asarray(keys, dtype=np.uint32))
        if len(probe) == 0:
            return []
        entries = max(self.entries, 1)
        cap = max(64, int(self.params.max_bucket_share * rows))
        lo_main, hi_main = self._find_both(probe)
        found: list[tuple[U32, I64, I64]] = [(self._rows, lo_main, hi_main - lo_main)]
        if self._tail_size:
            tail_keys, tail_rows = self._tail()
            lo = np.searchsorted(tail_keys, probe, side="left").astype(np.int64)
            hi = np.searchsorted(tail_keys, probe, side="right").astype(np.int64)
            found.append((tail_rows, lo, hi - lo))
        bucket = np.sum([sizes for _, _, sizes in found], axis=0)  # entries per probe key over main + tail
        weight = np.where((bucket > 0) & (bucket <= cap), np.log(entries / np.maximum(bucket, 1)), 0.0)
        out = []
        for sorted_rows, lo, sizes in found:
            sizes = np.where(weight > 0, sizes, 0)
            out.append((sorted_rows[_ranges(lo, sizes)], np.repeat(weight, sizes)))
        return out

    # --- the main arrays --------------------------------------------------------------------------

    def _find_both(self, probe: U32) -> tuple[I64, I64]:
        """``_find`` left and right at once: one binary search over both sides' bounds (half the
        loop's numpy calls, which at a probe's few hundred keys cost more than their work)."""
        if not len(self._low):
            zeros = np.zeros(len(probe), dtype=np.int64)
            return zeros, zeros
        n = len(probe)
        bucket = (probe >> np.uint32(32 - _DIR_BITS)).astype(np.int64)
        target = np.tile((probe & _LOW_MASK).astype(np.uint16), 2)
        right = np.repeat(np.array([False, True]), n)
        lo = np.tile(self._dir[bucket], 2)
        hi = np.tile(self._dir[bucket + 1], 2)
        last = len(self._low) - 1
        while True:
            active = lo < hi
            if not active.any():
                return lo[:n], lo[n:]
            mid = (lo + hi) // 2
            value = self._low[np.minimum(mid, last)]
            after = np.where(right, value <= target, value < target)
            lo = np.where(active & after, mid + 1, lo)
            hi = np.where(active & ~after, mid, hi)

    def _find(self, probe: U32, *, right: bool) -> I64:
        """``numpy.searchsorted(full main keys, probe, side)`` (left or right): a binary search in
        each probe key's bucket, all keys at once."""
        if not len(self._low):
            return np.zeros(len(probe), dtype=np.int64)
        bucket = (probe >> np.uint32(32 - _DIR_BITS)).astype(np.int64)
        target = (probe & _LOW_MASK).astype(np.uint16)
        lo = self._dir[bucket]
        hi = self._dir[bucket + 1]
        last = len(self._low) - 1
        while True:
            active = lo < hi
            if not active.any():
                return lo
            mid = (lo + hi) // 2
            value = self._low[np.minimum(mid, last)]
            after = (value <= target) if right else (value < target)
            lo = np.where(active & after, mid + 1, lo)
            hi = np.where(active & ~after, mid, hi)

    def _main_keys(self) -> U32:
        """The main entries' whole keys (a temporary array)."""
        if not len(self._low):
            return np.zeros(0, dtype=np.uint32)
        buckets = np.repeat(np.arange(1 << _DIR_BITS, dtype=np.uint32), np.diff(self._dir))
        out: U32 = (buckets << np.uint32(32 - _DIR_BITS)) | self._low.astype(np.uint32)
        return out

    def _set_main(self, keys: U32, rows: U32) -> None:
        """The main part from whole keys (sorted) and their rows."""
        if not len(keys):
            self._dir = np.zeros(0, dtype=np.int64)
            self._low = np.zeros(0, dtype=np.uint16)
            self._rows = np.zeros(0, dtype=np.uint32)
            return
        counts = np.bincount(keys >> np.uint32(32 - _DIR_BITS), minlength=1 << _DIR_BITS)
        directory = np.zeros((1 << _DIR_BITS) + 1, dtype=np.int64)
        np.cumsum(counts, out=directory[1:])
        self._dir = directory
        self._low = (keys & _LOW_MASK).astype(np.uint16)
        self._rows = np.asarray(rows, dtype=np.uint32)

    def _insert(self, keys: U32, rows: U32) -> None:
        """Sorted entries merged into the main arrays: each after the equal keys already there."""
        if not len(keys):
            return
        if not len(self._low):
            self._set_main(keys, rows)
            return
        main = self._main_keys()
        at = np.searchsorted(main, keys, side="right")
        self._set_main(np.insert(main, at, keys), np.insert(self._rows, at, rows))

    def _tail(self) -> tuple[U32, U32]:
        """The tail's keys and rows sorted by key (stable: entries of one key in the order they
        were added). Entries added since the last call are sorted alone and inserted after the
        equal keys of the sorted part -- the same arrays as sorting everything again, without
        re-sorting a tail that grows by one enrollment's keys between searches."""
        done = self._sorted_tail
        if done is not None and len(self._tail_keys) == 1:
            return done
        if done is not None and self._tail_keys[0] is done[0]:
            new_keys = np.concatenate(self._tail_keys[1:])
            new_rows = np.concatenate(self._tail_rows[1:])
            order = np.argsort(new_keys, kind="stable")
            at = np.searchsorted(done[0], new_keys[order], side="right")
            keys = np.insert(done[0], at, new_keys[order])
            rows = np.insert(done[1], at, new_rows[order])
        else:
            all_keys = np.concatenate(self._tail_keys)
            order = np.argsort(all_keys, kind="stable")
            keys, rows = all_keys[order], np.concatenate(self._tail_rows)[order]
        self._sorted_tail = (keys, rows)
        self._tail_keys, self._tail_rows = [keys], [rows]
        return self._sorted_tail

    def _merge(self) -> None:
        """Fold the tail into the main arrays: insertion at binary-searched places, linear time."""
        if not self._tail_size:
            return
        keys, rows = self._tail()
        self._insert(keys, rows)
        self._tail_keys, self._tail_rows, self._tail_size, self._sorted_tail = [], [], 0, None
