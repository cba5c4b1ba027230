"""Minutia Cylinder-Code (bit version) descriptors.

For minutia m at (x, y) with direction a, a cylinder of radius R and height 2*pi is centred on m and
turned with it; it is cut into Ns x Ns x Nd cells. The value of cell (k, i, j) sums, over the other
minutiae t near the cell centre, a Gaussian of their distance to the centre times the share of a
Gaussian of their direction relative to m that falls in the k-th direction bin; the cell's bit is 1
when that value exceeds ``mu_psi``. A cell is *valid* when its centre lies within R of m and within
``hull_margin`` of the convex hull of all minutiae. Bits are ordered (k, i, j), so the validity mask
of the Ns*Ns spatial cells repeats unchanged for each of the Nd direction bins.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import erf, sqrt

import numpy as np
import numpy.typing as npt

from padron.biometrics.fingerprint.minutiae import Minutiae
from padron.biometrics.fingerprint.params import CylinderParameters

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Cylinders:
    """``valid[n]``; ``bits[n, Nd*Ns*Ns]`` and ``mask[n, Ns*Ns]`` (booleans, unpacked)."""

    valid: BoolArray
    bits: BoolArray
    mask: BoolArray


def angle_difference(
    a: npt.NDArray[np.floating] | float, b: npt.NDArray[np.floating] | float
) -> npt.NDArray[np.float64]:
    """a - b wrapped to [-pi, pi)."""
    return np.asarray(np.mod(np.asarray(a, dtype=np.float64) - b + np.pi, 2 * np.pi) - np.pi)


def _directional_weights(d_theta: npt.NDArray[np.float64], p: CylinderParameters) -> npt.NDArray[np.float64]:
    """Share of N(d_theta, sigma_d) in each direction bin centred at -pi + (k + 1/2) * 2pi/Nd."""
    nd = p.directional_cells
    width = 2 * np.pi / nd
    centres = -np.pi + (np.arange(nd) + 0.5) * width
    diff = angle_difference(centres[None, :], d_theta.reshape(-1, 1))  # (m, nd)
    s = p.sigma_d * sqrt(2.0)
    verf = np.vectorize(erf, otypes=[np.float64])
    return np.asarray(0.5 * (verf((diff + width / 2) / s) - verf((diff - width / 2) / s))).reshape(
        (*d_theta.shape, nd)
    )


def hull_distance_map(
    minutiae: Minutiae, shape: tuple[int, int], margin: float
) -> tuple[npt.NDArray[np.float32], int]:
    """Distance (pixels) from each point of an image padded by ``margin`` to the minutiae's hull."""
    import cv2

    pad = int(np.ceil(margin)) + 1
    h, w = shape
    canvas = np.zeros((h + 2 * pad, w + 2 * pad), dtype=np.uint8)
    if len(minutiae) >= 1:
        points = np.stack([minutiae.x, minutiae.y], axis=1).astype(np.int32) + pad
        hull = cv2.convexHull(points.reshape(-1, 1, 2))
        cv2.fillConvexPoly(canvas, hull, 255)
    distance = cv2.distanceTransform(255 - canvas, cv2.DIST_L2, 3)
    return np.asarray(distance, dtype=np.float32), pad


def build(minutiae: Minutiae, shape: tuple[int, int], p: CylinderParameters) -> Cylinders:
    """Cylinders of every minutia of an image of ``shape`` (height, width)."""
    n = len(minutiae)
    ns, nd = p.spatial_cells, p.directional_cells
    if n == 0:
        return Cylinders(
            valid=np.zeros(0, dtype=bool),
            bits=np.zeros((0, p.bits), dtype=bool),
            mask=np.zeros((0, p.spatial_bits), dtype=bool),
        )
    x = minutiae.x.astype(np.float64)
    y = minutiae.y.astype(np.float64)
    a = minutiae.angle.astype(np.float64)
    # unit vectors of each minutia's frame in image coordinates (y down, angle counter-clockwise)
    ux, uy = np.cos(a), -np.sin(a)
    vx, vy = np.sin(a), np.cos(a)
    offsets = (np.arange(ns) - (ns - 1) / 2.0) * p.cell_size
    oi, oj = np.meshgrid(offsets, offsets, indexing="ij")  # i along u, j along v
    oi, oj = oi.reshape(-1), oj.reshape(-1)  # (S,)
    cx = x[:, None] + oi[None, :] * ux[:, None] + oj[None, :] * vx[:, None]  # (n, S)
    cy = y[:, None] + oi[None, :] * uy[:, None] + oj[None, :] * vy[:, None]
    in_disc = (oi * oi + oj * oj) <= p.radius * p.radius  # (S,)
    distance, pad = hull_distance_map(minutiae, shape, p.hull_margin)
    px = np.clip(np.rint(cx).astype(np.int64) + pad, 0, distance.shape[1] - 1)
    py = np.clip(np.rint(cy).astype(np.int64) + pad, 0, distance.shape[0] - 1)
    mask = in_disc[None, :] & (distance[py, px] <= p.hull_margin)  # (n, S)

    # spatial contributions: (n cylinders, S cells, n minutiae)
    dx = cx[:, :, None] - x[None, None, :]
    dy = cy[:, :, None] - y[None, None, :]
    d2 = dx * dx + dy * dy
    near = d2 <= (3 * p.sigma_s) ** 2
    near[np.arange(n), :, np.arange(n)] = False  # a minutia does not contribute to its own cylinder
    gs = np.where(near, np.exp(-d2 / (2 * p.sigma_s**2)) / (p.sigma_s * sqrt(2 * np.pi)), 0.0)
    gd = _directional_weights(angle_difference(a[:, None], a[None, :]), p)  # (n, n, nd)
    values = np.einsum("csm,cmk->cks", gs, gd)  # (n, nd, S)
    bits = (values > p.mu_psi) & mask[:, None, :]

    ring = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) <= p.radius + 3 * p.sigma_s
    np.fill_diagonal(ring, False)
    valid = (mask.sum(axis=1) >= p.min_valid_cells_ratio * in_disc.sum()) & (
        ring.sum(axis=1) >= p.min_minutiae
    )
    return Cylinders(valid=valid, bits=bits.reshape(n, nd * ns * ns), mask=mask)
