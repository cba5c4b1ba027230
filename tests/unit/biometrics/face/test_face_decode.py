"""Decoding refuses every bad input with its own code; accepted formats become 8-bit RGB."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from padron.biometrics.face.decode import decode_image
from padron.biometrics.face.errors import (
    DecompressionBombError,
    EmptyImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    NotAnImageError,
    TruncatedImageError,
    UnsupportedImageFormatError,
)
from tests.unit.biometrics.face.face_images import encode, noise_image


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int, idat: bytes) -> bytes:
    """A PNG whose header declares width x height RGB pixels, with the given pixel stream."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "TIFF"])
def test_accepted_formats_decode_to_rgb_of_the_same_size(fmt: str) -> None:
    decoded = decode_image(encode(noise_image(64, 48), fmt))
    assert decoded.pixels.shape == (48, 64, 3)
    assert decoded.pixels.dtype == np.uint8
    assert decoded.format == fmt


def test_pgm_grey_and_16_bit_decode_to_rgb() -> None:
    grey = Image.fromarray(np.tile(np.arange(64, dtype=np.uint8) * 4, (40, 1)), "L")
    decoded = decode_image(encode(grey, "PPM"))  # Pillow writes mode L as binary PGM (P5)
    assert decoded.pixels.shape == (40, 64, 3)
    assert decoded.pixels[0, 10, 0] == 40
    header = b"P5\n64 40\n65535\n"
    halves = np.zeros((40, 64), dtype=">u2")
    halves[:, 32:] = 0xFFFF
    wide = decode_image(header + halves.tobytes())
    assert wide.pixels[0, 0, 0] == 0 and wide.pixels[0, 63, 0] == 255  # 16 bits scaled to 8


def test_transparent_png_is_flattened_on_white() -> None:
    rgba = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    decoded = decode_image(encode(rgba, "PNG"))
    assert decoded.pixels.min() == 255


def test_zero_bytes_refused() -> None:
    with pytest.raises(EmptyImageError) as caught:
        decode_image(b"")
    assert caught.value.code == "PAD-FACE-001"


def test_non_image_refused() -> None:
    with pytest.raises(NotAnImageError):
        decode_image(b"%PDF-1.7 this is a document, not a photo" * 10)


def test_bmp_is_an_image_but_not_an_accepted_format() -> None:
    with pytest.raises(UnsupportedImageFormatError) as caught:
        decode_image(encode(noise_image(), "BMP"))
    assert caught.value.details["format"] == "BMP"


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_file_refused(fmt: str) -> None:
    data = encode(noise_image(200, 200), fmt)
    with pytest.raises(TruncatedImageError):
        decode_image(data[: len(data) // 2])


def test_more_than_40_megapixels_refused_before_decoding() -> None:
    data = png_declaring(8000, 6000, zlib.compress(b"\x00" * 1000))  # 48 MP declared
    with pytest.raises(ImageTooLargeError) as caught:
        decode_image(data)
    assert caught.value.details["width"] == 8000


def test_absurd_expansion_refused_as_a_bomb() -> None:
    # 25 MP (75 MB of pixels) declared by a file of about a hundred bytes
    data = png_declaring(5000, 5000, zlib.compress(b"\x00" * 5001))
    with pytest.raises(DecompressionBombError) as caught:
        decode_image(data)
    assert caught.value.code == "PAD-FACE-006"


def test_compressed_text_chunk_bomb_refused() -> None:
    image = noise_image(40, 40)
    body = encode(image, "PNG")
    bomb = png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"A" * 50_000_000))
    data = body[:33] + bomb + body[33:]  # after the IHDR chunk
    with pytest.raises(DecompressionBombError):
        decode_image(data)


def test_tiny_image_refused() -> None:
    with pytest.raises(ImageTooSmallError):
        decode_image(encode(noise_image(20, 20), "PNG"))


def test_only_the_first_frame_of_an_animated_gif_is_decoded() -> None:
    frames = [Image.new("RGB", (40, 40), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    decoded = decode_image(data)
    assert decoded.pixels[0, 0, 0] > 200 and decoded.pixels[0, 0, 2] < 50


def test_jpeg_exif_orientation_is_applied() -> None:
    wide = noise_image(80, 40)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    decoded = decode_image(encode(wide, "JPEG", exif=exif.tobytes()))
    assert decoded.pixels.shape[:2] == (80, 40)
