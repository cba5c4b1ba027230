"""The de-duplication decision: ranked candidates and thresholds in, unique / duplicate / grey out."""

from __future__ import annotations

import math

import pytest

from padron.domain.identity import MatchEvidence
from padron.matching.dedup import DedupDecision, DedupOutcome, DedupPolicy, Thresholds, decide
from padron.matching.fusion import OperatingPointError

SURE, GREY = 12.0, 6.0
THRESHOLDS = Thresholds(sure_llr=SURE, grey_llr=GREY, gallery_size=1000)


def candidate(ref: str, llr: float) -> MatchEvidence:
    return MatchEvidence(ref=ref, llr=llr, slot_scores={"face": 0.5}, slot_llrs={"face": llr})


def test_no_candidates_is_unique() -> None:
    assert decide([], THRESHOLDS) == DedupDecision(DedupOutcome.UNIQUE)


def test_candidates_below_the_grey_threshold_are_unique() -> None:
    decision = decide([candidate("p:1", GREY - 1e-9), candidate("p:2", -3.0)], THRESHOLDS)
    assert decision.outcome is DedupOutcome.UNIQUE
    assert decision.duplicate is None
    assert decision.grey == ()


def test_the_best_at_the_sure_threshold_is_a_duplicate() -> None:
    best = candidate("p:7", SURE)
    decision = decide([best, candidate("p:8", GREY + 1)], THRESHOLDS)
    assert decision.outcome is DedupOutcome.DUPLICATE
    assert decision.duplicate == best
    assert decision.grey == ()


def test_just_below_the_sure_threshold_is_grey() -> None:
    near = candidate("p:7", math.nextafter(SURE, -math.inf))
    decision = decide([near], THRESHOLDS)
    assert decision.outcome is DedupOutcome.GREY
    assert decision.grey == (near,)
    assert decision.duplicate is None


def test_a_candidate_at_the_grey_threshold_is_grey() -> None:
    at = candidate("a:3", GREY)
    assert decide([at], THRESHOLDS) == DedupDecision(DedupOutcome.GREY, grey=(at,))


def test_every_grey_candidate_gets_a_case_in_rank_order() -> None:
    first, second, third = candidate("p:1", SURE - 1), candidate("a:2", GREY + 0.5), candidate("p:3", GREY)
    below = candidate("p:4", GREY - 0.5)
    decision = decide([first, second, third, below], THRESHOLDS)
    assert decision.outcome is DedupOutcome.GREY
    assert decision.grey == (first, second, third)


def test_the_duplicate_is_the_first_candidate_as_ranked() -> None:
    # the search ranks best first; the decision takes that ranking as given
    ranked = [candidate("p:1", SURE + 2), candidate("p:2", SURE + 1)]
    assert decide(ranked, THRESHOLDS).duplicate == ranked[0]


def test_thresholds_follow_from_the_policy_and_the_gallery_size() -> None:
    policy = DedupPolicy(fpir_sure=1e-4, fpir_grey=1e-2)
    thresholds = Thresholds.of(500, policy)
    assert thresholds.sure_llr == pytest.approx(math.log(500 / 1e-4))
    assert thresholds.grey_llr == pytest.approx(math.log(500 / 1e-2))
    assert thresholds.to_dict() == {
        "sure_llr": thresholds.sure_llr,
        "grey_llr": thresholds.grey_llr,
        "gallery_size": 500.0,
    }


def test_an_empty_gallery_counts_as_one_subject() -> None:
    thresholds = Thresholds.of(0, DedupPolicy())
    assert thresholds.gallery_size == 1
    assert thresholds.to_dict()["gallery_size"] == 1.0
    assert thresholds == Thresholds.of(1, DedupPolicy())


def test_the_policy_refuses_a_rate_outside_zero_one() -> None:
    with pytest.raises(OperatingPointError):
        DedupPolicy(fpir_grey=1.5)
