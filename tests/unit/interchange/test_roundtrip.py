"""The writer's files read back equal and write back byte for byte; LEN and CNT are computed."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from padron.domain.finger import FingerPosition
from padron.interchange import ansinist as an
from tests.unit.interchange import builders as b


def roundtrip(tx: an.Transaction) -> bytes:
    data = an.encode(tx)
    back = an.decode(data)
    assert back == tx
    assert an.encode(back) == data
    assert back.notes == ()
    return data


def records_of(data: bytes) -> list[bytes]:
    """The records' bytes, split using the LEN of each (tagged) or its 4-byte length (binary)."""
    tx = an.decode(data)
    out, pos = [], 0
    for rtype in [1, *(r.type for r in tx.records)]:
        if rtype in an.BINARY_IMAGE_TYPES or rtype in an.OPAQUE_BINARY_TYPES:
            (length,) = struct.unpack_from(">I", data, pos)
        else:
            length = int(data[pos : data.index(b"\x1d", pos)].split(b":")[1])
        out.append(data[pos : pos + length])
        pos += length
    assert pos == len(data)
    return out


def test_type1_alone_and_its_fields() -> None:
    tx = b.transaction(priority=2, control_reference="REQ-7")
    data = roundtrip(tx)
    text = data.decode("ascii")
    assert text.startswith(
        f"1.001:{len(data)}\x1d1.002:0500\x1d1.003:1\x1f0\x1d1.004:SRE\x1d1.005:20261130\x1d"
    )
    assert "\x1d1.006:2\x1d" in text and "\x1d1.010:REQ-7\x1d" in text
    assert text.endswith("1.013:NORAM\x1f\x1c")
    back = an.decode(data)
    assert back.domain == "NORAM" and back.character_set == "0" and back.priority == 2


def test_type2_text_record_with_subfields_and_items() -> None:
    data = roundtrip(b.transaction(b.type2(0)))
    record = an.decode(data).records[0]
    assert isinstance(record, an.TaggedRecord)
    assert record.text(3) == "query"
    field_21 = record.get(21)
    assert field_21 is not None and field_21.subfields == (("a", "b"), ("c", "d"))
    assert b"2.002:00\x1d" in data and b"2.020:one\x1etwo\x1d" in data


def test_type4_binary_header_is_18_bytes_big_endian() -> None:
    record = b.type4(idc=5, position=3, width=300, height=2)
    data = roundtrip(b.transaction(record))
    raw = records_of(data)[1]
    length, idc, imp = struct.unpack_from(">IBB", raw)
    assert (length, idc, imp) == (18 + 600, 5, 1)
    assert raw[6:12] == bytes([3, 255, 255, 255, 255, 255])
    assert struct.unpack_from(">BHHB", raw, 12) == (0, 300, 2, 0)
    finger = an.decode(data).finger_images()[0]
    assert (finger.finger, finger.compression, finger.ppi) == (
        FingerPosition.RIGHT_MIDDLE,
        an.Compression.NONE,
        500.0,
    )


def test_type4_keeps_wsq_opaque_and_reports_it() -> None:
    record = an.BinaryImageRecord(
        idc=1, positions=(7, 8), width=512, height=512, data=b.FAKE_WSQ, compression=1
    )
    data = roundtrip(b.transaction(record))
    finger = an.decode(data).finger_images()[0]
    assert finger.compression is an.Compression.WSQ and finger.data == b.FAKE_WSQ
    assert finger.positions == (7, 8) and finger.finger == FingerPosition.LEFT_INDEX


def test_type14_fields_and_view() -> None:
    image = b.png(60, 50, seed=3)
    data = roundtrip(b.transaction(b.type14(4, position=10, image=image, ppi=1000)))
    record = an.decode(data).records[0]
    assert isinstance(record, an.TaggedRecord) and record.type == 14 and record.idc == 4
    assert [f.number for f in record.fields] == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 999]
    finger = an.decode(data).finger_images()[0]
    assert (finger.position, finger.width, finger.height, finger.ppi) == (10, 60, 50, 1000.0)
    assert finger.compression is an.Compression.PNG and finger.data == image
    assert records_of(data)[1].endswith(b"14.999:" + image + b"\x1c")


