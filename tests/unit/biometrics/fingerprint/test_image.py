from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from padron.biometrics.fingerprint.errors import FingerprintImageError, FingerprintResolutionError
from padron.biometrics.fingerprint.image import decode, from_array


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
    assert error.value.code == "PAD-FING-001"
    with pytest.raises(FingerprintImageError, match="blank"):
        from_array(np.full((300, 300), 200, dtype=np.uint8))
    with pytest.raises(FingerprintImageError, match="sides"):
        from_array(_ridges(40, 40))
    with pytest.raises(FingerprintResolutionError) as res:
        from_array(_ridges(), dpi=100)
    assert res.value.code == "PAD-FING-002"
