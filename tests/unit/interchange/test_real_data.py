"""Real files: NIST's own ANSI/NIST-ITL transactions (libbiomeval's test data) and transactions
built from real FVC fingerprints and an LFW face (converted in memory; nothing is copied into
the repository). Skipped where ../shared/data is absent."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from padron.interchange import ansinist as an
from padron.interchange.errors import NistError, NistNoSampleError
from tests.unit.interchange import builders as b

pytestmark = pytest.mark.shared_data


def interchange(shared_data: Path, name: str) -> bytes:
    path = shared_data / "interchange" / name
    if not path.is_file():
        pytest.skip(f"{path} not found (see ../shared/data/README.md)")
    return path.read_bytes()


@pytest.mark.parametrize("name", ["type3.an2k", "type4-slaps.an2k", "type9.an2k"])
def test_nist_files_read_and_write_back_byte_for_byte(shared_data: Path, name: str) -> None:
    data = interchange(shared_data, name)
    tx = an.decode(data)
    assert tx.notes == ()
    assert an.encode(tx) == data


def test_nist_type3_low_resolution_finger(shared_data: Path) -> None:
    tx = an.decode(interchange(shared_data, "type3.an2k"))
    assert (tx.version, tx.type_of_transaction, tx.domain) == ("0400", "CAR", "NORAM")
    (finger,) = tx.finger_images()
    assert (finger.record_type, finger.position, finger.width, finger.height) == (3, 2, 402, 376)
    assert finger.compression is an.Compression.NONE and finger.ppi == 250.0  # 1.012 NTR = 09.84
    samples = an.sample_inputs(tx)
    from padron.biometrics.fingerprint.image import decode as decode_fingerprint

    image = decode_fingerprint(samples.fingers["2"])
    assert image.source_dpi == pytest.approx(250, abs=0.05) and image.pixels.shape == (752, 804)


def test_nist_slaps_are_wsq_and_not_single_fingers(shared_data: Path) -> None:
    tx = an.decode(interchange(shared_data, "type4-slaps.an2k"))
    fingers = tx.finger_images()
    assert [f.position for f in fingers] == [14, 12, 11, 13]
    assert {f.compression for f in fingers} == {an.Compression.WSQ}
    assert all(f.data.startswith(b"\xff\xa0") and f.data.endswith(b"\xff\xa1") for f in fingers)
    with pytest.raises(NistNoSampleError, match="position 14 is not one finger"):
        an.sample_inputs(tx)


def test_nist_minutiae_and_latent_file_with_its_quirks(shared_data: Path) -> None:
    data = interchange(shared_data, "type9-13.an2k")
    tx = an.decode(data)
    assert [r.type for r in tx.records] == [2, 9, 13]
    assert len(tx.notes) == 2  # 2.034 given twice; 13.005 inside the Type-9 record
    assert "tag 13.005 read as 9.005" in tx.notes[1]
    latent = tx.records[2]
    assert isinstance(latent, an.TaggedRecord) and latent.data is not None and len(latent.data) == 191 * 357
    again = an.encode(tx)
    assert len(again) == len(data) - 1  # "13.005" written as "9.005"
    assert an.decode(again) == tx and an.encode(an.decode(again)) == again


@pytest.mark.parametrize("name", ["type3.an2k", "type4-slaps.an2k", "type9.an2k", "type9-13.an2k"])
def test_damaged_nist_files_are_refused_with_codes(shared_data: Path, name: str) -> None:
    data = interchange(shared_data, name)
    for end in [*range(0, min(len(data), 600), 7), *range(600, len(data), 997)]:
        with pytest.raises(NistError):
            an.decode(data[:end])
    for pos in range(0, min(len(data), 400)):
        mutated = data[:pos] + bytes([data[pos] ^ 0x10]) + data[pos + 1 :]
        try:
            tx = an.decode(mutated)
        except NistError:
            continue
        assert an.decode(an.encode(tx)) == tx


def test_a_query_built_from_fvc_fingers_and_an_lfw_face(shared_data: Path) -> None:
    fvc = shared_data / "fingerprints" / "FVC2002" / "DB1_B"
    lfw = shared_data / "faces" / "lfw" / "images_deepfunneled"
    tifs = sorted(fvc.glob("10[1-3]_1.tif"))
    faces = sorted(lfw.glob("*/*_0001.jpg"))[:1]
    if len(tifs) < 3 or not faces:
        pytest.skip(f"FVC2002 DB1_B or LFW images not found under {shared_data}")
    greys = []
    records: list[an.Record] = []
    for idc, (position, tif) in enumerate(zip((2, 7, 3), tifs, strict=True), start=1):
        with Image.open(tif) as image:
            grey = image.convert("L")
        greys.append(np.asarray(grey))
        buffer = io.BytesIO()
        grey.save(buffer, format="PNG")
        records.append(
            an.finger_record_for(
                buffer.getvalue(), idc=idc, position=position, source_agency="XX", capture_date=b.DAY
            )
        )
    # one finger as a raw Type-4 record, as older systems send it
    raw = greys[2]
    records[2] = an.BinaryImageRecord(
        idc=3, positions=(3,), width=raw.shape[1], height=raw.shape[0], data=raw.tobytes(), impression=1
    )
    photo = faces[0].read_bytes()
    records.append(an.face_record_for(photo, idc=4, source_agency="XX", photo_date=b.DAY))
    tx = b.transaction(b.type2(), *records)
    data = an.encode(tx)
    assert an.decode(data) == tx and an.encode(an.decode(data)) == data
    samples = an.sample_inputs(an.decode(data))
    assert samples.face == photo
    for slot, expected in zip(("2", "7", "3"), greys, strict=True):
        with Image.open(io.BytesIO(samples.fingers[slot])) as decoded:
            assert np.array_equal(np.asarray(decoded), expected)
