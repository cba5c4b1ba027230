"""The ridge orientation field: zero-pole model of Sherlock & Monro (1993) from class-specific
core and delta positions, plus a smooth random perturbation and doubled-angle smoothing.

Orientation is the ridge direction in radians in [0, pi), measured in image coordinates
(x = column to the right, y = row downwards). In the zero-pole model the field is
``theta(z) = 1/2 * (sum_k arg(z - core_k) - sum_k arg(z - delta_k))``: a core has Poincaré index
+1/2 and a delta -1/2, so a loop (one core, one delta) and a whorl (two of each) have indices that
add up to zero and the far field is horizontal, as on a real finger's lower phalanx. Arches have no
singularity; their field comes from ridges shaped as Gaussian humps ``y = y0 - h(y0) exp(-x^2/2s^2)``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from padron.synth.fingerprint.params import FingerClass
from padron.synth.fingerprint.shape import Silhouette

Point = tuple[float, float]
FloatImage = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Singularities:
    cores: tuple[Point, ...]
    deltas: tuple[Point, ...]


def place_singularities(
    finger_class: FingerClass, silhouette: Silhouette, rng: np.random.Generator, scale: float = 1.0
) -> Singularities:
    """Cores and deltas where the class puts them, with random jitter (pixels, image coordinates).

    Core about 40-48% of the way down the fingertip; core-to-delta distances of 120-200 px
    (6-10 mm, about 13-22 ridges) for loops and whorls, 50-80 px for tented arches. A right loop
    (ridges enter and leave on the right of the image) has its delta on the left, and vice versa.
    """
    k = scale
    cx = silhouette.cx + rng.uniform(-18, 18) * k
    cy = silhouette.top + silhouette.tip_height * rng.uniform(0.80, 1.0)
    if finger_class is FingerClass.ARCH:
        return Singularities((), ())
    if finger_class is FingerClass.TENTED_ARCH:
        return Singularities(((cx, cy),), ((cx + rng.uniform(-6, 6) * k, cy + rng.uniform(55, 85) * k),))
    if finger_class in (FingerClass.LEFT_LOOP, FingerClass.RIGHT_LOOP):
        side = -1.0 if finger_class is FingerClass.RIGHT_LOOP else 1.0
        delta = (cx + side * rng.uniform(70, 130) * k, cy + rng.uniform(95, 150) * k)
        return Singularities(((cx, cy),), (delta,))
    # whorl: two cores close together (a plain or spiral whorl), a delta on each side below
    dx, dy = rng.uniform(4, 18) * rng.choice((-1.0, 1.0)) * k, rng.uniform(12, 28) * k
    cores = ((cx - dx, cy - dy), (cx + dx, cy + dy))
    deltas = (
        (cx - rng.uniform(100, 140) * k, cy + rng.uniform(110, 160) * k),
        (cx + rng.uniform(100, 140) * k, cy + rng.uniform(110, 160) * k),
    )
    return Singularities(cores, deltas)


def vary_singularities(
    singularities: Singularities,
    rng: np.random.Generator,
    *,
    shift: tuple[float, float],
    rotation: float,
    stretch: tuple[float, float],
    jitter: float,
    scale: float = 1.0,
) -> Singularities:
    """The class's layout made individual: the whole configuration moved by up to ``shift`` px
    (x, y), turned about the first core by up to ``rotation`` degrees and stretched by a factor
    in ``stretch`` (core-to-delta distances then span about 5-12 mm), each point jittered by
    ``jitter`` px (sd). :func:`place_singularities` alone put every core 40-48% down the
    fingertip at nearly the same distance and bearing from its delta, so that fingers of one
    class shared their flow (README, "Realism")."""
    points = singularities.cores + singularities.deltas
    if not points:
        return singularities
    ox, oy = (rng.uniform(-1.0, 1.0) * limit * scale for limit in shift)
    angle = np.deg2rad(rng.uniform(-rotation, rotation))
    factor = rng.uniform(*stretch)
    cos, sin = np.cos(angle), np.sin(angle)
    x0, y0 = points[0]

    def moved(point: Point) -> Point:
        dx, dy = point[0] - x0, point[1] - y0
        nx, ny = rng.normal(0.0, jitter * scale, size=2)
        return (
            float(x0 + factor * (cos * dx - sin * dy) + ox + nx),
            float(y0 + factor * (sin * dx + cos * dy) + oy + ny),
        )

    return Singularities(
        tuple(moved(c) for c in singularities.cores), tuple(moved(d) for d in singularities.deltas)
    )


def zero_pole_field(height: int, width: int, singularities: Singularities) -> FloatImage:
    """Sherlock-Monro orientation, radians in [0, pi)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    z = x + 1j * y
    theta = np.zeros((height, width))
    for cx, cy in singularities.cores:
        theta += 0.5 * np.angle(z - complex(cx, cy))
    for dx, dy in singularities.deltas:
        theta -= 0.5 * np.angle(z - complex(dx, dy))
    return np.mod(theta, np.pi).astype(np.float32)


