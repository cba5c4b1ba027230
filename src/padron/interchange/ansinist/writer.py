"""Writing a transaction (:func:`encode`, which computes every LEN and 1.003), building its
records (:func:`text_record`, :func:`face_record`, :func:`finger_record`) and summarizing one."""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from padron.interchange.ansinist.model import (
    BINARY_HEADER_BYTES,
    BINARY_IMAGE_TYPES,
    DATA_FIELD,
    FS,
    GS,
    MAX_FIELDS_PER_RECORD,
    MAX_RECORDS,
    MAX_TRANSACTION_BYTES,
    OPAQUE_BINARY_TYPES,
    OPAQUE_HEADER_BYTES,
    RS,
    TAGGED_TYPES,
    TEXT_ONLY_TYPES,
    TYPE1_TYPED,
    US,
    UTF8_CHARSET,
    BinaryImageRecord,
    Compression,
    Field,
    Record,
    TaggedRecord,
    Transaction,
    Where,
    check_binary_image,
    check_record,
    type1_values,
)
from padron.interchange.errors import (
    NistBinaryHeaderError,
    NistFieldValueError,
    NistNonAsciiError,
    NistRecordTypeError,
    NistTooLargeError,
)

# --- encoding -----------------------------------------------------------------------------------


def encode(tx: Transaction) -> bytes:
    """Write a transaction, computing every LEN and 1.003 (CNT); refuses (with the reader's
    errors) what the reader would refuse, so whatever is written reads back."""
    if len(tx.records) > MAX_RECORDS:
        raise NistTooLargeError(
            f"the transaction has {len(tx.records)} records besides Type-1; the limit is {MAX_RECORDS}",
            max_records=MAX_RECORDS,
        )
    utf8 = tx.character_set.strip() == UTF8_CHARSET
    parts = [_encode_type1(tx)]
    total = len(parts[0])
    for index, record in enumerate(tx.records, start=2):
        part = _encode_record(record, index, utf8)
        total += len(part)
        if total > MAX_TRANSACTION_BYTES:
            raise NistTooLargeError(
                f"the transaction would exceed {MAX_TRANSACTION_BYTES:,} bytes (at record {index})",
                max_bytes=MAX_TRANSACTION_BYTES,
            )
        parts.append(part)
    return b"".join(parts)


def _encode_type1(tx: Transaction) -> bytes:
    where = Where(1, 1)
    values: dict[int, str] = {
        2: tx.version,
        4: tx.type_of_transaction,
        5: _yyyymmdd(tx.date),
        7: tx.destination_agency,
        8: tx.originating_agency,
        9: tx.control_number,
        11: tx.native_scanning_resolution,
        12: tx.nominal_transmitting_resolution,
    }
    if tx.priority is not None:
        values[6] = str(tx.priority)
    if tx.control_reference is not None:
        values[10] = tx.control_reference
    type1_values(values, {})  # the reader's checks
    cnt = [f"1{US}{len(tx.records)}"]
    for index, record in enumerate(tx.records, start=2):
        if record.type == 1 or record.type not in TAGGED_TYPES | BINARY_IMAGE_TYPES | OPAQUE_BINARY_TYPES:
            raise Where(index, record.type).error(
                NistRecordTypeError,
                f"Type-{record.type} is not a record type that can follow Type-1",
                record_type=record.type,
            )
        if not 0 <= record.idc <= 255:
            raise Where(index, record.type).error(NistFieldValueError, f"IDC {record.idc} is not 0-255")
        cnt.append(f"{record.type}{US}{record.idc:02d}")
    values[3] = RS.join(cnt)
    fields = [Field(number, value) for number, value in values.items()]
    for extra in tx.other_fields:
        if extra.number in TYPE1_TYPED or extra.number == 1:
            raise where.at(extra.number).error(
                NistFieldValueError,
                "this Type-1 field is an attribute of the transaction (or computed); not an other field",
            )
        fields.append(extra)
    return _tagged_bytes(1, fields, where, ascii_only=True, utf8=False)


