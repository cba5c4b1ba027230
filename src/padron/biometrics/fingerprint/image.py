"""Decoding fingerprint images and bringing them to the nominal 500 dpi.

Any format Pillow reads (TIFF, PNG, BMP, JPEG) is accepted; colour images are converted to grey.
The resolution comes from the caller when known, otherwise from the file's own dpi tag when it is
plausible (250-1,000 dpi; many files carry a meaningless 1 or 72), otherwise 500 dpi is assumed.
Images at another resolution are resampled so that every later step works at 500 dpi and minutia
coordinates are in 500-dpi pixels.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from padron.biometrics.fingerprint.errors import FingerprintImageError, FingerprintResolutionError

NOMINAL_DPI = 500
MIN_DPI = 250
MAX_DPI = 1000
MIN_SIDE = 64  # pixels at 500 dpi: smaller is not a fingerprint we can use
MAX_SIDE = 4000

GreyImage = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class FingerprintImage:
    """An 8-bit grey fingerprint at 500 dpi (``pixels[y, x]``); ``source_dpi`` is what it came at."""

    pixels: GreyImage
    source_dpi: float

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def _file_dpi(info: Mapping[Any, Any]) -> float | None:
    dpi = info.get("dpi")
    if isinstance(dpi, tuple) and dpi:
        try:
            value = float(dpi[0])
        except (TypeError, ValueError):
            return None
        if MIN_DPI <= value <= MAX_DPI:
            return value
    return None


def decode(data: bytes, dpi: float | None = None) -> FingerprintImage:
    """Decode image bytes to a 500-dpi grey image (FingerprintImageError, FingerprintResolutionError)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            file_dpi = _file_dpi(image.info)
            if image.mode in ("I;16", "I;16B", "I;16L", "I"):
                raise FingerprintImageError(
                    f"fingerprint images must be 8-bit grey, this one is mode {image.mode}", mode=image.mode
                )
            grey = image.convert("L")
            pixels = np.asarray(grey, dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise FingerprintImageError(f"cannot decode fingerprint image: {error}") from None
    return from_array(pixels, dpi if dpi is not None else (file_dpi or NOMINAL_DPI))


def from_array(pixels: npt.NDArray[np.uint8], dpi: float = NOMINAL_DPI) -> FingerprintImage:
    """Wrap (and if needed resample) a grey uint8 array taken at ``dpi``."""
    if pixels.ndim != 2 or pixels.dtype != np.uint8:
        raise FingerprintImageError(
            f"expected a 2-D uint8 grey image, got shape {pixels.shape} dtype {pixels.dtype}"
        )
    if not MIN_DPI <= dpi <= MAX_DPI:
        raise FingerprintResolutionError(
            f"resolution {dpi:g} dpi is outside {MIN_DPI}-{MAX_DPI} dpi", dpi=dpi
        )
    if abs(dpi - NOMINAL_DPI) > 1e-6:
        import cv2

        factor = NOMINAL_DPI / dpi
        width = round(pixels.shape[1] * factor)
        height = round(pixels.shape[0] * factor)
        interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
        pixels = np.asarray(cv2.resize(pixels, (width, height), interpolation=interpolation), dtype=np.uint8)
    height, width = pixels.shape
    if min(height, width) < MIN_SIDE or max(height, width) > MAX_SIDE:
        raise FingerprintImageError(
            f"image is {width}x{height} pixels at 500 dpi; expected sides of {MIN_SIDE}-{MAX_SIDE}",
            width=width,
            height=height,
        )
    if int(pixels.max()) - int(pixels.min()) < 16:
        raise FingerprintImageError("image is blank (almost no contrast)")
    return FingerprintImage(pixels=np.ascontiguousarray(pixels), source_dpi=float(dpi))


def encode_png(image: FingerprintImage) -> bytes:
    """PNG bytes of the 500-dpi pixels (what NBIS / NFIQ 2 are given)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image.pixels, mode="L").save(buffer, format="PNG", dpi=(NOMINAL_DPI, NOMINAL_DPI))
    return buffer.getvalue()
