"""A certified bfloat16 scan for exact inner-product search (the face gallery's large-gallery path).

Every row is scored, in bfloat16 on the CPU's matrix units (AMX or AVX512-BF16, through PyTorch's
oneDNN matmul: half the bytes of float32 and several times its arithmetic rate), and a shortlist is
kept per probe; the caller re-scores the shortlist exactly in float32. What makes the result exact
rather than approximate is a bound on the bfloat16 error, computed for every probe and row set:

* the rows are centred on a fixed vector ``mu`` before rounding (``q . x = q . (x - mu) + q . mu``,
  and ``q . mu`` is the same for every row, so the ranking is unchanged). Real face templates share a
  dominant direction: centred rows are much shorter, and so is every rounding error below;
* with ``q~ = bf16(q)``, ``c~ = bf16(x - mu)`` and the float32 sum ``y = q~ . c~`` (AMX accumulates in
  float32), ``|y - q . c| <= ||q~ - q|| ||c~|| + ||q|| ||c~ - c||`` (Cauchy-Schwarz on
  ``q~ . c~ - q . c = (q~ - q) . c~ + q . (c~ - c)``); the largest ``||c~||`` and ``||c~ - c||`` over
  the rows are kept, so the bound ``E`` is one number per probe;
* the product is returned in bfloat16: ``|s~ - y| <= u |y|`` with ``u = 2**-7`` (covers truncation
  as well as rounding to nearest);
* float32 accumulation (the matrix unit's and :func:`~padron.matching.backends.memory._dots`'s) is
  covered by ``SLACK``.

A row whose bfloat16 score ``s~`` is below the probe's threshold ``theta`` therefore has a true
centred score below ``g(theta) + E + SLACK``, where ``g(t) = t / (1 - u)`` for ``t >= 0`` and
``t (1 - 2u) / (1 - u)`` below. The threshold comes from the ``needed``-th best bfloat16 score ``A``
among the live rows seen so far (those rows score at least ``low(A) - E - SLACK`` exactly), chosen so
that ``g(theta) + E + SLACK`` is below that: every row of the true top ``needed`` is kept. The caller
checks the certificate again with the exact scores (:meth:`Bf16Scan.certified`) and answers a probe
whose check fails another way, so a mistake in this arithmetic would cost speed, never a result.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

#: relative error of a bfloat16 result (8 significant bits; 2**-7 also covers truncation)
U_OUT = 2.0**-7
#: float32 accumulation over 128 terms, in the matrix unit and in the exact re-score, with room to spare
SLACK = 5e-5
#: rows per group when looking for rows above a probe's threshold (a group's maximum first)
_GROUP = 64
#: the pool is pruned and the thresholds raised each time the rows scanned grow by this factor
_GROWTH = 2.0


def hardware_bf16() -> bool:
    """Whether the CPU multiplies bfloat16 matrices natively (AMX tiles or AVX512-BF16) and PyTorch
    can use it; without either, bfloat16 products are emulated and slower than float32 BLAS."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency of the face extra
        return False
    cpu: Any = torch.cpu
    try:
        return bool(cpu._is_amx_tile_supported() or cpu._is_avx512_bf16_supported())
    except AttributeError:  # pragma: no cover - older torch
        return False


def _lower_true(a: F64) -> F64:
    """Lowest float32 sum ``y`` consistent with a bfloat16 result ``a`` (``|a - y| <= u |y|``)."""
    out: F64 = np.where(a >= 0, a / (1 + U_OUT), a / (1 - U_OUT))
    return out


def _upper_below(theta: F64) -> F64:
    """Highest float32 sum ``y`` of a row whose bfloat16 result is below ``theta``."""
    out: F64 = np.where(theta >= 0, theta / (1 - U_OUT), theta * (1 - 2 * U_OUT) / (1 - U_OUT))
    return out


def _threshold_for(v: F64) -> F64:
    """The largest ``theta`` with ``_upper_below(theta) <= v`` (the inverse of the above)."""
    out: F64 = np.where(v >= 0, v * (1 - U_OUT), v * (1 - U_OUT) / (1 - 2 * U_OUT))
    return out


