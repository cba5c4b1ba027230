"""The quality score falls for the faults a registry officer must fix, and names them."""

from __future__ import annotations

import numpy as np
import pytest

from padron.biometrics.face.errors import FaceParameterError
from padron.biometrics.face.quality import QualityMeasures, QualityParameters, Ramp, measure, score

# dlib's 5 points: two corners of each eye, then the base of the nose (x, y)
FRONTAL = np.array([[160.0, 100.0], [130.0, 100.0], [60.0, 100.0], [90.0, 100.0], [110.0, 160.0]])
TURNED = FRONTAL.copy()
TURNED[4, 0] = 150.0  # nose far off the eye midpoint: head turned


def sharp_chip(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    grey = rng.integers(60, 200, (150, 150), dtype=np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def flat_chip(level: int) -> np.ndarray:
    return np.full((150, 150, 3), level, dtype=np.uint8)


PARAMS = QualityParameters()


def test_ramp_is_linear_between_bad_and_good_in_either_direction() -> None:
    assert Ramp(bad=10, good=20)(15) == pytest.approx(0.5)
    assert Ramp(bad=10, good=20)(5) == 0.0 and Ramp(bad=10, good=20)(25) == 1.0
    assert Ramp(bad=0.4, good=0.2)(0.3) == pytest.approx(0.5)


def test_good_frontal_sharp_face_scores_100_without_reasons() -> None:
    report = score(measure(FRONTAL, sharp_chip(), [120.0]), PARAMS)
    assert report.score == pytest.approx(100.0)
    assert report.reasons == ()
    assert report.inter_eye_px == pytest.approx(70.0)


def test_blurred_face_loses_score_and_says_so() -> None:
    report = score(measure(FRONTAL, flat_chip(128), [120.0]), PARAMS)
    assert report.score < 1.0
    assert any("blurred" in r for r in report.reasons)


def test_turned_head_is_reported() -> None:
    report = score(measure(TURNED, sharp_chip(), [120.0]), PARAMS)
    assert report.yaw > 0.45
    assert report.factors["pose"] == 0.0
    assert any("turned sideways" in r for r in report.reasons)


def test_dark_and_small_faces_are_reported() -> None:
    dark = sharp_chip() // 8
    report = score(measure(FRONTAL * 0.3, dark, [40.0]), PARAMS)
    text = " ".join(report.reasons)
    assert "under-exposed" in text
    assert "low resolution" in text


def test_several_faces_are_noted_and_a_close_second_one_costs_score() -> None:
    far = score(measure(FRONTAL, sharp_chip(), [30.0, 120.0]), PARAMS)
    assert far.faces_found == 2
    assert far.score == pytest.approx(100.0)  # a small face in the background only earns a note
    assert any("faces found" in r and "was used" in r for r in far.reasons)
    close = score(measure(FRONTAL, sharp_chip(), [120.0, 100.0]), PARAMS)
    assert close.score == pytest.approx(100.0 * PARAMS.second_face_penalty)


def test_measures_round_trip_through_json_dict() -> None:
    m = measure(FRONTAL, sharp_chip(), [120.0, 50.0])
    assert QualityMeasures.from_dict(m.to_dict()) == m


def test_floor_outside_0_100_refused() -> None:
    with pytest.raises(FaceParameterError):
        QualityParameters(enrollment_floor=120.0)
