"""Every malformed file is refused with its own PAD-NIST code and a message naming the record,
the field and the byte offset; the writer refuses what the reader would."""

from __future__ import annotations

import pytest

from padron.interchange import ansinist as an
from padron.interchange.ansinist import reader
from padron.interchange.errors import (
    NistBinaryHeaderError,
    NistError,
    NistFieldValueError,
    NistImageFormatError,
    NistImageTruncatedError,
    NistLengthError,
    NistMissingFieldError,
    NistNonAsciiError,
    NistRecordCountError,
    NistRecordTypeError,
    NistSeparatorError,
    NistTooLargeError,
    NistTruncatedError,
)
from tests.unit.interchange import builders as b

TYPE2 = b.raw_tagged(2, [b"2.002:00", b"2.003:query"])
ONE_TYPE2 = b.raw_type1(b.cnt((2, 0))) + TYPE2


def refused(data: bytes, cls: type[NistError], *fragments: str) -> NistError:
    with pytest.raises(NistError) as caught:
        an.decode(data)
    error = caught.value
    assert type(error) is cls, f"{type(error).__name__}: {error}"
    assert error.category.value == "invalid"
    for fragment in fragments:
        assert fragment in error.message, error.message
    return error


def test_the_raw_builders_make_a_valid_file() -> None:
    assert [r.type for r in an.decode(ONE_TYPE2).records] == [2]
    tx = an.decode(b.raw_type1(b.cnt((2, 0), (4, 1), (14, 1))) + TYPE2 + b.raw_type4() + b.raw_type14())
    assert [f.position for f in tx.finger_images()] == [2, 2]


# --- PAD-NIST-001: truncated file ---------------------------------------------------------------


@pytest.mark.parametrize("cut", [1, 5, 20, 80])
def test_file_cut_inside_a_record(cut: int) -> None:
    data = an.encode(b.full_transaction())
    error = refused(data[:-cut], NistTruncatedError, "record 5 (Type-10)", "LEN declares")
    assert error.code == "PAD-NIST-001" and error.details["record"] == 5


def test_file_cut_inside_the_type4_header_or_the_first_tag() -> None:
    start = b.raw_type1(b.cnt((4, 1)))
    refused(start + b.raw_type4()[:10], NistTruncatedError, "record 2 (Type-4)", "18-byte header")
    refused(b"1.00", NistTruncatedError, "record 1")
    refused(b"", NistTruncatedError, "empty")


def test_file_cut_between_records() -> None:
    data = b.raw_type1(b.cnt((2, 0), (4, 1))) + TYPE2
    refused(data, NistTruncatedError, "record 3 (Type-4)", "lists 2 records", "ends after 1")


# --- PAD-NIST-002: LEN disagrees with the bytes -------------------------------------------------


def test_len_too_short_names_where_the_record_really_ends() -> None:
    bad = b.raw_tagged(2, [b"2.002:00", b"2.003:query"], length_delta=-3)
    error = refused(
        b.raw_type1(b.cnt((2, 0))) + bad + b"xyz", NistLengthError, "record 2 (Type-2)", "field 2.001"
    )
    assert "LEN should be" in error.message
    assert error.details["offset"] == len(b.raw_type1(b.cnt((2, 0))))


def test_len_too_long() -> None:
    bad = b.raw_tagged(2, [b"2.002:00", b"2.003:query"], length_delta=+4)
    refused(b.raw_type1(b.cnt((2, 0))) + bad + b"\x1d2.0", NistLengthError, "is not the record separator")


def test_a_record_separator_inside_the_declared_length() -> None:
    bad = b.raw_tagged(2, [b"2.002:00", b"2.003:que\x1cry"])
    refused(b.raw_type1(b.cnt((2, 0))) + bad, NistLengthError, "separator (FS) at byte")


def test_len_shorter_than_its_own_field() -> None:
    refused(
        b.raw_type1(b.cnt((2, 0))) + b"2.001:3\x1d2.002:00\x1c", NistLengthError, "shorter than the LEN field"
    )