def _encode_record(record: Record, index: int, utf8: bool) -> bytes:
    where = Where(index, record.type)
    if isinstance(record, TaggedRecord):
        if record.type not in TAGGED_TYPES or record.type == 1:
            raise where.error(NistRecordTypeError, f"Type-{record.type} is not a tagged record type")
        for item in record.fields:
            if item.number in (1, 2):
                raise where.at(item.number).error(
                    NistFieldValueError, "LEN and IDC are written from the record itself; not as fields"
                )
        check_record(record, index)
        idc = Field(2, f"{record.idc:02d}")
        return _tagged_bytes(record.type, [idc, *record.fields], where, ascii_only=False, utf8=utf8)
    if isinstance(record, BinaryImageRecord):
        if record.type not in BINARY_IMAGE_TYPES:
            raise where.error(NistRecordTypeError, f"Type-{record.type} is not a binary image record type")
        check_binary_image(record, where)
        length = BINARY_HEADER_BYTES + len(record.data)
        fgp = bytes(record.positions) + b"\xff" * (6 - len(record.positions))
        header = struct.pack(
            ">IBB6sBHHB",
            length,
            record.idc,
            record.impression,
            fgp,
            record.resolution,
            record.width,
            record.height,
            record.compression,
        )
        return header + record.data
    if record.type not in OPAQUE_BINARY_TYPES:
        raise where.error(NistRecordTypeError, f"Type-{record.type} is not an opaque binary record type")
    if len(record.body) + 5 < OPAQUE_HEADER_BYTES[record.type]:
        raise where.error(NistBinaryHeaderError, "the body is shorter than the record's header")
    length = 5 + len(record.body)
    if length > MAX_TRANSACTION_BYTES:
        raise where.error(NistTooLargeError, "the record is too large", max_bytes=MAX_TRANSACTION_BYTES)
    return struct.pack(">IB", length, record.idc) + record.body


def _tagged_bytes(
    rtype: int, fields: Sequence[Field], where: Where, *, ascii_only: bool, utf8: bool
) -> bytes:
    if len(fields) + 1 > MAX_FIELDS_PER_RECORD:
        raise where.error(
            NistTooLargeError,
            f"the record has {len(fields) + 1} fields; the limit is {MAX_FIELDS_PER_RECORD}",
            max_fields=MAX_FIELDS_PER_RECORD,
        )
    ordered = sorted(fields, key=lambda f: f.number)
    encoded = []
    for item in ordered:
        place = where.at(item.number)
        if not 1 <= item.number <= DATA_FIELD:
            raise place.error(NistFieldValueError, f"field number {item.number} is not 1-999")
        tag = f"{rtype}.{item.number:03d}:".encode("ascii")
        if isinstance(item.value, bytes):
            if item.number != DATA_FIELD or rtype in TEXT_ONLY_TYPES:
                raise place.error(
                    NistFieldValueError, "only the image field 999 of an image record holds bytes"
                )
            if item is not ordered[-1]:
                raise place.error(NistFieldValueError, "the image field must be the record's last")
            encoded.append(tag + item.value)
            continue
        if "\x1c" in item.value or "\x1d" in item.value:
            raise place.error(NistFieldValueError, "a text value may not hold the FS or GS separator")
        if item.number == DATA_FIELD and rtype not in TEXT_ONLY_TYPES:
            raise place.error(NistFieldValueError, "the image field 999 holds bytes, not text")
        encoded.append(tag + _encode_text(item.value, place, ascii_only=ascii_only, utf8=utf8))
    rest = GS.join(encoded) + FS
    prefix = f"{rtype}.001:".encode("ascii")
    fixed = len(prefix) + 1 + len(rest)
    digits = len(str(fixed))
    while len(str(fixed + digits)) != digits:
        digits += 1
    return prefix + str(fixed + digits).encode("ascii") + GS + rest


def _encode_text(value: str, where: Where, *, ascii_only: bool, utf8: bool) -> bytes:
    if value.isascii():
        return value.encode("ascii")
    if utf8 and not ascii_only:
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate
            raise where.error(NistNonAsciiError, "the value is not encodable as UTF-8") from None
    bad = next(i for i, ch in enumerate(value) if not ch.isascii())
    why = "every Type-1 field must be 7-bit ASCII" if ascii_only else "declare UTF-8 in 1.015 (DCS) first"
    raise where.error(NistNonAsciiError, f"character {bad} of the value ({value[bad]!r}) is not ASCII: {why}")


