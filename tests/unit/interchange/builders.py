"""Transactions and images for the ANSI/NIST-ITL tests, made in memory (small, deterministic)."""

from __future__ import annotations

import io
from datetime import date

import numpy as np
from PIL import Image

from padron.interchange import ansinist as an

DAY = date(2026, 11, 30)


def grey_pixels(width: int, height: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height, width), dtype=np.uint8).tobytes()


def png(width: int = 48, height: int = 40, *, seed: int = 0, mode: str = "L", dpi: float | None = None) -> bytes:
    rng = np.random.default_rng(seed)
    shape = (height, width) if mode == "L" else (height, width, 3)
    buffer = io.BytesIO()
    image = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)
    if dpi is None:
        image.save(buffer, format="PNG")
    else:
        image.save(buffer, format="PNG", dpi=(dpi, dpi))
    return buffer.getvalue()


def jpeg(width: int = 48, height: int = 40, *, seed: int = 0, mode: str = "RGB", dpi: int | None = None) -> bytes:
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


def type4(idc: int = 1, position: int = 2, *, width: int = 32, height: int = 24, seed: int = 0) -> an.BinaryImageRecord:
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