class Bf16Scan:
    """The bfloat16, centred copy of a gallery's rows and the scan over it.

    Rows are appended (:meth:`extend`) in the gallery's row order, by one caller at a time (the
    gallery holds its lock); removal is the gallery's alive flags, passed to every scan; a
    compaction or reload starts a new copy."""

    def __init__(self, dim: int, mu: F32) -> None:
        self.dim = dim
        self.mu = np.asarray(mu, dtype=np.float32).copy()
        self._rows = np.zeros((0, dim), dtype=np.int16)  # bfloat16 bit patterns
        self.count = 0
        self.max_norm = 0.0  # max ||c~|| over the rows
        self.max_error = 0.0  # max ||c~ - c||

    @property
    def nbytes(self) -> int:
        return int(self._rows.nbytes)

    def extend(self, vectors: F32) -> None:
        """Append rows (float32, the gallery's own) in bfloat16, centred on ``mu``."""
        import torch

        m = len(vectors)
        if m == 0:
            return
        needed = self.count + m
        if needed > len(self._rows):
            grown = np.zeros((max(needed, 2 * len(self._rows), 1024), self.dim), dtype=np.int16)
            grown[: self.count] = self._rows[: self.count]
            self._rows = grown
        for start in range(0, m, 65_536):  # bounded temporaries
            chunk = np.asarray(vectors[start : start + 65_536], dtype=np.float32)
            centred = chunk - self.mu
            rounded = torch.from_numpy(centred).to(torch.bfloat16)
            back = rounded.to(torch.float32).numpy()
            error = centred - back  # exact in float32: a rounding's error is representable
            # float32 sums of 128 squares are within 128 * 2**-24 of exact: 1e-5 covers the square root
            norm = float(np.sqrt(np.einsum("ij,ij->i", back, back).max())) * (1 + 1e-5)
            err = float(np.sqrt(np.einsum("ij,ij->i", error, error).max())) * (1 + 1e-5)
            self.max_norm = max(self.max_norm, norm)
            self.max_error = max(self.max_error, err)
            at = self.count + start
            self._rows[at : at + len(chunk)] = rounded.view(torch.int16).numpy()
        self.count = needed

    def bounds(self, queries: F32) -> tuple[F64, F64]:
        """Per probe: ``E`` (the input-rounding bound) and ``q . mu`` (float64)."""
        import torch

        q = np.asarray(queries, dtype=np.float32)
        back = torch.from_numpy(q).to(torch.bfloat16).to(torch.float32).numpy().astype(np.float64)
        q64 = q.astype(np.float64)
        dq = np.sqrt(((q64 - back) ** 2).sum(axis=1))
        qn = np.sqrt((q64 * q64).sum(axis=1))
        e: F64 = dq * self.max_norm + qn * self.max_error
        qmu: F64 = q64 @ self.mu.astype(np.float64)
        return e, qmu

    def scan(
        self, queries: F32, needed: int, alive: npt.NDArray[np.bool_], *, block: int = 8192
    ) -> tuple[list[npt.NDArray[np.int64]], F64, F64, F64]:
        """Each probe's shortlist (row numbers: a superset of its ``needed`` best live rows), its
        final threshold (centred bfloat16 scale; ``-inf`` where every live row was kept) and the
        :meth:`bounds` the scan used (``E``, ``q . mu``), for :meth:`certified`.

        Rows are multiplied in blocks by the probes (``rows @ probes.T``: the probes are the small,
        reused operand, and the product is written into one buffer reused for every block, so no
        page is faulted in again); each block's columns are then reduced to one maximum per group of
        64 rows, and only the groups above a probe's threshold are looked at row by row."""
        import torch

        q = np.ascontiguousarray(queries, dtype=np.float32)
        p_count = len(q)
        n = min(self.count, len(alive))  # the rows the caller knows of (alive flags for each)
        e, qmu = self.bounds(q)
        if n == 0:
            return [np.zeros(0, dtype=np.int64) for _ in range(p_count)], np.full(p_count, -np.inf), e, qmu
        probes_t = torch.from_numpy(q).to(torch.bfloat16).T.contiguous()  # (dim, probes)
        rows = torch.from_numpy(self._rows[:n]).view(torch.bfloat16)
        alive_t = torch.from_numpy(np.ascontiguousarray(alive[:n]))
        block = max(_GROUP, block // _GROUP * _GROUP)
        buffer = torch.empty((min(block, n), p_count), dtype=torch.bfloat16)
        theta = np.full(p_count, -np.inf)
        theta_t, theta_i = _torch_thresholds(theta)
        pool_p: list[npt.NDArray[np.int64]] = []
        pool_r: list[npt.NDArray[np.int64]] = []
        pool_s: list[npt.NDArray[np.float32]] = []
        next_update = 0
        for start in range(0, n, block):
            stop = min(n, start + block)
            width = stop - start
            scores = buffer[:width]
            torch.mm(rows[start:stop], probes_t, out=scores)  # (rows, probes) bfloat16
            if start == 0:  # seed the thresholds from every probe's best live rows of the first block
                s32 = scores.to(torch.float32)
                s32[~alive_t[start:stop]] = -np.inf
                top = min(width, needed)
                vals = torch.topk(s32, top, dim=0).values.T.numpy().astype(np.float32)
                seed_p = np.repeat(np.arange(p_count, dtype=np.int64), top)
                flat = vals.reshape(-1)
                finite = np.isfinite(flat)
                *_, theta = self._tighten(
                    [seed_p[finite]], [seed_p[finite]], [flat[finite]], theta, e, needed, p_count
                )
                theta_t, theta_i = _torch_thresholds(theta)
            ri, pi, si = _hits(scores, theta_t, theta_i)
            live = alive_t[start + ri]
            pool_p.append(pi[live].numpy().astype(np.int64))
            pool_r.append(ri[live].numpy().astype(np.int64) + start)
            pool_s.append(si[live].numpy().astype(np.float32))
            if stop >= next_update or stop == n:
                next_update = max(int(_GROWTH * stop), stop + block)
                pp, pr, ps, theta = self._tighten(pool_p, pool_r, pool_s, theta, e, needed, p_count)
                pool_p, pool_r, pool_s = [pp], [pr], [ps]
                theta_t, theta_i = _torch_thresholds(theta)
        pp, pr = pool_p[0], pool_r[0]  # the last block was tightened: grouped by probe
        bounds = np.searchsorted(pp, np.arange(p_count + 1))
        return [pr[bounds[i] : bounds[i + 1]] for i in range(p_count)], theta, e, qmu

    @staticmethod
    def _tighten(
        pool_p: list[npt.NDArray[np.int64]],
        pool_r: list[npt.NDArray[np.int64]],
        pool_s: list[npt.NDArray[np.float32]],
        theta: F64,
        e: F64,
        needed: int,
        p_count: int,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float32], F64]:
        """Raise each probe's threshold from the ``needed``-th best score of its pool and drop the
        pool's rows below it."""
        pp, pr, ps = np.concatenate(pool_p), np.concatenate(pool_r), np.concatenate(pool_s)
        # by probe, best first: one sort of a combined key (scores are bounded, and distinct
        # probes' keys are further apart than any two scores)
        spread = 2.0 * float(np.abs(ps).max(initial=0.0)) + 1.0
        order = np.argsort(pp * spread - ps.astype(np.float64), kind="stable")
        pp, pr, ps = pp[order], pr[order], ps[order]
        counts = np.bincount(pp, minlength=p_count)
        starts = np.cumsum(counts) - counts
        full = counts >= needed
        a = np.full(p_count, -np.inf)
        a[full] = ps[starts[full] + needed - 1]
        with np.errstate(invalid="ignore"):
            candidate = _threshold_for(_lower_true(a) - 2 * (e + SLACK))
        theta = np.where(full, np.maximum(theta, candidate), theta)
        keep = ps >= theta[pp]
        return pp[keep], pr[keep], ps[keep], theta

    def certified(self, theta: F64, e: F64, qmu: F64, kth_exact: F64) -> npt.NDArray[np.bool_]:
        """Whether each probe's shortlist provably holds its best rows: its ``needed``-th best exact
        score (uncentred, ``-inf`` when the shortlist holds every live row) is above the highest
        score a row outside the shortlist can have."""
        with np.errstate(invalid="ignore"):
            ceiling = _upper_below(theta) + e + SLACK + qmu
        ok: npt.NDArray[np.bool_] = np.isneginf(theta) | (kth_exact >= ceiling)
        return ok


