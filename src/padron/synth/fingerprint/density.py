"""The ridge-period map (inverse of the ridge-frequency map), in pixels at 500 dpi.

Each finger draws a mean period (about 8.9 px, i.e. ~2.9 ridges per mm, sd 0.45 px) and a smooth
random variation of a few percent. Following SFinGe's density model (ridges are sparser above the
northernmost core and below the southernmost delta), the period grows by up to 6% in those regions.
"""

from __future__ import annotations

import numpy as np

from padron.synth.fingerprint.orientation import FloatImage, Singularities, smooth_noise
from padron.synth.fingerprint.params import MasterParams


def period_map(
    params: MasterParams, singularities: Singularities, centre_y: float, rng: np.random.Generator
) -> tuple[float, FloatImage]:
    """(the finger's mean period, the per-pixel period)."""
    h, w = params.height, params.width
    mean = float(
        np.clip(rng.normal(params.period_mean, params.period_sd), params.period_min, params.period_max)
    )
    y = np.arange(h, dtype=np.float32)[:, None]
    top = min((c[1] for c in singularities.cores), default=centre_y)
    bottom = max((d[1] for d in singularities.deltas), default=centre_y + 0.25 * h)
    above = np.clip((top - y) / 80.0, 0, 1)
    below = np.clip((y - bottom) / 80.0, 0, 1)
    relative = 1.0 + 0.06 * (above + below) + params.period_variation * smooth_noise(h, w, rng)
    period = mean * np.clip(relative, 0.85, 1.2)
    return mean, np.clip(period, params.period_min, params.period_max).astype(np.float32)
