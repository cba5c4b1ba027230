from __future__ import annotations

import numpy as np
import pytest

from padron.biometrics.fingerprint import FingerPosition, PersonComparator, QualityGate
from padron.biometrics.fingerprint.errors import FingerPositionError, FingerprintQualityError

from ._synth import moved, random_minutiae, template_of


def test_quality_gate_refuses_below_the_floor_and_says_why() -> None:
    gate = QualityGate(floor=40)
    gate.check(40)
    with pytest.raises(FingerprintQualityError) as error:
        gate.check(39)
    assert error.value.code == "PAD-FING-003"
    assert "39" in error.value.message and "40" in error.value.message
    assert error.value.details == {"nfiq2": 39, "floor": 40}
    with pytest.raises(FingerprintQualityError, match="could not score"):
        gate.check(None)
    with pytest.raises(ValueError):
        QualityGate(floor=101)


def test_person_fusion_uses_shared_fingers_only(rng: np.random.Generator) -> None:
    fingers = {p: random_minutiae(rng) for p in (1, 2, 6, 7)}
    probe = {p: template_of(m) for p, m in fingers.items()}
    same_person_three_fingers = {p: template_of(moved(fingers[p], 0.2, 4, 4, 2.0, rng)) for p in (1, 2, 7)}
    stranger = {p: template_of(random_minutiae(rng)) for p in range(1, 11)}
    nobody_in_common = {5: template_of(moved(fingers[1], 0, 0, 0, 1.0, rng))}  # same finger, wrong position
    results = PersonComparator().scores(probe, [same_person_three_fingers, stranger, nobody_in_common])
    assert results[0].fingers == 3 and set(results[0].per_finger) == {
        FingerPosition.RIGHT_THUMB,
        FingerPosition.RIGHT_INDEX,
        FingerPosition.LEFT_INDEX,
    }
    assert results[1].fingers == 4
    assert results[0].score > 1.0 > results[1].score
    assert results[2].fingers == 0 and results[2].score == 0.0


def test_unknown_finger_positions_are_refused(rng: np.random.Generator) -> None:
    with pytest.raises(FingerPositionError):
        PersonComparator().scores(
            {11: template_of(random_minutiae(rng))}, [{1: template_of(random_minutiae(rng))}]
        )
