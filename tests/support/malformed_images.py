"""Malformed, hostile and unusable image files, made in code (no binary file is committed).

:func:`malformed_images` returns every item by name; each one must be refused by every image
decoder with a specific padron error, never another exception. The two huge PNGs are built
cheaply: the 169-megapixel one is a genuine all-zero image whose IDAT stream is repeated
full-flushed deflate blocks (about 170 KB, made without ever holding the pixels), and the bomb
declares 4000x4000 pixels over a few dozen bytes of pixel data.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: the genuine all-zero PNG: 169 megapixels, about 776 MB once Pillow has decoded it as RGB
HUGE_SIDE = 13_000
#: the face code and the fingerprint code each item must be refused with
EXPECTED_CODES: dict[str, tuple[str, str]] = {
    "empty": ("PAD-FACE-001", "PAD-FING-011"),
    "one_byte": ("PAD-FACE-002", "PAD-FING-012"),
    "random_bytes": ("PAD-FACE-002", "PAD-FING-012"),
    "person_json": ("PAD-FACE-002", "PAD-FING-012"),
    "pdf": ("PAD-FACE-002", "PAD-FING-012"),
    "svg": ("PAD-FACE-002", "PAD-FING-012"),
    "eps": ("PAD-FACE-003", "PAD-FING-013"),
    "pcx": ("PAD-FACE-003", "PAD-FING-013"),
    "png_signature_only": ("PAD-FACE-004", "PAD-FING-014"),
    "png_no_pixel_data": ("PAD-FACE-004", "PAD-FING-014"),
    "png_zero_width": ("PAD-FACE-004", "PAD-FING-014"),
    "png_truncated": ("PAD-FACE-004", "PAD-FING-014"),
    "png_corrupt_pixels": ("PAD-FACE-004", "PAD-FING-014"),
    "jpeg_truncated": ("PAD-FACE-004", "PAD-FING-014"),
    "tiff_truncated": ("PAD-FACE-004", "PAD-FING-014"),
    "png_1x1": ("PAD-FACE-007", "PAD-FING-017"),
    "png_16_bit_tiny": ("PAD-FACE-007", "PAD-FING-001"),
    "png_text_chunk_bomb": ("PAD-FACE-006", "PAD-FING-016"),
    "png_bomb_declared": ("PAD-FACE-006", "PAD-FING-016"),
    "png_169_megapixels": ("PAD-FACE-005", "PAD-FING-015"),
    "png_absurd_dimensions": ("PAD-FACE-005", "PAD-FING-015"),
    "jpeg_absurd_dimensions": ("PAD-FACE-005", "PAD-FING-015"),
    "jpeg_bomb_declared": ("PAD-FACE-006", "PAD-FING-016"),
    "tiff_absurd_dimensions": ("PAD-FACE-005", "PAD-FING-015"),
    "tiff_bomb_declared": ("PAD-FACE-006", "PAD-FING-016"),
    "gif_absurd_dimensions": ("PAD-FACE-005", "PAD-FING-013"),
    "gif_bomb_declared": ("PAD-FACE-006", "PAD-FING-013"),
}
#: items refused from the header alone, by both decoders: no pixel may be decoded for them
HEADER_REFUSALS = frozenset(EXPECTED_CODES) - {
    "png_truncated",
    "png_corrupt_pixels",
    "jpeg_truncated",
    "tiff_truncated",
}
#: what the small bomb file declares: under the face and fingerprint pixel limits, so only the
#: expansion check (decoded size against file size) can refuse it
BOMB_SIDE = 4_000


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(
    width: int,
    height: int,
    idat: bytes,
    *,
    bit_depth: int = 8,
    colour_type: int = 0,
    before_idat: bytes = b"",
) -> bytes:
    """A PNG with the given header and (already compressed) pixel stream; colour type 0 is grey."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", ihdr)
        + before_idat
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def zero_png_stream(width: int, height: int, rows_per_block: int = 100) -> bytes:
    """The zlib stream of ``height`` all-zero grey rows (filter byte 0 + ``width`` zeros each),
    built from one full-flushed deflate block repeated: after a full flush the compressor keeps
    no history, so the same input block compresses to the same bytes. Memory: one block."""
    row = width + 1
    blocks, rest = divmod(height, rows_per_block)
    if blocks < 3:
        return zlib.compress(bytes(row * height), 9)
    block = bytes(row * rows_per_block)
    compressor = zlib.compressobj(9)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)  # with the zlib header
    repeated = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    if compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH) != repeated:
        raise AssertionError("full-flushed deflate blocks of equal input differ")
    tail = compressor.compress(bytes(row * rest)) + compressor.flush(zlib.Z_FINISH)
    adler = ((row * height) % 65521) << 16 | 1  # Adler-32 of n zero bytes: a = 1, b = n mod 65521
    return first + repeated * (blocks - 1) + tail[:-4] + struct.pack(">I", adler)


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def noise(width: int, height: int, mode: str = "RGB", seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    shape = (height, width, 3) if mode == "RGB" else (height, width)
    return Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)


