"""Reading a transaction: :func:`decode` (every refusal a ``PAD-NIST-`` error, never another
exception; fuzzed in tests/unit/interchange/test_fuzz.py)."""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from padron.interchange.ansinist.model import (
    BINARY_HEADER_BYTES,
    BINARY_IMAGE_TYPES,
    DATA_FIELD,
    DIGITS,
    FS,
    GS,
    MAX_FIELDS_PER_RECORD,
    MAX_RECORDS,
    MAX_TRANSACTION_BYTES,
    OPAQUE_BINARY_TYPES,
    OPAQUE_HEADER_BYTES,
    RS,
    TAG,
    TAGGED_TYPES,
    TEXT_ONLY_TYPES,
    TYPE1_MANDATORY,
    TYPE1_TYPED,
    US,
    UTF8_CHARSET,
    BinaryImageRecord,
    BinaryRecord,
    Field,
    Record,
    TaggedRecord,
    Transaction,
    Where,
    check_binary_image,
    check_record,
    parse_number,
    type1_values,
)
from padron.interchange.errors import (
    NistBinaryHeaderError,
    NistFieldValueError,
    NistLengthError,
    NistMissingFieldError,
    NistNonAsciiError,
    NistRecordCountError,
    NistRecordTypeError,
    NistSeparatorError,
    NistTooLargeError,
    NistTruncatedError,
)

_FS: Final = 0x1C

# --- decoding -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _RawField:
    number: int
    value: bytes
    #: the offset of the field's tag in the file
    offset: int
    #: the record number its tag names (normally the record's type)
    tag_type: int


def is_ansi_nist(data: bytes) -> bool:
    """Whether ``data`` starts like an ANSI/NIST-ITL traditional-encoding file (``1.001:``);
    for telling such a request from a JSON one."""
    return data[:6] == b"1.001:" or data[:7] == b"01.001:"


def decode(data: bytes) -> Transaction:
    """Read a whole transaction (a ``PAD-NIST-`` error for anything malformed, never another
    exception)."""
    data = bytes(data)
    if len(data) > MAX_TRANSACTION_BYTES:
        raise NistTooLargeError(
            f"the file is {len(data):,} bytes; the limit is {MAX_TRANSACTION_BYTES:,}",
            max_bytes=MAX_TRANSACTION_BYTES,
        )
    if not data:
        raise NistTruncatedError("the file is empty (0 bytes)", offset=0)
    return _Decoder(data).transaction()


