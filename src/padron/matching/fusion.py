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
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from padron.biometrics import metrics
from padron.domain.errors import PadronError

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


class OperatingPointError(PadronError):
    code = "PAD-RATE-001"
    summary = (
        "An operating point (a false match or false positive identification rate) is not a number "
        "strictly between 0 and 1."
    )


class OperatingPointOrderError(PadronError):
    code = "PAD-RATE-002"
    summary = (
        "The sure-duplicate FPIR must be below the grey-zone FPIR (sure duplicates are refused "
        "without a human)."
    )


def check_rate(value: float, name: str) -> float:
    """``value`` if it is a finite rate in the open interval (0, 1); OperatingPointError naming
    ``name`` otherwise (0 would need an infinite threshold, 1 or more flags everyone)."""
    valid = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not (valid and math.isfinite(value) and 0 < value < 1):
        raise OperatingPointError(
            f"{name} must be a rate strictly between 0 and 1 (e.g. 0.0001), got {value!r}",
            name=name,
            value=repr(value),
        )
    return float(value)


def check_dedup_rates(fpir_sure: float, fpir_grey: float) -> None:
    """Both rates valid, and the sure-duplicate one the stricter."""
    check_rate(fpir_sure, "fpir_sure")
    check_rate(fpir_grey, "fpir_grey")
    if not fpir_sure < fpir_grey:
        raise OperatingPointOrderError(
            f"fpir_sure ({fpir_sure}) must be below fpir_grey ({fpir_grey}): a sure duplicate is refused "
            "without a human, so its rate is the stricter one",
            fpir_sure=fpir_sure,
            fpir_grey=fpir_grey,
        )


def llr_threshold(gallery_size: int, fpir: float) -> float:
    """Fused-LLR threshold that keeps P(a unique person is flagged) <= fpir against this gallery;
    ``fpir`` must lie in (0, 1) (OperatingPointError)."""
    return math.log(max(1, gallery_size) / check_rate(fpir, "fpir"))


@dataclass(frozen=True, slots=True)
class FusedScore:
    llr: float
    #: slot -> LLR of that slot's comparison
    slot_llrs: dict[str, float]


def fuse(slot_scores: Mapping[str, float], models: Mapping[str, LlrModel]) -> FusedScore:
    """Sum of per-slot LLRs; ``models`` maps each slot (``face``, ``1``..``10``) to its model."""
    llrs = {slot: models[slot].llr(score) for slot, score in slot_scores.items()}
    return FusedScore(llr=float(sum(llrs.values())), slot_llrs=llrs)