def _jpeg_declaring(width: int, height: int) -> bytes:
    """A small real JPEG whose start-of-frame header is rewritten to declare width x height."""
    data = bytearray(encode(noise(64, 64), "JPEG", quality=80))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def _tiff_declaring(width: int, height: int) -> bytes:
    """A minimal uncompressed grey TIFF header declaring width x height over 16 bytes of pixels."""
    entries = [
        (256, 4, 1, width),  # ImageWidth, LONG
        (257, 4, 1, height),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample, SHORT
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 1),  # PhotometricInterpretation: black is zero
        (273, 4, 1, 0),  # StripOffsets (patched below)
        (277, 3, 1, 1),  # SamplesPerPixel
        (278, 4, 1, height),  # RowsPerStrip
        (279, 4, 1, min(width * height, 2**32 - 1)),  # StripByteCounts
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    pixels_at = 8 + ifd_size
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        value = pixels_at if tag == 273 else value
        packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + bytes(16)


def _gif_declaring(width: int, height: int) -> bytes:
    """A GIF whose screen and only frame declare width x height, with a few bytes of LZW data."""
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0)  # global table of 2 colours
    palette = b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
    lzw = b"\x02" + b"\x02\x4c\x01" + b"\x00"  # minimum code size 2, one sub-block: clear, 0, end
    return b"GIF89a" + screen + palette + frame + lzw + b"\x3b"


@functools.cache
def huge_png() -> bytes:
    """The genuine 13000x13000 all-zero grey PNG (about 170 KB)."""
    return png(HUGE_SIDE, HUGE_SIDE, zero_png_stream(HUGE_SIDE, HUGE_SIDE))


@functools.cache
def malformed_images() -> dict[str, bytes]:
    """Every malformed image by name (the same bytes on every call; treat them as read-only)."""
    small_png = encode(noise(200, 200), "PNG")
    small_jpeg = encode(noise(200, 200), "JPEG", quality=90)
    small_tiff = encode(noise(200, 200, "L"), "TIFF")
    little = encode(noise(64, 64, "L"), "PNG")
    text_bomb = png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(bytes(4 * 1024 * 1024), 9))
    sixteen_bit = Image.fromarray(np.full((20, 20), 40_000, dtype=np.uint16))
    return {
        "empty": b"",
        "one_byte": b"\x89",
        "random_bytes": np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "person_json": b'{"given_names": "Ana", "first_surname": "L\xc3\xb3pez"}\n',
        "pdf": b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
        "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400"><rect/></svg>',
        "eps": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 400 400\nshowpage\n%%EOF\n",
        "pcx": encode(noise(100, 100), "PCX"),
        "png_signature_only": PNG_SIGNATURE,
        "png_no_pixel_data": PNG_SIGNATURE
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 200, 200, 8, 0, 0, 0, 0)),
        "png_truncated": small_png[: len(small_png) // 2],
        "png_corrupt_pixels": png(200, 200, b"\x78\x9c" + bytes(range(256)) * 8),
        "jpeg_truncated": small_jpeg[: len(small_jpeg) // 2],
        "tiff_truncated": small_tiff[: len(small_tiff) // 2],
        "png_1x1": encode(Image.new("L", (1, 1), 128), "PNG"),
        "png_16_bit_tiny": encode(sixteen_bit, "PNG"),
        "png_text_chunk_bomb": little[:33] + text_bomb + little[33:],  # after the IHDR chunk
        "png_bomb_declared": png(BOMB_SIDE, BOMB_SIDE, zlib.compress(bytes(BOMB_SIDE + 1)), colour_type=2),
        "png_169_megapixels": huge_png(),
        "png_absurd_dimensions": png(2**31 - 1, 2**31 - 1, zlib.compress(b"\x00\x00")),
        "png_zero_width": png(0, 100, zlib.compress(bytes(100))),
        "jpeg_absurd_dimensions": _jpeg_declaring(65_000, 65_000),
        "jpeg_bomb_declared": _jpeg_declaring(BOMB_SIDE, BOMB_SIDE),
        "tiff_absurd_dimensions": _tiff_declaring(200_000, 200_000),
        "tiff_bomb_declared": _tiff_declaring(BOMB_SIDE, BOMB_SIDE),
        "gif_absurd_dimensions": _gif_declaring(65_535, 65_535),
        "gif_bomb_declared": _gif_declaring(BOMB_SIDE, BOMB_SIDE),
    }


def forbid_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on (for one test), decoding any image's pixels fails the test with an
    AssertionError; reading headers still works. Make the test's own images first."""

    def refuse(self: Image.Image) -> None:
        raise AssertionError(f"{self.format} {self.size} pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    monkeypatch.setattr(Image.Image, "load", refuse)
