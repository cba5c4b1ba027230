"""A transaction's images become padron's sample inputs (face bytes, finger bytes by position),
and an answer goes back as a transaction."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from padron.interchange import ansinist as an
from padron.interchange.errors import (
    NistAmbiguousSampleError,
    NistImageFormatError,
    NistNoSampleError,
    NistUnsupportedImageError,
)
from tests.unit.interchange import builders as b


def pixels(data: bytes) -> tuple[tuple[int, int], str, np.ndarray, dict[str, object]]:
    with Image.open(io.BytesIO(data)) as image:
        info: dict[str, object] = {str(key): value for key, value in image.info.items()}
        return image.size, image.mode, np.asarray(image), info


def read(tx: an.Transaction) -> an.Transaction:
    """``tx`` as a partner sends it: written and read back."""
    return an.decode(an.encode(tx))


def test_a_full_query_gives_a_face_and_two_fingers() -> None:
    tx = read(b.full_transaction())
    samples = an.sample_inputs(tx)
    assert set(samples.images) == {"face", "2", "7"} and samples.skipped == ()
    face = tx.face_images()[0]
    assert samples.face == face.data  # a JPEG face is passed on as sent
    size, mode, grey, info = pixels(samples.fingers["2"])  # raw Type-4 pixels became a PNG
    assert (size, mode) == ((32, 24), "L") and "dpi" not in info
    assert grey.tobytes() == b.grey_pixels(32, 24, 0)
    assert samples.finger_ppi == {"2": 500.0, "7": 500.0}


def test_finger_resolution_travels_in_the_image() -> None:
    from padron.biometrics.fingerprint.image import decode as decode_fingerprint

    png_1000 = b.type14(1, position=1, image=b.png(128, 128, dpi=300), ppi=1000)
    jpeg_1000 = b.type14(2, position=6, image=b.jpeg(128, 128, mode="L"), ppi=1000)
    tx = read(b.transaction(png_1000, jpeg_1000))
    samples = an.sample_inputs(tx)
    assert samples.finger_ppi == {"1": 1000.0, "6": 1000.0}
    for slot in ("1", "6"):
        size, _, _, info = pixels(samples.fingers[slot])
        dpi = info["dpi"]
        assert isinstance(dpi, tuple) and abs(dpi[0] - 1000) < 0.01 and size == (128, 128)
        assert decode_fingerprint(samples.fingers[slot]).source_dpi == pytest.approx(1000, abs=0.01)
        assert decode_fingerprint(samples.fingers[slot]).pixels.shape == (64, 64)  # resampled to 500
    # the JPEG's JFIF density was patched in place: nothing else changed
    original = tx.finger_images()[1].data
    assert len(samples.fingers["6"]) == len(original) and samples.fingers["6"][18:] == original[18:]


def test_a_jpeg_without_jfif_gets_one_and_a_png_at_500_loses_its_phys() -> None:
    plain = b.jpeg(64, 64, mode="L")
    assert plain[2:4] == b"\xff\xe0"
    (length,) = struct.unpack_from(">H", plain, 4)
    no_jfif = plain[:2] + plain[4 + length :]  # the APP0 segment removed
    png_300 = b.png(64, 64, dpi=300)
    tx = read(
        b.transaction(b.type14(1, position=4, image=no_jfif, ppi=600), b.type14(2, position=5, image=png_300))
    )
    samples = an.sample_inputs(tx)
    assert pixels(samples.fingers["4"])[3]["dpi"] == (600, 600)
    assert "dpi" not in pixels(samples.fingers["5"])[3]
    assert np.array_equal(pixels(samples.fingers["5"])[2], pixels(png_300)[2])


def test_type4_resolution_comes_from_the_type1_record() -> None:
    tx = read(
        b.transaction(
            b.type4(1, position=9),
            native_scanning_resolution="39.37",
            nominal_transmitting_resolution="39.37",
        )
    )
    samples = an.sample_inputs(tx)
    assert samples.finger_ppi == {"9": 1000.0}
    dpi = pixels(samples.fingers["9"])[3]["dpi"]
    assert isinstance(dpi, tuple) and abs(dpi[0] - 1000) < 0.01


@pytest.mark.parametrize(
    ("cga", "data"), [(1, b.FAKE_WSQ), (3, b.jpeg(mode="L")), (4, b"\xff\x4f\xff\x51rest")]
)
def test_wsq_jpeg_lossless_and_jpeg2000_fingers_are_refused(cga: int, data: bytes) -> None:
    record = an.BinaryImageRecord(idc=1, positions=(2,), width=48, height=40, data=data, compression=cga)
    tx = read(b.transaction(record))
    with pytest.raises(
        NistUnsupportedImageError, match=r"record 2 \(Type-4\).*padron does not decode"
    ) as caught:
        an.sample_inputs(tx)
    assert caught.value.code == "PAD-NIST-013"
    assert caught.value.details["compression"] == an.Compression.from_binary_code(cga).value


def test_a_16_bit_raw_finger_is_refused() -> None:
    record = an.finger_record(
        bytes(2 * 8 * 8),
        idc=1,
        position=2,
        compression=an.Compression.NONE,
        width=8,
        height=8,
        source_agency="X",
        capture_date=b.DAY,
        bits_per_pixel=16,
    )
    with pytest.raises(NistUnsupportedImageError, match="16 bits per pixel"):
        an.sample_inputs(read(b.transaction(record)))


@pytest.mark.parametrize(("space", "channels"), [("GRAY", 1), ("RGB", 3), ("SRGB", 3), ("YCC", 3)])
def test_raw_faces_become_png(space: str, channels: int) -> None:
    raw = b.grey_pixels(20 * channels, 10)
    record = an.face_record(
        raw,
        idc=1,
        compression=an.Compression.NONE,
        width=20,
        height=10,
        source_agency="X",
        photo_date=b.DAY,
        color_space=space,
    )
    face = an.sample_inputs(read(b.transaction(record))).face
    assert face is not None
    size, mode, values, _ = pixels(face)
    assert size == (20, 10) and mode == ("L" if channels == 1 else "RGB")
    if space != "YCC":
        assert values.tobytes() == raw


def test_what_is_not_a_single_finger_or_a_face_is_skipped() -> None:
    scar = b.type10(1)
    scar = an.TaggedRecord(10, 1, tuple(f if f.number != 3 else an.Field(3, "SCAR") for f in scar.fields))
    slap = b.type4(2, position=13)
    unsure = an.BinaryImageRecord(idc=3, positions=(2, 3), width=4, height=4, data=bytes(16))
    bilevel = an.BinaryImageRecord(idc=4, positions=(2,), width=16, height=2, data=bytes(4), type=6)
    finger = b.type14(5, position=8)
    samples = an.sample_inputs(read(b.transaction(scar, slap, unsure, bilevel, finger)))
    assert set(samples.images) == {"8"}
    assert len(samples.skipped) == 4
    assert "SCAR image, not a face" in samples.skipped[0]
    assert "position 13 is not one finger" in samples.skipped[1]
    assert "position 2/3" in samples.skipped[2]
    assert "bi-level" in samples.skipped[3]


def test_two_images_for_one_slot_are_refused() -> None:
    with pytest.raises(NistAmbiguousSampleError, match="second face image"):
        an.sample_inputs(read(b.transaction(b.type10(1), b.type10(2))))
    with pytest.raises(NistAmbiguousSampleError, match=r"record 3 \(Type-14\): a second image of finger 2"):
        an.sample_inputs(read(b.transaction(b.type4(1, position=2), b.type14(2, position=2))))


def test_no_sample() -> None:
    tx = read(b.transaction(b.type2(), b.type4(1, position=14)))
    with pytest.raises(NistNoSampleError, match="skipped: record 3") as caught:
        an.sample_inputs(tx)
    assert caught.value.code == "PAD-NIST-015"
    empty = an.sample_inputs(tx, require=False)
    assert empty.face is None and not empty.fingers and len(empty.skipped) == 1


def test_reply_to_answers_the_request() -> None:
    request = read(b.full_transaction())
    answer = an.reply_to(
        request,
        type_of_transaction="SRE",
        control_number="MX-ANS-1",
        records=[an.text_record({3: "HIT", 4: ["token", "abc123"]})],
        on=b.DAY,
    )
    assert answer.destination_agency == request.originating_agency == "XXPARTNER"
    assert answer.originating_agency == request.destination_agency == "MXRENAPO0"
    assert answer.control_reference == "TCN-0001" and answer.domain == "NORAM" and answer.version == "0500"
    data = an.encode(answer)
    assert an.decode(data) == answer and an.encode(an.decode(data)) == data
    assert b"1.010:TCN-0001\x1d" in data


def test_record_helpers_read_the_image_header() -> None:
    face = an.face_record_for(b.png(30, 20, mode="L"), idc=1, source_agency="X", photo_date=b.DAY)
    assert (face.text(6), face.text(7), face.text(11), face.text(12)) == ("30", "20", "PNG", "GRAY")
    finger = an.finger_record_for(
        b.jpeg(16, 24, mode="L"), idc=2, position=3, source_agency="X", capture_date=b.DAY
    )
    assert (finger.text(6), finger.text(7), finger.text(11), finger.text(13)) == ("16", "24", "JPEGB", "3")
    with pytest.raises(NistImageFormatError):
        an.face_record_for(b"GIF89a....", idc=1, source_agency="X", photo_date=b.DAY)
    with pytest.raises(NistImageFormatError):
        an.face_record_for(b"\x89PNG\r\n\x1a\nbroken", idc=1, source_agency="X", photo_date=b.DAY)