def arch_field(
    height: int, width: int, silhouette: Silhouette, rng: np.random.Generator, scale: float = 1.0
) -> FloatImage:
    """Ridges as Gaussian humps, highest in the middle of the finger, flattening towards the bottom."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    xc = silhouette.cx + rng.uniform(-15, 15) * scale
    s = rng.uniform(55, 85) * scale
    h0 = rng.uniform(25, 50) * scale
    yc = silhouette.centre_y
    h = h0 * np.clip(1.1 - (y - yc) / (0.55 * height), 0.15, 1.1)
    slope = h * (x - xc) / s**2 * np.exp(-((x - xc) ** 2) / (2 * s**2))
    return np.asarray(np.mod(np.arctan(slope), np.pi), dtype=np.float32)


@functools.lru_cache(maxsize=64)
def _knots(n_out: int, n_in: int) -> tuple[NDArray[np.intp], NDArray[np.float32]]:
    """For each of n_out pixels, the knot before it and the smoothstep weight of the next knot."""
    t = np.linspace(0, n_in - 1, n_out)
    i = np.minimum(np.floor(t).astype(np.intp), n_in - 2)
    f = t - i
    weight = (f * f * (3 - 2 * f)).astype(np.float32)
    i.setflags(write=False)
    weight.setflags(write=False)
    return i, weight


def upsample(coarse: NDArray[np.floating], height: int, width: int) -> FloatImage:
    """A coarse grid of values (at least 2 x 2) stretched smoothly over height x width pixels:
    separable smoothstep interpolation between neighbouring knots (continuous first derivative).
    Plain indexing, no BLAS: matrix products here contend for threads on a shared machine."""
    c = np.asarray(coarse, dtype=np.float32)
    i, wy = _knots(height, c.shape[0])
    rows = c[i] + wy[:, None] * (c[i + 1] - c[i])
    j, wx = _knots(width, c.shape[1])
    result: FloatImage = rows[:, j] + wx[None, :] * (rows[:, j + 1] - rows[:, j])
    return result


def smooth_noise(
    height: int, width: int, rng: np.random.Generator, cells: tuple[int, int] = (6, 5)
) -> FloatImage:
    """Smooth random field, about unit standard deviation, varying over ~1/5 of the image."""
    return upsample(rng.normal(0, 1, size=cells), height, width)


def smooth_orientation(theta: FloatImage, sigma: float) -> FloatImage:
    """Gaussian smoothing of the doubled-angle vector field (angles wrap at pi)."""
    c = ndimage.gaussian_filter(np.cos(2 * theta), sigma, mode="nearest")
    s = ndimage.gaussian_filter(np.sin(2 * theta), sigma, mode="nearest")
    return np.asarray(np.mod(0.5 * np.arctan2(s, c), np.pi), dtype=np.float32)


def hairpin(
    height: int, width: int, singularities: Singularities, strength: Sequence[float], scale: float = 1.0
) -> FloatImage:
    """An angular correction (in the manner of Vizcaya & Gerhardt) that turns each core of the
    zero-pole field into a hairpin: ridges wrapping round the core as half circles above straight
    legs, the shape of a real loop's innermost ridges (the zero-pole core is a fan of parabolas,
    whose spreading forced a cluster of minutiae at every synthetic core). ``strength`` per core:
    0 leaves the zero-pole core, 1 gives the full hairpin; it fades out 80-200 px away.

    Near a core at angle ``phi`` the zero-pole field is ``phi / 2 + theta_o`` (``theta_o`` from
    the other singularities), whose legs run along ``phi_a = 2 theta_o``; the hairpin is
    ``phi + pi/2`` on the far side and ``phi_a`` on the legs' side, which the zero-pole field
    becomes by adding ``-arcsin(sin(phi - phi_a)) / 2`` (a triangle wave, rounded here)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    z = x + 1j * y
    signed = [(complex(*c), 0.5) for c in singularities.cores] + [
        (complex(*d), -0.5) for d in singularities.deltas
    ]
    rounding = 0.95
    correction = np.zeros((height, width))
    for k, (core, beta) in enumerate(zip(singularities.cores, strength, strict=False)):
        c = complex(*core)
        other = sum(sign * np.angle(c - p) for j, (p, sign) in enumerate(signed) if j != k)
        u = np.angle(z - c) - 2.0 * other
        wave = -np.arcsin(rounding * np.sin(u)) / np.arcsin(rounding) * (np.pi / 2)
        t = np.clip((200.0 * scale - np.abs(z - c)) / (120.0 * scale), 0.0, 1.0)
        correction += 0.5 * beta * t * t * (3 - 2 * t) * wave
    return correction.astype(np.float32)


