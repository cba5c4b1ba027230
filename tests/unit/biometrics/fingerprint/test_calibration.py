from __future__ import annotations

from padron.biometrics.fingerprint import ALGORITHM, TEMPLATE_VERSION, FingerprintComparator
from padron.biometrics.fingerprint.matcher import packaged_calibration


def test_the_packaged_calibration_matches_this_matcher_and_orders_its_thresholds() -> None:
    calibration = packaged_calibration()
    assert (calibration.modality, calibration.algorithm, calibration.template_version) == (
        "fingerprint",
        ALGORITHM,
        TEMPLATE_VERSION,
    )
    assert "FVC2002" in calibration.dataset and "FVC2004" in calibration.dataset
    assert calibration.impostor_pairs == 17280 and calibration.genuine_pairs == 1680
    comparator = FingerprintComparator()
    # a stricter false-match target needs a higher similarity
    assert 0 < comparator.threshold(1e-2) < comparator.threshold(1e-3) < comparator.threshold(1e-4) < 1
