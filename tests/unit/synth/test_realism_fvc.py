"""Synthetic impressions against real 500-dpi FVC prints, by the same measurements (skips
without ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from padron.synth.fingerprint import FingerPosition, generate_finger, impressions
from padron.synth.fingerprint.measure import foreground, image_minutiae_count, ridge_period


@pytest.mark.shared_data
def test_ridge_period_and_minutiae_fall_in_the_range_of_fvc2002_db1(shared_data: Path) -> None:
    real = [
        np.asarray(Image.open(f).convert("L"))
        for f in sorted((shared_data / "fingerprints/FVC2002/DB1_B").glob("*_1.tif"))
    ]
    assert len(real) == 10
    synthetic = [impressions(generate_finger(900 + i, FingerPosition(i + 1)), 1)[0] for i in range(4)]

    def period(image: np.ndarray) -> float:
        return ridge_period(255 - image.astype(np.float64), foreground(image))

    real_periods = [period(im) for im in real]
    real_minutiae = [image_minutiae_count(im) for im in real]
    synthetic_periods = [period(im) for im in synthetic]
    synthetic_minutiae = [image_minutiae_count(im) for im in synthetic]
    assert abs(np.median(synthetic_periods) - np.median(real_periods)) < 1.0, (
        synthetic_periods,
        real_periods,
    )
    low, high = np.percentile(real_minutiae, [10, 90])
    assert low <= np.median(synthetic_minutiae) <= high, (synthetic_minutiae, real_minutiae)
