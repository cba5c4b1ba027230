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
from math import sqrt

import numpy as np
import numpy.typing as npt
from scipy.special import erf

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
    return np.asarray(0.5 * (erf((diff + width / 2) / s) - erf((diff - width / 2) / s))).reshape(
        (*d_theta.shape, nd)
    )


def hull_distance(
    minutiae: Minutiae, margin: float, px: npt.NDArray[np.int64], py: npt.NDArray[np.int64]
) -> npt.NDArray[np.float32]:
    """Distance (pixels, OpenCV's 3x3 L2 chamfer) from the points (``px``, ``py``) of the image
    padded by ``ceil(margin) + 1`` on each side to the convex hull of the (non-empty) minutiae.

    The transform runs only on the hull's bounding box widened by that padding (inf outside it):
    no point outside can lie within ``margin`` of the hull, and a chamfer path never leaves the
    box spanned by its ends, so inside it the values are those of the whole padded image."""
    import cv2

    pad = int(np.ceil(margin)) + 1
    points = np.stack([minutiae.x, minutiae.y], axis=1).astype(np.int32) + pad
    lo = np.maximum(points.min(axis=0) - pad - 1, 0)
    hi = points.max(axis=0) + pad + 2
    canvas = np.zeros((hi[1] - lo[1], hi[0] - lo[0]), dtype=np.uint8)
    cv2.fillConvexPoly(canvas, cv2.convexHull((points - lo).reshape(-1, 1, 2)), 255)
    distance = cv2.distanceTransform(255 - canvas, cv2.DIST_L2, 3)
    ry, rx = py - lo[1], px - lo[0]
    inside = (ry >= 0) & (ry < canvas.shape[0]) & (rx >= 0) & (rx < canvas.shape[1])
    out = np.full(py.shape, np.inf, dtype=np.float32)
    out[inside] = distance[ry[inside], rx[inside]]
    return out


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
    pad = int(np.ceil(p.hull_margin)) + 1
    h, w = shape
    px = np.clip(np.rint(cx).astype(np.int64) + pad, 0, w + 2 * pad - 1)
    py = np.clip(np.rint(cy).astype(np.int64) + pad, 0, h + 2 * pad - 1)
    mask = in_disc[None, :] & (hull_distance(minutiae, p.hull_margin, px, py) <= p.hull_margin)  # (n, S)

    # spatial contributions: (n cylinders, S cells, n minutiae), the Gaussian evaluated only where
    # it is not cut off (a few per cent of the entries)
    d2 = np.subtract(cx[:, :, None], x[None, None, :])
    d2 *= d2
    dy2 = np.subtract(cy[:, :, None], y[None, None, :])
    dy2 *= dy2
    d2 += dy2
    near = d2 <= (3 * p.sigma_s) ** 2
    near[np.arange(n), :, np.arange(n)] = False  # a minutia does not contribute to its own cylinder
    where = np.flatnonzero(near)
    gs = np.zeros(d2.shape)
    gs.flat[where] = np.exp(-d2.flat[where] / (2 * p.sigma_s**2)) / (p.sigma_s * sqrt(2 * np.pi))
    gd = _directional_weights(angle_difference(a[:, None], a[None, :]), p)  # (n, n, nd)
    values = np.matmul(gs, gd).transpose(0, 2, 1)  # (n, nd, S)
    bits = (values > p.mu_psi) & mask[:, None, :]

    ring = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) <= p.radius + 3 * p.sigma_s
    np.fill_diagonal(ring, False)
    valid = (mask.sum(axis=1) >= p.min_valid_cells_ratio * in_disc.sum()) & (
        ring.sum(axis=1) >= p.min_minutiae
    )
    return Cylinders(valid=valid, bits=bits.reshape(n, nd * ns * ns), mask=mask)
