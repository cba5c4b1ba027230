"""LLR calibration and fusion."""

from __future__ import annotations

import math

import numpy as np
import pytest

from padron.matching.fusion import LLR_CAP, LlrModel, fit_llr, fuse, llr_threshold


def test_fit_recovers_the_true_llr_of_gaussian_scores() -> None:
    # genuine ~ N(0.8, 0.1), impostor ~ N(0.3, 0.1): LLR(s) = (mu1-mu0)/var * s + (mu0^2-mu1^2)/(2 var)
    rng = np.random.default_rng(0)
    genuine, impostor = rng.normal(0.8, 0.1, 20_000), rng.normal(0.3, 0.1, 200_000)
    model = fit_llr(genuine, impostor)
    assert model.slope == pytest.approx(50.0, rel=0.08)
    assert model.intercept == pytest.approx((0.09 - 0.64) / 0.02, rel=0.08)
    assert model.llr(0.55) == pytest.approx(0.0, abs=0.3)  # halfway: no evidence either way


def test_calibrated_llr_bounds_the_false_match_rate() -> None:
    rng = np.random.default_rng(1)
    genuine, impostor = rng.normal(0.8, 0.1, 20_000), rng.normal(0.3, 0.1, 1_000_000)
    model = fit_llr(genuine[:10_000], impostor[:100_000])
    held_out = model.llrs(impostor[100_000:])
    for t in (2.0, 5.0, 8.0):
        assert np.mean(held_out >= t) <= math.exp(-t) * 1.5


def test_separated_classes_stay_finite() -> None:
    model = fit_llr([0.9, 0.95, 0.99], [0.1, 0.2, 0.3])
    assert math.isfinite(model.slope) and model.slope > 0
    assert model.llr(1e9) == LLR_CAP and model.llr(-1e9) == -LLR_CAP


def test_fusion_adds_llrs_and_ignores_missing_slots() -> None:
    face, finger = LlrModel(10.0, -5.0), LlrModel(0.1, -3.0)
    models = {"face": face, **{str(p): finger for p in range(1, 11)}}
    full = fuse({"face": 0.9, "1": 60.0, "2": 50.0}, models)
    assert full.llr == pytest.approx(4.0 + 3.0 + 2.0)
    assert full.slot_llrs == pytest.approx({"face": 4.0, "1": 3.0, "2": 2.0})
    one_finger = fuse({"7": 60.0}, models)
    assert one_finger.llr == pytest.approx(3.0) and set(one_finger.slot_llrs) == {"7"}
    assert fuse({}, models).llr == 0.0


def test_threshold_grows_with_the_gallery() -> None:
    assert llr_threshold(1, 0.01) == pytest.approx(math.log(100))
    assert llr_threshold(130_000_000, 0.003) > llr_threshold(1_000, 0.003)
