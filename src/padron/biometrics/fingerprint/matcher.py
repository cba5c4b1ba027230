"""padron's fingerprint comparator: MCC bit cylinders + LSS-R relaxation, vectorized with numpy.

Local similarity of probe cylinder a and candidate cylinder b (bit version of MCC)::

    m_ab   = mask_a AND mask_b                                 (cells valid in both)
    n_a    = popcount(bits_a AND m_ab),  n_b = popcount(bits_b AND m_ab)
    x_ab   = popcount((bits_a XOR bits_b) AND m_ab) = n_a + n_b - 2 popcount(bits_a AND bits_b)
    gamma  = 1 - sqrt(x_ab) / (sqrt(n_a) + sqrt(n_b))

and 0 when the two minutiae's directions differ by more than ``max_direction_difference`` or fewer
than ``min_common_cells_ratio`` of the disc's cells are valid in both. Popcounts of ANDs of 0/1
vectors are dot products, so one probe is scored against the cylinders of many candidates at once
with four matrix products (BLAS); the results are exactly the popcounts (tests check this against
a direct bit-by-bit popcount).

Global consolidation (LSS-R): the ``relaxation_pairs`` best local pairs go through
``relaxation_iterations`` rounds of relaxation, where each pair's score is reinforced by the pairs
geometrically compatible with it (distance, relative direction and radial angle agree); the
candidate's score is the mean relaxed score of the ``n_P`` most efficient pairs. Scores are
similarities in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from padron.biometrics.fingerprint.params import CylinderParameters, MatchParameters
from padron.biometrics.fingerprint.template import FingerprintTemplate, from_envelope
from padron.biometrics.metrics import Calibration
from padron.domain.template import Template

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class _Side:
    """Unpacked cylinders (valid ones only) of one or many templates, as float32 0/1 matrices."""

    bits: F32  # (n, Nd*S)
    spatial: F32  # (n, S) bits per spatial cell summed over directions
    mask: F32  # (n, S)
    x: F32
    y: F32
    angle: F32
    direction: F32  # (n, 2) cos and sin of the angle: cos(a - b) is one dot product
    # pairwise geometry of each template's valid minutiae, flattened template by template:
    # entry geo_start[t] + i * n_t + k holds (distance, relative direction, radial angle) of (i, k);
    # empty when the side was built without it (``pairwise=False``): then the few pairs the
    # relaxation reads are computed from x, y and angle when scoring, with identical values
    distance: F32
    relative: F32
    radial: F32

    @classmethod
    def of(cls, templates: Sequence[FingerprintTemplate], *, pairwise: bool = True) -> _Side:
        p = templates[0].params if templates else CylinderParameters()
        valid = [t.valid for t in templates]
        return cls.of_packed(
            _concat([t.bits[v] for t, v in zip(templates, valid, strict=True)], (0, p.bits // 8), np.uint8),
            _concat(
                [t.mask[v] for t, v in zip(templates, valid, strict=True)], (0, p.spatial_bits // 8), np.uint8
            ),
            _concat([t.minutiae.x[v] for t, v in zip(templates, valid, strict=True)], (0,), np.float32),
            _concat([t.minutiae.y[v] for t, v in zip(templates, valid, strict=True)], (0,), np.float32),
            _concat([t.minutiae.angle[v] for t, v in zip(templates, valid, strict=True)], (0,), np.float32),
            np.asarray([int(v.sum()) for v in valid], dtype=np.int64),
            p,
            pairwise=pairwise,
        )

    @classmethod
    def of_packed(
        cls,
        packed_bits: npt.NDArray[np.uint8],
        packed_mask: npt.NDArray[np.uint8],
        x: F32,
        y: F32,
        angle: F32,
        counts: npt.NDArray[np.int64],
        p: CylinderParameters,
        *,
        pairwise: bool = True,
    ) -> _Side:
        """The side of templates given as their valid cylinders, one after the other (``counts``
        per template): packed bits and masks, minutia x, y and angle (float32)."""
        nbits, nsp = p.bits, p.spatial_bits
        empty = np.zeros(0, np.float32)
        dist, rel, rad = [], [], []
        if pairwise:
            ends = np.cumsum(counts)
            for end, n in zip(ends.tolist(), np.asarray(counts).tolist(), strict=True):
                d, r1, r2 = _geometry(x[end - n : end], y[end - n : end], angle[end - n : end])
                dist.append(d.reshape(-1))
                rel.append(r1.reshape(-1))
                rad.append(r2.reshape(-1))
        ub = np.unpackbits(packed_bits, axis=1, bitorder="little", count=nbits).astype(np.float32)
        um = np.unpackbits(packed_mask, axis=1, bitorder="little", count=nsp).astype(np.float32)
        spatial = ub.reshape(-1, p.directional_cells, nsp).sum(axis=1, dtype=np.float32)
        angles = np.asarray(angle, dtype=np.float32)
        return cls(
            bits=np.ascontiguousarray(ub),
            spatial=np.ascontiguousarray(spatial),
            mask=np.ascontiguousarray(um),
            x=np.asarray(x, dtype=np.float32),
            y=np.asarray(y, dtype=np.float32),
            angle=angles,
            distance=np.concatenate(dist) if dist else empty,
            relative=np.concatenate(rel) if rel else empty,
            radial=np.concatenate(rad) if rad else empty,
            direction=np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32),
        )

    @property
    def count(self) -> int:
        return int(self.angle.shape[0])

    @classmethod
    def concat(cls, sides: Sequence[_Side]) -> _Side:
        """The sides one after the other (each field concatenated along its first axis)."""
        return cls(
            **{
                name: np.ascontiguousarray(np.concatenate([getattr(side, name) for side in sides]))
                for name in cls.__slots__
            }
        )


def _concat(parts: list[npt.NDArray[Any]], empty_shape: tuple[int, ...], dtype: type) -> npt.NDArray[Any]:
    """The parts one after the other (an empty array of ``empty_shape`` when there are none)."""
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(empty_shape, dtype)


def _wrap(a: npt.NDArray[np.floating]) -> F32:
    """Angles wrapped to [-pi, pi), float32."""
    a32 = np.asarray(a, dtype=np.float32)
    return np.asarray(np.mod(a32 + np.float32(np.pi), np.float32(2 * np.pi)) - np.float32(np.pi))


def _abs_angle(a: F32) -> F32:
    """|a| wrapped, for a in (-2pi, 2pi): the smaller way round."""
    d = np.abs(a)
    return np.asarray(np.minimum(d, np.float32(2 * np.pi) - d))


def _geometry(x: F32, y: F32, angle: F32) -> tuple[F32, F32, F32]:
    """Distance, relative direction and radial angle of every ordered pair (i, k) of minutiae."""
    xf, yf, af = x.astype(np.float64), y.astype(np.float64), angle.astype(np.float64)
    dx = xf[None, :] - xf[:, None]  # [i, k] = x_k - x_i
    dy = yf[None, :] - yf[:, None]
    distance = np.hypot(dx, dy).astype(np.float32)
    relative = _wrap(af[:, None] - af[None, :])
    radial = _wrap(af[:, None] - np.arctan2(-dy, dx))
    return distance, relative, radial


def _pair_geometry(x: F32, y: F32, angle: F32, minutia: npt.NDArray[np.int64]) -> tuple[F32, F32, F32]:
    """:func:`_geometry`'s (distance, relative direction, radial angle) of the pairs
    (``minutia[..., p]``, ``minutia[..., q]``) only, as ``(..., n, n)`` arrays: the same operations
    on the same values, so the same numbers (each minutia gathered once, then broadcast)."""
    xm, ym, am = (np.asarray(v[minutia], dtype=np.float64) for v in (x, y, angle))
    dx = xm[..., None, :] - xm[..., :, None]  # [p, q] = x_q - x_p
    dy = ym[..., None, :] - ym[..., :, None]
    distance = np.hypot(dx, dy).astype(np.float32)
    relative = _wrap(am[..., :, None] - am[..., None, :])
    radial = _wrap(am[..., :, None] - np.arctan2(-dy, dx))
    return distance, relative, radial


def _top_pairs(flat: F32, n_r: int, bmax: int, n_a: int) -> tuple[npt.NDArray[np.int64], F32]:
    """Each candidate's ``n_r`` best local pairs: their indices into ``flat`` (candidates x
    ``bmax * n_a`` gammas, entry ``ib * n_a + ia``) and gammas, best first, in the order of the
    key ``1e-9 * index - gamma`` (float32; exact ties to the lower index, so a candidate scores
    the same in any batch: the index does not depend on it). Only positive gammas are chosen,
    the rest of a row is index 0 with gamma 0 (pairs the relaxation leaves out as inactive).

    Not a sort of every pair: the ``n_r``-th best of the candidate cylinders' own best gammas is
    a floor under the ``n_r`` best (that many pairs reach it), so only the pairs within the key's
    index term of it are sorted -- a few dozen per candidate instead of thousands."""
    c, width = flat.shape
    if bmax >= n_r:
        best_of_row = flat.reshape(c, bmax, n_a).max(axis=2)
        floor = np.partition(best_of_row, bmax - n_r, axis=1)[:, bmax - n_r]
        # a pair below the floor by less than the key's index term could still rank above one
        # at it: keep those too (then the key decides, as a sort of every pair would)
        floor = floor - np.float32(width * 1e-9 + 1e-6)
        row, col = np.nonzero((flat >= floor[:, None]) & (flat > 0))
    else:
        row, col = np.nonzero(flat > 0)
    gamma = flat[row, col]
    key = col.astype(np.float32) * np.float32(1e-9) - gamma
    order = np.lexsort((col, key, row))  # by candidate, then key, exact key ties by index
    row, col, gamma = row[order], col[order], gamma[order]
    starts = np.searchsorted(row, np.arange(c))
    rank = np.arange(len(row)) - starts[row]
    keep = rank < n_r
    top = np.zeros((c, n_r), dtype=np.int64)
    values = np.zeros((c, n_r), dtype=np.float32)
    top[row[keep], rank[keep]] = col[keep]
    values[row[keep], rank[keep]] = gamma[keep]
    return top, values


@dataclass(frozen=True, slots=True)
class PreparedProbe:
    side: _Side
    params: CylinderParameters


@dataclass(frozen=True, slots=True)
class CandidateSet:
    """Many candidates' cylinders stacked for one-call scoring (build once, scan many probes)."""

    side: _Side
    counts: npt.NDArray[np.int64]  # valid cylinders per candidate
    starts: npt.NDArray[np.int64]
    geo_starts: npt.NDArray[np.int64]
    params: CylinderParameters

    def __len__(self) -> int:
        return int(self.counts.shape[0])


