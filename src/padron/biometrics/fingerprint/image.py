"""Decoding fingerprint images and bringing them to the nominal 500 dpi.

Images go through the shared image guard (:mod:`padron.biometrics.images`): PNG, TIFF, BMP,
JPEG, JPEG 2000 and PGM are accepted, and the header is checked before anything is decoded
(at most ``MAX_PIXELS`` pixels, sides of ``MIN_SIDE``-``MAX_SIDE`` once at 500 dpi, 8-bit, and
no more pixels than the file could plausibly hold), each refusal with its own PAD-FING code.
Colour images are converted to grey.
The resolution comes from the caller when known, otherwise from the file's own dpi tag when it is
plausible (250-1,000 dpi; many files carry a meaningless 1 or 72), otherwise 500 dpi is assumed.
Images at another resolution are resampled so that every later step works at 500 dpi and minutia
coordinates are in 500-dpi pixels.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from padron.biometrics.fingerprint.errors import (
    FingerprintDecompressionBombError,
    FingerprintImageEmptyError,
    FingerprintImageError,
    FingerprintImageFormatError,
    FingerprintImageTooLargeError,
    FingerprintImageTooSmallError,
    FingerprintImageTruncatedError,
    FingerprintNotAnImageError,
    FingerprintResolutionError,
)
from padron.biometrics.images import ImageErrors, ImagePolicy, decode_frame, open_image

if TYPE_CHECKING:
    from PIL import Image

NOMINAL_DPI = 500
MIN_DPI = 250
MAX_DPI = 1000
MIN_SIDE = 64  # pixels at 500 dpi: smaller is not a fingerprint we can use
MAX_SIDE = 4000
#: pixels in the file, whatever its resolution: the largest 500-dpi image accepted (4000x4000);
#: a four-finger slap at 1,000 dpi is about 3200x3000 (9.6 MP). Decoding is bounded by it.
MAX_PIXELS = MAX_SIDE * MAX_SIDE
#: 16-bit and 32-bit integer greys are refused, not scaled: a sensor's 8-bit output is expected
WIDE_MODES = frozenset({"I;16", "I;16B", "I;16L", "I"})

POLICY = ImagePolicy(
    noun="fingerprint image",
    formats=frozenset({"PNG", "TIFF", "BMP", "JPEG", "MPO", "JPEG2000", "PPM"}),
    formats_hint="PNG, TIFF, BMP, JPEG, JPEG 2000 or PGM",
    max_pixels=MAX_PIXELS,
    # the sides are checked by decode() from the header at the image's own resolution (what
    # they will be at 500 dpi), before anything is decoded
    min_side=1,
    refused_modes=WIDE_MODES,
    refused_modes_hint="fingerprint images must be 8-bit grey (or colour, converted to grey)",
    decoded_bytes_per_pixel=1,
    errors=ImageErrors(
        empty=FingerprintImageEmptyError,
        not_an_image=FingerprintNotAnImageError,
        unsupported_format=FingerprintImageFormatError,
        truncated=FingerprintImageTruncatedError,
        too_large=FingerprintImageTooLargeError,
        bomb=FingerprintDecompressionBombError,
        too_small=FingerprintImageTooSmallError,
        unsupported_mode=FingerprintImageError,
    ),
)

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
    """Decode image bytes to a 500-dpi grey image (a FingerprintImageError subclass, or
    FingerprintResolutionError, says why not)."""
    with open_image(data, POLICY) as image:
        # the resolution and the sides it gives at 500 dpi, from the header: nothing decoded yet
        declared_dpi = dpi if dpi is not None else (_file_dpi(image.info) or NOMINAL_DPI)
        _check_resolution(declared_dpi)
        _check_sides(*_at_nominal(image.size[0], image.size[1], declared_dpi))
        pixels = decode_frame(image, POLICY, _to_grey)
        file_dpi = _file_dpi(image.info)
    return from_array(pixels, dpi if dpi is not None else (file_dpi or NOMINAL_DPI))


def _to_grey(image: Image.Image) -> GreyImage:
    return np.asarray(image.convert("L"), dtype=np.uint8).copy()


def _check_resolution(dpi: float) -> None:
    if not MIN_DPI <= dpi <= MAX_DPI:
        raise FingerprintResolutionError(
            f"resolution {dpi:g} dpi is outside {MIN_DPI}-{MAX_DPI} dpi", dpi=dpi
        )


def _at_nominal(width: int, height: int, dpi: float) -> tuple[int, int]:
    """The size ``width`` x ``height`` pixels at ``dpi`` become once resampled to 500 dpi."""
    if abs(dpi - NOMINAL_DPI) <= 1e-6:
        return width, height
    factor = NOMINAL_DPI / dpi
    return round(width * factor), round(height * factor)


def _check_sides(width: int, height: int) -> None:
    """Refuse an image whose sides at 500 dpi are outside MIN_SIDE-MAX_SIDE."""
    if min(height, width) >= MIN_SIDE and max(height, width) <= MAX_SIDE:
        return
    error = FingerprintImageTooSmallError if min(height, width) < MIN_SIDE else FingerprintImageTooLargeError
    raise error(
        f"the fingerprint image is {width}x{height} pixels at 500 dpi; its sides must be "
        f"{MIN_SIDE}-{MAX_SIDE}",
        width=width,
        height=height,
    )


def from_array(pixels: npt.NDArray[np.uint8], dpi: float = NOMINAL_DPI) -> FingerprintImage:
    """Wrap (and if needed resample) a grey uint8 array taken at ``dpi``."""
    if pixels.ndim != 2 or pixels.dtype != np.uint8:
        raise FingerprintImageError(
            f"expected a 2-D uint8 grey image, got shape {pixels.shape} dtype {pixels.dtype}"
        )
    _check_resolution(dpi)
    width, height = _at_nominal(int(pixels.shape[1]), int(pixels.shape[0]), dpi)
    _check_sides(width, height)  # before resampling: nothing is resized to nothing
    if (width, height) != (pixels.shape[1], pixels.shape[0]):
        import cv2

        interpolation = cv2.INTER_AREA if dpi > NOMINAL_DPI else cv2.INTER_CUBIC
        pixels = np.asarray(cv2.resize(pixels, (width, height), interpolation=interpolation), dtype=np.uint8)
    if int(pixels.max()) - int(pixels.min()) < 16:
        raise FingerprintImageError("image is blank (almost no contrast)")
    return FingerprintImage(pixels=np.ascontiguousarray(pixels), source_dpi=float(dpi))


def encode_png(image: FingerprintImage) -> bytes:
    """PNG bytes of the 500-dpi pixels (what NBIS / NFIQ 2 are given)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image.pixels, mode="L").save(buffer, format="PNG", dpi=(NOMINAL_DPI, NOMINAL_DPI))
    return buffer.getvalue()