class _Decoder:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.notes: list[str] = []
        self.utf8 = False

    # -- tagged records

    def tagged(self, index: int, rtype: int, start: int) -> tuple[list[_RawField], int]:
        """The fields of the tagged record at ``start`` (LEN included) and the offset after it."""
        data = self.data
        where = Where(index, rtype, offset=start)
        window = data[start : start + 32]
        colon = window.find(b":")
        match = TAG.fullmatch(window[:colon]) if colon > 0 else None
        if match is None:
            if len(window) < 32 and re.fullmatch(rb"[0-9]{1,2}(\.[0-9]{0,3})?", window):
                raise where.error(NistTruncatedError, "the file ends inside the record's first tag")
            if index == 1:
                raise where.error(
                    NistSeparatorError, "not an ANSI/NIST-ITL file: it must begin with the tag 1.001:"
                )
            raise where.error(NistSeparatorError, f"the record must begin with its LEN field {rtype}.001:")
        tag_type, number = int(match.group(1)), int(match.group(2))
        if number != 1:
            raise where.error(
                NistSeparatorError,
                f"the record begins with tag {match.group(0).decode()} instead of {rtype}.001 (LEN)",
            )
        if tag_type != rtype:
            if index == 1:
                raise where.error(NistSeparatorError, "not an ANSI/NIST-ITL file: it must begin with 1.001:")
            raise where.error(
                NistRecordCountError,
                f"1.003 lists this record as Type-{rtype} but it begins with {tag_type}.001",
                listed_type=rtype,
                found_type=tag_type,
            )
        value_start = start + colon + 1
        stop = _first_separator(data, value_start, value_start + 16)
        if stop < 0:
            if len(data) <= value_start + 16:
                raise where.at(1).error(NistTruncatedError, "the file ends inside the LEN field")
            raise where.at(1, start).error(NistSeparatorError, "LEN is not followed by a separator (GS)")
        text = data[value_start:stop]
        if not re.fullmatch(rb"[0-9]{1,10}", text):
            raise where.at(1, start).error(
                NistFieldValueError, f"LEN must be a number of bytes, not {text[:20]!r}"
            )
        length = int(text)
        end = start + length
        if length < stop + 1 - start:
            raise where.at(1, start).error(
                NistLengthError,
                f"LEN is {length}, shorter than the LEN field itself ({stop + 1 - start} bytes)",
                length=length,
            )
        if end > len(data):
            raise where.at(1, start).error(
                NistTruncatedError,
                f"LEN declares {length:,} bytes but the file ends {len(data) - start:,} bytes after "
                "the record's start",
                length=length,
                available=len(data) - start,
            )
        if data[end - 1] != _FS:
            raise where.at(1, start).error(
                NistLengthError, self._length_hint(start, length, rtype), length=length
            )
        fields = [_RawField(1, text, start, tag_type)]
        if data[stop] == _FS:  # nothing but LEN
            if stop != end - 1:
                raise where.at(1, start).error(
                    NistLengthError, f"a record separator (FS) at byte {stop} ends the record early"
                )
            return fields, end
        fields.extend(self._fields(index, rtype, stop + 1, end - 1))
        return fields, end

    def _length_hint(self, start: int, length: int, rtype: int) -> str:
        message = f"LEN is {length:,} but byte {start + length - 1} is not the record separator (FS)"
        if rtype not in TEXT_ONLY_TYPES:
            return message
        actual = self.data.find(FS, start)
        if actual >= 0:
            message += f"; the first FS is at byte {actual}, so LEN should be {actual + 1 - start}"
        return message

    def _fields(self, index: int, rtype: int, pos: int, body_end: int) -> Iterable[_RawField]:
        """The fields between ``pos`` and the record's FS at ``body_end``."""
        data = self.data
        count = 1
        while True:
            where = Where(index, rtype, offset=pos)
            count += 1
            if count > MAX_FIELDS_PER_RECORD:
                raise where.error(
                    NistTooLargeError,
                    f"the record has more than {MAX_FIELDS_PER_RECORD} fields",
                    max_fields=MAX_FIELDS_PER_RECORD,
                )
            colon = data.find(b":", pos, min(pos + 8, body_end))
            match = TAG.fullmatch(data, pos, colon) if colon > pos else None
            if match is None:
                shown = data[pos : min(pos + 8, body_end)]
                raise where.error(NistSeparatorError, f"expected a field tag T.NNN: but found {shown!r}")
            tag_type, number = int(match.group(1)), int(match.group(2))
            if number == 0:
                raise where.error(NistSeparatorError, f"field numbers start at 1, not {match.group(0)!r}")
            if number == 1:
                raise where.error(NistFieldValueError, "a second LEN field; a record has one, first")
            value_start = colon + 1
            if number == DATA_FIELD and rtype not in TEXT_ONLY_TYPES:
                yield _RawField(number, data[value_start:body_end], pos, tag_type)
                return
            gs = data.find(GS, value_start, body_end)
            stop = body_end if gs < 0 else gs
            fs = data.find(FS, value_start, stop)
            if fs >= 0:
                raise where.error(
                    NistLengthError,
                    f"a record separator (FS) at byte {fs} stands inside the record LEN declares "
                    f"(it ends at byte {body_end})",
                )
            yield _RawField(number, data[value_start:stop], pos, tag_type)
            if gs < 0:
                return
            pos = gs + 1

    def text(self, raw: _RawField, where: Where, *, ascii_only: bool) -> str:
        value = raw.value
        if value.isascii():
            return value.decode("ascii")
        if not ascii_only and self.utf8:
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError as error:
                raise where.error(
                    NistNonAsciiError,
                    f"the value is not UTF-8 (byte {error.start} of the value), though 1.015 declares UTF-8",
                ) from None
        bad = next(i for i, b in enumerate(value) if b > 0x7F)
        why = (
            "every Type-1 field must be 7-bit ASCII"
            if ascii_only
            else "1.015 (DCS) declares no 8-bit character set (3 = UTF-8)"
        )
        raise where.error(
            NistNonAsciiError, f"byte {bad} of the value is 0x{value[bad]:02X}, not ASCII: {why}"
        )

    # -- the transaction

    def transaction(self) -> Transaction:
        raw, pos = self.tagged(1, 1, 0)
        type1 = self._type1(raw)
        listed = self._cnt(raw)
        records: list[Record] = []
        for index, (rtype, idc) in enumerate(listed, start=2):
            where = Where(index, rtype, offset=pos)
            if pos >= len(self.data):
                raise where.error(
                    NistTruncatedError,
                    f"1.003 lists {len(listed)} records after Type-1 but the file ends after "
                    f"{index - 2} of them",
                    listed=len(listed),
                )
            record: Record
            if rtype in TAGGED_TYPES:
                record, pos = self._tagged_record(index, rtype, pos)
            elif rtype in BINARY_IMAGE_TYPES:
                record, pos = self._binary_image(index, rtype, pos)
            else:
                record, pos = self._opaque(index, rtype, pos)
            if record.idc != idc:
                raise where.error(
                    NistRecordCountError,
                    f"1.003 gives this record IDC {idc} but the record says {record.idc}",
                    listed_idc=idc,
                    found_idc=record.idc,
                )
            records.append(record)
        if pos != len(self.data):
            raise Where(len(listed) + 1, offset=pos).error(
                NistRecordCountError,
                f"{len(self.data) - pos:,} bytes follow the last of the {len(listed)} records 1.003 lists",
                listed=len(listed),
            )
        tx = Transaction(records=tuple(records), notes=tuple(self.notes), **type1)
        for index, record in enumerate(tx.records, start=2):
            check_record(record, index)
        return tx

    def _type1(self, raw: list[_RawField]) -> dict[str, Any]:
        values: dict[int, tuple[str, Where]] = {}
        other: list[Field] = []
        for item in raw[1:]:
            where = Where(1, 1, item.number, item.offset)
            self._note_tag(item, 1, where)
            text = self.text(item, where, ascii_only=True)
            if item.number in TYPE1_TYPED:
                if item.number in values:
                    raise where.error(
                        NistFieldValueError, "the field appears twice; the standard allows it once"
                    )
                values[item.number] = (text, where)
            else:
                other.append(Field(item.number, text))
        for number, name in TYPE1_MANDATORY.items():
            if number not in values:
                raise Where(1, 1, number, 0).error(
                    NistMissingFieldError, f"the mandatory field {name} is missing"
                )
        dcs = next((f for f in other if f.number == 15), None)
        self.utf8 = dcs is not None and dcs.first.strip() == UTF8_CHARSET
        out = type1_values({n: v for n, (v, _) in values.items()}, {n: w for n, (_, w) in values.items()})
        out["other_fields"] = tuple(other)
        return out

    def _cnt(self, raw: list[_RawField]) -> list[tuple[int, int]]:
        item = next(f for f in raw if f.number == 3)
        where = Where(1, 1, 3, item.offset)
        text = item.value.decode("ascii")  # checked by _type1
        subfields = [sub.split(US) for sub in text.split(RS)]
        if len(subfields) - 1 > MAX_RECORDS:
            raise where.error(
                NistTooLargeError,
                f"1.003 lists {len(subfields) - 1} records; the limit is {MAX_RECORDS}",
                max_records=MAX_RECORDS,
            )
        head = subfields[0]
        if len(head) != 2 or head[0] != "1" or not DIGITS.fullmatch(head[1]):
            raise where.error(
                NistFieldValueError,
                f"1.003 must begin with 1<US>count, not {RS.join(US.join(s) for s in [head])!r}",
            )
        if int(head[1]) != len(subfields) - 1:
            raise where.error(
                NistRecordCountError,
                f"1.003 says {int(head[1])} records follow Type-1 but lists {len(subfields) - 1}",
                declared=int(head[1]),
                listed=len(subfields) - 1,
            )
        out = []
        for number, sub in enumerate(subfields[1:], start=2):
            if len(sub) != 2 or not all(DIGITS.fullmatch(part) for part in sub):
                raise where.error(
                    NistFieldValueError, f"subfield {number} of 1.003 must be TYPE<US>IDC, not {sub!r}"[:160]
                )
            rtype, idc = int(sub[0]), int(sub[1])
            if rtype == 1:
                raise where.error(
                    NistRecordCountError, f"subfield {number} of 1.003 lists a second Type-1 record"
                )
            if rtype not in TAGGED_TYPES | BINARY_IMAGE_TYPES | OPAQUE_BINARY_TYPES:
                raise where.error(
                    NistRecordTypeError,
                    f"subfield {number} of 1.003 lists a Type-{rtype} record; ANSI/NIST-ITL defines "
                    "Types 1-22, 98 and 99",
                    listed_type=rtype,
                )
            if idc > 255:
                raise where.error(
                    NistFieldValueError, f"subfield {number} of 1.003 has IDC {idc}; at most 255"
                )
            out.append((rtype, idc))
        return out

    def _note_tag(self, item: _RawField, rtype: int, where: Where) -> None:
        if item.tag_type != rtype:
            self.notes.append(
                f"{where.text()}: tag {item.tag_type}.{item.number:03d} read as {rtype}.{item.number:03d}"
            )

    def _tagged_record(self, index: int, rtype: int, pos: int) -> tuple[TaggedRecord, int]:
        raw, end = self.tagged(index, rtype, pos)
        idc: int | None = None
        fields: list[Field] = []
        seen: set[int] = set()
        for item in raw[1:]:
            where = Where(index, rtype, item.number, item.offset)
            self._note_tag(item, rtype, where)
            if item.number == DATA_FIELD and rtype not in TEXT_ONLY_TYPES:
                fields.append(Field(item.number, item.value))
                continue
            text = self.text(item, where, ascii_only=False)
            if item.number == 2:
                if idc is not None:
                    raise where.error(NistFieldValueError, "IDC appears twice")
                idc = parse_number(text, where, "IDC", 0, 255)
                continue
            if item.number in seen:
                self.notes.append(f"{where.text()}: the field appears more than once; every one is kept")
            seen.add(item.number)
            fields.append(Field(item.number, text))
        if idc is None:
            raise Where(index, rtype, 2, pos).error(
                NistMissingFieldError, "the mandatory field IDC is missing"
            )
        return TaggedRecord(rtype, idc, tuple(fields)), end

    def _binary_image(self, index: int, rtype: int, pos: int) -> tuple[BinaryImageRecord, int]:
        data = self.data
        where = Where(index, rtype, offset=pos)
        if len(data) - pos < BINARY_HEADER_BYTES:
            raise where.error(
                NistTruncatedError,
                f"the record needs an {BINARY_HEADER_BYTES}-byte header; the file has {len(data) - pos} "
                "bytes left",
            )
        length, idc, impression = struct.unpack_from(">IBB", data, pos)
        fgp = data[pos + 6 : pos + 12]
        resolution, width, height, compression = struct.unpack_from(">BHHB", data, pos + 12)
        if length < BINARY_HEADER_BYTES:
            raise where.error(
                NistBinaryHeaderError, f"LEN is {length}, shorter than the {BINARY_HEADER_BYTES}-byte header"
            )
        if pos + length > len(data):
            raise where.error(
                NistTruncatedError,
                f"LEN declares {length:,} bytes but the file ends {len(data) - pos:,} bytes after the "
                "record's start",
                length=length,
            )
        positions = tuple(fgp.rstrip(b"\xff")) or (255,)
        record = BinaryImageRecord(
            idc=idc,
            positions=positions,
            width=width,
            height=height,
            data=data[pos + BINARY_HEADER_BYTES : pos + length],
            compression=compression,
            impression=impression,
            resolution=resolution,
            type=rtype,
        )
        check_binary_image(record, where)
        raw_size = width * height if rtype in (3, 4) else (width + 7) // 8 * height
        if compression == 0 and len(record.data) > raw_size:
            self.notes.append(
                f"{where.text()}: {len(record.data) - raw_size} bytes after the {width}x{height} "
                "pixels are kept"
            )
        return record, pos + length

    def _opaque(self, index: int, rtype: int, pos: int) -> tuple[BinaryRecord, int]:
        data = self.data
        where = Where(index, rtype, offset=pos)
        header = OPAQUE_HEADER_BYTES[rtype]
        if len(data) - pos < header:
            raise where.error(
                NistTruncatedError,
                f"the record needs a {header}-byte header; the file has {len(data) - pos} bytes left",
            )
        length, idc = struct.unpack_from(">IB", data, pos)
        if length < header:
            raise where.error(
                NistBinaryHeaderError, f"LEN is {length}, shorter than the {header}-byte header"
            )
        if pos + length > len(data):
            raise where.error(
                NistTruncatedError,
                f"LEN declares {length:,} bytes but the file ends {len(data) - pos:,} bytes after the "
                "record's start",
            )
        return BinaryRecord(rtype, idc, data[pos + 5 : pos + length]), pos + length


def _first_separator(data: bytes, start: int, end: int) -> int:
    found = [i for i in (data.find(GS, start, end), data.find(FS, start, end)) if i >= 0]
    return min(found) if found else -1
