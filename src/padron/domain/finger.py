"""Finger positions: the ISO/IEC 19794-2 and ANSI/NIST-ITL codes 1-10."""

from __future__ import annotations

from enum import IntEnum


class FingerPosition(IntEnum):
    """Finger position codes of ANSI/NIST-ITL and ISO/IEC 19794-2 (1-10)."""

    RIGHT_THUMB = 1
    RIGHT_INDEX = 2
    RIGHT_MIDDLE = 3
    RIGHT_RING = 4
    RIGHT_LITTLE = 5
    LEFT_THUMB = 6
    LEFT_INDEX = 7
    LEFT_MIDDLE = 8
    LEFT_RING = 9
    LEFT_LITTLE = 10

    @property
    def is_right_hand(self) -> bool:
        return self.value <= 5

    @property
    def digit(self) -> int:
        """1 = thumb ... 5 = little finger, on either hand."""
        return (self.value - 1) % 5 + 1