def orientation_field(
    finger_class: FingerClass,
    silhouette: Silhouette,
    singularities: Singularities,
    height: int,
    width: int,
    rng: np.random.Generator,
    *,
    noise: float,
    smoothing: float,
    scale: float = 1.0,
    hairpin_strength: tuple[float, float] | None = None,
) -> FloatImage:
    """The model field of a finger: arch humps or the zero-pole field (with hairpin loop cores
    when ``hairpin_strength`` gives the range their strength is drawn from), plus a smooth
    random perturbation, smoothed."""
    if finger_class is FingerClass.ARCH:
        theta = arch_field(height, width, silhouette, rng, scale)
    else:
        theta = zero_pole_field(height, width, singularities)
        loop = finger_class in (FingerClass.LEFT_LOOP, FingerClass.RIGHT_LOOP)
        if hairpin_strength is not None and loop:
            strength = rng.uniform(*hairpin_strength, size=len(singularities.cores))
            theta = theta + hairpin(height, width, singularities, strength.tolist(), scale)
    theta = theta + noise * smooth_noise(height, width, rng)
    return smooth_orientation(theta, smoothing)


def poincare_singularities(
    theta: NDArray[np.floating], *, step: int = 8, mask: NDArray[np.bool_] | None = None
) -> Singularities:
    """Cores (index +1/2) and deltas (index -1/2) of an orientation field, by the Poincaré index
    around each cell of a grid sampled every ``step`` px. Adjacent cells of the same sign count
    once (their centroid is returned). With ``mask``, only cells whose corners all lie inside."""
    t = np.asarray(theta, dtype=np.float64)[::step, ::step]
    corners = [t[:-1, :-1], t[:-1, 1:], t[1:, 1:], t[1:, :-1]]
    total = np.zeros_like(corners[0])
    for a, b in zip(corners, corners[1:] + corners[:1], strict=True):
        d = 2 * (b - a)
        total += np.angle(np.exp(1j * d))
    index = np.rint(total / (2 * np.pi)) / 2  # -0.5, 0 or +0.5 (rarely +-1)
    if mask is not None:
        m = np.asarray(mask)[::step, ::step]
        inside = m[:-1, :-1] & m[:-1, 1:] & m[1:, 1:] & m[1:, :-1]
        index = np.where(inside, index, 0.0)

    def found(sign: float) -> tuple[Point, ...]:
        labels, n = ndimage.label(index * sign > 0)
        if n == 0:
            return ()
        centres = ndimage.center_of_mass(np.ones_like(index), labels, range(1, n + 1))
        return tuple(((c + 0.5) * step, (r + 0.5) * step) for r, c in centres)

    return Singularities(found(1.0), found(-1.0))
