"""ISO/IEC 19794-2:2005 finger minutiae record (the "FMR" record format), writer and reader.

Layout (big-endian)::

    record header, 24 bytes
      format identifier   4   b"FMR\\x00"
      version             4   b" 20\\x00"
      record length       4   u32, the whole record in bytes
      capture equipment   2   u16: certification flag (bits 15-12) + device type id (bits 11-0)
      image size x, y     2+2 u16 pixels
      resolution x, y     2+2 u16 pixels per centimetre (500 dpi = 197)
      number of views     1   u8
      reserved            1   0
    per finger view
      finger position     1   0-10 (ISO/IEC 19794-2 table: 1 = right thumb ... 10 = left little)
      view number / type  1   view number (bits 7-4), impression type (bits 3-0)
      finger quality      1   0-100
      number of minutiae  1   u8
      per minutia, 6 bytes
        type (bits 15-14: 01 ending, 10 bifurcation, 00 other) + x (bits 13-0)
        reserved (bits 15-14, 0) + y (bits 13-0)
        angle               1   units of 360/256 degrees, counter-clockwise from the x axis
        quality             1   0-100 (0 = not reported)
      extended data length 2   u16 (0 = none), then the extended data bytes (kept verbatim)

:func:`read` accepts exactly what :func:`write` produces and refuses anything else (reserved bits
set, lengths that disagree, values out of range), so ``write(read(b)) == b`` for every record it
accepts.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

import numpy as np

from padron.biometrics.fingerprint.errors import IsoRecordError
from padron.biometrics.fingerprint.minutiae import Minutiae

FORMAT_ID = b"FMR\x00"
VERSION = b" 20\x00"
PIXELS_PER_CM_500_DPI = 197
_HEADER = struct.Struct(">4s4sIHHHHHBB")
_VIEW = struct.Struct(">BBBB")
_MINUTIA = struct.Struct(">HHBB")
_MAX_COORD = (1 << 14) - 1


@dataclass(frozen=True, slots=True)
class IsoMinutia:
    kind: int  # 0 other, 1 ending, 2 bifurcation
    x: int
    y: int
    angle: int  # 0-255, units of 1.40625 degrees
    quality: int  # 0-100


@dataclass(frozen=True, slots=True)
class IsoView:
    finger_position: int
    minutiae: tuple[IsoMinutia, ...]
    view_number: int = 0
    impression_type: int = 0  # 0 live-scan plain
    quality: int = 0
    extended_data: bytes = b""


@dataclass(frozen=True, slots=True)
class IsoRecord:
    width: int
    height: int
    views: tuple[IsoView, ...]
    x_resolution: int = PIXELS_PER_CM_500_DPI
    y_resolution: int = PIXELS_PER_CM_500_DPI
    capture_equipment: int = 0
    extra: dict[str, int] = field(default_factory=dict, compare=False)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise IsoRecordError(message)


def write(record: IsoRecord) -> bytes:
    _check(0 < len(record.views) <= 255, "a record holds 1-255 finger views")
    for name in ("width", "height", "x_resolution", "y_resolution", "capture_equipment"):
        value = getattr(record, name)
        _check(0 <= value <= 0xFFFF, f"{name} {value} does not fit 16 bits")
    body = bytearray()
    for view in record.views:
        _check(0 <= view.finger_position <= 10, f"finger position {view.finger_position} is not 0-10")
        _check(0 <= view.view_number <= 15 and 0 <= view.impression_type <= 15, "view number/type are 4 bits")
        _check(0 <= view.quality <= 100, f"finger quality {view.quality} is not 0-100")
        _check(len(view.minutiae) <= 255, f"{len(view.minutiae)} minutiae; a view holds at most 255")
        _check(len(view.extended_data) <= 0xFFFF, "extended data longer than 65,535 bytes")
        body += _VIEW.pack(
            view.finger_position,
            (view.view_number << 4) | view.impression_type,
            view.quality,
            len(view.minutiae),
        )
        for m in view.minutiae:
            _check(m.kind in (0, 1, 2), f"minutia type {m.kind} is not 0, 1 or 2")
            _check(
                0 <= m.x <= _MAX_COORD and 0 <= m.y <= _MAX_COORD, f"minutia at ({m.x}, {m.y}) out of range"
            )
            _check(0 <= m.angle <= 255 and 0 <= m.quality <= 100, "minutia angle 0-255 and quality 0-100")
            body += _MINUTIA.pack((m.kind << 14) | m.x, m.y, m.angle, m.quality)
        body += struct.pack(">H", len(view.extended_data)) + view.extended_data
    length = _HEADER.size + len(body)
    header = _HEADER.pack(
        FORMAT_ID,
        VERSION,
        length,
        record.capture_equipment,
        record.width,
        record.height,
        record.x_resolution,
        record.y_resolution,
        len(record.views),
        0,
    )
    return header + bytes(body)


def read(data: bytes) -> IsoRecord:
    try:
        fmt, version, length, equipment, width, height, xres, yres, n_views, reserved = _HEADER.unpack_from(
            data, 0
        )
    except struct.error:
        raise IsoRecordError("record shorter than the 24-byte header") from None
    _check(fmt == FORMAT_ID, f"format identifier {fmt!r} is not FMR")
    _check(version == VERSION, f"version {version!r} is not ISO/IEC 19794-2:2005 (' 20')")
    _check(length == len(data), f"record length field says {length} bytes, the record has {len(data)}")
    _check(reserved == 0, "reserved header byte is not 0")
    _check(n_views > 0, "record holds no finger view")
    offset = _HEADER.size
    views = []
    try:
        for _ in range(n_views):
            position, view_type, quality, count = _VIEW.unpack_from(data, offset)
            offset += _VIEW.size
            _check(position <= 10 and quality <= 100, "finger position or quality out of range")
            minutiae = []
            for _ in range(count):
                tx, ry, angle, mq = _MINUTIA.unpack_from(data, offset)
                offset += _MINUTIA.size
                _check(tx >> 14 in (0, 1, 2), f"minutia type {tx >> 14} is reserved")
                _check(ry >> 14 == 0, "reserved bits of a minutia's y field are set")
                _check(mq <= 100, f"minutia quality {mq} is not 0-100")
                minutiae.append(IsoMinutia(kind=tx >> 14, x=tx & _MAX_COORD, y=ry, angle=angle, quality=mq))
            (ext_len,) = struct.unpack_from(">H", data, offset)
            offset += 2
            extended = bytes(data[offset : offset + ext_len])
            _check(len(extended) == ext_len, "extended data block is truncated")
            offset += ext_len
            views.append(
                IsoView(
                    finger_position=position,
                    view_number=view_type >> 4,
                    impression_type=view_type & 0x0F,
                    quality=quality,
                    minutiae=tuple(minutiae),
                    extended_data=extended,
                )
            )
    except struct.error:
        raise IsoRecordError("record is truncated inside a finger view") from None
    _check(offset == len(data), f"{len(data) - offset} unexpected bytes after the last view")
    return IsoRecord(
        width=width,
        height=height,
        views=tuple(views),
        x_resolution=xres,
        y_resolution=yres,
        capture_equipment=equipment,
    )


def view_from_minutiae(
    minutiae: Minutiae, finger_position: int = 0, quality: int = 0, max_minutiae: int = 255
) -> IsoView:
    """An ISO view of padron minutiae (angles rounded to 1.40625 degrees, best quality first if cut)."""
    order = np.argsort(-minutiae.quality.astype(np.int64), kind="stable")[:max_minutiae]
    order = np.sort(order)
    items = tuple(
        IsoMinutia(
            kind=int(minutiae.kind[i]),
            x=int(np.clip(round(float(minutiae.x[i])), 0, _MAX_COORD)),
            y=int(np.clip(round(float(minutiae.y[i])), 0, _MAX_COORD)),
            angle=round(float(minutiae.angle[i]) / (2 * math.pi) * 256) % 256,
            quality=int(minutiae.quality[i]),
        )
        for i in order
    )
    return IsoView(finger_position=finger_position, minutiae=items, quality=quality)


def minutiae_from_view(view: IsoView, x_resolution: int = PIXELS_PER_CM_500_DPI) -> Minutiae:
    """padron minutiae (500-dpi pixels) from an ISO view whose record has ``x_resolution`` px/cm."""
    scale = PIXELS_PER_CM_500_DPI / x_resolution if x_resolution else 1.0
    return Minutiae.from_lists(
        [m.x * scale for m in view.minutiae],
        [m.y * scale for m in view.minutiae],
        [m.angle * 2 * math.pi / 256 for m in view.minutiae],
        [m.kind for m in view.minutiae],
        [m.quality for m in view.minutiae],
    )
