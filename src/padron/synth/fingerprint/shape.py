"""The fingertip silhouette: where a finger can touch the sensor.

A superellipse for the rounded fingertip (upper part) above a slowly narrowing band that runs off
the bottom of the image, as a flat (plain) impression cuts the finger at the first flexion crease
or at the sensor's edge. Sizes at 500 dpi: 15-18 mm wide, the top 1-2 mm below the image edge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class Silhouette:
    cx: float
    top: float
    #: half-width (px), half-height of the rounded tip (px), superellipse exponent
    half_width: float
    tip_height: float
    exponent: float
    #: where the distal phalanx ends (the first flexion crease): below the image for adults
    bottom: float = float("inf")

    @property
    def centre_y(self) -> float:
        return self.top + self.tip_height

    def mask(self, height: int, width: int) -> NDArray[np.bool_]:
        y, x = np.mgrid[0:height, 0:width].astype(np.float32)
        dx = np.abs(x - self.cx) / self.half_width
        dy = (self.centre_y - y) / self.tip_height
        tip = (dx**self.exponent + np.clip(dy, 0, None) ** self.exponent) <= 1.0
        below = np.clip((y - self.centre_y) / max(height - self.centre_y, 1.0), 0, None)
        band = dx <= 1.0 - 0.12 * below**2
        result: NDArray[np.bool_] = np.where(dy > 0, tip, band) & (y <= self.bottom)
        return result


def random_silhouette(rng: np.random.Generator, height: int, width: int, scale: float = 1.0) -> Silhouette:
    half_width = width * rng.uniform(0.38, 0.45) * scale
    cx = width / 2 + rng.normal(0, width * 0.015)
    top = height * rng.uniform(0.02, 0.07)
    tip_height = half_width * rng.uniform(1.05, 1.3)
    return Silhouette(
        cx=cx,
        top=top,
        half_width=half_width,
        tip_height=tip_height,
        exponent=rng.uniform(2.0, 2.6),
        # a distal phalanx about 1.1 image heights (~26 mm) long for an adult, shorter for a child
        bottom=top + tip_height + 1.1 * height * scale - 1.2 * half_width,
    )
