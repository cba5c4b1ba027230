"""The ridge-period map (inverse of the ridge-frequency map), in pixels at 500 dpi.

Each finger draws a mean period (about 8.9 px, i.e. ~2.9 ridges per mm, sd 0.6 px between
fingers). Across the finger the period follows the flow (:func:`.flow.relax_flow`: ridges widen
where the flow lines spread, so that they need not multiply), plus, after SFinGe's density model,
up to 6% sparser ridges above the northernmost core and below the southernmost delta, and a small
smooth random variation. On the FVC B sets the period measured by pyfing's XSFFE varies by a
factor 1.25-1.5 between the 10th and 90th percentile of a print; the map here by about 1.3.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from padron.synth.fingerprint.orientation import FloatImage, Singularities, smooth_noise
from padron.synth.fingerprint.params import MasterParams


def period_map(
    params: MasterParams,
    singularities: Singularities,
    centre_y: float,
    rng: np.random.Generator,
    log_period: FloatImage | None = None,
    mask: NDArray[np.bool_] | None = None,
) -> tuple[float, FloatImage]:
    """(the finger's period: the median of the map over ``mask``, which is the drawn period up
    to clipping, or the drawn mean without a mask; the per-pixel period). ``log_period`` is the
    flow's own variation (natural log, relative to the mean) from :func:`.flow.relax_flow`."""
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
    if log_period is not None:
        relative = relative * np.exp(log_period)
    if mask is not None and mask.any():
        relative = relative / float(np.median(relative[mask]))  # the finger's median is its draw
    low, high = params.period_spread
    period = (mean * np.clip(relative, low, high)).astype(np.float32)
    if mask is not None and mask.any():
        mean = float(np.median(period[mask]))
    return mean, period
