"""Synthetic fingerprint templates without images: for populations too large to render.

Rendering and extracting an image costs about a second of processor time per print; a population
of 100,000 persons with ten fingers each would take days. At template level a finger is its master
minutiae, and an impression is a transformed, perturbed subset of them, turned into cylinders by
padron's own template builder (:func:`padron.biometrics.fingerprint.template.create`), so the
gallery, the matcher and de-duplication see exactly what they see for an extracted print.

A master (:func:`master_minutiae`) reuses the image generator's first steps for the same seed and
position: class by position, fingertip silhouette, cores and deltas, zero-pole orientation (plus a
smooth random perturbation that individualizes the flow). Minutiae are spread over the fingertip
by Poisson-disk sampling (no two closer than ``min_distance``, as ridge endings and bifurcations
are a ridge or more apart) at a density measured from padron's classic extraction on FVC; each
points along the local ridge flow, one way or the other.

An impression (:func:`impression_minutiae`) applies what a capture does to the minutiae: partial
contact (an ellipse of the fingertip touches the sensor), missed minutiae, spurious ones (oriented
along the flow like real false minutiae), a non-linear skin distortion that vanishes in the
contact centre and grows towards the rim, rotation and translation, and position/angle noise.
Deterministic from the seeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from padron.biometrics.fingerprint.extract import Chain
from padron.biometrics.fingerprint.minutiae import Minutiae
from padron.biometrics.fingerprint.template import create, to_envelope
from padron.domain.finger import FingerPosition
from padron.domain.template import Template
from padron.synth.fingerprint.master import choose_class
from padron.synth.fingerprint.orientation import Singularities, place_singularities
from padron.synth.fingerprint.params import FingerClass
from padron.synth.fingerprint.shape import Silhouette, random_silhouette

#: bump when the minutiae for the same seeds change (keys caches of synthetic templates)
TEMPLATE_GENERATOR_VERSION = 1
HEIGHT, WIDTH = 480, 400
F64 = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class TemplateSynthParams:
    """Tuning constants of template-level synthesis (px at 500 dpi)."""

    #: minutiae per 10,000 px^2 of fingertip on the master (padron's classic chain finds about
    #: this density on FVC prints; measured by benchmarks/dedup_scale.py --realism)
    density: float = 3.0
    #: no two master minutiae closer than this (px, scaled with the finger)
    min_distance: float = 9.0
    #: share of bifurcations (the rest are ridge endings)
    bifurcations: float = 0.45
    #: amplitude (rad) of the smooth random perturbation of the orientation field
    orientation_noise: float = 0.25
    #: contact ellipse half-axes as a fraction of the fingertip's
    contact: tuple[float, float] = (0.65, 1.0)
    #: share of the minutiae inside the contact region that the extractor misses
    missed: tuple[float, float] = (0.05, 0.25)
    #: spurious minutiae as a share of the true ones found
    spurious: tuple[float, float] = (0.05, 0.25)
    max_rotation_deg: float = 15.0
    max_shift: float = 25.0
    #: skin distortion: displacement (px) at the rim of the contact region
    distortion: tuple[float, float] = (3.0, 12.0)
    position_sd: float = 2.0
    angle_sd: float = 0.12


@dataclass(frozen=True, slots=True)
class MasterMinutiae:
    seed: int
    position: FingerPosition
    finger_class: FingerClass
    silhouette: Silhouette
    singularities: Singularities
    #: perturbation of the orientation field: (k, 4) rows of kx, ky, phase, amplitude
    waves: F64
    x: F64
    y: F64
    angle: F64
    kind: NDArray[np.uint8]

    def flow(self, x: F64, y: F64) -> F64:
        """The ridge orientation (radians in [0, pi)) at points of the master."""
        return _flow(self.finger_class, self.silhouette, self.singularities, self.waves, x, y)


def _flow(
    finger_class: FingerClass,
    silhouette: Silhouette,
    singularities: Singularities,
    waves: F64,
    x: F64,
    y: F64,
) -> F64:
    if finger_class is FingerClass.ARCH:
        # ridges as humps y = y0 - h exp(-(x-cx)^2 / 2s^2): slope dy/dx of the hump through the point
        s = silhouette.half_width * 0.55
        u = (x - silhouette.cx) / s
        h = np.clip((HEIGHT - y) / HEIGHT, 0.0, 1.0) * 0.9
        theta = np.arctan(h * u * np.exp(-0.5 * u * u))
    else:
        z = x + 1j * y
        theta = np.zeros_like(x)
        for cx, cy in singularities.cores:
            theta += 0.5 * np.angle(z - complex(cx, cy))
        for dx, dy in singularities.deltas:
            theta -= 0.5 * np.angle(z - complex(dx, dy))
    for kx, ky, phase, amplitude in waves:
        theta = theta + amplitude * np.sin(kx * x + ky * y + phase)
    return np.asarray(np.mod(theta, np.pi), dtype=np.float64)


def _inside(silhouette: Silhouette, x: F64, y: F64) -> NDArray[np.bool_]:
    s = silhouette
    dx = np.abs(x - s.cx) / s.half_width
    dy = (s.centre_y - y) / s.tip_height
    tip = (dx**s.exponent + np.clip(dy, 0, None) ** s.exponent) <= 1.0
    below = np.clip((y - s.centre_y) / max(HEIGHT - s.centre_y, 1.0), 0, None)
    band = dx <= 1.0 - 0.12 * below**2
    inside: NDArray[np.bool_] = np.where(dy > 0, tip, band) & (y <= s.bottom) & (y < HEIGHT) & (y >= 0)
    return inside


def _poisson_disk(rng: np.random.Generator, candidates: F64, wanted: int, min_distance: float) -> F64:
    """Greedy dart throwing over shuffled candidate points: keep a point if no kept one is nearer
    than ``min_distance``; stop at ``wanted``. Kept points are binned in a grid of
    ``min_distance`` cells, so each dart is checked against the 3 x 3 cells around it only (the
    same decisions as checking every kept point)."""
    kept: list[tuple[float, float]] = []
    cells: dict[tuple[int, int], list[tuple[float, float]]] = {}
    d2 = min_distance * min_distance
    for px, py in candidates[rng.permutation(len(candidates))].tolist():
        ci, cj = int(px // min_distance), int(py // min_distance)
        if any(
            (qx - px) ** 2 + (qy - py) ** 2 < d2
            for di in (-1, 0, 1)
            for dj in (-1, 0, 1)
            for qx, qy in cells.get((ci + di, cj + dj), ())
        ):
            continue
        kept.append((px, py))
        cells.setdefault((ci, cj), []).append((px, py))
        if len(kept) == wanted:
            break
    return np.array(kept, dtype=np.float64).reshape(-1, 2)


def master_minutiae(
    seed: int,
    position: FingerPosition | int,
    *,
    scale: float = 1.0,
    params: TemplateSynthParams | None = None,
) -> MasterMinutiae:
    """The true minutiae of finger ``position`` of synthetic individual ``seed``."""
    p = params or TemplateSynthParams()
    finger = FingerPosition(int(position))
    rng = np.random.default_rng([seed, int(finger), 0x7E4, TEMPLATE_GENERATOR_VERSION])
    finger_class = choose_class(finger, rng)
    silhouette = random_silhouette(rng, HEIGHT, WIDTH, scale)
    singularities = place_singularities(finger_class, silhouette, rng, scale)
    k = 3
    wavelength = rng.uniform(120, 260, k) * scale
    direction = rng.uniform(0, 2 * math.pi, k)
    waves = np.column_stack(
        [
            2 * math.pi / wavelength * np.cos(direction),
            2 * math.pi / wavelength * np.sin(direction),
            rng.uniform(0, 2 * math.pi, k),
            rng.uniform(0.3, 1.0, k) * p.orientation_noise,
        ]
    )
    # candidate points over the fingertip's bounding box, kept inside the silhouette
    area = float(np.pi * silhouette.half_width * (HEIGHT - silhouette.top) * 0.9)
    wanted = max(8, int(rng.poisson(p.density * area / 10_000)))
    m = 6 * wanted
    cand = np.column_stack(
        [
            rng.uniform(silhouette.cx - silhouette.half_width, silhouette.cx + silhouette.half_width, m),
            rng.uniform(silhouette.top, HEIGHT, m),
        ]
    )
    cand = cand[_inside(silhouette, cand[:, 0], cand[:, 1])]
    pts = _poisson_disk(rng, cand, wanted, p.min_distance * scale)
    x, y = pts[:, 0], pts[:, 1]
    # ISO/IEC 19794-2 angles turn counter-clockwise as seen (y up): minus the image-space flow
    flow = _flow(finger_class, silhouette, singularities, waves, x, y)
    angle = np.mod(-flow + math.pi * rng.integers(0, 2, len(x)), 2 * math.pi)
    kind = np.where(rng.random(len(x)) < p.bifurcations, 2, 1).astype(np.uint8)
    return MasterMinutiae(seed, finger, finger_class, silhouette, singularities, waves, x, y, angle, kind)


def impression_minutiae(
    master: MasterMinutiae, impression: int, *, params: TemplateSynthParams | None = None
) -> Minutiae:
    """The minutiae an extractor would report for impression ``impression`` of ``master``."""
    p = params or TemplateSynthParams()
    rng = np.random.default_rng([master.seed, int(master.position), 0x1A9, impression])
    s = master.silhouette
    # contact region: an ellipse around the fingertip's centre
    cx = s.cx + rng.normal(0, 0.12 * s.half_width)
    cy = s.centre_y + rng.normal(0, 0.15 * s.tip_height)
    ax = s.half_width * rng.uniform(*p.contact)
    ay = s.tip_height * 1.6 * rng.uniform(*p.contact)
    r = np.hypot((master.x - cx) / ax, (master.y - cy) / ay)
    keep = (r <= 1.0) & (rng.random(len(r)) >= rng.uniform(*p.missed))
    x, y, angle, kind = master.x[keep], master.y[keep], master.angle[keep], master.kind[keep]
    # spurious minutiae inside the contact region, oriented along the flow
    n_spurious = int(rng.poisson(rng.uniform(*p.spurious) * max(len(x), 1)))
    if n_spurious:
        t = rng.uniform(0, 2 * math.pi, n_spurious)
        rho = np.sqrt(rng.uniform(0, 1, n_spurious))
        sx, sy = cx + ax * rho * np.cos(t), cy + ay * rho * np.sin(t)
        inside = _inside(s, sx, sy)
        sx, sy = sx[inside], sy[inside]
        turn = math.pi * rng.integers(0, 2, len(sx)) + rng.normal(0, 0.3, len(sx))
        sa = np.mod(-master.flow(sx, sy) + turn, 2 * math.pi)
        x, y = np.concatenate([x, sx]), np.concatenate([y, sy])
        angle = np.concatenate([angle, sa])
        kind = np.concatenate([kind, rng.integers(1, 3, len(sx)).astype(np.uint8)])
    # skin distortion: a smooth displacement, nil in the contact centre, growing towards the rim
    amplitude = rng.uniform(*p.distortion)
    phase = rng.uniform(0, 2 * math.pi, 2)
    rr = np.clip(np.hypot((x - cx) / ax, (y - cy) / ay), 0, 1.2)
    grow = np.clip((rr - 0.35) / 0.65, 0, None) ** 2
    ux = amplitude * grow * np.sin(2 * math.pi * y / 300 + phase[0])
    uy = amplitude * grow * np.sin(2 * math.pi * x / 300 + phase[1])
    x, y = x + ux, y + uy
    # pose: rotation about the contact centre, translation
    phi = math.radians(rng.uniform(-p.max_rotation_deg, p.max_rotation_deg))
    tx, ty = rng.uniform(-p.max_shift, p.max_shift, 2)
    c, sn = math.cos(phi), math.sin(phi)
    # image y points down: a counter-clockwise rotation of the finger as seen, in ISO angles
    xr = cx + c * (x - cx) + sn * (y - cy) + tx
    yr = cy - sn * (x - cx) + c * (y - cy) + ty
    angle = angle + phi
    xr = xr + rng.normal(0, p.position_sd, len(xr))
    yr = yr + rng.normal(0, p.position_sd, len(yr))
    angle = np.mod(angle + rng.normal(0, p.angle_sd, len(angle)), 2 * math.pi)
    on = (xr >= 0) & (xr < WIDTH) & (yr >= 0) & (yr < HEIGHT)
    n = int(on.sum())
    return Minutiae(
        x=xr[on].astype(np.float32),
        y=yr[on].astype(np.float32),
        angle=angle[on].astype(np.float32),
        kind=kind[on].astype(np.uint8),
        quality=rng.integers(40, 95, n).astype(np.uint8),
    )


def synthetic_template(
    master: MasterMinutiae, impression: int, *, params: TemplateSynthParams | None = None
) -> Template:
    """A padron fingerprint template (cylinders built by padron's template builder) for one impression."""
    minutiae = impression_minutiae(master, impression, params=params)
    return to_envelope(create(minutiae, (HEIGHT, WIDTH), Chain.CLASSIC))