def _yyyymmdd(day: date) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


# --- building records ---------------------------------------------------------------------------


def text_record(fields: Mapping[int, str | Sequence[str | Sequence[str]]], *, idc: int = 0) -> TaggedRecord:
    """A Type-2 record (user-defined descriptive text) from field numbers and values (a str, or
    subfields each a str or a sequence of items)."""
    built = [
        Field(number, value) if isinstance(value, str) else Field.of(number, *value)
        for number, value in fields.items()
    ]
    return TaggedRecord(2, idc, tuple(built))


def face_record(
    image: bytes,
    *,
    idc: int,
    compression: Compression,
    width: int,
    height: int,
    source_agency: str,
    photo_date: date,
    color_space: str = "SRGB",
    image_type: str = "FACE",
    extra_fields: Sequence[Field] = (),
) -> TaggedRecord:
    """A Type-10 record holding ``image`` (pixel aspect ratio 1:1: SLC 0, THPS = TVPS = 1)."""
    fields = [
        Field(3, image_type),
        Field(4, source_agency),
        Field(5, _yyyymmdd(photo_date)),
        Field(6, str(width)),
        Field(7, str(height)),
        Field(8, "0"),
        Field(9, "1"),
        Field(10, "1"),
        Field(11, compression.value),
        Field(12, color_space),
        *extra_fields,
        Field(DATA_FIELD, image),
    ]
    return TaggedRecord(10, idc, tuple(fields))


def finger_record(
    image: bytes,
    *,
    idc: int,
    position: int,
    compression: Compression,
    width: int,
    height: int,
    source_agency: str,
    capture_date: date,
    ppi: int = 500,
    impression: int = 0,
    bits_per_pixel: int = 8,
    extra_fields: Sequence[Field] = (),
) -> TaggedRecord:
    """A Type-14 record holding one finger's ``image`` at ``ppi`` (SLC 1); impression 0 is a
    live-scan plain impression, 1 a live-scan rolled one."""
    fields = [
        Field(3, str(impression)),
        Field(4, source_agency),
        Field(5, _yyyymmdd(capture_date)),
        Field(6, str(width)),
        Field(7, str(height)),
        Field(8, "1"),
        Field(9, str(ppi)),
        Field(10, str(ppi)),
        Field(11, compression.value),
        Field(12, str(bits_per_pixel)),
        Field(13, str(position)),
        *extra_fields,
        Field(DATA_FIELD, image),
    ]
    return TaggedRecord(14, idc, tuple(fields))


# --- a summary, for people and for --json -------------------------------------------------------


def summarize(tx: Transaction) -> dict[str, Any]:
    """What a transaction holds, without image bytes: Type-1 fields and one line per record."""
    fingers = {f.record: f for f in tx.finger_images()}
    faces = {f.record: f for f in tx.face_images()}
    records: list[dict[str, Any]] = []
    for index, record in enumerate(tx.records, start=2):
        entry: dict[str, Any] = {"record": index, "type": record.type, "idc": record.idc}
        if index in fingers:
            finger = fingers[index]
            entry.update(
                kind="finger",
                positions=list(finger.positions),
                compression=finger.compression.value,
                width=finger.width,
                height=finger.height,
                ppi=finger.ppi,
                bytes=len(finger.data),
            )
        elif index in faces:
            face = faces[index]
            entry.update(
                kind="face" if face.is_face else face.image_type.lower(),
                compression=face.compression.value,
                width=face.width,
                height=face.height,
                bytes=len(face.data),
            )
        elif isinstance(record, TaggedRecord):
            entry.update(kind="tagged", fields=len(record.fields))
        elif isinstance(record, BinaryImageRecord):
            entry.update(
                kind="binary image", width=record.width, height=record.height, bytes=len(record.data)
            )
        else:
            entry.update(kind="binary", bytes=len(record.body))
        records.append(entry)
    return {
        "version": tx.version,
        "type_of_transaction": tx.type_of_transaction,
        "date": tx.date.isoformat(),
        "priority": tx.priority,
        "destination_agency": tx.destination_agency,
        "originating_agency": tx.originating_agency,
        "control_number": tx.control_number,
        "control_reference": tx.control_reference,
        "domain": tx.domain,
        "records": records,
        "notes": list(tx.notes),
    }
