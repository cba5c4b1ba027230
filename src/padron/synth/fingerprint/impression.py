"""One impression of a master print: what a sensor captures when the finger touches it once.

Steps, each a small function: pose (rotation about the contact centre, translation) composed with
a smooth non-linear skin distortion that is zero in the region of close contact and grows towards
the rim (after Cappelli, Maio & Maltoni's plastic distortion model, approximated by Gaussian
displacement bumps); ridge thickness from skin dryness / pressure (a threshold on the master
pattern: dry skin gives thin, broken ridges, wet skin thick, merged ones); an elliptical contact
region with soft edges (partial contact when it is small or off-centre, or when the pose pushes
the finger off the sensor); grey levels, uneven pressure, background, blur, noise and dirt.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from padron.synth.errors import SynthParameterError
from padron.synth.fingerprint.master import MasterPrint
from padron.synth.fingerprint.orientation import FloatImage, smooth_noise, upsample
from padron.synth.fingerprint.params import ImpressionParams

#: random-stream offset of impressions (stream 0 is the master)
_IMPRESSION_STREAM = 1


def _smoothstep(x: NDArray[np.floating]) -> FloatImage:
    t = np.clip(x, 0.0, 1.0)
    return np.asarray(t * t * (3 - 2 * t), dtype=np.float32)


@functools.lru_cache(maxsize=8)
def _grid(height: int, width: int) -> tuple[FloatImage, FloatImage]:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    y.setflags(write=False)
    x.setflags(write=False)
    return y, x


#: the smooth distortion field is computed on a grid of this step (px) and stretched
_COARSE_STEP = 8


def _bilinear(
    images: tuple[FloatImage, ...], rows: FloatImage, cols: FloatImage, fill: tuple[float, ...]
) -> list[FloatImage]:
    """Sample images (h, w) at fractional coordinates (1-D ``take``: several times faster than
    ``ndimage.map_coordinates`` or 2-D fancy indexing); outside the image, ``fill``."""
    h, w = images[0].shape
    r0 = np.floor(rows)
    c0 = np.floor(cols)
    fr = rows - r0
    fc = cols - c0
    valid = (r0 >= 0) & (r0 < h - 1) & (c0 >= 0) & (c0 < w - 1)
    index = (np.clip(r0, 0, h - 2).astype(np.int32) * w + np.clip(c0, 0, w - 2).astype(np.int32)).ravel()
    out = []
    for image, value in zip(images, fill, strict=True):
        flat = image.ravel()
        a, b = flat.take(index).reshape(h, w), flat.take(index + 1).reshape(h, w)
        c, d = flat.take(index + w).reshape(h, w), flat.take(index + w + 1).reshape(h, w)
        top = a + fc * (b - a)
        sampled = top + fr * (c + fc * (d - c) - top)
        out.append(np.where(valid, sampled, np.float32(value)).astype(np.float32))
    return out


def _source_coordinates(
    master: MasterPrint, p: ImpressionParams, rng: np.random.Generator
) -> tuple[NDArray[np.float32], NDArray[np.float32], float, float, float]:
    """For every output pixel, the master coordinates it shows; also the contact centre and
    its radius in output coordinates."""
    h, w = master.shape
    rows = np.nonzero(master.mask.any(axis=1))[0]
    cols = np.nonzero(master.mask.any(axis=0))[0]
    cy = float(rows[0] + 0.5 * (min(rows[-1], h - 1) - rows[0])) + rng.normal(0, 12)
    cx = float(0.5 * (cols[0] + cols[-1])) + rng.normal(0, 10)
    radius = 0.5 * float(cols[-1] - cols[0])
    angle = np.deg2rad(rng.uniform(-p.max_rotation, p.max_rotation))
    tx, ty = rng.uniform(-p.max_shift, p.max_shift, size=2)

    cos, sin = np.cos(angle), np.sin(angle)

    def to_finger(y: NDArray[np.float32], x: NDArray[np.float32]) -> tuple[FloatImage, FloatImage]:
        # output pixel -> finger frame: undo translation, then rotation about the contact centre
        ox, oy = x - cx - tx, y - cy - ty
        return (-sin * ox + cos * oy + cy).astype(np.float32), (cos * ox + sin * oy + cx).astype(np.float32)

    # non-linear distortion: bumps of displacement, damped in the close-contact region; smooth,
    # so computed on a coarse grid and stretched to full size
    cy_grid, cx_grid = np.mgrid[0 : h + _COARSE_STEP : _COARSE_STEP, 0 : w + _COARSE_STEP : _COARSE_STEP]
    gy, gx = to_finger(cy_grid.astype(np.float32), cx_grid.astype(np.float32))
    ramp = _smoothstep((np.hypot(gx - cx, gy - cy) / radius - 0.3) / 0.7)
    dx = np.zeros_like(gx)
    dy = np.zeros_like(gy)
    for _ in range(p.distortion_bumps):
        qx, qy = cx + rng.uniform(-1, 1) * radius, cy + rng.uniform(-1.2, 1.2) * radius
        ax, ay = rng.normal(0, p.distortion_amplitude, size=2)
        bump = np.exp(-((gx - qx) ** 2 + (gy - qy) ** 2) / (2 * p.distortion_radius**2))
        dx += ax * bump
        dy += ay * bump
    stretch_h, stretch_w = gy.shape[0] * _COARSE_STEP, gy.shape[1] * _COARSE_STEP
    full_dy = upsample(ramp * dy, stretch_h, stretch_w)[:h, :w]
    full_dx = upsample(ramp * dx, stretch_h, stretch_w)[:h, :w]
    y, x = _grid(h, w)
    sy, sx = to_finger(y, x)
    return sy + full_dy, sx + full_dx, cx + float(tx), cy + float(ty), radius


def _ridges(pattern: FloatImage, p: ImpressionParams, rng: np.random.Generator) -> FloatImage:
    """Ridge strength in [0, 1] (1 = full contact of a ridge) after dryness/pressure."""
    threshold = float(np.clip(rng.normal(p.dryness_mean, p.dryness_sd), -0.55, 0.55))
    ridge = _smoothstep((pattern - threshold + 0.3) / 0.6)
    if threshold > 0.1:  # dry skin: ridges break into islands
        share = p.dry_breaks * (threshold - 0.1) / 0.45
        texture = ndimage.gaussian_filter(rng.normal(0, 1, size=pattern.shape).astype(np.float32), 1.6)
        cut = np.quantile(texture, share)
        ridge = ridge * _smoothstep((texture - cut) / (0.3 * texture.std() + 1e-6))
    return ridge


def render_impression(
    master: MasterPrint, seed: int, *, index: int = 0, params: ImpressionParams | None = None
) -> NDArray[np.uint8]:
    """Impression ``index`` of set ``seed`` of ``master`` as an 8-bit grey image (dark ridges,
    light background), the size of the master, 500 dpi. Deterministic from (master seed,
    finger position, ``seed``, ``index``)."""
    p = params or ImpressionParams()
    if seed < 0 or index < 0:
        raise SynthParameterError(
            f"impression seeds are non-negative integers, not {seed}/{index}", seed=seed
        )
    rng = np.random.default_rng(
        np.random.SeedSequence([master.seed, int(master.position), _IMPRESSION_STREAM, seed, index])
    )
    h, w = master.shape
    src_r, src_c, ccx, ccy, radius = _source_coordinates(master, p, rng)
    pattern, inside = _bilinear((master.pattern, master.mask.astype(np.float32)), src_r, src_c, (-1.0, 0.0))

    ridge = _ridges(pattern, p, rng)

    # contact: an ellipse about the contact centre, soft-edged, within the finger
    y, x = _grid(h, w)
    scale = rng.uniform(p.contact_min, p.contact_max)
    ax_x, ax_y = radius * scale * rng.uniform(0.95, 1.1), radius * scale * rng.uniform(1.15, 1.45)
    ex = (x - ccx - rng.normal(0, 0.08) * radius) / ax_x
    ey = (y - ccy - rng.normal(0, 0.10) * radius) / ax_y
    rim = np.hypot(ex, ey) + 0.025 * smooth_noise(h, w, rng, (6, 5))  # an irregular, not elliptic, rim
    contact = _smoothstep((1.0 - rim) / 0.06) * _smoothstep((inside - 0.2) / 0.6)
    pressure = np.clip(1.0 + 0.18 * smooth_noise(h, w, rng, (4, 4)), 0.55, 1.0)
    strength = contact * pressure

    ridge_grey = rng.uniform(*p.ridge_grey)
    valley_grey = rng.uniform(*p.valley_grey)
    background = rng.uniform(*p.background_grey) + 4.0 * smooth_noise(h, w, rng, (3, 3))
    valley = background + (valley_grey - background) * _smoothstep(contact * 1.5)
    image = valley - (valley - ridge_grey) * ridge * strength

    for _ in range(int(rng.integers(0, p.spots + 1))):  # dirt and latent residue
        r, c = int(rng.integers(0, h)), int(rng.integers(0, w))
        size, depth = rng.uniform(1.0, 3.5), rng.uniform(20, 80)
        r0, r1, c0, c1 = max(r - 12, 0), min(r + 13, h), max(c - 12, 0), min(c + 13, w)
        yy, xx = y[r0:r1, c0:c1], x[r0:r1, c0:c1]
        image[r0:r1, c0:c1] -= depth * np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / (2 * size**2))

    image = ndimage.gaussian_filter(image, rng.uniform(*p.blur_sigma))
    image += rng.normal(0, rng.uniform(*p.noise_sd), size=image.shape)
    result: NDArray[np.uint8] = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return result
