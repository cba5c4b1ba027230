"""The de-duplication decision, pure: the candidates a search found and the thresholds for this
gallery in, the outcome out (nothing is read or written here; the registry acts on it).

Thresholds follow from the likelihood-ratio bound (see :mod:`padron.matching.fusion`) for the
policy's operating points and the gallery's size:

- *duplicate*: the best candidate's fused LLR >= ln(N / fpir_sure) -- refused automatically;
- *grey*: some candidate's fused LLR >= ln(N / fpir_grey) -- a human decides, one case per such
  candidate;
- otherwise *unique*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from padron.domain.identity import MatchEvidence
from padron.matching.fusion import check_dedup_rates, check_rate, llr_threshold


@dataclass(frozen=True)
class DedupPolicy:
    """Operating points, as false-positive identification rates (chance that a unique person is
    refused automatically / sent to a human). Thresholds follow from these and the gallery size."""

    fpir_sure: float = 1e-4
    fpir_grey: float = 0.01
    #: candidates examined per search
    candidates: int = 10
    #: 1:1 verification: false match rate of the decision
    verify_fmr: float = 1e-4
    #: 1:N identification: false positive identification rate of a returned candidate
    identify_fpir: float = 0.01

    def __post_init__(self) -> None:
        """Every rate in (0, 1) and fpir_sure < fpir_grey (OperatingPointError and its kin)."""
        check_dedup_rates(self.fpir_sure, self.fpir_grey)
        check_rate(self.verify_fmr, "verify_fmr")
        check_rate(self.identify_fpir, "identify_fpir")


@dataclass(frozen=True)
class Thresholds:
    """The fused-LLR thresholds of one de-duplication, for a gallery of ``gallery_size`` subjects."""

    sure_llr: float
    grey_llr: float
    gallery_size: int

    @classmethod
    def of(cls, gallery_size: int, policy: DedupPolicy) -> Thresholds:
        """The thresholds for ``policy`` against a gallery of this size (an empty one counts as 1)."""
        size = max(1, gallery_size)
        return cls(
            sure_llr=llr_threshold(size, policy.fpir_sure),
            grey_llr=llr_threshold(size, policy.fpir_grey),
            gallery_size=size,
        )

    def to_dict(self) -> dict[str, float]:
        """As an enrollment's evidence records them."""
        return {
            "sure_llr": self.sure_llr,
            "grey_llr": self.grey_llr,
            "gallery_size": float(self.gallery_size),
        }


class DedupOutcome(StrEnum):
    #: nobody in the gallery is this person: issue a CURP
    UNIQUE = "unique"
    #: surely someone already enrolled: refuse, linked to them
    DUPLICATE = "duplicate"
    #: possibly someone: a human decides
    GREY = "grey"


@dataclass(frozen=True)
class DedupDecision:
    outcome: DedupOutcome
    #: DUPLICATE: the candidate the applicant already is
    duplicate: MatchEvidence | None = None
    #: GREY: every candidate at or above the grey-zone threshold, in the order given (one case each)
    grey: tuple[MatchEvidence, ...] = ()


def decide(candidates: Sequence[MatchEvidence], thresholds: Thresholds) -> DedupDecision:
    """The outcome for ``candidates``, ranked best first (as the search returns them): the best
    at or above ``sure_llr`` is a duplicate; else any at or above ``grey_llr`` is a grey-zone
    candidate; else the applicant is unique."""
    best = candidates[0] if candidates else None
    if best is not None and best.llr >= thresholds.sure_llr:
        return DedupDecision(DedupOutcome.DUPLICATE, duplicate=best)
    grey = tuple(c for c in candidates if c.llr >= thresholds.grey_llr)
    if grey:
        return DedupDecision(DedupOutcome.GREY, grey=grey)
    return DedupDecision(DedupOutcome.UNIQUE)
