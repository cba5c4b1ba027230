"""Face templates are versioned bytes; the comparator scores one probe against many in one call."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from padron.biometrics.face import FaceComparator, stack, to_template, vector_of
from padron.biometrics.face.compare import CALIBRATION_NAME
from padron.domain.template import Modality, Template, TemplateFormatError, TemplateMismatchError


def random_vectors(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 128))


def test_template_round_trips_through_bytes_as_a_unit_vector() -> None:
    v = random_vectors(1)[0] * 3.0
    template = to_template(v, quality=87.5)
    back = Template.from_bytes(template.to_bytes())
    assert back == template
    assert back.quality == 87.5
    out = vector_of(back)
    assert np.linalg.norm(out) == pytest.approx(1.0, abs=1e-6)
    assert np.allclose(out, v / np.linalg.norm(v), atol=1e-6)


def test_template_of_another_algorithm_refused() -> None:
    other = Template(Modality.FACE, "arcface-r100", 1, b"\x00" * 512)
    with pytest.raises(TemplateMismatchError):
        vector_of(other)


def test_wrong_payload_length_and_zero_vector_refused() -> None:
    good = to_template(random_vectors(1)[0], None)
    short = Template(good.modality, good.algorithm, good.version, good.payload[:-4])
    with pytest.raises(TemplateFormatError):
        vector_of(short)
    with pytest.raises(TemplateFormatError):
        to_template(np.zeros(128), None)


def test_prepared_scores_equal_pairwise_compare() -> None:
    comparator = FaceComparator()
    templates = [to_template(v, None) for v in random_vectors(20)]
    probe = templates[3]
    many = comparator.prepare(probe).scores(stack(templates))
    one_by_one = [comparator.compare(probe, t) for t in templates]
    assert np.allclose(many, one_by_one)
    assert int(np.argmax(many)) == 3
    assert many[3] == pytest.approx(1.0, abs=1e-6)


def test_opposite_vectors_score_minus_one() -> None:
    v = random_vectors(1)[0]
    comparator = FaceComparator()
    assert comparator.compare(to_template(v, None), to_template(-v, None)) == pytest.approx(-1.0, abs=1e-6)


def test_shipped_calibration_names_its_data_and_orders_its_thresholds() -> None:
    text = resources.files("padron.biometrics.calibrations").joinpath(f"{CALIBRATION_NAME}.json").read_text()
    data = json.loads(text)
    assert "LFW" in data["dataset"]
    assert "impostor" in data["protocol"]
    t = data["thresholds"]
    assert t["1e-5"] >= t["1e-4"] >= t["1e-3"]
    comparator = FaceComparator()
    assert comparator.decide(t["1e-4"] + 1e-9, fmr=1e-4)
    assert not comparator.decide(t["1e-4"] - 1e-3, fmr=1e-4)
    with pytest.raises(KeyError):
        comparator.threshold(0.5)
