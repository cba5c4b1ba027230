"""Decode a face image (bytes) into an RGB pixel array, refusing anything unsafe or unusable.

The checks run in order, each with its own error code:

1. zero bytes                                    -> EmptyImageError
2. Pillow cannot identify the file               -> NotAnImageError
3. the format is not JPEG, PNG, PGM/PPM, GIF, TIFF -> UnsupportedImageFormatError
4. the header declares more than 40 megapixels    -> ImageTooLargeError (nothing decoded)
5. the declared pixels would expand more than
   ``MAX_EXPANSION`` times the file size, or a PNG
   text chunk decompresses beyond Pillow's limit  -> DecompressionBombError (nothing decoded)
6. the pixel data ends early or is corrupt        -> TruncatedImageError
7. fewer than 32 pixels on a side                 -> ImageTooSmallError

Only the first frame of a GIF or TIFF is decoded. The EXIF orientation of a JPEG is applied.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from padron.biometrics.face.errors import (
    DecompressionBombError,
    EmptyImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    NotAnImageError,
    TruncatedImageError,
    UnsupportedImageFormatError,
)

#: Pillow format names accepted (PGM is read by Pillow's PPM plugin; MPO is a phone JPEG)
ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "PPM", "GIF", "TIFF"})
MAX_PIXELS = 40_000_000
MIN_SIDE = 32
#: decoded RGB bytes per byte of file above which (for images over 8 MiB decoded) we refuse to decode:
#: real photographs compress 5:1 to 50:1; 1000:1 only happens for crafted or empty images
MAX_EXPANSION = 1000
_EXPANSION_FLOOR_BYTES = 8 * 1024 * 1024

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
    if len(data) == 0:
        raise EmptyImageError("the image file is empty (0 bytes)")
    with warnings.catch_warnings():
        # Pillow's own bomb warning (above 89 MP) is subsumed by our 40 MP limit
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise NotAnImageError("the file is not a recognizable image", size=len(data)) from None
        except Image.DecompressionBombError as error:
            raise ImageTooLargeError(f"the image is far too large: {error}", max_pixels=MAX_PIXELS) from None
        except ValueError as error:  # e.g. a PNG text chunk beyond MAX_TEXT_CHUNK
            raise DecompressionBombError(f"refused to decompress: {error}") from None
        except (OSError, SyntaxError, EOFError) as error:
            raise TruncatedImageError(f"the image header is truncated or corrupt: {error}") from None
        with image:
            fmt = image.format or "unknown"
            if fmt not in ACCEPTED_FORMATS:
                raise UnsupportedImageFormatError(
                    f"{fmt} images are not accepted; use JPEG, PNG, PGM, GIF or TIFF", format=fmt
                )
            width, height = image.size
            pixels = width * height
            if pixels > MAX_PIXELS:
                raise ImageTooLargeError(
                    f"the image has {pixels / 1e6:.1f} megapixels ({width}x{height}); the limit is "
                    f"{MAX_PIXELS / 1e6:.0f}",
                    width=width,
                    height=height,
                    max_pixels=MAX_PIXELS,
                )
            decoded_bytes = pixels * 3
            if decoded_bytes > _EXPANSION_FLOOR_BYTES and decoded_bytes > MAX_EXPANSION * len(data):
                raise DecompressionBombError(
                    f"a {len(data)}-byte file declares {width}x{height} pixels "
                    f"({decoded_bytes // len(data)}:1 expansion); refused",
                    width=width,
                    height=height,
                    file_bytes=len(data),
                )
            try:
                image.seek(0)
                image.load()
                rgb = _to_rgb(image)
            except Image.DecompressionBombError as error:
                raise DecompressionBombError(f"refused to decompress: {error}") from None
            except ValueError as error:
                raise DecompressionBombError(f"refused to decompress: {error}") from None
            except (OSError, SyntaxError, EOFError, IndexError) as error:
                raise TruncatedImageError(f"the image data is truncated or corrupt: {error}") from None
    if rgb.width < MIN_SIDE or rgb.height < MIN_SIDE:
        raise ImageTooSmallError(
            f"the image is {rgb.width}x{rgb.height}; at least {MIN_SIDE}x{MIN_SIDE} is needed",
            width=rgb.width,
            height=rgb.height,
        )
    array = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
    return DecodedImage(pixels=array, format=fmt)


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
