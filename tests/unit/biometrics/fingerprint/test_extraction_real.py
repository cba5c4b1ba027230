"""Extraction on two real prints (skipped without the fingerprint extra or ../shared/data)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from padron.biometrics.fingerprint import FingerprintComparator, FingerprintExtractor
from padron.biometrics.fingerprint.errors import FingerprintQualityError

DATA = Path(__file__).resolve().parents[4].parent / "shared" / "data" / "fingerprints" / "FVC2002" / "DB1_B"
pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(
        importlib.util.find_spec("pyfing") is None, reason="the fingerprint extra is not installed"
    ),
    pytest.mark.skipif(not DATA.is_dir(), reason=f"real fingerprints absent: {DATA}"),
]


def test_classic_chain_finds_minutiae_scores_quality_and_matches_the_same_finger() -> None:
    extractor = FingerprintExtractor(chain="classic")
    a = extractor.template((DATA / "101_1.tif").read_bytes())
    b = extractor.template((DATA / "101_2.tif").read_bytes())
    other = extractor.template((DATA / "102_1.tif").read_bytes())
    assert len(a.minutiae) >= 15 and a.cylinder_count >= 10
    assert a.nfiq2 is not None and 0 <= a.nfiq2 <= 100
    assert (a.width, a.height) == (388, 374)
    comparator = FingerprintComparator()
    same, different = comparator.scores(comparator.prepare(a), [b, other])
    assert same > different + 0.1


def test_enrollment_refuses_prints_under_the_floor() -> None:
    image = (DATA / "101_1.tif").read_bytes()
    with pytest.raises(FingerprintQualityError) as error:
        FingerprintExtractor(chain="classic", quality_floor=100).enroll(image)
    assert error.value.details["floor"] == 100
    assert FingerprintExtractor(chain="classic", quality_floor=0).enroll(image).quality is not None


def test_fft_gabor_enhancement_is_pixel_identical_to_pyfing() -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")  # pyfing imports Keras 3, which needs a backend
    import pyfing

    from padron.biometrics.fingerprint.extract import gabor_enhance
    from padron.biometrics.fingerprint.image import decode

    pixels = decode((DATA / "103_4.tif").read_bytes()).pixels
    mask = pyfing.Gmfs().run(pixels)
    orientations = pyfing.Gbfoe().run(pixels, mask, 500)[0]
    periods = pyfing.Xsffe().run(pixels, mask, orientations, 500)
    expected = pyfing.Gbfen().run(pixels, mask, orientations, periods, 500)
    assert np.array_equal(gabor_enhance(pixels, orientations, periods), expected)
