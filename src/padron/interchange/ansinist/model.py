"""The data model of an ANSI/NIST-ITL transaction, its limits, and the checks the reader and the
writer share (so that whatever is written reads back).

Records are frozen dataclasses: :class:`TaggedRecord` (fields by number, LEN and IDC excluded),
:class:`BinaryImageRecord` (Type-4 and the legacy 3, 5, 6) and :class:`BinaryRecord` (Types 7 and
8, opaque). :class:`Transaction` holds the Type-1 fields and the records; its
:meth:`~Transaction.finger_images` and :meth:`~Transaction.face_images` are typed views.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, Final

from padron.biometrics.images import MAX_IMAGE_BYTES
from padron.domain.finger import FingerPosition
from padron.interchange.errors import (
    NistBinaryHeaderError,
    NistError,
    NistFieldValueError,
    NistImageFormatError,
    NistImageTruncatedError,
    NistMissingFieldError,
    NistTooLargeError,
)

# --- limits and constants -----------------------------------------------------------------------

#: the largest transaction read or written (a face and fourteen 1,000-ppi finger images fit
#: many times over); the same as the largest multipart body the HTTP service accepts
MAX_TRANSACTION_BYTES: Final = 64 * 1024 * 1024
#: the most records besides Type-1 (a full tenprint with slaps, latents and faces is ~30)
MAX_RECORDS: Final = 256
#: the most fields in one tagged record (a Type-9 with extended features has ~100)
MAX_FIELDS_PER_RECORD: Final = 1000

FS: Final = b"\x1c"
GS: Final = b"\x1d"
RS: Final = "\x1e"
US: Final = "\x1f"
_FS, _GS = 0x1C, 0x1D

#: the 2011 standard's tagged record types (11 and 12 as its 2013 update defines them)
TAGGED_TYPES: Final = frozenset({1, 2, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 98, 99})
#: binary image records with the 18-byte header (3, 5 and 6 are legacy, still sent by old systems)
BINARY_IMAGE_TYPES: Final = frozenset({3, 4, 5, 6})
#: binary records kept opaque after LEN and IDC (7 user-defined image, 8 signature)
OPAQUE_BINARY_TYPES: Final = frozenset({7, 8})
#: tagged types whose field 999 is binary data (every one but the two text records)
TEXT_ONLY_TYPES: Final = frozenset({1, 2})
BINARY_HEADER_BYTES: Final = 18
OPAQUE_HEADER_BYTES: Final = {7: 5, 8: 12}
DATA_FIELD: Final = 999

#: 1.015 (DCS) character set codes this codec reads and writes besides ASCII
UTF8_CHARSET: Final = "3"


class Compression(StrEnum):
    """Image compression as the standard names it (Type-10/14 CGA; Type-4 codes 0-6)."""

    NONE = "NONE"
    WSQ = "WSQ20"
    JPEGB = "JPEGB"
    JPEGL = "JPEGL"
    JP2 = "JP2"
    JP2L = "JP2L"
    PNG = "PNG"

    @property
    def binary_code(self) -> int:
        """The code of a binary (Type-4) record's CGA byte."""
        return BINARY_CODES.index(self)

    @classmethod
    def from_binary_code(cls, code: int) -> Compression:
        return BINARY_CODES[code]

    @classmethod
    def parse(cls, text: str) -> Compression | None:
        """The compression a tagged record's CGA names (``WSQ`` as older writers spell WSQ20)."""
        value = text.strip().upper()
        if value == "WSQ":
            return cls.WSQ
        try:
            return cls(value)
        except ValueError:
            return None


BINARY_CODES: Final = (
    Compression.NONE,
    Compression.WSQ,
    Compression.JPEGB,
    Compression.JPEGL,
    Compression.JP2,
    Compression.JP2L,
    Compression.PNG,
)
#: colour spaces of Type-10 field 10.012 (CSP) and the bytes per pixel of each, uncompressed
COLOR_SPACES: Final = {"GRAY": 1, "RGB": 3, "SRGB": 3, "YCC": 3, "SYCC": 3}

