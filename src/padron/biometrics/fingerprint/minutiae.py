"""Minutiae as a struct of arrays (coordinates in 500-dpi pixels, angles in radians)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]


class MinutiaType(IntEnum):
    """Codes as in ISO/IEC 19794-2:2005 (two bits of the x field)."""

    OTHER = 0
    ENDING = 1
    BIFURCATION = 2


@dataclass(frozen=True, slots=True)
class Minutiae:
    """``x``, ``y`` in pixels (origin top-left, y down); ``angle`` in radians in [0, 2*pi), measured
    counter-clockwise from the x axis (the ISO/IEC 19794-2 convention, as pyfing reports it);
    ``kind`` a :class:`MinutiaType` code; ``quality`` 0-100."""

    x: F32
    y: F32
    angle: F32
    kind: U8
    quality: U8

    def __post_init__(self) -> None:
        n = self.x.shape[0]
        for name in ("y", "angle", "kind", "quality"):
            if getattr(self, name).shape != (n,):
                raise ValueError(
                    f"minutiae field {name} has shape {getattr(self, name).shape}, expected ({n},)"
                )

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @classmethod
    def from_lists(
        cls,
        x: npt.ArrayLike,
        y: npt.ArrayLike,
        angle: npt.ArrayLike,
        kind: npt.ArrayLike,
        quality: npt.ArrayLike,
    ) -> Minutiae:
        return cls(
            x=np.asarray(x, dtype=np.float32).reshape(-1),
            y=np.asarray(y, dtype=np.float32).reshape(-1),
            angle=np.mod(np.asarray(angle, dtype=np.float32).reshape(-1), np.float32(2 * np.pi)).astype(
                np.float32
            ),
            kind=np.asarray(kind, dtype=np.uint8).reshape(-1),
            quality=np.clip(np.asarray(quality, dtype=np.float64).reshape(-1), 0, 100).astype(np.uint8),
        )

    @classmethod
    def empty(cls) -> Minutiae:
        return cls.from_lists([], [], [], [], [])

    def take(self, index: npt.NDArray[np.intp]) -> Minutiae:
        return Minutiae(
            x=self.x[index],
            y=self.y[index],
            angle=self.angle[index],
            kind=self.kind[index],
            quality=self.quality[index],
        )
