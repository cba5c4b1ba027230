"""Transactions and images for the ANSI/NIST-ITL tests, made in memory (small, deterministic)."""

from __future__ import annotations

import io
import struct
from collections.abc import Mapping
from datetime import date

import numpy as np
from PIL import Image

from padron.interchange import ansinist as an

DAY = date(2026, 11, 30)


def grey_pixels(width: int, height: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height, width), dtype=np.uint8).tobytes()


def png(
    width: int = 48, height: int = 40, *, seed: int = 0, mode: str = "L", dpi: float | None = None
) -> bytes:
    rng = np.random.default_rng(seed)
    shape = (height, width) if mode == "L" else (height, width, 3)
    buffer = io.BytesIO()
    image = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)
    if dpi is None:
        image.save(buffer, format="PNG")
    else:
        image.save(buffer, format="PNG", dpi=(dpi, dpi))
    return buffer.getvalue()


def jpeg(
    width: int = 48, height: int = 40, *, seed: int = 0, mode: str = "RGB", dpi: int | None = None
) -> bytes:
    rng = np.random.default_rng(seed)
    shape = (height, width) if mode == "L" else (height, width, 3)
    buffer = io.BytesIO()
    image = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)
    if dpi is None:
        image.save(buffer, format="JPEG", quality=90)
    else:
        image.save(buffer, format="JPEG", quality=90, dpi=(dpi, dpi))
    return buffer.getvalue()


#: the start and end markers of a WSQ file around filler (opaque to padron: never decoded)
FAKE_WSQ = b"\xff\xa0" + bytes(range(256)) * 2 + b"\xff\xa1"


def type4(
    idc: int = 1, position: int = 2, *, width: int = 32, height: int = 24, seed: int = 0
) -> an.BinaryImageRecord:
    return an.BinaryImageRecord(
        idc=idc,
        positions=(position,),
        width=width,
        height=height,
        data=grey_pixels(width, height, seed),
        compression=0,
        impression=1,
    )


def type14(idc: int = 2, position: int = 7, *, image: bytes | None = None, ppi: int = 500) -> an.TaggedRecord:
    data = png(seed=idc) if image is None else image
    compression = an.Compression.PNG if data.startswith(b"\x89PNG") else an.Compression.JPEGB
    with Image.open(io.BytesIO(data)) as picture:
        width, height = picture.size
    return an.finger_record(
        data,
        idc=idc,
        position=position,
        compression=compression,
        width=width,
        height=height,
        source_agency="MX0000001",
        capture_date=DAY,
        ppi=ppi,
    )


def type10(idc: int = 3, *, image: bytes | None = None) -> an.TaggedRecord:
    data = jpeg(seed=idc) if image is None else image
    return an.face_record_for(data, idc=idc, source_agency="MX0000001", photo_date=DAY)


def type2(idc: int = 0) -> an.TaggedRecord:
    return an.text_record({3: "query", 20: ["one", "two"], 21: [["a", "b"], ["c", "d"]]}, idc=idc)


def transaction(*records: an.Record, **type1: object) -> an.Transaction:
    fields: dict[str, object] = {
        "type_of_transaction": "SRE",
        "date": DAY,
        "destination_agency": "MXRENAPO0",
        "originating_agency": "XXPARTNER",
        "control_number": "TCN-0001",
        "native_scanning_resolution": "19.69",
        "nominal_transmitting_resolution": "19.69",
        "other_fields": (an.Field.of(13, ("NORAM", "")),),
    }
    fields.update(type1)
    return an.Transaction(records=records, **fields)  # type: ignore[arg-type]


def full_transaction() -> an.Transaction:
    """Type-1 + 2 + 4 + 14 + 10: a partner's query with a face and two fingers."""
    return transaction(type2(0), type4(1, position=2), type14(2, position=7), type10(3))


# --- raw bytes, bypassing the writer's checks (for malformed files) -----------------------------


def raw_tagged(rtype: int, fields: list[bytes], *, length_delta: int = 0) -> bytes:
    """A tagged record from already-encoded fields (``b"2.002:00"``), with a LEN computed for it
    (plus ``length_delta``) unless the first field is a LEN of its own."""
    rest = b"\x1d".join(fields) + b"\x1c"
    prefix = f"{rtype}.001:".encode()
    fixed = len(prefix) + 1 + len(rest)
    digits = len(str(fixed))
    while len(str(fixed + digits)) != digits:
        digits += 1
    return prefix + str(fixed + digits + length_delta).encode() + b"\x1d" + rest


def raw_type1(
    cnt: str,
    *,
    extra: list[bytes] | None = None,
    omit: int | None = None,
    values: Mapping[int, bytes] | None = None,
) -> bytes:
    """A Type-1 record with the given 1.003 value (``"1<US>1<RS>2<US>00"``) and valid other fields."""
    fields = {
        2: b"0500",
        3: cnt.encode(),
        4: b"SRE",
        5: b"20261130",
        7: b"MXRENAPO0",
        8: b"XXPARTNER",
        9: b"TCN-0001",
        11: b"19.69",
        12: b"19.69",
    }
    fields.update(values or {})
    if omit is not None:
        del fields[omit]
    encoded = [f"1.{n:03d}:".encode() + v for n, v in sorted(fields.items())]
    return raw_tagged(1, encoded + (extra or []))


def cnt(*entries: tuple[int, int]) -> str:
    return "\x1e".join([f"1\x1f{len(entries)}", *(f"{t}\x1f{i:02d}" for t, i in entries)])


def raw_type4(
    *,
    idc: int = 1,
    imp: int = 1,
    fgp: bytes = bytes([2, 255, 255, 255, 255, 255]),
    isr: int = 0,
    width: int = 4,
    height: int = 4,
    cga: int = 0,
    data: bytes | None = None,
    length: int | None = None,
) -> bytes:
    body = bytes(width * height) if data is None else data
    total = 18 + len(body) if length is None else length
    return struct.pack(">IBB6sBHHB", total, idc, imp, fgp, isr, width, height, cga) + body


def raw_type14(values: Mapping[int, bytes] | None = None, *, drop: int | None = None) -> bytes:
    """A Type-14 record (IDC 1) with a valid 8x8 raw image unless ``values`` replace fields by
    number; ``drop`` leaves one field out."""
    fields = {
        3: b"0",
        4: b"MX0000001",
        5: b"20261130",
        6: b"8",
        7: b"8",
        8: b"1",
        9: b"500",
        10: b"500",
        11: b"NONE",
        12: b"8",
        13: b"2",
        999: bytes(64),
    }
    fields.update(values or {})
    if drop is not None:
        del fields[drop]
    return raw_tagged(14, [b"14.002:01", *(f"14.{n:03d}:".encode() + v for n, v in sorted(fields.items()))])