# --- PAD-NIST-003: missing separator, malformed tag ---------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        [b"2.002:00", b"2.003=query"],  # no colon
        [b"2.002:00", b"two.003:x"],  # not digits
        [b"2.002:00", b"2.0003:x"],  # four-digit field number
        [b"2.002:00", b""],  # two GS in a row
        [b"2.002:00", b"2.000:x"],  # field 0
    ],
)
def test_malformed_tags(fields: list[bytes]) -> None:
    error = refused(
        b.raw_type1(b.cnt((2, 0))) + b.raw_tagged(2, fields), NistSeparatorError, "record 2 (Type-2)"
    )
    assert "byte" in error.message


def test_not_an_ansi_nist_file() -> None:
    refused(b'{"query": "json, not ANSI/NIST"}', NistSeparatorError, "not an ANSI/NIST-ITL file")
    refused(b"2.001:20\x1d2.002:00\x1c" * 3, NistSeparatorError, "not an ANSI/NIST-ITL file")


def test_a_record_that_does_not_begin_with_len() -> None:
    bad = b.raw_tagged(2, [b"2.002:00"])
    refused(
        b.raw_type1(b.cnt((2, 0))) + bad.replace(b"2.001:", b"2.009:", 1),
        NistSeparatorError,
        "instead of 2.001",
    )


def test_len_without_separator() -> None:
    refused(b"1.001:12345678901234567890123", NistSeparatorError, "LEN is not followed")


# --- PAD-NIST-004: unknown record type ----------------------------------------------------------


@pytest.mark.parametrize("rtype", [0, 23, 50, 97, 100])
def test_unknown_record_types(rtype: int) -> None:
    data = b.raw_type1(b.cnt((rtype, 0))) + b.raw_tagged(rtype, [f"{rtype}.002:00".encode()])
    error = refused(data, NistRecordTypeError, f"Type-{rtype}", "field 1.003")
    assert error.details["listed_type"] == rtype


# --- PAD-NIST-005: CNT disagrees with the records -----------------------------------------------


def test_cnt_count_disagrees_with_its_list() -> None:
    data = b.raw_type1("1\x1f2\x1e2\x1f00") + TYPE2
    refused(data, NistRecordCountError, "says 2 records follow Type-1 but lists 1")


def test_cnt_type_disagrees_with_the_record() -> None:
    data = b.raw_type1(b.cnt((10, 0))) + TYPE2
    refused(
        data,
        NistRecordCountError,
        "record 2 (Type-10)",
        "lists this record as Type-10 but it begins with 2.001",
    )


def test_cnt_idc_disagrees_with_the_record() -> None:
    refused(b.raw_type1(b.cnt((2, 5))) + TYPE2, NistRecordCountError, "IDC 5 but the record says 0")
    refused(b.raw_type1(b.cnt((4, 5))) + b.raw_type4(idc=1), NistRecordCountError, "IDC 5")


def test_bytes_after_the_last_record() -> None:
    refused(ONE_TYPE2 + TYPE2, NistRecordCountError, "bytes follow the last of the 1 records")


def test_a_second_type1_record() -> None:
    refused(b.raw_type1(b.cnt((1, 0))) + TYPE2, NistRecordCountError, "second Type-1")


# --- PAD-NIST-006: truncated image --------------------------------------------------------------


def test_raw_type4_pixels_short_of_its_size() -> None:
    data = b.raw_type1(b.cnt((4, 1))) + b.raw_type4(width=10, height=10, data=bytes(99))
    error = refused(data, NistImageTruncatedError, "record 2 (Type-4)", "99 bytes", "needs 100")
    assert error.details["expected"] == 100


def test_raw_type14_pixels_short() -> None:
    data = b.raw_type1(b.cnt((14, 1))) + b.raw_type14({999: bytes(63)})
    refused(data, NistImageTruncatedError, "record 2 (Type-14), field 14.999")


