"""One image guard for every modality: each malformed or hostile file is refused by the face
and the fingerprint decoder alike, with its own code, and huge images without decoding a pixel."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from padron.biometrics.face.decode import decode_image
from padron.biometrics.fingerprint.image import decode as decode_fingerprint
from padron.domain.errors import PadronError
from tests.support.malformed_images import (
    EXPECTED_CODES,
    HEADER_REFUSALS,
    HUGE_SIDE,
    forbid_decoding,
    huge_png,
    malformed_images,
)

DECODERS: dict[str, tuple[Callable[[bytes], object], int, str]] = {
    # decoder, index of its code in EXPECTED_CODES, the noun its messages use
    "face": (decode_image, 0, "face image"),
    "fingerprint": (decode_fingerprint, 1, "fingerprint image"),
}


def test_the_corpus_and_its_expected_codes_name_the_same_items() -> None:
    assert set(malformed_images()) == set(EXPECTED_CODES)
    assert len(EXPECTED_CODES) >= 25


@pytest.mark.parametrize("modality", sorted(DECODERS))
@pytest.mark.parametrize("name", sorted(EXPECTED_CODES))
def test_every_malformed_image_is_refused_with_its_own_code(name: str, modality: str) -> None:
    decoder, column, noun = DECODERS[modality]
    with pytest.raises(PadronError) as caught:
        decoder(malformed_images()[name])
    assert caught.value.code == EXPECTED_CODES[name][column], caught.value.message
    message = caught.value.message
    assert noun in message
    assert "object at 0x" not in message and "BytesIO" not in message  # no Python repr for users


@pytest.mark.parametrize("modality", sorted(DECODERS))
@pytest.mark.parametrize("name", sorted(HEADER_REFUSALS))
def test_header_refusals_decode_no_pixel(name: str, modality: str, monkeypatch: pytest.MonkeyPatch) -> None:
    decoder, column, _ = DECODERS[modality]
    data = malformed_images()[name]
    forbid_decoding(monkeypatch)
    with pytest.raises(PadronError) as caught:
        decoder(data)
    assert caught.value.code == EXPECTED_CODES[name][column]


@pytest.mark.parametrize("modality", sorted(DECODERS))
def test_forbidding_decoding_does_catch_a_decode(modality: str, monkeypatch: pytest.MonkeyPatch) -> None:
    y, x = np.mgrid[:300, :260]
    ridges = (127 + 100 * np.sin(2 * np.pi * (x + 0.3 * y) / 9)).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(ridges).save(buffer, format="PNG")
    forbid_decoding(monkeypatch)
    with pytest.raises(AssertionError, match="decoded"):
        DECODERS[modality][0](buffer.getvalue())


def test_the_169_megapixel_png_is_a_genuine_image() -> None:
    """What the decoders refuse is a real 13000x13000 zero image in 170 KB, not a broken file."""
    data = huge_png()
    assert len(data) < 200_000
    with pytest.warns(Image.DecompressionBombWarning), Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.size, image.mode) == ("PNG", (HUGE_SIDE, HUGE_SIDE), "L")
    idat_length = struct.unpack(">I", data[33:37])[0]
    assert data[37:41] == b"IDAT"
    inflater = zlib.decompressobj()
    pending, inflated, zeros = data[41 : 41 + idat_length], 0, bytes(1 << 24)
    while pending:
        chunk = inflater.decompress(pending, len(zeros))
        assert chunk == zeros[: len(chunk)]  # filter byte 0 and black pixels, row after row
        inflated += len(chunk)
        pending = inflater.unconsumed_tail
    assert inflater.eof  # the Adler-32 checksum matched
    assert inflated == HUGE_SIDE * (HUGE_SIDE + 1)
