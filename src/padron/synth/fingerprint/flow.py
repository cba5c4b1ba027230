"""Ridges that keep their spacing: the flow's divergence, relaxed.

A ridge pattern grown to follow an orientation field and a ridge period exactly must insert (or
drop) a ridge wherever the flow lines spread apart or close up: the number of ridges crossing a
short segment across the flow changes at the rate ``div(t / p)`` (``t`` the unit ridge direction,
``p`` the period), and each ridge inserted is a minutia (an ending or a bifurcation) whose
polarity -- the way it points along the ridges -- is set by the sign of that divergence. The
zero-pole field (plus its smooth perturbation) spreads and closes its flow lines over patches of
about a hundred pixels, so generator v2 grew ~85 such forced minutiae per master, nearly all
pointing the same way within a patch. Real prints do not look like that: within 70 px, 58% of
the pairs of minutiae padron's extractor finds on the FVC B sets point the same way (84% on v2's
synthetic prints), and that regularity is what made different synthetic fingers look alike to the
MCC matcher (README, "Realism").

Real ridges keep their spacing by bending (the flow is nearly a family of parallel curves) and
by a period that widens where they spread. :func:`relax_flow` finds both for a finger at once: a
smooth correction ``delta`` of the orientation and a log-period map ``L``, minimizing on a coarse
grid, by linearized least squares (two Gauss-Newton steps),

    sum  w * (div t(theta + delta) - t . grad L)^2  +  alpha |grad delta|^2  +  beta delta^2
         +  lambda |grad L|^2  +  mu L^2

where the weight ``w`` fades near the cores and deltas (the divergence there is singular and a
smooth correction cannot remove it). ``delta`` is single-valued and continuous, so cores and deltas
stay where they were (tested). The minutiae of the finger then come mostly from the random
dislocations that :mod:`.master` adds, with random polarity.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spl
from numpy.typing import NDArray
from scipy import ndimage

from padron.synth.fingerprint.orientation import FloatImage, upsample
from padron.synth.fingerprint.params import FlowRelaxation

F64 = NDArray[np.float64]


def _half_angle(d: F64) -> F64:
    """Orientation differences wrapped to (-pi/2, pi/2]."""
    return np.asarray(0.5 * np.angle(np.exp(2j * d)))


def divergence(theta: F64, step: float) -> F64:
    """div t of the unit ridge direction t = (cos theta, sin theta), per px (theta mod pi)."""
    gx = np.zeros_like(theta)
    gy = np.zeros_like(theta)
    gx[:, 1:-1] = _half_angle(theta[:, 2:] - theta[:, :-2]) / (2 * step)
    gy[1:-1, :] = _half_angle(theta[2:, :] - theta[:-2, :]) / (2 * step)
    gx[:, 0] = _half_angle(theta[:, 1] - theta[:, 0]) / step
    gx[:, -1] = _half_angle(theta[:, -1] - theta[:, -2]) / step
    gy[0] = _half_angle(theta[1] - theta[0]) / step
    gy[-1] = _half_angle(theta[-1] - theta[-2]) / step
    return np.asarray(-np.sin(theta) * gx + np.cos(theta) * gy)


def _central(n: int, step: float) -> sp.csr_matrix:
    """Central differences along a line of n nodes (one-sided at the ends)."""
    d = sp.lil_matrix((n, n))
    for i in range(1, n - 1):
        d[i, i + 1] = 0.5 / step
        d[i, i - 1] = -0.5 / step
    d[0, 0], d[0, 1] = -1.0 / step, 1.0 / step
    d[n - 1, n - 2], d[n - 1, n - 1] = -1.0 / step, 1.0 / step
    return d.tocsr()


def _forward(n: int, step: float) -> sp.csr_matrix:
    return sp.diags([-1.0, 1.0], [0, 1], shape=(n - 1, n), format="csr") / step


@functools.lru_cache(maxsize=8)
def _operators(rows: int, cols: int, step: float) -> tuple[sp.csr_matrix, ...]:
    """Central x / y differences and forward x / y differences on a rows x cols grid (flattened)."""
    eye_r, eye_c = sp.identity(rows, format="csr"), sp.identity(cols, format="csr")
    return (
        sp.kron(eye_r, _central(cols, step), format="csr"),
        sp.kron(_central(rows, step), eye_c, format="csr"),
        sp.kron(eye_r, _forward(cols, step), format="csr"),
        sp.kron(_forward(rows, step), eye_c, format="csr"),
    )


def _stretch(coarse: F64, step: int, height: int, width: int) -> FloatImage:
    """Grid values at every ``step``-th pixel, interpolated smoothly to height x width."""
    rows, cols = coarse.shape
    full = upsample(coarse, (rows - 1) * step + 1, (cols - 1) * step + 1)[:height, :width]
    pad = ((0, height - full.shape[0]), (0, width - full.shape[1]))
    return np.asarray(np.pad(full, pad, mode="edge"), dtype=np.float32)


def relax_flow(
    theta: FloatImage, mask: NDArray[np.bool_], params: FlowRelaxation, scale: float = 1.0
) -> tuple[FloatImage, FloatImage]:
    """(orientation correction in rad, log-period relative to the finger's mean), per pixel."""
    step = max(2, round(params.step * scale))
    height, width = theta.shape
    t0 = np.asarray(theta[::step, ::step], dtype=np.float64)
    rows, cols = t0.shape
    n = rows * cols
    coarse = mask[::step, ::step]
    inside = ndimage.binary_dilation(coarse, iterations=2).ravel().astype(np.float64)
    # unknowns only up to four nodes beyond the fingertip (zero further out): a third fewer
    free = np.flatnonzero(ndimage.binary_dilation(coarse, iterations=4).ravel())
    unknowns = np.concatenate([free, free + n])
    cx, cy, fx, fy = _operators(rows, cols, float(step))
    delta = np.zeros(n)
    log_period = np.zeros(n)
    identity = sp.identity(n, format="csr") / step
    # fixed part of the normal equations: the regularizers
    reg_delta = params.smoothness * (fx.T @ fx + fy.T @ fy) + params.shrink * (identity.T @ identity)
    reg_period = params.period_smoothness * (fx.T @ fx + fy.T @ fy) + params.period_shrink * (
        identity.T @ identity
    )
    cap = params.singular_divergence / scale
    for _ in range(params.iterations):
        t = (t0.ravel() + delta).reshape(rows, cols)
        g = divergence(t, float(step)).ravel()
        w = inside / (1.0 + (np.abs(g) / cap) ** 4)
        tx, ty = np.cos(t.ravel()), np.sin(t.ravel())
        # rows of the linearized equation  n . grad(increment) - t . grad(L) = -div t, weighted
        a_delta = sp.diags(w * -ty) @ cx + sp.diags(w * tx) @ cy
        a_period = -(sp.diags(w * tx) @ cx + sp.diags(w * ty) @ cy)
        rhs = -w * g
        normal = sp.bmat(
            [
                [a_delta.T @ a_delta + reg_delta, a_delta.T @ a_period],
                [a_period.T @ a_delta, a_period.T @ a_period + reg_period],
            ],
            format="csc",
        )
        right = np.concatenate([a_delta.T @ rhs - reg_delta @ delta, a_period.T @ rhs])
        solution = np.zeros(2 * n)
        reduced = normal[unknowns][:, unknowns].tocsc()
        solution[unknowns] = spl.spsolve(reduced, right[unknowns], permc_spec="MMD_AT_PLUS_A")
        delta = delta + solution[:n]
        log_period = solution[n:]
    return (
        _stretch(delta.reshape(rows, cols), step, height, width),
        _stretch(log_period.reshape(rows, cols), step, height, width),
    )
