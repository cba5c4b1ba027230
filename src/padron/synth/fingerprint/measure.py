"""Measurements of a fingerprint image used by the tests and the benchmark to audit realism:
dominant ridge period (FFT), foreground coverage, and a plain minutiae count (binarize, Zhang-Suen
thinning, crossing number) -- a yardstick independent of padron's production extractor.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage


def ridge_period(
    image: NDArray[np.floating] | NDArray[np.uint8], mask: NDArray[np.bool_] | None = None
) -> float:
    """Dominant ridge period in px: the radius of the peak of the radially summed power spectrum
    (8-bit images are read with dark ridges; any mean is removed first)."""
    a = np.asarray(image, dtype=np.float64)
    a = np.where(mask, a - a[mask].mean(), 0.0) if mask is not None else a - a.mean()
    power = np.abs(np.fft.fftshift(np.fft.fft2(a))) ** 2
    h, w = a.shape
    fy = np.fft.fftshift(np.fft.fftfreq(h))[:, None]
    fx = np.fft.fftshift(np.fft.fftfreq(w))[None, :]
    radius = np.hypot(fy, fx)
    bins = np.linspace(1 / 25, 1 / 4, 120)  # periods 4..25 px
    which = np.digitize(radius.ravel(), bins)
    sums = np.bincount(which, weights=power.ravel(), minlength=bins.size + 1)[1 : bins.size]
    centres = (bins[:-1] + bins[1:]) / 2
    return float(1.0 / centres[int(np.argmax(sums))])


def _neighbours(b: NDArray[np.uint8]) -> list[NDArray[np.uint8]]:
    p = np.pad(b, 1)
    h, w = b.shape
    # P2..P9 clockwise from north
    offsets = ((0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0), (0, 0))
    return [p[r : r + h, c : c + w] for r, c in offsets]


def thin(binary: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Zhang-Suen thinning (vectorized); a one-pixel-wide skeleton of the ridges."""
    b = binary.astype(np.uint8)
    while True:
        changed = False
        for step in (0, 1):
            n = _neighbours(b)
            count = sum(x.astype(np.int32) for x in n)
            ring = [*n, n[0]]
            transitions = sum(((ring[i] == 0) & (ring[i + 1] == 1)).astype(np.int32) for i in range(8))
            p2, p4, p6, p8 = n[0], n[2], n[4], n[6]
            if step == 0:
                c1, c2 = p2 * p4 * p6, p4 * p6 * p8
            else:
                c1, c2 = p2 * p4 * p8, p2 * p6 * p8
            remove = (b == 1) & (count >= 2) & (count <= 6) & (transitions == 1) & (c1 == 0) & (c2 == 0)
            if remove.any():
                b[remove] = 0
                changed = True
        if not changed:
            return b.astype(bool)


def minutiae(
    ridges: NDArray[np.bool_], region: NDArray[np.bool_], *, margin: int = 12
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """(ridge endings, bifurcations) as (n, 2) arrays of (row, col), by the crossing number on the
    skeleton, ignoring points within ``margin`` px of the edge of ``region`` and skeleton spurs
    shorter than ~ a ridge period (these come from noise, not from the pattern)."""
    skeleton = thin(ridges & region)
    n = _neighbours(skeleton.astype(np.uint8))
    ring = [*n, n[0]]
    crossing = sum(np.abs(ring[i].astype(np.int32) - ring[i + 1]) for i in range(8)) // 2
    inner = ndimage.binary_erosion(region, iterations=margin)
    endings = skeleton & (crossing == 1) & inner
    bifurcations = skeleton & (crossing == 3) & inner
    return np.argwhere(endings), np.argwhere(bifurcations)


def master_minutiae_count(pattern: NDArray[np.floating], mask: NDArray[np.bool_]) -> int:
    endings, bifurcations = minutiae(pattern > 0, mask)
    return int(len(endings) + len(bifurcations))


def estimate_orientation(
    image: NDArray[np.floating] | NDArray[np.uint8], sigma: float = 8.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Ridge orientation (radians in [0, pi), image coordinates) and coherence in [0, 1] from the
    gradient structure tensor smoothed with a Gaussian of ``sigma`` px."""
    a = np.asarray(image, dtype=np.float64)
    gy = ndimage.sobel(a, axis=0)
    gx = ndimage.sobel(a, axis=1)
    gxx = ndimage.gaussian_filter(gx * gx, sigma)
    gyy = ndimage.gaussian_filter(gy * gy, sigma)
    gxy = ndimage.gaussian_filter(gx * gy, sigma)
    # the gradient is across the ridges: ridge direction = gradient direction + 90 degrees
    theta = np.mod(0.5 * np.arctan2(2 * gxy, gxx - gyy) + np.pi / 2, np.pi)
    coherence = np.hypot(gxx - gyy, 2 * gxy) / (gxx + gyy + 1e-9)
    return theta, coherence


def foreground(image: NDArray[np.uint8], block: int = 16, threshold: float = 12.0) -> NDArray[np.bool_]:
    """Blocks whose grey-level standard deviation exceeds ``threshold`` (ridges present)."""
    a = np.asarray(image, dtype=np.float64)
    h, w = (a.shape[0] // block) * block, (a.shape[1] // block) * block
    blocks = a[:h, :w].reshape(h // block, block, w // block, block)
    std = blocks.std(axis=(1, 3))
    fg = np.zeros(a.shape, dtype=bool)
    fg[:h, :w] = np.repeat(np.repeat(std > threshold, block, axis=0), block, axis=1)
    return fg


def ridge_correlation(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> float:
    """Pearson correlation of the band-passed grey levels (ridge periods 6-14 px) where both
    images show ridges, without any alignment: meaningful for impressions taken in the same pose
    (the tests fix the pose to check that the ridge pattern survives distortion, dryness and noise)."""

    def band(image: NDArray[np.uint8]) -> NDArray[np.float64]:
        x = np.asarray(image, dtype=np.float64)
        result: NDArray[np.float64] = ndimage.gaussian_filter(x, 1.5) - ndimage.gaussian_filter(x, 4.0)
        return result

    both = foreground(a) & foreground(b)
    if both.sum() < 100:
        return 0.0
    return float(np.corrcoef(band(a)[both], band(b)[both])[0, 1])


def enhance(image: NDArray[np.uint8], period: float = 9.0) -> NDArray[np.float32]:
    """Contextual (Gabor) enhancement of a real or synthetic print: each pixel filtered by the
    Gabor filter of its estimated ridge orientation (the generator's own filter bank), ridges
    positive. Used to count minutiae in the same way on real and synthetic images."""
    import scipy.fft

    from padron.synth.fingerprint.master import OrientedFilter, gabor_bank

    a = 255.0 - np.asarray(image, dtype=np.float32)
    a = a - ndimage.gaussian_filter(a, 8)
    theta, _ = estimate_orientation(a)
    h, w = a.shape
    bank = gabor_bank(h, w, 16, round(period * 8) / 8, 0.5, 0.8)
    return OrientedFilter(theta.astype(np.float32), 16)(
        scipy.fft.rfft2(a, workers=1).astype(np.complex64), bank, (h, w)
    )


def image_minutiae_count(image: NDArray[np.uint8]) -> int:
    """Minutiae of an impression: enhance, binarize at 0, thin, crossing number, inside the
    eroded foreground -- the same yardstick for real and synthetic prints (not padron's extractor)."""
    region = ndimage.binary_erosion(foreground(image), iterations=8)
    endings, bifurcations = minutiae(enhance(image) > 0, region)
    return int(len(endings) + len(bifurcations))
