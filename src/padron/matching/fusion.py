"""Score fusion with log-likelihood ratios.

Each modality's similarity score is mapped to a log-likelihood ratio,
``LLR(s) = ln p(s | same person) / p(s | different persons)``, by logistic-regression calibration
on measured genuine and impostor scores (the usual approach in forensic biometrics, e.g. BOSARIS).
LLRs of independent comparisons add up, so a person's evidence is the sum over the compared
modalities and fingers: a missing finger or a missing face simply contributes nothing.

Thresholds follow from the LLRs themselves: for a calibrated likelihood ratio,
``P(LR >= x | different persons) <= 1 / x``. A 1:N search over a gallery of N subjects therefore
keeps the chance that a new, unique person is flagged at or below ``fpir`` when the threshold is
``ln(N / fpir)``. Decisions use that bound; they do not use literals copied from elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from padron.biometrics import metrics

#: an LLR is clipped to +-LLR_CAP (one extreme score must not outweigh everything else)
LLR_CAP = 40.0


@dataclass(frozen=True, slots=True)
class LlrModel:
    """``LLR(s) = slope * s + intercept`` (natural log), clipped to +-LLR_CAP."""

    slope: float
    intercept: float

    def llr(self, score: float) -> float:
        return float(min(LLR_CAP, max(-LLR_CAP, self.slope * score + self.intercept)))

    def llrs(self, scores: npt.ArrayLike) -> npt.NDArray[np.float64]:
        values = self.slope * np.asarray(scores, dtype=np.float64) + self.intercept
        return np.clip(values, -LLR_CAP, LLR_CAP)

    def to_dict(self) -> dict[str, float]:
        return {"slope": self.slope, "intercept": self.intercept}


def fit_llr(genuine: npt.ArrayLike, impostor: npt.ArrayLike) -> LlrModel:
    """The LLR model of these measured scores (see :func:`padron.biometrics.metrics.fit_llr`)."""
    slope, intercept = metrics.fit_llr(genuine, impostor)
    return LlrModel(slope=slope, intercept=intercept)


def llr_threshold(gallery_size: int, fpir: float) -> float:
    """Fused-LLR threshold that keeps P(a unique person is flagged) <= fpir against this gallery."""
    return math.log(max(1, gallery_size) / fpir)


@dataclass(frozen=True, slots=True)
class FusedScore:
    llr: float
    #: slot -> LLR of that slot's comparison
    slot_llrs: dict[str, float]


def fuse(slot_scores: Mapping[str, float], models: Mapping[str, LlrModel]) -> FusedScore:
    """Sum of per-slot LLRs; ``models`` maps each slot (``face``, ``1``..``10``) to its model."""
    llrs = {slot: models[slot].llr(score) for slot, score in slot_scores.items()}
    return FusedScore(llr=float(sum(llrs.values())), slot_llrs=llrs)
