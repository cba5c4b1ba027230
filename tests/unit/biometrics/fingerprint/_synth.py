from __future__ import annotations

import math

import numpy as np

from padron.biometrics.fingerprint.extract import Chain
from padron.biometrics.fingerprint.minutiae import Minutiae
from padron.biometrics.fingerprint.template import FingerprintTemplate, create

SHAPE = (400, 400)


def random_minutiae(rng: np.random.Generator, n: int = 40) -> Minutiae:
    return Minutiae.from_lists(
        rng.uniform(60, 340, n),
        rng.uniform(60, 340, n),
        rng.uniform(0, 2 * math.pi, n),
        rng.integers(1, 3, n),
        rng.integers(30, 100, n),
    )


def moved(
    m: Minutiae, angle: float, dx: float, dy: float, jitter: float, rng: np.random.Generator
) -> Minutiae:
    """The same finger placed again: rotated about the centre (counter-clockwise as seen), shifted,
    with small position/direction noise."""
    c, s = math.cos(angle), math.sin(angle)
    x0, y0 = m.x - 200, m.y - 200
    # counter-clockwise on screen with y pointing down
    x = c * x0 + s * y0 + 200 + dx + rng.normal(0, jitter, len(m))
    y = -s * x0 + c * y0 + 200 + dy + rng.normal(0, jitter, len(m))
    a = m.angle + angle + rng.normal(0, 0.05, len(m))
    return Minutiae.from_lists(x, y, a, m.kind, m.quality)


def template_of(m: Minutiae) -> FingerprintTemplate:
    return create(m, SHAPE, Chain.CLASSIC, nfiq2=60)
