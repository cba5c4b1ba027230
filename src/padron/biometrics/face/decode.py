"""Decode a face image (bytes) into an RGB pixel array, refusing anything unsafe or unusable.

The checks are the shared image guard's (:mod:`padron.biometrics.images`), in its order, each
with its own face error code:

1. zero bytes                                    -> EmptyImageError (PAD-FACE-001)
2. Pillow cannot identify the file               -> NotAnImageError (PAD-FACE-002)
3. the format is not JPEG, PNG, PGM/PPM, GIF, TIFF -> UnsupportedImageFormatError (PAD-FACE-003)
4. the header declares more than 40 megapixels    -> ImageTooLargeError (PAD-FACE-005)
5. fewer than 32 pixels on a side                 -> ImageTooSmallError (PAD-FACE-007)
6. the declared pixels would expand more than
   ``MAX_EXPANSION`` times the file size, or a PNG
   text chunk decompresses beyond Pillow's limit  -> DecompressionBombError (PAD-FACE-006)
7. the pixel data ends early or is corrupt        -> TruncatedImageError (PAD-FACE-004)

Steps 1-6 read only the header (nothing is decoded). Only the first frame of a GIF or TIFF is
decoded. The EXIF orientation of a JPEG is applied.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

from padron.biometrics.face.errors import (
    DecompressionBombError,
    EmptyImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    NotAnImageError,
    TruncatedImageError,
    UnsupportedImageFormatError,
)
from padron.biometrics.images import ImageErrors, ImagePolicy, decode_frame, open_image

#: Pillow format names accepted (PGM is read by Pillow's PPM plugin; MPO is a phone JPEG)
ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "PPM", "GIF", "TIFF"})
MAX_PIXELS = 40_000_000
MIN_SIDE = 32
#: decoded RGB bytes per byte of file above which (for images over 8 MiB decoded) we refuse to decode:
#: real photographs compress 5:1 to 50:1; 1000:1 only happens for crafted or empty images
MAX_EXPANSION = 1000

POLICY = ImagePolicy(
    noun="face image",
    formats=ACCEPTED_FORMATS,
    formats_hint="JPEG, PNG, PGM, GIF or TIFF",
    max_pixels=MAX_PIXELS,
    min_side=MIN_SIDE,
    decoded_bytes_per_pixel=3,
    max_expansion=MAX_EXPANSION,
    errors=ImageErrors(
        empty=EmptyImageError,
        not_an_image=NotAnImageError,
        unsupported_format=UnsupportedImageFormatError,
        truncated=TruncatedImageError,
        too_large=ImageTooLargeError,
        bomb=DecompressionBombError,
        too_small=ImageTooSmallError,
    ),
)

RgbArray = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class DecodedImage:
    pixels: RgbArray  # height x width x 3, uint8, C-contiguous
    format: str

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def decode_image(data: bytes) -> DecodedImage:
    """Decode image bytes into RGB pixels or raise the FaceError that says why not."""
    with open_image(data, POLICY) as image:
        fmt = image.format or "unknown"
        array = decode_frame(image, POLICY, _to_rgb_array)
    return DecodedImage(pixels=array, format=fmt)


def _to_rgb_array(image: Image.Image) -> RgbArray:
    return np.ascontiguousarray(np.asarray(_to_rgb(image), dtype=np.uint8))


def _to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB, EXIF orientation applied; 16-bit and float greys are scaled to 0-255."""
    oriented = ImageOps.exif_transpose(image) if image.format in {"JPEG", "MPO", "TIFF"} else image
    mode = oriented.mode
    if mode in {"I;16", "I;16B", "I;16L", "I", "F"}:
        values = np.asarray(oriented, dtype=np.float64)
        lo, hi = float(values.min()), float(values.max())
        scaled = np.zeros_like(values) if hi <= lo else (values - lo) * (255.0 / (hi - lo))
        grey = Image.fromarray(scaled.round().astype(np.uint8), mode="L")
        return grey.convert("RGB")
    if mode in {"RGBA", "LA", "PA"} or (mode == "P" and "transparency" in oriented.info):
        # flatten transparency on white, as a printed photo would be
        rgba = oriented.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return oriented.convert("RGB")
