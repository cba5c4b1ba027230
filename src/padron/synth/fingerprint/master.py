"""The master fingerprint: a finger's whole ridge pattern, grown from random seeds by iterated,
orientation-tuned Gabor filtering inside the fingertip silhouette (the SFinGe method of Cappelli,
Maio & Maltoni).

Filtering is done in the frequency domain: a bank of Gabor transfer functions for
``orientation_bins`` quantized orientations and one ridge period is built directly on the rfft
grid, the image is transformed once per iteration and every bank member applied with one batched
inverse FFT. Each pixel takes the response of its own orientation, linearly interpolated between
the two nearest bins. Every iteration applies banks at ``period_levels`` periods spanning the
finger's range and interpolates per pixel by the period map, so the ridge spacing follows it.
Then random dislocation pairs of random polarity are warped in (:func:`_dislocations`). Ridge
endings and bifurcations come from them, from where ridges grown from different seeds meet out of
phase (as in SFinGe), and from what the flow still forces (:mod:`.flow` relaxes it first, so that
few minutiae are forced: forced ones all point one way and made different fingers look alike).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import scipy.fft
from numpy.typing import NDArray
from scipy import ndimage

from padron.domain.finger import FingerPosition
from padron.synth.errors import SynthParameterError
from padron.synth.fingerprint.density import period_map
from padron.synth.fingerprint.flow import relax_flow
from padron.synth.fingerprint.orientation import (
    FloatImage,
    Singularities,
    orientation_field,
    place_singularities,
    smooth_orientation,
    vary_singularities,
)
from padron.synth.fingerprint.params import (
    FingerClass,
    MasterParams,
    class_probabilities,
)
from padron.synth.fingerprint.shape import Silhouette, random_silhouette


@dataclass(frozen=True, slots=True, eq=False)
class MasterPrint:
    """One synthetic finger. ``pattern`` is in [-1, 1] in steps of 1/127 (so that it survives the
    8-bit cache exactly), ridges positive, 0 outside ``mask``. ``orientation`` and ``period`` (the
    fields it was grown from) are kept only when it was just generated, not when read from a cache."""

    seed: int
    position: FingerPosition
    finger_class: FingerClass
    pattern: FloatImage
    mask: NDArray[np.bool_]
    mean_period: float
    singularities: Singularities
    orientation: FloatImage | None = None
    period: FloatImage | None = None

    @property
    def shape(self) -> tuple[int, int]:
        h, w = self.pattern.shape
        return int(h), int(w)


def finger_rng(seed: int, position: FingerPosition, stream: int = 0) -> np.random.Generator:
    """Independent random stream for (seed, finger position, purpose)."""
    if seed < 0:
        raise SynthParameterError(f"seeds are non-negative integers, not {seed}", seed=seed)
    return np.random.default_rng(np.random.SeedSequence([seed, int(position), stream]))


#: a finger needs four banks (growth, two refinement periods, full resolution) of periods
#: quantized to 1/8 px; about 60-90 distinct ones cover a population (1-5 MB each), so a cache of
#: 16 thrashed and rebuilt two banks per master (a fifth of a master's processor time)
@functools.lru_cache(maxsize=128)
def gabor_bank(
    height: int, width: int, bins: int, period: float, sigma_across: float, sigma_along: float
) -> NDArray[np.float32]:
    """Transfer functions (bins, height, width // 2 + 1) of even Gabor filters tuned to ridges of
    orientation ``k * pi / bins`` and ``period`` px; the spatial Gaussian has standard deviations
    ``sigma_across * period`` across and ``sigma_along * period`` along the ridges."""
    v = np.fft.fftfreq(height)[:, None]
    u = np.fft.rfftfreq(width)[None, :]
    f0 = 1.0 / period
    s_across = 1.0 / (2 * np.pi * sigma_across * period)
    s_along = 1.0 / (2 * np.pi * sigma_along * period)
    bank = np.empty((bins, height, width // 2 + 1), dtype=np.float32)
    for k in range(bins):
        normal = k * np.pi / bins + np.pi / 2  # the ridge wave travels across the ridges
        a = u * np.cos(normal) + v * np.sin(normal)
        b = -u * np.sin(normal) + v * np.cos(normal)
        across = np.exp(-((a - f0) ** 2) / (2 * s_across**2)) + np.exp(-((a + f0) ** 2) / (2 * s_across**2))
        bank[k] = across * np.exp(-(b**2) / (2 * s_along**2))
    return bank


class OrientedFilter:
    """Applies the bank with per-pixel orientation selection."""

    def __init__(self, theta: FloatImage, bins: int) -> None:
        position = np.mod(theta, np.pi) / np.pi * bins
        lower = np.floor(position).astype(np.intp)
        self.weight = (position - lower).astype(np.float32)
        self.lower = (lower % bins)[None]
        self.upper = ((lower + 1) % bins)[None]

    def __call__(
        self, spectrum: NDArray[np.complex64], bank: NDArray[np.float32], shape: tuple[int, int]
    ) -> FloatImage:
        responses = scipy.fft.irfft2(spectrum[None] * bank, s=shape, axes=(-2, -1), workers=1)
        lo = np.take_along_axis(responses, self.lower, axis=0)[0]
        hi = np.take_along_axis(responses, self.upper, axis=0)[0]
        result: FloatImage = (lo + self.weight * (hi - lo)).astype(np.float32)
        return result


def _saturate(response: FloatImage, mask: NDArray[np.bool_]) -> FloatImage:
    """Scale so that established ridges saturate at +-1 while weak fronts keep growing."""
    inside = np.abs(response[mask])
    scale = float(np.percentile(inside, 98)) if inside.size else 0.0
    if scale <= 0:
        return response
    result: FloatImage = np.clip(response * (2.5 / scale), -1.0, 1.0) * mask
    return result.astype(np.float32)


def _quantized(period: float) -> float:
    """Periods rounded to 1/8 px, so that banks are shared between fingers (lru_cache)."""
    return round(period * 8) / 8


class PeriodBlend:
    """Gabor banks at ``period_levels`` periods spanning most of a finger's range; each pixel
    takes the response interpolated between the two levels bracketing its own period (the
    nearest level's beyond them)."""

    def __init__(
        self, shape: tuple[int, int], p: MasterParams, period: FloatImage, mask: NDArray[np.bool_]
    ) -> None:
        inside = period[mask] if mask.any() else period.ravel()
        # the banks span the 10th-90th percentile: spanning the extremes (1.35x apart) left
        # most pixels between two distant banks, whose blend grew ridges ~8% sparser than the map
        low, high = (float(v) for v in np.quantile(inside, [0.1, 0.9]))
        levels = sorted({_quantized(v) for v in np.linspace(low, max(high, low + 0.125), p.period_levels)})
        if len(levels) == 1:
            levels.append(levels[0] + 0.125)
        self.banks = [
            gabor_bank(*shape, p.orientation_bins, v, p.sigma_across, p.sigma_along) for v in levels
        ]
        position = np.interp(period, levels, np.arange(len(levels), dtype=np.float64))
        self.lower = np.minimum(np.floor(position).astype(np.intp), len(levels) - 2)
        self.weight = (position - self.lower).astype(np.float32)
        self.shape = shape

    def __call__(self, apply: OrientedFilter, image: FloatImage) -> FloatImage:
        spectrum = scipy.fft.rfft2(image, workers=1)
        responses = [apply(spectrum, bank, self.shape) for bank in self.banks]
        out = np.zeros(self.shape, dtype=np.float32)
        for k in range(len(responses) - 1):
            blend = responses[k] + self.weight * (responses[k + 1] - responses[k])
            out = np.where(self.lower == k, blend, out)
        return out


def _dislocations(
    image: FloatImage,
    theta: FloatImage,
    period: FloatImage,
    mask: NDArray[np.bool_],
    rng: np.random.Generator,
    area: float,
    separation: tuple[float, float],
) -> FloatImage:
    """Random dislocation pairs warped into a grown pattern: around a segment of 1-3 periods in a
    random direction, the ridges are displaced across the flow by up to one period with a
    phase that winds by +-2pi around the segment's ends (zero beyond a few periods), so that one
    ridge more runs between the two ends: two minutiae of opposite polarity, ending or
    bifurcation as the local phase falls. ``area``: square px of fingertip per pair."""
    count = int(rng.poisson(mask.sum() / area)) if area > 0 else 0
    if count == 0:
        return image
    h, w = image.shape
    depth = ndimage.distance_transform_edt(mask)
    ys, xs = np.nonzero(depth > 2.0 * float(np.median(period[mask])))
    if ys.size == 0:
        return image
    shift_y = np.zeros((h, w), dtype=np.float64)
    shift_x = np.zeros((h, w), dtype=np.float64)
    for _ in range(count):
        i = int(rng.integers(ys.size))
        cy, cx = float(ys[i]), float(xs[i])
        ridge, p0 = float(theta[ys[i], xs[i]]), float(period[ys[i], xs[i]])
        length = rng.uniform(*separation) * p0
        direction = rng.uniform(0.0, np.pi)
        sign = float(rng.choice((-1.0, 1.0)))
        reach = 0.5 * length + 3.0 * p0
        r0, r1 = max(int(cy - reach), 0), min(int(cy + reach) + 2, h)
        c0, c1 = max(int(cx - reach), 0), min(int(cx + reach) + 2, w)
        yy, xx = np.mgrid[r0:r1, c0:c1].astype(np.float64)
        z = (xx - cx) + 1j * (yy - cy)
        half = 0.5 * length * np.exp(1j * direction)
        phase = np.angle((z + half) / (z - half + 1e-9))  # winds around the ends, jumps by 2pi between
        fade = np.clip((reach - np.abs(z)) / (2.25 * p0), 0.0, 1.0)
        u = sign * fade * fade * (3 - 2 * fade) * phase * p0 / (2 * np.pi)
        shift_x[r0:r1, c0:c1] += u * -np.sin(ridge)  # across the ridges: the normal (-sin, cos)
        shift_y[r0:r1, c0:c1] += u * np.cos(ridge)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    warped = ndimage.map_coordinates(image, [y - shift_y, x - shift_x], order=1, mode="nearest")
    result: FloatImage = (warped * mask).astype(np.float32)
    return result


def _grow(
    p: MasterParams,
    rng: np.random.Generator,
    mask: NDArray[np.bool_],
    theta: FloatImage,
    mean_period: float,
    period: FloatImage,
) -> FloatImage:
    """Seeds, growth and refinement at 1/``growth_scale`` resolution (the period shrinks with it),
    all following the period map, then the random dislocations, a cubic upsampling and
    ``final_iterations`` passes at full resolution."""
    k = p.growth_scale
    small_mask = mask[::k, ::k]
    small_theta = theta[::k, ::k]
    small_period = (period[::k, ::k] / k).astype(np.float32)
    shape = (int(small_mask.shape[0]), int(small_mask.shape[1]))

    n_seeds = max(1, int(mask.sum() / p.seed_area))
    ys, xs = np.nonzero(small_mask)
    chosen = rng.choice(ys.size, size=min(n_seeds, ys.size), replace=False)
    image = np.zeros(shape, dtype=np.float32)
    image[ys[chosen], xs[chosen]] = rng.choice((-1.0, 1.0), size=chosen.size)

    apply = OrientedFilter(small_theta, p.orientation_bins)
    blend = PeriodBlend(shape, p, small_period, small_mask)
    for _ in range(p.growth_iterations + p.refine_iterations):
        image = _saturate(blend(apply, image), small_mask)
    image = _dislocations(
        image,
        small_theta,
        small_period,
        small_mask,
        rng,
        p.dislocation_area / (k * k),
        p.dislocation_separation,
    )
    if k > 1:
        h, w = mask.shape
        image = ndimage.zoom(image, k, order=3, mode="nearest")[:h, :w].astype(np.float32)
        image = np.pad(image, ((0, h - image.shape[0]), (0, w - image.shape[1])), mode="edge")
        apply = OrientedFilter(theta, p.orientation_bins)
        full = gabor_bank(h, w, p.orientation_bins, _quantized(mean_period), p.sigma_across, p.sigma_along)
        for _ in range(p.final_iterations):
            image = _saturate(apply(scipy.fft.rfft2(image, workers=1), full, (h, w)), mask)
    return image * mask


def choose_class(position: FingerPosition, rng: np.random.Generator) -> FingerClass:
    probabilities = class_probabilities(position)
    classes = list(probabilities)
    return classes[int(rng.choice(len(classes), p=list(probabilities.values())))]


def generate_master(
    seed: int,
    position: FingerPosition,
    params: MasterParams | None = None,
    *,
    finger_class: FingerClass | None = None,
) -> MasterPrint:
    """The master print of finger ``position`` of the synthetic individual ``seed`` (deterministic).
    The class is drawn from the per-position frequencies unless ``finger_class`` forces it."""
    given = params or MasterParams()
    p = given.effective()
    rng = finger_rng(seed, position)
    drawn = choose_class(position, rng)
    cls = finger_class or drawn
    h, w = p.height, p.width
    silhouette: Silhouette = random_silhouette(rng, h, w, given.scale)
    mask = silhouette.mask(h, w)
    singularities = vary_singularities(
        place_singularities(cls, silhouette, rng, given.scale),
        rng,
        shift=p.singularity_shift,
        rotation=p.singularity_rotation,
        stretch=p.singularity_stretch,
        jitter=p.singularity_jitter,
        scale=given.scale,
    )
    theta = orientation_field(
        cls,
        silhouette,
        singularities,
        h,
        w,
        rng,
        noise=p.orientation_noise,
        smoothing=p.orientation_smoothing,
        scale=given.scale,
        hairpin_strength=p.loop_hairpin,
    )
    delta, log_period = relax_flow(theta, mask, p.flow, given.scale)
    theta = smooth_orientation(np.mod(theta + delta, np.pi).astype(np.float32), p.orientation_smoothing)
    log_period -= float(np.median(log_period[mask]))
    mean_period, period = period_map(p, singularities, silhouette.centre_y, rng, log_period, mask)
    pattern = (np.rint(_grow(p, rng, mask, theta, mean_period, period) * 127) / 127).astype(np.float32)
    return MasterPrint(
        seed=seed,
        position=position,
        finger_class=cls,
        pattern=pattern,
        mask=mask,
        orientation=theta,
        period=period,
        mean_period=mean_period,
        singularities=singularities,
    )