def _hits(scores: Any, theta_t: Any, theta_i: Any) -> tuple[Any, Any, Any]:
    """(row, probe, score) of every score at or above its probe's threshold, in a (rows, probes)
    block: each group of 64 rows' maximum per probe first (bfloat16 bit patterns compare as int16
    for scores above zero; a probe whose threshold is not above zero has the int16 floor -32768, so
    all its groups are looked at), then the rows of the groups that reach it."""
    import torch

    width, p_count = scores.shape
    groups = width // _GROUP
    found_r, found_p, found_s = [], [], []
    if groups:
        body = scores[: groups * _GROUP]
        gmax = body.view(torch.int16).reshape(groups, _GROUP, p_count).amax(dim=1)
        hg, hp = (gmax >= theta_i[None, :]).nonzero(as_tuple=True)
        if len(hg):
            seg = body.reshape(groups, _GROUP, p_count)[hg, :, hp].to(torch.float32)  # (hits, 64)
            hi, hj = (seg >= theta_t[hp][:, None]).nonzero(as_tuple=True)
            found_r.append(hg[hi] * _GROUP + hj)
            found_p.append(hp[hi])
            found_s.append(seg[hi, hj])
    if groups * _GROUP < width:
        tail = scores[groups * _GROUP :].to(torch.float32)
        tj, tp = (tail >= theta_t[None, :]).nonzero(as_tuple=True)
        found_r.append(tj + groups * _GROUP)
        found_p.append(tp)
        found_s.append(tail[tj, tp])
    if not found_r:
        empty = torch.zeros(0, dtype=torch.int64)
        return empty, empty, torch.zeros(0, dtype=torch.float32)
    return torch.cat(found_r), torch.cat(found_p), torch.cat(found_s)


def _torch_thresholds(theta: F64) -> tuple[Any, Any]:
    """Per probe, the threshold as float32 rounded down, and an int16 at or below the bfloat16 bit
    pattern of every score >= ``theta`` (bit patterns order like the values above zero; -32768,
    which lets every group through, for thresholds at or below zero)."""
    import torch

    t32 = np.nextafter(theta.astype(np.float32), np.float32(-np.inf))
    b = torch.from_numpy(t32).to(torch.bfloat16)
    over = b.to(torch.float32).numpy() > t32  # rounded up: one pattern down
    bits = b.view(torch.int16).numpy().astype(np.int32) - over.astype(np.int32)
    bits = np.where(t32 > 0, np.clip(bits, 0, 32767), -32768)
    return torch.from_numpy(t32), torch.from_numpy(bits.astype(np.int16))
