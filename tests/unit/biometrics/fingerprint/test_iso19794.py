"""ISO/IEC 19794-2:2005 records built byte by byte here, independently of the codec."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from padron.biometrics.fingerprint import iso19794 as iso
from padron.biometrics.fingerprint.errors import IsoRecordError
from padron.biometrics.fingerprint.minutiae import Minutiae


def _hand_built() -> bytes:
    view1 = bytes([2, (0 << 4) | 0, 80, 3])  # right index, view 0, live-scan plain, quality 80, 3 minutiae
    view1 += struct.pack(">HHBB", (1 << 14) | 100, 203, 48, 70)  # ending at (100, 203), 67.5 degrees
    view1 += struct.pack(">HHBB", (2 << 14) | 17, 9000, 255, 0)  # bifurcation
    view1 += struct.pack(">HHBB", (0 << 14) | 16383, 0, 0, 100)  # "other", extreme coordinates
    view1 += struct.pack(">H", 4) + b"\x01\x02\x03\x04"  # 4 bytes of extended data, kept verbatim
    view2 = bytes([7, (1 << 4) | 2, 0, 0]) + struct.pack(">H", 0)  # left index, view 1, type 2, empty
    body = view1 + view2
    header = (
        b"FMR\x00" + b" 20\x00" + struct.pack(">IHHHHHBB", 24 + len(body), 0x1005, 388, 374, 197, 197, 2, 0)
    )
    return header + body


def test_a_hand_built_record_reads_field_by_field() -> None:
    record = iso.read(_hand_built())
    assert (record.width, record.height, record.x_resolution, record.capture_equipment) == (
        388,
        374,
        197,
        0x1005,
    )
    first, second = record.views
    assert (first.finger_position, first.quality, first.extended_data) == (2, 80, b"\x01\x02\x03\x04")
    assert first.minutiae[0] == iso.IsoMinutia(kind=1, x=100, y=203, angle=48, quality=70)
    assert first.minutiae[1].kind == 2 and first.minutiae[1].y == 9000
    assert first.minutiae[2] == iso.IsoMinutia(kind=0, x=16383, y=0, angle=0, quality=100)
    assert (second.finger_position, second.view_number, second.impression_type) == (7, 1, 2)
    assert second.minutiae == ()


def test_round_trip_is_byte_exact() -> None:
    data = _hand_built()
    assert iso.write(iso.read(data)) == data


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b"FMX\x00" + b[4:], "format identifier"),
        (lambda b: b[:4] + b" 30\x00" + b[8:], "version"),
        (lambda b: b[:-1], "record length"),
        (lambda b: b[:8] + struct.pack(">I", len(b) + 2) + b[12:] + b"\0\0", "unexpected bytes"),
        (lambda b: b[:30] + bytes([b[30] | 0x40]) + b[31:], "reserved bits"),
        (lambda b: b[:28] + bytes([0xC0]) + b[29:], "type 3"),
        (lambda b: b[:23] + b"\x01" + b[24:], "reserved header"),
    ],
)
def test_malformed_records_are_refused(damage: object, message: str) -> None:
    with pytest.raises(IsoRecordError, match=message) as error:
        iso.read(damage(_hand_built()))  # type: ignore[operator]
    assert error.value.code == "PAD-FING-006"


def test_padron_minutiae_go_to_iso_and_back() -> None:
    m = Minutiae.from_lists([10.4, 300.6], [20.2, 150.0], [0.0, math.pi / 2], [1, 2], [90, 40])
    view = iso.view_from_minutiae(m, finger_position=1, quality=55)
    record = iso.IsoRecord(width=400, height=500, views=(view,))
    data = iso.write(record)
    assert len(data) == 24 + 4 + 2 * 6 + 2
    back = iso.minutiae_from_view(iso.read(data).views[0])
    assert np.allclose(back.x, [10, 301]) and np.allclose(back.y, [20, 150])
    assert view.minutiae[1].angle == 64  # 90 degrees = 64 units of 1.40625
    assert np.allclose(back.angle, [0.0, math.pi / 2], atol=1e-6)
    assert list(back.kind) == [1, 2]


def test_values_that_do_not_fit_are_refused() -> None:
    bad = iso.IsoView(finger_position=11, minutiae=())
    with pytest.raises(IsoRecordError, match="finger position"):
        iso.write(iso.IsoRecord(width=1, height=1, views=(bad,)))
    with pytest.raises(IsoRecordError, match="out of range"):
        iso.write(
            iso.IsoRecord(width=1, height=1, views=(iso.IsoView(1, (iso.IsoMinutia(1, 20000, 1, 0, 0),)),))
        )