CALIBRATION_NAME = "fingerprint-padron-mcc-v1"


def packaged_calibration() -> Calibration:
    """Thresholds for target FMRs measured on the pooled FVC B sets (see README, "Fingerprint")."""
    return Calibration.packaged(CALIBRATION_NAME)


def _as_template(t: FingerprintTemplate | Template) -> FingerprintTemplate:
    return from_envelope(t) if isinstance(t, Template) else t


def _sigmoid(v: F64, mu: float, tau: float) -> F64:
    return np.asarray(1.0 / (1.0 + np.exp(-tau * (v - mu))))


class FingerprintComparator:
    """``prepare(probe)`` once, then ``scores(probe, candidates)`` for many candidates in one call."""

    def __init__(
        self, cylinder_params: CylinderParameters | None = None, match_params: MatchParameters | None = None
    ) -> None:
        self.cylinder_params = cylinder_params or CylinderParameters()
        self.params = match_params or MatchParameters()
        cp = self.cylinder_params
        offsets = (np.arange(cp.spatial_cells) - (cp.spatial_cells - 1) / 2.0) * cp.cell_size
        oi, oj = np.meshgrid(offsets, offsets, indexing="ij")
        self._disc_cells = int(((oi * oi + oj * oj) <= cp.radius * cp.radius).sum())

    def prepare(self, probe: FingerprintTemplate | Template) -> PreparedProbe:
        t = _as_template(probe)
        return PreparedProbe(side=_Side.of([t]), params=t.params)

    def candidates(
        self, templates: Sequence[FingerprintTemplate | Template], *, pairwise: bool = True
    ) -> CandidateSet:
        """The templates stacked for scoring. ``pairwise=False`` for a set scored once (a search
        shortlist): it skips the pairwise minutia geometry, the dearest part to build, and
        computes the few pairs the relaxation reads while scoring; the scores are identical."""
        ts = [_as_template(t) for t in templates]
        counts = np.asarray([t.cylinder_count for t in ts], dtype=np.int64)
        return self._candidate_set(_Side.of(ts, pairwise=pairwise), counts)

    def candidates_packed(
        self,
        bits: npt.NDArray[np.uint8],
        mask: npt.NDArray[np.uint8],
        x: F32,
        y: F32,
        angle: F32,
        counts: npt.NDArray[np.int64],
        *,
        pairwise: bool = True,
    ) -> CandidateSet:
        """What :meth:`candidates` gives for templates held as their valid cylinders only, one
        template after the other (``counts`` cylinders each): packed cylinder bits and masks,
        minutia x, y and angle (float32). A gallery keeps its prints this way."""
        counts = np.asarray(counts, dtype=np.int64)
        side = _Side.of_packed(bits, mask, x, y, angle, counts, self.cylinder_params, pairwise=pairwise)
        return self._candidate_set(side, counts)

    def _candidate_set(self, side: _Side, counts: npt.NDArray[np.int64]) -> CandidateSet:
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        geo_starts = np.concatenate([[0], np.cumsum(counts * counts)[:-1]]).astype(np.int64)
        return CandidateSet(
            side=side, counts=counts, starts=starts, geo_starts=geo_starts, params=self.cylinder_params
        )

    def extend(
        self, candidates: CandidateSet, templates: Sequence[FingerprintTemplate | Template] | CandidateSet
    ) -> CandidateSet:
        """``candidates`` followed by ``templates`` (or by another candidate set built with the
        pairwise geometry): what ``candidates(old + new)`` gives, without recomputing the old
        templates' unpacked cylinders and pairwise geometry."""
        more = templates if isinstance(templates, CandidateSet) else self.candidates(templates)
        if len(candidates) == 0:
            return more
        if candidates.side.count and not candidates.side.distance.size:
            raise ValueError("a candidate set built with pairwise=False cannot be extended")
        if more.side.count and not more.side.distance.size:
            raise ValueError("a candidate set built with pairwise=False cannot extend another")
        counts = np.concatenate([candidates.counts, more.counts])
        return self._candidate_set(_Side.concat([candidates.side, more.side]), counts)

    def threshold(self, fmr: float) -> float:
        """The similarity threshold calibrated for a target false-match rate (1e-2, 1e-3 or 1e-4)."""
        return packaged_calibration().threshold(fmr)

    def compare(
        self, probe: FingerprintTemplate | Template, candidate: FingerprintTemplate | Template
    ) -> float:
        return float(self.scores(self.prepare(probe), self.candidates([candidate]))[0])

    def scores(
        self, probe: PreparedProbe, candidates: CandidateSet | Sequence[FingerprintTemplate | Template]
    ) -> F64:
        """Similarity of the probe to every candidate, in candidate order."""
        if not isinstance(candidates, CandidateSet):
            candidates = self.candidates(candidates)
        out = np.zeros(len(candidates), dtype=np.float64)
        if probe.side.count < 2 or len(candidates) == 0:
            return out
        # blocks of whole candidates holding at most ~batch_cylinders cylinders
        limit = max(self.params.batch_cylinders, int(candidates.counts.max(initial=0)))
        ends = candidates.starts + candidates.counts
        first = 0
        n = len(candidates)
        while first < n:
            last = int(np.searchsorted(ends, candidates.starts[first] + limit, side="right"))
            last = max(last, first + 1)
            out[first:last] = self._block(probe.side, candidates, first, last)
            first = last
        return out

    # -- the hot path -------------------------------------------------------------------------------

    def local_similarities(self, a: _Side, b: _Side, lo: int = 0, hi: int | None = None) -> F32:
        """gamma for every probe cylinder (rows) and candidate cylinder ``lo:hi`` (columns)."""
        return self._gamma_t(a, b, lo, hi).T

    def _gamma_t(self, a: _Side, b: _Side, lo: int = 0, hi: int | None = None) -> F32:
        """gamma transposed: candidate cylinders ``lo:hi`` (rows) x probe cylinders (columns)."""
        sl = slice(lo, hi)
        p = self.params
        xor = b.bits[sl] @ (np.float32(-2.0) * a.bits).T  # -2 popcount(a and b)
        n_a = b.mask[sl] @ a.spatial.T
        n_b = b.spatial[sl] @ a.mask.T
        both = b.mask[sl] @ a.mask.T
        ok = both >= np.float32(p.min_common_cells_ratio * self._disc_cells)
        # |angle difference| <= max  <=>  cos(difference) >= cos(max)
        cos_limit = np.float32(np.cos(p.max_direction_difference) - 1e-6)
        ok &= (b.direction[sl] @ a.direction.T) >= cos_limit
        xor += n_a
        xor += n_b
        np.maximum(xor, 0.0, out=xor)
        np.sqrt(xor, out=xor)
        np.sqrt(n_a, out=n_a)
        np.sqrt(n_b, out=n_b)
        n_a += n_b  # the denominator
        ok &= n_a > 0
        n_a += np.float32(1e-12)
        xor /= n_a
        np.subtract(np.float32(1.0), xor, out=xor)
        xor *= ok
        return np.asarray(xor, dtype=np.float32)

    def _block(self, a: _Side, cs: CandidateSet, first: int, last: int) -> F64:
        p = self.params
        counts = cs.counts[first:last]
        lo = int(cs.starts[first])
        hi = int(cs.starts[last - 1] + cs.counts[last - 1])
        c = last - first
        n_a = a.count
        bmax = int(counts.max(initial=0))
        scores = np.zeros(c, dtype=np.float64)
        if bmax < 2:
            return scores
        gamma_t = self._gamma_t(a, cs.side, lo, hi)  # (hi-lo, n_a)
        # candidate k's cylinders go to rows k*bmax .. k*bmax+count-1 of a (c*bmax, n_a) array
        shift = np.repeat(np.arange(c) * bmax - (cs.starts[first:last] - lo), counts)
        padded = np.zeros((c * bmax, n_a), dtype=np.float32)
        padded[np.arange(hi - lo) + shift] = gamma_t
        n_r = min(p.relaxation_pairs, n_a * bmax)
        flat = padded.reshape(c, bmax * n_a)  # entry ib * n_a + ia
        top, lam0 = _top_pairs(flat, n_r, bmax, n_a)  # (c, n_r) each
        per_candidate_r = np.minimum(np.minimum(counts, n_a), p.relaxation_pairs)  # nR for each
        rank = np.arange(n_r)[None, :]
        active = (rank < per_candidate_r[:, None]) & (lam0 > 0)
        lam0 = np.where(active, lam0, np.float32(0.0))

        ib, ia = np.divmod(top, n_a)
        a_index = ia[:, :, None] * n_a + ia[:, None, :]  # (c, n_r, n_r) into the probe's geometry
        b = cs.side
        if b.distance.size or not b.count:
            b_index = (
                cs.geo_starts[first:last, None, None]
                + ib[:, :, None] * counts[:, None, None]
                + ib[:, None, :]
            )
            b_index = np.minimum(b_index, b.distance.shape[0] - 1)  # padded slots: masked below
            b_geometry = (b.distance[b_index], b.relative[b_index], b.radial[b_index])
        else:  # built without the pairwise geometry: the pairs needed, from the minutiae
            minutia = np.minimum(cs.starts[first:last, None] + ib, b.count - 1)  # padded: masked below
            b_geometry = _pair_geometry(b.x, b.y, b.angle, minutia)
        rho = self._compatibility(a, a_index, b_geometry)
        pair_ok = active[:, :, None] & active[:, None, :]
        rho = np.where(pair_ok, rho, np.float32(0.0))
        idx = np.arange(n_r)
        rho[:, idx, idx] = 0.0
        divisor = np.maximum(per_candidate_r - 1, 1).astype(np.float32)[:, None]
        lam0 = lam0.astype(np.float32)
        lam = lam0
        w = p.relaxation_weight
        for _ in range(p.relaxation_iterations):
            lam = (
                np.float32(w) * lam + np.float32(1.0 - w) * np.matmul(rho, lam[:, :, None])[:, :, 0] / divisor
            )
        efficiency = np.where(lam0 > 0, lam / np.where(lam0 > 0, lam0, 1.0), -1.0)
        best = np.argsort(-efficiency, axis=1, kind="stable")
        relaxed = np.take_along_axis(lam, best, axis=1)
        cumulative = np.cumsum(relaxed, axis=1)
        m = np.minimum(counts, n_a).astype(np.float64)
        n_p = p.min_np + np.rint(_sigmoid(m, p.mu_p, p.tau_p) * (p.max_np - p.min_np)).astype(np.int64)
        n_p = np.clip(np.minimum(n_p, per_candidate_r), 1, n_r)
        scores = cumulative[np.arange(c), n_p - 1] / n_p
        scores[per_candidate_r < 2] = 0.0
        return np.asarray(np.clip(scores, 0.0, 1.0), dtype=np.float64)

    def _compatibility(self, a: _Side, a_index: npt.NDArray[np.int64], b: tuple[F32, F32, F32]) -> F32:
        p = self.params
        d1 = np.abs(a.distance[a_index] - b[0])
        d2 = _abs_angle(a.relative[a_index] - b[1])
        d3 = _abs_angle(a.radial[a_index] - b[2])
        # product of three sigmoids 1 / (1 + exp(-tau (d - mu))) as one division
        cap = np.float32(25.0)  # exp(25)**3 stays finite in float32; the product is ~0 there anyway
        e = np.exp(np.minimum(np.float32(-p.tau_1) * (d1 - np.float32(p.mu_1)), cap))
        e2 = np.exp(np.minimum(np.float32(-p.tau_2) * (d2 - np.float32(p.mu_2)), cap))
        e3 = np.exp(np.minimum(np.float32(-p.tau_3) * (d3 - np.float32(p.mu_3)), cap))
        return np.asarray(1.0 / ((1.0 + e) * (1.0 + e2) * (1.0 + e3)), dtype=np.float32)