def test_type10_face_view() -> None:
    image = b.jpeg(40, 50, seed=9)
    data = roundtrip(b.transaction(b.type10(1, image=image)))
    face = an.decode(data).face_images()[0]
    assert face.is_face and face.compression is an.Compression.JPEGB and (face.width, face.height) == (40, 50)
    assert face.color_space == "SRGB" and face.data == image


def test_type10_raw_grey_and_png() -> None:
    raw = an.face_record(
        b.grey_pixels(20, 10),
        idc=1,
        compression=an.Compression.NONE,
        width=20,
        height=10,
        source_agency="X",
        photo_date=b.DAY,
        color_space="GRAY",
    )
    grey_png = b.type10(2, image=b.png(30, 30, seed=1))
    tx = b.transaction(raw, grey_png)
    roundtrip(tx)
    assert [f.color_space for f in tx.face_images()] == ["GRAY", "GRAY"]


def test_other_record_types_round_trip() -> None:
    latent = an.TaggedRecord(
        13, 0, (an.Field(3, "4"), an.Field.of(15, ("FV1", "PRX")), an.Field(999, bytes(range(256))))
    )
    minutiae = an.TaggedRecord(9, 1, (an.Field(3, "6"), an.Field(4, "S")))
    user_image = an.BinaryRecord(7, 2, b"\x00\x01anything")
    signature = an.BinaryRecord(8, 3, bytes(7) + b"sig")
    low_res = an.BinaryImageRecord(idc=4, positions=(1,), width=8, height=8, data=bytes(64), type=3)
    roundtrip(b.transaction(latent, minutiae, user_image, signature, low_res))


def test_full_transaction_type_1_2_4_14_10() -> None:
    tx = b.full_transaction()
    data = roundtrip(tx)
    back = an.decode(data)
    assert [r.type for r in back.records] == [2, 4, 14, 10]
    cnt = data.split(b"\x1d")[2]
    assert cnt == b"1.003:1\x1f4\x1e2\x1f00\x1e4\x1f01\x1e14\x1f02\x1e10\x1f03"
    assert [f.position for f in back.finger_images()] == [2, 7]
    assert len(back.face_images()) == 1
    for raw in records_of(data)[:2] + records_of(data)[3:]:
        assert int(raw.split(b"\x1d")[0].split(b":")[1]) == len(raw) and raw.endswith(b"\x1c")
    summary = an.summarize(back)
    assert [r["kind"] for r in summary["records"]] == ["tagged", "finger", "finger", "face"]


@pytest.mark.parametrize("size", [85, 86, 87, 88, 89, 990, 991, 992, 993, 994, 995, 996])
def test_len_is_right_where_its_digit_count_changes(size: int) -> None:
    for filler in range(size - 20, size):
        record = an.text_record({3: "x" * filler})
        raw = records_of(an.encode(b.transaction(record)))[1]
        assert int(raw.split(b"\x1d")[0].split(b":")[1]) == len(raw)


def test_utf8_text_when_1015_declares_it() -> None:
    tx = b.transaction(
        an.text_record({18: "José Pérez Ñúñez"}),
        other_fields=(an.Field.of(15, ("3", "UTF-8")),),
    )
    data = roundtrip(tx)
    assert "José Pérez Ñúñez".encode() in data


def test_is_ansi_nist() -> None:
    assert an.is_ansi_nist(an.encode(b.transaction()))
    assert not an.is_ansi_nist(b'{"json": 1}') and not an.is_ansi_nist(b"")


text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)


@settings(max_examples=60, deadline=None)
@given(
    fields=st.dictionaries(
        st.integers(3, 998),
        st.lists(st.lists(text, min_size=1, max_size=3), min_size=1, max_size=3),
        max_size=8,
    ),
    idc=st.integers(0, 99),
    tcn=text.filter(bool),
)
def test_any_text_record_round_trips(fields: dict[int, list[list[str]]], idc: int, tcn: str) -> None:
    record = an.text_record({n: [list(items) for items in subs] for n, subs in fields.items()}, idc=idc)
    roundtrip(b.transaction(record, control_number=tcn))