@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_compressed_images_cut_short(kind: str) -> None:
    image = b.png() if kind == "png" else b.jpeg(mode="L")
    cga = b"PNG" if kind == "png" else b"JPEGB"
    data = b.raw_type1(b.cnt((14, 1))) + b.raw_type14({6: b"48", 7: b"40", 11: cga, 999: image[:-20]})
    refused(data, NistImageTruncatedError, "field 14.999", "end marker")
    face = b.type10(1, image=image)
    cut = an.TaggedRecord(
        10, 1, tuple(f if f.number != 999 else an.Field(999, image[:-20]) for f in face.fields)
    )
    with pytest.raises(NistImageTruncatedError, match=r"record 2 \(Type-10\), field 10\.999"):
        an.encode(b.transaction(cut))


def test_wsq_without_its_end_marker() -> None:
    data = b.raw_type1(b.cnt((4, 1))) + b.raw_type4(cga=1, data=b.FAKE_WSQ[:-2])
    refused(data, NistImageTruncatedError, "WSQ20", "end marker ffa1")


def test_an_empty_image() -> None:
    refused(b.raw_type1(b.cnt((14, 1))) + b.raw_type14({999: b""}), NistImageTruncatedError, "empty")


# --- PAD-NIST-007: mandatory field missing ------------------------------------------------------


@pytest.mark.parametrize(("number", "name"), [(4, "TOT"), (5, "DAT"), (9, "TCN"), (12, "NTR")])
def test_type1_mandatory_fields(number: int, name: str) -> None:
    data = b.raw_type1(b.cnt((2, 0)), omit=number) + TYPE2
    refused(data, NistMissingFieldError, f"field 1.{number:03d}", name)


def test_type1_without_cnt() -> None:
    refused(b.raw_type1(b.cnt(), omit=3), NistMissingFieldError, "CNT")


@pytest.mark.parametrize(("number", "name"), [(13, "FGP"), (6, "HLL"), (11, "CGA"), (999, "image data")])
def test_type14_mandatory_fields(number: int, name: str) -> None:
    data = b.raw_type1(b.cnt((14, 1))) + b.raw_type14(drop=number)
    refused(data, NistMissingFieldError, f"field 14.{number:03d}", name)


def test_a_tagged_record_without_idc() -> None:
    refused(b.raw_type1(b.cnt((2, 0))) + b.raw_tagged(2, [b"2.003:x"]), NistMissingFieldError, "IDC")


def test_the_writer_refuses_a_face_without_its_image_type() -> None:
    face = b.type10(1)
    without = an.TaggedRecord(10, 1, tuple(f for f in face.fields if f.number != 3))
    with pytest.raises(NistMissingFieldError, match="IMT"):
        an.encode(b.transaction(without))


# --- PAD-NIST-008: bad Type-4 header ------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ({"isr": 2}, "ISR must be 0 or 1"),
        ({"fgp": bytes([255] * 6)}, "FGP must name"),
        ({"fgp": bytes([2, 40, 255, 255, 255, 255])}, "outside 0-16"),
        ({"width": 0, "data": b""}, "HLL x VLL"),
        ({"cga": 9}, "CGA 9"),
        ({"length": 10}, "shorter than the 18-byte header"),
    ],
)
def test_bad_type4_headers(header: dict[str, object], fragment: str) -> None:
    data = b.raw_type1(b.cnt((4, 1))) + b.raw_type4(**header)  # type: ignore[arg-type]
    refused(data, NistBinaryHeaderError, "record 2 (Type-4)", fragment)


def test_the_writer_refuses_a_bad_type4() -> None:
    with pytest.raises(NistBinaryHeaderError):
        an.encode(
            b.transaction(
                an.BinaryImageRecord(idc=1, positions=(2,), width=4, height=4, data=bytes(16), resolution=3)
            )
        )


# --- PAD-NIST-009: non-ASCII where ASCII is required --------------------------------------------


