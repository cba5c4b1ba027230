"""Cylinder building against the Minutia Cylinder-Code definition, computed the literal way."""

from __future__ import annotations

import math

import cv2
import numpy as np

from padron.biometrics.fingerprint import cylinders
from padron.biometrics.fingerprint.minutiae import Minutiae
from padron.biometrics.fingerprint.params import CylinderParameters


def _near_the_border(rng: np.random.Generator, n: int, shape: tuple[int, int]) -> Minutiae:
    h, w = shape
    return Minutiae.from_lists(
        np.concatenate([rng.uniform(0, 25, n // 2), rng.uniform(w - 25, w - 1, n - n // 2)]),
        rng.uniform(0, h - 1, n),
        rng.uniform(0, 2 * math.pi, n),
        rng.integers(1, 3, n),
        rng.integers(30, 100, n),
    )


def _literal(m: Minutiae, shape: tuple[int, int], p: CylinderParameters) -> tuple[np.ndarray, np.ndarray]:
    """Bits and validity mask cell by cell: the hull distance from a transform of the whole
    padded image, each cell's value summed minutia by minutia."""
    pad = int(np.ceil(p.hull_margin)) + 1
    h, w = shape
    canvas = np.zeros((h + 2 * pad, w + 2 * pad), np.uint8)
    points = np.stack([m.x, m.y], axis=1).astype(np.int32) + pad
    cv2.fillConvexPoly(canvas, cv2.convexHull(points.reshape(-1, 1, 2)), 255)
    distance = cv2.distanceTransform(255 - canvas, cv2.DIST_L2, 3)
    ns, nd = p.spatial_cells, p.directional_cells
    width = 2 * math.pi / nd
    bits = np.zeros((len(m), nd * ns * ns), bool)
    mask = np.zeros((len(m), ns * ns), bool)
    for c in range(len(m)):
        x, y, a = float(m.x[c]), float(m.y[c]), float(m.angle[c])
        for i in range(ns):
            for j in range(ns):
                oi, oj = (i - (ns - 1) / 2) * p.cell_size, (j - (ns - 1) / 2) * p.cell_size
                cx = x + oi * math.cos(a) + oj * math.sin(a)
                cy = y - oi * math.sin(a) + oj * math.cos(a)
                px = min(max(round(cx) + pad, 0), w + 2 * pad - 1)
                py = min(max(round(cy) + pad, 0), h + 2 * pad - 1)
                inside = oi * oi + oj * oj <= p.radius**2 and distance[py, px] <= p.hull_margin
                mask[c, i * ns + j] = inside
                for k in range(nd):
                    value = 0.0
                    for t in range(len(m)):
                        d2 = (cx - float(m.x[t])) ** 2 + (cy - float(m.y[t])) ** 2
                        if t == c or d2 > (3 * p.sigma_s) ** 2:
                            continue
                        spatial = math.exp(-d2 / (2 * p.sigma_s**2)) / (p.sigma_s * math.sqrt(2 * math.pi))
                        centre = -math.pi + (k + 0.5) * width
                        diff = (centre - (a - float(m.angle[t])) + math.pi) % (2 * math.pi) - math.pi
                        s = p.sigma_d * math.sqrt(2)
                        value += (
                            spatial
                            * 0.5
                            * (math.erf((diff + width / 2) / s) - math.erf((diff - width / 2) / s))
                        )
                    bits[c, k * ns * ns + i * ns + j] = inside and value > p.mu_psi
    return bits, mask


def test_cylinders_follow_the_definition_near_the_image_border(rng: np.random.Generator) -> None:
    # the hull distance is computed on the hull's bounding box only: cells near the border and
    # beyond it must be valid exactly when the whole-image transform says so
    p = CylinderParameters()
    shape = (300, 260)
    m = _near_the_border(rng, 14, shape)
    built = cylinders.build(m, shape, p)
    bits, mask = _literal(m, shape, p)
    assert np.array_equal(built.mask, mask)
    assert np.array_equal(built.bits, bits)
    assert mask.any() and not mask.all()
    assert bits.any()