TAG = re.compile(rb"([0-9]{1,2})\.([0-9]{1,3})")
DIGITS = re.compile(r"[0-9]{1,10}")
_RESOLUTION = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3})?")
_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_PNG_END: Final = b"IEND\xaeB`\x82"


# --- the model ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a tagged record: its number (``14.006`` -> 6) and its value as written,
    subfields separated by RS and information items by US; the image field 999 holds bytes."""

    number: int
    value: str | bytes

    @classmethod
    def of(cls, number: int, *subfields: str | Sequence[str]) -> Field:
        """A text field from its subfields, each one item (a str) or a sequence of items."""
        parts = [item if isinstance(item, str) else US.join(item) for item in subfields]
        return cls(number, RS.join(parts))

    @property
    def subfields(self) -> tuple[tuple[str, ...], ...]:
        """The subfields and their items (nothing for a binary value)."""
        if isinstance(self.value, bytes):
            return ()
        return tuple(tuple(sub.split(US)) for sub in self.value.split(RS))

    @property
    def first(self) -> str:
        """The first item of the first subfield: the whole value of a simple field."""
        if isinstance(self.value, bytes):
            return ""
        return self.value.split(RS, 1)[0].split(US, 1)[0]


@dataclass(frozen=True)
class TaggedRecord:
    """A tagged record: its type, IDC and fields (LEN and IDC excluded: the writer computes LEN
    and writes ``idc`` as field 2). Fields are kept in numerical order; a number may repeat."""

    type: int
    idc: int
    fields: tuple[Field, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple(sorted(self.fields, key=lambda f: f.number)))

    def get(self, number: int) -> Field | None:
        """The first field with this number, if any."""
        return next((f for f in self.fields if f.number == number), None)

    def text(self, number: int) -> str | None:
        """The first item of the field with this number, if the record has it."""
        found = self.get(number)
        return None if found is None else found.first

    @property
    def data(self) -> bytes | None:
        """The binary image field (999) of an image record."""
        found = self.get(DATA_FIELD)
        return found.value if found is not None and isinstance(found.value, bytes) else None


@dataclass(frozen=True)
class BinaryImageRecord:
    """A Type-4 record (high-resolution grey fingerprint; Types 3, 5 and 6 share the layout).

    ``positions`` are the FGP bytes without the trailing unused ones (255): the finger position
    first (1-10 a finger, 11-15 plain thumbs and slaps, 0 unknown). ``resolution`` is ISR (0: the
    transaction's nominal resolution 1.012, 1: its native scanning resolution 1.011).
    ``compression`` is the CGA code (0 none ... 6 PNG, :class:`Compression`)."""

    idc: int
    positions: tuple[int, ...]
    width: int
    height: int
    data: bytes
    compression: int = 0
    impression: int = 0
    resolution: int = 0
    type: int = 4


@dataclass(frozen=True)
class BinaryRecord:
    """A binary record kept as bytes after LEN and IDC (Type-7 user-defined image, Type-8
    signature, whose 7 further header bytes stay at the start of ``body``)."""

    type: int
    idc: int
    body: bytes


Record = TaggedRecord | BinaryImageRecord | BinaryRecord


@dataclass(frozen=True)
class FingerImage:
    """A finger image of a transaction (Type-3, 4 or 14), as padron needs it."""

    #: where the record stands in the transaction (1 is the Type-1 record)
    record: int
    record_type: int
    idc: int
    positions: tuple[int, ...]
    impression: int
    compression: Compression
    width: int
    height: int
    #: pixels per inch, when the record declares it
    ppi: float | None
    bits_per_pixel: int
    data: bytes

    @property
    def position(self) -> int:
        return self.positions[0]

    @property
    def finger(self) -> FingerPosition | None:
        """The finger (positions 1-10); None for slaps, plain thumbs and unknown positions."""
        return FingerPosition(self.position) if 1 <= self.position <= 10 else None


@dataclass(frozen=True)
class FaceImage:
    """A Type-10 image (IMT ``FACE`` is a face; SCAR, MARK, TATTOO... are other images)."""

    record: int
    idc: int
    image_type: str
    compression: Compression
    width: int
    height: int
    color_space: str
    data: bytes

    @property
    def is_face(self) -> bool:
        return self.image_type.upper() == "FACE"


@dataclass(frozen=True)
class Transaction:
    """A transaction: the Type-1 fields (typed where mandatory, the rest in ``other_fields``)
    and the records that follow, in order. LEN and 1.003 (CNT) are computed by the writer."""

    #: 1.004 TOT
    type_of_transaction: str
    #: 1.005 DAT
    date: date
    #: 1.007 DAI
    destination_agency: str
    #: 1.008 ORI
    originating_agency: str
    #: 1.009 TCN
    control_number: str
    records: tuple[Record, ...] = ()
    #: 1.002 VER: 0500 is ANSI/NIST-ITL 1-2011 (0501, 0502 its 2013 and 2015 updates)
    version: str = "0500"
    #: 1.006 PRY, 1 (highest) to 9
    priority: int | None = None
    #: 1.010 TCR: the TCN of the transaction this one answers
    control_reference: str | None = None
    #: 1.011 NSR, pixels per millimetre ("00.00" when no image is sent)
    native_scanning_resolution: str = "00.00"
    #: 1.012 NTR, pixels per millimetre
    nominal_transmitting_resolution: str = "00.00"
    #: every other Type-1 field (1.013 DOM, 1.014 GMT, 1.015 DCS, ...)
    other_fields: tuple[Field, ...] = ()
    #: what the reader accepted although the standard says otherwise (not part of equality)
    notes: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "records", tuple(self.records))
        object.__setattr__(self, "other_fields", tuple(sorted(self.other_fields, key=lambda f: f.number)))

    def other(self, number: int) -> Field | None:
        return next((f for f in self.other_fields if f.number == number), None)

    @property
    def domain(self) -> str | None:
        """1.013 DOM's domain name (e.g. NORAM), if given."""
        found = self.other(13)
        return None if found is None else found.first

    @property
    def character_set(self) -> str:
        """1.015 DCS's character set index ("0" ASCII when absent; "3" UTF-8)."""
        found = self.other(15)
        return "0" if found is None else found.first

    def finger_images(self) -> tuple[FingerImage, ...]:
        """The finger images (Types 3, 4 and 14), in record order."""
        out = []
        for index, record in enumerate(self.records, start=2):
            if isinstance(record, BinaryImageRecord) and record.type in (3, 4):
                out.append(_binary_finger(record, index, self))
            elif isinstance(record, TaggedRecord) and record.type == 14:
                out.append(_tagged_finger(record, index))
        return tuple(out)

    def face_images(self) -> tuple[FaceImage, ...]:
        """The Type-10 images (faces and others: see :attr:`FaceImage.is_face`), in record order."""
        return tuple(
            _face(record, index)
            for index, record in enumerate(self.records, start=2)
            if isinstance(record, TaggedRecord) and record.type == 10
        )


# --- where an error happened --------------------------------------------------------------------


@dataclass(frozen=True)
class Where:
    """A place in a transaction, for messages: record index and type, field, byte offset."""

    record: int
    record_type: int | None = None
    field: int | None = None
    offset: int | None = None

    def at(self, number: int | None = None, offset: int | None = None) -> Where:
        return Where(self.record, self.record_type, number, offset)

    @property
    def tag(self) -> str | None:
        if self.field is None or self.record_type is None:
            return None
        return f"{self.record_type}.{self.field:03d}"

    def text(self) -> str:
        kind = f" (Type-{self.record_type})" if self.record_type is not None else ""
        out = f"record {self.record}{kind}"
        if self.tag is not None:
            out += f", field {self.tag}"
        if self.offset is not None:
            out += f", byte {self.offset}"
        return out

    def details(self) -> dict[str, Any]:
        out: dict[str, Any] = {"record": self.record}
        if self.record_type is not None:
            out["record_type"] = self.record_type
        if self.tag is not None:
            out["field"] = self.tag
        if self.offset is not None:
            out["offset"] = self.offset
        return out

    def error(self, cls: type[NistError], message: str, **details: Any) -> NistError:
        return cls(f"{self.text()}: {message}", **{**self.details(), **details})


# --- views of image records (shared by the reader, the writer and the accessors) ---------------


def parse_number(value: str | None, where: Where, name: str, low: int = 0, high: int = 99_999) -> int:
    if value is None:
        raise where.error(NistMissingFieldError, f"the mandatory field {name} is missing")
    if not DIGITS.fullmatch(value) or not low <= int(value) <= high:
        raise where.error(
            NistFieldValueError, f"{name} must be a number from {low} to {high}, not {value[:20]!r}"
        )
    return int(value)


def _required(record: TaggedRecord, number: int, name: str, where: Where) -> str:
    value = record.text(number)
    if value is None:
        raise where.at(number).error(NistMissingFieldError, f"the mandatory field {name} is missing")
    return value


def _field_number(
    record: TaggedRecord, number: int, name: str, where: Where, low: int = 0, high: int = 99_999
) -> int:
    return parse_number(_required(record, number, name, where), where.at(number), name, low, high)


def _compression(record: TaggedRecord, where: Where) -> Compression:
    raw = _required(record, 11, "CGA", where)
    found = Compression.parse(raw)
    if found is None:
        names = ", ".join(c.value for c in Compression)
        raise where.at(11).error(NistFieldValueError, f"CGA {raw[:20]!r} is not one of {names}")
    return found


def _image_data(record: TaggedRecord, where: Where) -> bytes:
    data = record.data
    if data is None:
        raise where.at(DATA_FIELD).error(NistMissingFieldError, "the image data field (999) is missing")
    return data


def _tagged_ppi(record: TaggedRecord, where: Where) -> float | None:
    scale = _field_number(record, 8, "SLC", where, 0, 2)
    horizontal = _field_number(record, 9, "THPS", where)
    _field_number(record, 10, "TVPS", where)
    if scale == 0 or horizontal == 0:
        return None  # a pixel aspect ratio only
    return float(horizontal) if scale == 1 else horizontal * 2.54


def _tagged_finger(record: TaggedRecord, index: int) -> FingerImage:
    where = Where(index, record.type)
    impression = _field_number(record, 3, "IMP", where, 0, 99)
    _required(record, 4, "SRC", where)
    parse_date(_required(record, 5, "FCD", where), where.at(5), "FCD")
    width = _field_number(record, 6, "HLL", where, 1)
    height = _field_number(record, 7, "VLL", where, 1)
    ppi = _tagged_ppi(record, where)
    compression = _compression(record, where)
    bits = _field_number(record, 12, "BPX", where, 1, 32)
    fgp = record.get(13)
    if fgp is None:
        raise where.at(13).error(NistMissingFieldError, "the mandatory field FGP is missing")
    positions = tuple(parse_number(sub[0], where.at(13), "FGP", 0, 255) for sub in fgp.subfields)
    data = _image_data(record, where)
    _check_image(data, compression, (width * height * bits + 7) // 8, where.at(DATA_FIELD))
    return FingerImage(
        record=index,
        record_type=record.type,
        idc=record.idc,
        positions=positions,
        impression=impression,
        compression=compression,
        width=width,
        height=height,
        ppi=ppi,
        bits_per_pixel=bits,
        data=data,
    )


def _face(record: TaggedRecord, index: int) -> FaceImage:
    where = Where(index, record.type)
    image_type = _required(record, 3, "IMT", where)
    _required(record, 4, "SRC", where)
    parse_date(_required(record, 5, "PHD", where), where.at(5), "PHD")
    width = _field_number(record, 6, "HLL", where, 1)
    height = _field_number(record, 7, "VLL", where, 1)
    _tagged_ppi(record, where)
    compression = _compression(record, where)
    color_space = _required(record, 12, "CSP", where).upper()
    data = _image_data(record, where)
    raw_bytes = 0
    if compression is Compression.NONE:
        if color_space not in COLOR_SPACES:
            raise where.at(12).error(
                NistFieldValueError,
                f"CSP {color_space[:20]!r} is not one of {', '.join(COLOR_SPACES)}; an uncompressed "
                "image needs one",
            )
        raw_bytes = width * height * COLOR_SPACES[color_space]
    _check_image(data, compression, raw_bytes, where.at(DATA_FIELD))
    return FaceImage(
        record=index,
        idc=record.idc,
        image_type=image_type,
        compression=compression,
        width=width,
        height=height,
        color_space=color_space,
        data=data,
    )


def _resolution_ppmm(text: str) -> float:
    return float(text) if _RESOLUTION.fullmatch(text) else 0.0


def _binary_finger(record: BinaryImageRecord, index: int, tx: Transaction) -> FingerImage:
    """A Type-3/4 image; its resolution is the transaction's: 1.011 (NSR) when ISR is 1,
    otherwise 1.012 (NTR); when that is 0, the standard's minimum (19.69 ppmm, 9.84 for the
    low-resolution Type-3)."""
    native = _resolution_ppmm(tx.native_scanning_resolution)
    nominal = _resolution_ppmm(tx.nominal_transmitting_resolution)
    ppmm = native if record.resolution == 1 and native > 0 else nominal
    if ppmm <= 0:
        ppmm = 9.84 if record.type == 3 else 19.69
    return FingerImage(
        record=index,
        record_type=record.type,
        idc=record.idc,
        positions=record.positions,
        impression=record.impression,
        compression=Compression.from_binary_code(record.compression),
        width=record.width,
        height=record.height,
        ppi=float(round(ppmm * 25.4)),
        bits_per_pixel=8,
        data=record.data,
    )


def parse_date(text: str, where: Where, name: str) -> date:
    if len(text) == 8 and text.isdigit() and text.isascii():
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            pass
    raise where.error(NistFieldValueError, f"{name} must be a real date YYYYMMDD, not {text[:20]!r}")


def _check_image(data: bytes, compression: Compression, raw_bytes: int, where: Where) -> None:
    """Refuse image data that is truncated or not in the declared format (no pixel is decoded):
    raw pixels are counted; PNG, JPEG and WSQ must start with their signature and end with
    their end marker (zero padding after it is tolerated). JPEG 2000 is checked for its
    signature only (its last box need not be the codestream)."""
    if len(data) > MAX_IMAGE_BYTES:
        raise where.error(
            NistTooLargeError,
            f"the image is {len(data):,} bytes; the limit is {MAX_IMAGE_BYTES:,}",
            max_bytes=MAX_IMAGE_BYTES,
        )
    if not data:
        raise where.error(NistImageTruncatedError, "the image data is empty")
    if compression is Compression.NONE:
        if len(data) < raw_bytes:
            raise where.error(
                NistImageTruncatedError,
                f"the raw image has {len(data):,} bytes; its declared size needs {raw_bytes:,}",
                bytes=len(data),
                expected=raw_bytes,
            )
        return
    signatures: dict[Compression, tuple[tuple[bytes, ...], bytes | None]] = {
        Compression.PNG: ((_PNG_SIGNATURE,), _PNG_END),
        Compression.JPEGB: ((b"\xff\xd8",), b"\xff\xd9"),
        Compression.JPEGL: ((b"\xff\xd8",), b"\xff\xd9"),
        Compression.WSQ: ((b"\xff\xa0",), b"\xff\xa1"),
        Compression.JP2: ((b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51"), None),
        Compression.JP2L: ((b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51"), None),
    }
    starts, end = signatures[compression]
    if not any(data.startswith(start) for start in starts):
        raise where.error(
            NistImageFormatError,
            f"the image data does not start like {compression.value} data (first bytes {data[:4].hex()})",
            compression=compression.value,
        )
    if end is not None and not data.rstrip(b"\x00").endswith(end):
        raise where.error(
            NistImageTruncatedError,
            f"the {compression.value} data ({len(data):,} bytes) lacks its end marker {end.hex()}: "
            "it was cut short",
            compression=compression.value,
        )


def check_binary_image(record: BinaryImageRecord, where: Where) -> None:
    if record.resolution not in (0, 1):
        raise where.error(NistBinaryHeaderError, f"ISR must be 0 or 1, not {record.resolution}")
    positions = record.positions
    if not positions or len(positions) > 6 or positions[0] == 255:
        raise where.error(NistBinaryHeaderError, "FGP must name a finger position in its first byte")
    if any(not (0 <= p <= 16 or p == 255) for p in positions):
        raise where.error(
            NistBinaryHeaderError, f"FGP {list(positions)} holds a code outside 0-16 (255 = unused)"
        )
    if not (1 <= record.width <= 0xFFFF and 1 <= record.height <= 0xFFFF):
        raise where.error(
            NistBinaryHeaderError,
            f"HLL x VLL is {record.width} x {record.height}; each must be 1-65535",
        )
    if not 0 <= record.impression <= 255 or not 0 <= record.idc <= 255:
        raise where.error(NistBinaryHeaderError, "IDC and IMP must be 0-255")
    bilevel = record.type in (5, 6)
    if not 0 <= record.compression <= (255 if bilevel else len(BINARY_CODES) - 1):
        raise where.error(
            NistBinaryHeaderError,
            f"CGA {record.compression} is not a compression code (0 none, 1 WSQ ... 6 PNG)",
        )
    if bilevel:
        if record.compression == 0:  # 1 bit per pixel, rows padded to whole bytes
            _check_image(record.data, Compression.NONE, (record.width + 7) // 8 * record.height, where)
        elif len(record.data) > MAX_IMAGE_BYTES:
            raise where.error(
                NistTooLargeError,
                f"the image is {len(record.data):,} bytes; the limit is {MAX_IMAGE_BYTES:,}",
            )
        return
    _check_image(
        record.data,
        Compression.from_binary_code(record.compression),
        record.width * record.height,
        where,
    )


# --- Type-1 -------------------------------------------------------------------------------------

TYPE1_MANDATORY: Final = {
    2: "VER",
    3: "CNT",
    4: "TOT",
    5: "DAT",
    7: "DAI",
    8: "ORI",
    9: "TCN",
    11: "NSR",
    12: "NTR",
}
#: the Type-1 fields that are attributes of Transaction (the rest stay Fields)
TYPE1_TYPED: Final = frozenset({*TYPE1_MANDATORY, 6, 10})


def type1_values(values: Mapping[int, str], wheres: Mapping[int, Where]) -> dict[str, Any]:
    def where(number: int) -> Where:
        return wheres.get(number) or Where(1, 1, number)

    version = values[2]
    if not re.fullmatch(r"[0-9]{4}", version):
        raise where(2).error(
            NistFieldValueError, f"VER must be four digits (0500 for 2011), not {version[:20]!r}"
        )
    for number, name in ((4, "TOT"), (7, "DAI"), (8, "ORI"), (9, "TCN")):
        if not values[number]:
            raise where(number).error(NistFieldValueError, f"{name} is empty")
    for number, name in ((11, "NSR"), (12, "NTR")):
        if not _RESOLUTION.fullmatch(values[number]):
            raise where(number).error(
                NistFieldValueError,
                f"{name} must be pixels per millimetre (e.g. 19.69), not {values[number][:20]!r}",
            )
    priority = None
    if 6 in values:
        priority = parse_number(values[6], where(6), "PRY", 1, 9)
    return {
        "version": version,
        "type_of_transaction": values[4],
        "date": parse_date(values[5], where(5), "DAT"),
        "priority": priority,
        "destination_agency": values[7],
        "originating_agency": values[8],
        "control_number": values[9],
        "control_reference": values.get(10),
        "native_scanning_resolution": values[11],
        "nominal_transmitting_resolution": values[12],
    }


# --- checks shared by the reader and the writer -------------------------------------------------


def check_record(record: Record, index: int) -> None:
    """Refuse a record whose meaning padron relies on is broken (image records' fields)."""
    if isinstance(record, TaggedRecord):
        if record.type == 10:
            _face(record, index)
        elif record.type == 14:
            _tagged_finger(record, index)