def test_non_ascii_in_type1() -> None:
    data = b.raw_type1(b.cnt((2, 0)), values={9: "TCN-\u00e9".encode("latin-1")}) + TYPE2
    error = refused(data, NistNonAsciiError, "record 1 (Type-1), field 1.009", "0xE9", "7-bit ASCII")
    assert error.details["field"] == "1.009"


def test_utf8_text_needs_1015() -> None:
    bad = b.raw_tagged(2, [b"2.002:00", "2.018:José".encode()])
    refused(b.raw_type1(b.cnt((2, 0))) + bad, NistNonAsciiError, "field 2.018", "1.015")
    with pytest.raises(NistNonAsciiError, match="declare UTF-8"):
        an.encode(b.transaction(an.text_record({18: "José"})))


def test_invalid_utf8_when_declared() -> None:
    bad = b.raw_tagged(2, [b"2.002:00", b"2.018:Jos\xe9"])
    data = b.raw_type1(b.cnt((2, 0)), extra=[b"1.015:3\x1fUTF-8"]) + bad
    refused(data, NistNonAsciiError, "not UTF-8")


def test_the_writer_refuses_non_ascii_type1() -> None:
    with pytest.raises(NistNonAsciiError, match=r"1\.008"):
        an.encode(b.transaction(originating_agency="AGENCÍA"))


# --- PAD-NIST-010: malformed values -------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({5: b"20261331"}, "DAT must be a real date"),
        ({5: b"2026-11-30"}, "DAT must be a real date"),
        ({2: b"5"}, "VER must be four digits"),
        ({11: b"fast"}, "NSR must be pixels per millimetre"),
        ({4: b""}, "TOT is empty"),
    ],
)
def test_bad_type1_values(override: dict[int, bytes], fragment: str) -> None:
    data = b.raw_type1(b.cnt((2, 0)), values=override) + TYPE2
    refused(data, NistFieldValueError, "record 1 (Type-1)", fragment)


def test_bad_priority_and_repeated_type1_field() -> None:
    refused(b.raw_type1(b.cnt((2, 0)), extra=[b"1.006:0"]) + TYPE2, NistFieldValueError, "PRY")
    refused(b.raw_type1(b.cnt((2, 0)), extra=[b"1.004:SRE"]) + TYPE2, NistFieldValueError, "appears twice")


@pytest.mark.parametrize(
    "value",
    [
        "1\x1f1\x1e2",
        "1\x1fone\x1e2\x1f00",
        "2\x1f1\x1e2\x1f00",
        "1\x1f1\x1e2\x1f00\x1fextra",
        "1\x1f1\x1e2\x1f300",
    ],
)
def test_malformed_cnt(value: str) -> None:
    refused(b.raw_type1(value) + TYPE2, NistFieldValueError, "field 1.003")


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({6: b"abc"}, "HLL must be a number"),
        ({6: b"0"}, "HLL must be a number from 1"),
        ({8: b"3"}, "SLC must be a number from 0 to 2"),
        ({11: b"GIF"}, "CGA 'GIF' is not one of"),
        ({13: b"two"}, "FGP must be a number"),
        ({5: b"20260230"}, "FCD must be a real date"),
        ({3: b"\xd9\xa3"}, "not ASCII"),  # an Arabic-Indic digit three in UTF-8
    ],
)
def test_bad_type14_values(values: dict[int, bytes], fragment: str) -> None:
    data = b.raw_type1(b.cnt((14, 1))) + b.raw_type14(values)
    error = refused(data, NistNonAsciiError if "ASCII" in fragment else NistFieldValueError, fragment)
    assert error.details["record"] == 2 and error.details["field"].startswith("14.")


def test_bad_len_and_idc_values() -> None:
    refused(
        b.raw_type1(b.cnt((2, 0))) + b"2.001:1x\x1d2.002:00\x1c", NistFieldValueError, "LEN must be a number"
    )
    twice = b.raw_tagged(2, [b"2.002:00", b"2.002:00"])
    refused(b.raw_type1(b.cnt((2, 0))) + twice, NistFieldValueError, "IDC appears twice")


