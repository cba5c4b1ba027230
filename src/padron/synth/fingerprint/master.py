"""The master fingerprint: a finger's whole ridge pattern, grown from random seeds by iterated,
orientation-tuned Gabor filtering inside the fingertip silhouette (the SFinGe method of Cappelli,
Maio & Maltoni).

Filtering is done in the frequency domain: a bank of Gabor transfer functions for
``orientation_bins`` quantized orientations and one ridge period is built directly on the rfft
grid, the image is transformed once per iteration and every bank member applied with one batched
inverse FFT. Each pixel takes the response of its own orientation, linearly interpolated between
the two nearest bins. The growth iterations use the finger's mean period; the refinement
iterations use two periods bracketing the finger's range and interpolate per pixel by the period
map, so the ridge spacing follows the density map. Ridge endings and bifurcations appear where
ridges grown from different seeds meet out of phase, as in SFinGe.
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
from padron.synth.fingerprint.orientation import (
    FloatImage,
    Singularities,
    orientation_field,
    place_singularities,
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


def _grow(
    p: MasterParams,
    rng: np.random.Generator,
    mask: NDArray[np.bool_],
    theta: FloatImage,
    mean_period: float,
    period: FloatImage,
) -> FloatImage:
    """Seeds, growth and refinement at 1/``growth_scale`` resolution (the period shrinks with it),
    then a cubic upsampling and ``final_iterations`` passes at full resolution."""
    k = p.growth_scale
    small_mask = mask[::k, ::k]
    small_theta = theta[::k, ::k]
    small_period = period[::k, ::k] / k
    shape = (int(small_mask.shape[0]), int(small_mask.shape[1]))

    n_seeds = max(1, int(mask.sum() / p.seed_area))
    ys, xs = np.nonzero(small_mask)
    chosen = rng.choice(ys.size, size=min(n_seeds, ys.size), replace=False)
    image = np.zeros(shape, dtype=np.float32)
    image[ys[chosen], xs[chosen]] = rng.choice((-1.0, 1.0), size=chosen.size)

    apply = OrientedFilter(small_theta, p.orientation_bins)
    base = gabor_bank(*shape, p.orientation_bins, _quantized(mean_period / k), p.sigma_across, p.sigma_along)
    for _ in range(p.growth_iterations):
        image = _saturate(apply(scipy.fft.rfft2(image, workers=1), base, shape), small_mask)
    if p.refine_iterations:
        low, high = _quantized(float(small_period.min())), _quantized(float(small_period.max()))
        high = max(high, low + 0.125)
        bank_low = gabor_bank(*shape, p.orientation_bins, low, p.sigma_across, p.sigma_along)
        bank_high = gabor_bank(*shape, p.orientation_bins, high, p.sigma_across, p.sigma_along)
        mix = np.clip((small_period - low) / (high - low), 0, 1).astype(np.float32)
        for _ in range(p.refine_iterations):
            spectrum = scipy.fft.rfft2(image, workers=1)
            a = apply(spectrum, bank_low, shape)
            b = apply(spectrum, bank_high, shape)
            image = _saturate(a + mix * (b - a), small_mask)
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
    singularities = place_singularities(cls, silhouette, rng, given.scale)
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
    )
    mean_period, period = period_map(p, singularities, silhouette.centre_y, rng)
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
