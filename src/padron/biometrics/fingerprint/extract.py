"""Minutiae extraction with pyfing: two selectable chains.

``classic``: GMFS segmentation -> GBFOE orientations -> XSFFE ridge period -> GBFEN Gabor
enhancement -> SBMEX skeleton minutiae.  ``leader``: pyfing's end-to-end LEADER network, with
pyfing's weights, run on onnxruntime (:mod:`leader`) for the minutiae, GMFS for the foreground
(and for the crop).  Both work at 500 dpi.

Engines are built lazily, once per process, on first use (nothing at import time).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from padron.biometrics.fingerprint.errors import FingerprintDependencyError, UnknownExtractorError
from padron.biometrics.fingerprint.image import NOMINAL_DPI, FingerprintImage
from padron.biometrics.fingerprint.leader import FastLeader, foreground_window
from padron.biometrics.fingerprint.minutiae import Minutiae, MinutiaType

BoolImage = npt.NDArray[np.bool_]


class Chain(StrEnum):
    CLASSIC = "classic"
    LEADER = "leader"


#: The default chain (see README, "Fingerprint"): LEADER's error rates on the six FVC B sets are
#: a third to a tenth of the classic chain's, for about five times the extraction time; the
#: classic chain stays selectable where extraction time matters more.
DEFAULT_CHAIN = Chain.LEADER

#: Bumped whenever a chain's output changes (it keys the extraction cache).
EXTRACTOR_VERSIONS: dict[Chain, str] = {
    Chain.CLASSIC: "pyfing-0.7.3-classic-fftgabor-raw-5",
    Chain.LEADER: "pyfing-0.7.3-leader-onnx20-crop32q-6",
}

#: Minutiae are extracted (and cached) down to a low quality, then each chain keeps those at or
#: above its own floor (0-100 scale), so that the floors can be tuned without extracting again.
RAW_QUALITY = {Chain.CLASSIC: 0.0, Chain.LEADER: 0.3}
QUALITY_FLOOR = {Chain.CLASSIC: 10, Chain.LEADER: 50}

#: LEADER sees only the foreground's bounding box plus LEADER_MARGIN pixels, widened to its
#: 32-pixel grid, when that removes at least LEADER_CROP_SAVING of the network's input (frames
#: with much background, such as FVC2004 DB1's 640 x 480: median saving 49%); otherwise it sees
#: the whole image exactly as pyfing does. Cropping moves a few minutiae (5 of 1,161 by more
#: than a pixel on 30 FVC prints), so it is kept to where it pays (README, "Fingerprint").
LEADER_MARGIN = 32
LEADER_CROP_SAVING = 0.25

_TYPES = {"E": MinutiaType.ENDING, "B": MinutiaType.BIFURCATION}


def parse_chain(name: str | Chain) -> Chain:
    try:
        return Chain(str(name).lower())
    except ValueError:
        raise UnknownExtractorError(
            f"unknown extraction chain {name!r}; choose one of {[c.value for c in Chain]}", chain=str(name)
        ) from None


@dataclass(frozen=True, slots=True)
class Extraction:
    """What one chain found in one image: minutiae, the foreground, and the time it took.

    ``seconds`` is processor time of this process (``time.process_time``), not wall-clock time:
    on a machine shared with other jobs it is the figure that stays comparable between runs.
    With thread pools pinned to one thread it is the time on one core.
    """

    chain: Chain
    minutiae: Minutiae
    foreground: BoolImage
    seconds: float


class _Engines:
    """pyfing's algorithm objects, built on first use and reused by every later call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._objects: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        with self._lock:
            if name not in self._objects:
                self._objects[name] = self._build(name)
            return self._objects[name]

    @staticmethod
    def _build(name: str) -> Any:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        try:
            import pyfing
        except ImportError as error:  # pragma: no cover - depends on the installed extra
            raise FingerprintDependencyError(f"pyfing is not installed: {error}") from None
        factories: dict[str, Any] = {
            "gmfs": pyfing.Gmfs,
            "gbfoe": pyfing.Gbfoe,
            "xsffe": pyfing.Xsffe,
            "gbfen": pyfing.Gbfen,
            "sbmex": lambda: pyfing.Sbmex(
                pyfing.SbmexParameters(minutia_quality_threshold=RAW_QUALITY[Chain.CLASSIC])
            ),
            "leader": lambda: FastLeader(RAW_QUALITY[Chain.LEADER]),
        }
        return factories[name]()


_ENGINES = _Engines()