def test_the_writer_refuses_separators_in_text_and_misplaced_fields() -> None:
    with pytest.raises(NistFieldValueError, match="FS or GS"):
        an.encode(b.transaction(an.text_record({3: "a\x1db"})))
    with pytest.raises(NistFieldValueError, match="LEN and IDC"):
        an.encode(b.transaction(an.TaggedRecord(2, 0, (an.Field(2, "07"),))))
    with pytest.raises(NistFieldValueError, match="attribute of the transaction"):
        an.encode(b.transaction(other_fields=(an.Field(9, "TCN"),)))
    with pytest.raises(NistFieldValueError, match="only the image field 999"):
        an.encode(b.transaction(an.TaggedRecord(2, 0, (an.Field(3, b"bytes"),))))
    with pytest.raises(NistRecordTypeError):
        an.encode(b.transaction(an.TaggedRecord(4, 0, ())))


# --- PAD-NIST-011: limits -----------------------------------------------------------------------


def test_too_many_records() -> None:
    listed = "\x1e".join(["1\x1f300", *["2\x1f00"] * 300])
    refused(b.raw_type1(listed), NistTooLargeError, "limit is 256")


def test_too_many_fields() -> None:
    many = b.raw_tagged(2, [b"2.002:00", *[b"2.003:x"] * 1000])
    refused(b.raw_type1(b.cnt((2, 0))) + many, NistTooLargeError, "more than 1000 fields")


def test_too_many_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "MAX_TRANSACTION_BYTES", 100)
    error = refused(ONE_TYPE2 + b"x" * 100, NistTooLargeError, "the limit is 100")
    assert error.details["max_bytes"] == 100


def test_an_image_over_the_image_limit() -> None:
    from padron.biometrics.images import MAX_IMAGE_BYTES

    data = b.raw_type1(b.cnt((4, 1))) + b.raw_type4(width=4096, height=4097, data=bytes(4096 * 4097))
    assert MAX_IMAGE_BYTES < 4096 * 4097
    refused(data, NistTooLargeError, "the limit is")


# --- PAD-NIST-012: image not in its declared format ---------------------------------------------


def test_png_declared_but_jpeg_sent() -> None:
    data = b.raw_type1(b.cnt((14, 1))) + b.raw_type14({11: b"PNG", 999: b.jpeg()})
    refused(data, NistImageFormatError, "does not start like PNG")
    with pytest.raises(NistImageFormatError):
        an.encode(
            b.transaction(
                an.BinaryImageRecord(idc=1, positions=(2,), width=4, height=4, data=b.png(), compression=1)
            )
        )


# --- what the reader accepts from real senders, with a note -------------------------------------


def test_a_tag_naming_another_record_type_is_read_with_a_note() -> None:
    odd = b.raw_tagged(2, [b"2.002:00", b"13.005:EXISTING IMAGE\x1fA"])
    tx = an.decode(b.raw_type1(b.cnt((2, 0))) + odd)
    record = tx.records[0]
    assert isinstance(record, an.TaggedRecord) and record.text(5) == "EXISTING IMAGE"
    assert any("tag 13.005 read as 2.005" in note for note in tx.notes)


def test_a_repeated_field_is_kept_in_order_with_a_note() -> None:
    twice = b.raw_tagged(2, [b"2.002:00", b"2.034:00", b"2.034:UC"])
    tx = an.decode(b.raw_type1(b.cnt((2, 0))) + twice)
    record = tx.records[0]
    assert isinstance(record, an.TaggedRecord)
    assert [f.value for f in record.fields] == ["00", "UC"] and len(tx.notes) == 1
    assert an.decode(an.encode(tx)) == tx


def test_fields_out_of_order_are_read_in_numerical_order() -> None:
    shuffled = b.raw_tagged(2, [b"2.002:00", b"2.009:b", b"2.003:a"])
    tx = an.decode(b.raw_type1(b.cnt((2, 0))) + shuffled)
    again = an.encode(tx)
    assert b"2.003:a\x1d2.009:b" in again and an.decode(again) == tx
