from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, features

from padron.biometrics.fingerprint.errors import FingerprintImageError, FingerprintResolutionError
from padron.biometrics.fingerprint.image import decode, from_array
from padron.domain.errors import PadronError
from tests.support.malformed_images import forbid_decoding, png, png_chunk


def _ridges(h: int = 300, w: int = 260) -> np.ndarray:
    y, x = np.mgrid[:h, :w]
    ridges: np.ndarray = (127 + 100 * np.sin(2 * np.pi * (x + 0.3 * y) / 9)).astype(np.uint8)
    return ridges


@pytest.mark.parametrize("fmt", ["TIFF", "PNG", "BMP"])
def test_lossless_formats_decode_to_the_same_pixels(fmt: str) -> None:
    pixels = _ridges()
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    image = decode(buffer.getvalue())
    assert image.pixels.dtype == np.uint8
    assert np.array_equal(image.pixels, pixels)
    assert image.source_dpi == 500


def test_jpeg_and_colour_images_become_grey() -> None:
    rgb = np.stack([_ridges()] * 3, axis=-1)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=95)
    image = decode(buffer.getvalue())
    assert image.pixels.shape == (300, 260)
    assert np.abs(image.pixels.astype(int) - _ridges().astype(int)).mean() < 6


def test_other_resolutions_are_resampled_to_500_dpi() -> None:
    image = from_array(_ridges(400, 300), dpi=1000)
    assert (image.height, image.width) == (200, 150)
    assert image.source_dpi == 1000
    buffer = io.BytesIO()
    Image.fromarray(_ridges(300, 300)).save(buffer, format="PNG", dpi=(250, 250))
    assert decode(buffer.getvalue()).width == 600  # the file's own plausible dpi tag is honoured
    assert decode(buffer.getvalue(), dpi=500).width == 300  # the caller's value wins


def test_meaningless_dpi_tags_are_ignored() -> None:
    buffer = io.BytesIO()
    Image.fromarray(_ridges()).save(buffer, format="TIFF", dpi=(1, 1))
    assert decode(buffer.getvalue()).width == 260


def test_bad_inputs_are_refused_with_codes() -> None:
    with pytest.raises(FingerprintImageError) as error:
        decode(b"this is not an image")
    assert error.value.code == "PAD-FING-012"  # still a FingerprintImageError, with its own code
    with pytest.raises(FingerprintImageError, match="blank"):
        from_array(np.full((300, 300), 200, dtype=np.uint8))
    with pytest.raises(FingerprintImageError, match="sides"):
        from_array(_ridges(40, 40))
    with pytest.raises(FingerprintResolutionError) as res:
        from_array(_ridges(), dpi=100)
    assert res.value.code == "PAD-FING-002"


def _png(pixels: np.ndarray, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=0, **options)
    return buffer.getvalue()


def _declared_png(width: int, height: int, dpi: int | None = None, bit_depth: int = 8) -> bytes:
    """A PNG header declaring width x height grey pixels (at dpi), over almost no pixel data."""
    phys = b""
    if dpi is not None:
        per_metre = round(dpi / 0.0254)
        phys = png_chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1))
    return png(width, height, zlib.compress(b"\x00" * 64), bit_depth=bit_depth, before_idat=phys)


def _noise(h: int, w: int) -> np.ndarray:
    return np.random.default_rng(5).integers(0, 256, (h, w), dtype=np.uint8)


@pytest.mark.parametrize("fmt", ["PPM", "JPEG2000"])
def test_pgm_and_lossless_jpeg_2000_are_fingerprint_formats(fmt: str) -> None:
    if fmt == "JPEG2000" and not features.check("jpg_2000"):
        pytest.skip("this Pillow has no JPEG 2000 codec")
    pixels = _ridges()
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    assert np.array_equal(decode(buffer.getvalue()).pixels, pixels)


def test_a_gif_is_refused_as_a_format_fingerprints_do_not_use() -> None:
    buffer = io.BytesIO()
    Image.fromarray(_ridges()).save(buffer, format="GIF")
    with pytest.raises(FingerprintImageError) as error:
        decode(buffer.getvalue())
    assert error.value.code == "PAD-FING-013"
    assert error.value.details["format"] == "GIF"


def test_a_1000_dpi_four_finger_slap_is_accepted_and_halved() -> None:
    image = decode(_png(_noise(3000, 3200), dpi=(1000, 1000)))
    assert (image.width, image.height) == (1600, 1500)
    assert image.source_dpi == pytest.approx(1000, abs=0.01)  # the file says 39370 pixels a metre


def test_a_long_side_at_1000_dpi_is_measured_at_500_dpi() -> None:
    image = decode(_png(_noise(200, 8000), dpi=(1000, 1000)))
    assert (image.width, image.height) == (4000, 100)


@pytest.mark.parametrize(
    ("data", "dpi", "code"),
    [
        (_declared_png(8002, 200, dpi=1000), None, "PAD-FING-015"),  # 4001 wide at 500 dpi
        (_declared_png(4001, 200), None, "PAD-FING-015"),
        (_declared_png(4001, 4001, dpi=1000), None, "PAD-FING-015"),  # more than 16 megapixels
        (_declared_png(100, 3000, dpi=1000), None, "PAD-FING-017"),  # 50 wide at 500 dpi
        (_declared_png(63, 300), None, "PAD-FING-017"),
        (_declared_png(300, 300), 100, "PAD-FING-002"),  # the caller's resolution
        (_declared_png(300, 300, bit_depth=16), None, "PAD-FING-001"),
    ],
)
def test_sizes_resolution_and_depth_are_refused_from_the_header(
    data: bytes, dpi: float | None, code: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    forbid_decoding(monkeypatch)
    with pytest.raises(PadronError) as error:
        decode(data, dpi)
    assert error.value.code == code


def test_a_tiny_array_at_1000_dpi_is_refused_before_resampling() -> None:
    with pytest.raises(FingerprintImageError) as error:
        from_array(np.array([[0, 255]], dtype=np.uint8), dpi=1000)  # would resample to nothing
    assert error.value.code == "PAD-FING-017"