def _to_minutiae(found: list[Any]) -> Minutiae:
    if not found:
        return Minutiae.empty()
    return Minutiae.from_lists(
        [m.x for m in found],
        [m.y for m in found],
        [float(m.direction) for m in found],
        [int(_TYPES.get(m.type, MinutiaType.OTHER)) for m in found],
        [round(100 * float(m.quality)) for m in found],
    )


def _foreground(pixels: npt.NDArray[np.uint8]) -> BoolImage:
    mask = _ENGINES.get("gmfs").run(pixels)
    return np.asarray(mask) > 0


_spectra: dict[tuple[int, int], list[npt.NDArray[np.complex64] | None]] = {}
_spectra_lock = threading.Lock()


def gabor_enhance(
    pixels: npt.NDArray[np.uint8], orientations: npt.NDArray[np.floating], periods: npt.NDArray[np.floating]
) -> npt.NDArray[np.uint8]:
    """pyfing's GBFEN, computed with FFT convolution instead of one ``cv2.filter2D`` per filter.

    Same Gabor bank, same per-pixel choice of filter (by local orientation and ridge period), same
    reflected borders and the same clipping to uint8, so the output is pixel-identical to
    ``pyfing.Gbfen().run`` (a test checks it); it is about ten times faster because the image is
    transformed once and the filters' spectra are cached per padded image size.
    """
    import cv2
    import scipy.fft as sfft

    gbfen = _ENGINES.get("gbfen")
    p = gbfen.parameters
    bank: list[npt.NDArray[np.float32]] = gbfen._gabor_bank
    index = gbfen._gabor_bank_indices(
        orientations, periods, p.orientations_count, p.period_min, p.period_max, p.periods_count
    )
    half = max(f.shape[0] for f in bank) // 2
    source = cv2.copyMakeBorder(cv2.bitwise_not(pixels), half, half, half, half, cv2.BORDER_REFLECT_101)
    fh = sfft.next_fast_len(source.shape[0], real=True)
    fw = sfft.next_fast_len(source.shape[1], real=True)
    spectrum = sfft.rfft2(source.astype(np.float32), s=(fh, fw), workers=1)
    with _spectra_lock:
        cached = _spectra.setdefault((fh, fw), [None] * len(bank))
    h, w = pixels.shape
    out = np.zeros((h, w), dtype=np.float32)
    for i in np.unique(index):
        kernel = bank[int(i)]
        spectrum_k = cached[int(i)]
        if spectrum_k is None:
            spectrum_k = sfft.rfft2(kernel[::-1, ::-1], s=(fh, fw), workers=1).astype(np.complex64)
            cached[int(i)] = spectrum_k
        r = kernel.shape[0] // 2
        response = sfft.irfft2(spectrum * spectrum_k, s=(fh, fw), workers=1)
        where = index == i
        out[where] = response[half + r : half + r + h, half + r : half + r + w][where]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def select(extraction: Extraction, floor: int | None = None) -> Extraction:
    """Keep the minutiae at or above the chain's quality floor (0-100; default QUALITY_FLOOR)."""
    keep = np.nonzero(
        extraction.minutiae.quality >= (QUALITY_FLOOR[extraction.chain] if floor is None else floor)
    )
    return Extraction(
        chain=extraction.chain,
        minutiae=extraction.minutiae.take(keep[0]),
        foreground=extraction.foreground,
        seconds=extraction.seconds,
    )


def extract(image: FingerprintImage, chain: Chain | str = DEFAULT_CHAIN) -> Extraction:
    """Find the minutiae of a 500-dpi image with the chosen chain, down to the low ``RAW_QUALITY``
    (apply :func:`select` for the chain's own floor)."""
    chain = parse_chain(chain)
    pixels = image.pixels
    start = time.process_time()
    mask_u8 = np.asarray(_ENGINES.get("gmfs").run(pixels), dtype=np.uint8)
    if chain is Chain.CLASSIC:
        orientations = _ENGINES.get("gbfoe").run(pixels, mask_u8, NOMINAL_DPI)[0]
        periods = _ENGINES.get("xsffe").run(pixels, mask_u8, orientations, NOMINAL_DPI)
        enhanced = gabor_enhance(pixels, orientations, periods)
        found = _ENGINES.get("sbmex").run(enhanced, mask_u8, NOMINAL_DPI)
    else:
        found = _ENGINES.get("leader").run(
            pixels, foreground_window(mask_u8 > 0, LEADER_MARGIN), min_saving=LEADER_CROP_SAVING
        )
    minutiae = _to_minutiae(found)
    return Extraction(
        chain=chain, minutiae=minutiae, foreground=mask_u8 > 0, seconds=time.process_time() - start
    )
