"""Person-level comparison over up to ten fingers (finger positions known, missing fingers allowed).

Each finger present in both the probe and the candidate is compared with the same-position
finger only; the person score is the sum of those finger scores (sum rule), reported with the
number of fingers that took part so that a decision can use a threshold calibrated for that count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from padron.biometrics.fingerprint.errors import FingerPositionError
from padron.biometrics.fingerprint.matcher import FingerprintComparator
from padron.biometrics.fingerprint.template import FingerprintTemplate
from padron.domain.finger import FingerPosition
from padron.domain.template import Template


def finger_position(value: int) -> FingerPosition:
    try:
        return FingerPosition(int(value))
    except ValueError:
        raise FingerPositionError(f"finger position {value} is not 1-10", position=value) from None


Hand = Mapping[int, FingerprintTemplate | Template]


@dataclass(frozen=True, slots=True)
class PersonScore:
    score: float  # sum of the compared fingers' scores
    fingers: int  # how many fingers were compared
    per_finger: dict[FingerPosition, float]


class PersonComparator:
    """Scores one person's fingers against many people's, one vectorized call per finger position."""

    def __init__(self, comparator: FingerprintComparator | None = None) -> None:
        self.comparator = comparator or FingerprintComparator()

    def scores(self, probe: Hand, candidates: Sequence[Hand]) -> list[PersonScore]:
        per_finger: list[dict[FingerPosition, float]] = [{} for _ in candidates]
        for raw_position, template in probe.items():
            position = finger_position(raw_position)
            holders = [i for i, c in enumerate(candidates) if position in {finger_position(p) for p in c}]
            if not holders:
                continue
            prepared = self.comparator.prepare(template)
            found = self.comparator.scores(prepared, [self._finger(candidates[i], position) for i in holders])
            for i, value in zip(holders, found, strict=True):
                per_finger[i][position] = float(value)
        return [
            PersonScore(score=float(np.sum(list(f.values()))) if f else 0.0, fingers=len(f), per_finger=f)
            for f in per_finger
        ]

    @staticmethod
    def _finger(hand: Hand, position: FingerPosition) -> FingerprintTemplate | Template:
        for raw, template in hand.items():
            if finger_position(raw) == position:
                return template
        raise KeyError(position)  # pragma: no cover - holders were filtered above
