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

Storage is compact: per entry a 32-bit key and a 32-bit row number (8 bytes), kept sorted so that
a probe's keys are found by binary search; new entries go to a small sorted tail merged into the
main arrays in linear time when it grows. Nothing is trained: the MinHash permutations come from a
fixed seed, so every process and Ray shard computes the same keys.
"""

from __future__ import annotations

from dataclasses import dataclass

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


class CylinderIndex:
    """Inverted lists key -> rows (one row per enrolled finger), as sorted parallel arrays."""

    def __init__(self, params: IndexParameters | None = None) -> None:
        self.params = params or IndexParameters()
        self._keys = np.zeros(0, dtype=np.uint32)
        self._rows = np.zeros(0, dtype=np.uint32)
        self._tail_keys: list[U32] = []
        self._tail_rows: list[U32] = []
        self._tail_size = 0
        self._sorted_tail: tuple[U32, U32] | None = None

    @property
    def entries(self) -> int:
        return int(self._keys.shape[0]) + self._tail_size

    def nbytes(self) -> int:
        return int(self._keys.nbytes + self._rows.nbytes) + 8 * self._tail_size

    def add(self, row: int, keys: U32) -> None:
        if len(keys) == 0:
            return
        self._tail_keys.append(np.asarray(keys, dtype=np.uint32))
        self._tail_rows.append(np.full(len(keys), row, dtype=np.uint32))
        self._tail_size += len(keys)
        self._sorted_tail = None
        if self._tail_size > max(1 << 16, len(self._keys) // 8):
            self._merge()

    def add_bulk(self, rows: I64, keys: U32) -> None:
        """Many entries at once (``rows[i]`` owns ``keys[i]``; start-up rebuild): the new entries
        are sorted, then merged into the main arrays in linear time, so loading a gallery in
        parts costs about what loading it at once does."""
        self._merge()
        keys = np.asarray(keys, dtype=np.uint32)
        order = np.argsort(keys, kind="stable")
        keys, rows32 = keys[order], np.asarray(rows, dtype=np.uint32)[order]
        if not len(self._keys):
            self._keys, self._rows = keys, rows32
            return
        at = np.searchsorted(self._keys, keys, side="right")  # after equal keys already there
        self._keys = np.insert(self._keys, at, keys)
        self._rows = np.insert(self._rows, at, rows32)

    def renumber(self, mapping: I64) -> None:
        """Rows compacted: ``mapping[old] = new`` or -1 for a removed row."""
        self._merge()
        new = mapping[self._rows.astype(np.int64)]
        keep = new >= 0
        self._keys = self._keys[keep]
        self._rows = new[keep].astype(np.uint32)

    def export_arrays(self) -> dict[str, U32]:
        """The entries as they are held: the sorted main arrays and the tail, in its order (the
        arrays are never changed in place, only replaced, so these stay valid)."""
        empty = np.zeros(0, dtype=np.uint32)
        return {
            "keys": self._keys,
            "rows": self._rows,
            "tail_keys": np.concatenate(self._tail_keys) if self._tail_keys else empty,
            "tail_rows": np.concatenate(self._tail_rows) if self._tail_rows else empty,
        }

    @classmethod
    def from_arrays(cls, params: IndexParameters, arrays: dict[str, U32], rows: int) -> CylinderIndex:
        """An index holding what :meth:`export_arrays` gave (``rows``: the rows it may name);
        ValueError when the arrays are not such an index."""
        index = cls(params)
        keys, owners = arrays["keys"], arrays["rows"]
        tail_keys, tail_rows = arrays["tail_keys"], arrays["tail_rows"]
        for a in (keys, owners, tail_keys, tail_rows):
            if a.dtype != np.uint32 or a.ndim != 1:
                raise ValueError("index arrays must be 1-d uint32")
        if len(keys) != len(owners) or len(tail_keys) != len(tail_rows):
            raise ValueError("index keys and rows differ in length")
        if len(keys) > 1 and bool(np.any(keys[1:] < keys[:-1])):
            raise ValueError("index keys are not sorted")
        for a in (owners, tail_rows):
            if len(a) and int(a.max()) >= rows:
                raise ValueError("index entries name rows that do not exist")
        index._keys, index._rows = keys, owners
        if len(tail_keys):
            index._tail_keys, index._tail_rows = [tail_keys], [tail_rows]
            index._tail_size = len(tail_keys)
        return index

    def votes(self, keys: U32, rows: int) -> F64:
        """Weighted collision count of every row 0..rows-1 with the probe's keys."""
        out = np.zeros(rows, dtype=np.float64)
        probe = np.unique(np.asarray(keys, dtype=np.uint32))
        if len(probe) == 0:
            return out
        entries = max(self.entries, 1)
        cap = max(64, int(self.params.max_bucket_share * rows))
        parts = [(self._keys, self._rows)]
        if self._tail_size:
            parts.append(self._tail())
        lo_all, sizes_all = [], []
        for sorted_keys, _ in parts:
            lo = np.searchsorted(sorted_keys, probe, side="left").astype(np.int64)
            hi = np.searchsorted(sorted_keys, probe, side="right").astype(np.int64)
            lo_all.append(lo)
            sizes_all.append(hi - lo)
        bucket = np.sum(sizes_all, axis=0)  # entries per probe key over main + tail
        weight = np.where((bucket > 0) & (bucket <= cap), np.log(entries / np.maximum(bucket, 1)), 0.0)
        for (_, sorted_rows), lo, sizes in zip(parts, lo_all, sizes_all, strict=True):
            sizes = np.where(weight > 0, sizes, 0)
            hit = sorted_rows[_ranges(lo, sizes)]
            out += np.bincount(hit, weights=np.repeat(weight, sizes), minlength=rows)[:rows]
        return out

    def _tail(self) -> tuple[U32, U32]:
        if self._sorted_tail is None:
            keys = np.concatenate(self._tail_keys)
            rows = np.concatenate(self._tail_rows)
            order = np.argsort(keys, kind="stable")
            self._sorted_tail = (keys[order], rows[order])
            self._tail_keys, self._tail_rows = [keys[order]], [rows[order]]
        return self._sorted_tail

    def _merge(self) -> None:
        """Fold the tail into the main arrays: insertion at binary-searched places, linear time."""
        if not self._tail_size:
            return
        keys, rows = self._tail()
        at = np.searchsorted(self._keys, keys, side="right")
        self._keys = np.insert(self._keys, at, keys)
        self._rows = np.insert(self._rows, at, rows)
        self._tail_keys, self._tail_rows, self._tail_size, self._sorted_tail = [], [], 0, None
