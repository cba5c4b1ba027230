"""The exhaustive fingerprint gallery keeps one packed batch per finger position and grows it with
each enrollment: searches between enrollments must give exactly what a gallery built at once gives."""

from __future__ import annotations

import numpy as np
import pytest

from padron.domain.errors import PadronError
from padron.domain.template import Modality, Template
from padron.matching.backends.memory import TemplateGallery
from padron.matching.gallery import FINGER_SLOTS
from padron.matching.modalities import FingerprintMatcher
from padron.synth.templates import master_minutiae, synthetic_template


def _finger(person: int, impression: int) -> Template:
    return synthetic_template(master_minutiae(person, 2), impression)


def test_search_after_each_enrollment_equals_a_gallery_built_at_once() -> None:
    people = {f"p{i}": {"2": [_finger(i, 0)]} for i in range(12)}
    probe = {"2": _finger(5, 1)}
    grown = TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS)
    for ref, samples in people.items():
        grown.add(ref, samples)
        grown.search(probe, 3)  # builds, then grows, the cached batch
    grown.remove("p3")  # a removal rebuilds it
    grown.add("p3", people["p3"])
    grown.add("p12", {"2": [_finger(12, 0)]})
    at_once = TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS)
    for ref, samples in {**people, "p12": {"2": [_finger(12, 0)]}}.items():
        at_once.add(ref, samples)
    found = grown.search(probe, 13)
    assert [(c.ref, c.score) for c in found] == [(c.ref, c.score) for c in at_once.search(probe, 13)]
    assert found[0].ref == "p5"
    assert len(found) == 13


def test_a_load_in_chunks_searches_like_one_by_one_and_a_bad_template_loads_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from padron.matching.backends import memory

    monkeypatch.setattr(memory, "_LOAD_CHUNK", 3)  # 12 subjects in four chunks
    people = [(f"p{i}", {"2": [_finger(i, 0)]}) for i in range(12)]
    probe = {"2": _finger(5, 1)}
    chunked = TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS, shortlist_threshold=4)
    chunked.add_many(people)
    single = TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS, shortlist_threshold=4)
    for ref, samples in people:
        single.add(ref, samples)
    assert chunked.indexed and len(chunked) == 12
    found = chunked.search(probe, 5)
    assert [(c.ref, c.score) for c in found] == [(c.ref, c.score) for c in single.search(probe, 5)]
    assert found[0].ref == "p5"

    broken = Template(Modality.FINGERPRINT, "padron-mcc", 1, b"not a template")
    gallery = TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS)
    gallery.add("kept", {"2": [_finger(40, 0)]})
    with pytest.raises(PadronError):
        gallery.add_many([*people[:7], ("bad", {"2": [broken]})])  # fails in the third chunk
    assert gallery.refs() == {"kept"}
    assert gallery.search(probe, 5)[0].ref == "kept"


class _Count(dict[str, int]):
    """A subject table of ``n`` subjects as far as ``len`` goes (only the count matters here)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def __len__(self) -> int:
        return self.n


def _sized(n: int, **kwargs: float) -> TemplateGallery:
    gallery = TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS, **kwargs)  # type: ignore[arg-type]
    gallery._subject_id = _Count(n)
    return gallery


def test_the_shortlist_grows_as_the_square_root_of_the_gallery_within_its_floor_and_cap() -> None:
    # default: 0.1 * sqrt(N), at least 16 subjects, at most 1 % of the gallery
    assert _sized(10_000).shortlist_size(10, 10) == 16  # 0.1 * 100 = 10, below the floor
    assert _sized(100_000).shortlist_size(10, 10) == 32  # ceil(31.6)
    assert _sized(1_000_000).shortlist_size(10, 10) == 100
    assert _sized(130_000_000).shortlist_size(10, 10) == 1141
    assert _sized(1_000).shortlist_size(10, 10) == 16  # the floor wins over the 1 % cap
    assert _sized(100_000).shortlist_size(10, 50) == 50  # never fewer than asked for
    # fewer fingers: as many more subjects as keeps the full matcher's comparisons the same
    assert _sized(100_000).shortlist_size(1, 10) == 317
    assert _sized(100_000).shortlist_size(5, 10) == 64
    assert _sized(480).shortlist_size(1, 2) == 22
    # growth 1 is the old fixed penetration: 1 % of the gallery
    assert _sized(100_000, shortlist_scale=1.0, shortlist_growth=1.0).shortlist_size(10, 10) == 1000
    with pytest.raises(ValueError):
        _sized(10, shortlist_growth=1.5)


def test_the_votes_of_a_subject_with_two_impressions_of_a_finger_are_its_best_rows() -> None:
    """A finger enrolled twice (two rows of one subject): its vote is the better row's, the same
    as if only that row were enrolled, not their sum; after a removal the scatter of single rows
    comes back."""
    people = [(f"p{i}", {"2": [_finger(i, 0)]}) for i in range(30)]
    probe = {"2": _finger(5, 1)}
    twice = TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS, shortlist_threshold=0)
    twice.add_many([*people, ("p5", {"2": [_finger(99, 0), _finger(5, 0)]})])
    once = TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS, shortlist_threshold=0)
    once.add_many(people)
    assert not twice._slots["2"].single and once._slots["2"].single
    v_twice, _, _ = twice._votes(probe, extra=False)
    v_once, _, _ = once._votes(probe, extra=False)
    # (the weights differ a little: one more row's entries change the inverse frequencies)
    assert v_twice[twice._subject_id["p5"]] == pytest.approx(v_once[once._subject_id["p5"]], rel=0.02)
    assert twice.search(probe, 1)[0].ref == once.search(probe, 1)[0].ref == "p5"
    assert twice.preselect(probe, 1) == ["p5"]
    once.remove("p3")
    once.add("p3", {"2": [_finger(3, 0)]})  # subject number reused: its old row is dead
    assert once._slots["2"].single and once.preselect({"2": _finger(3, 1)}, 1) == ["p3"]


def _hand(person: int, impression: int, fingers: int = 5) -> dict[str, Template]:
    return {str(p): synthetic_template(master_minutiae(person, p), impression) for p in range(1, fingers + 1)}


def test_the_cascade_scores_only_the_best_few_on_every_finger_with_exhaustive_scores() -> None:
    """A five-finger probe against 30 persons with a shortlist of all of them: the cascade scores
    everyone on 2 fingers, then only 4 on all five. The mate comes first, every returned subject
    carries all five fingers' scores, equal to an exhaustive search's."""
    people = [(f"p{i}", {s: [t] for s, t in _hand(i, 0).items()}) for i in range(30)]
    probe = _hand(7, 1)

    def gallery(fingers: int) -> TemplateGallery:
        return TemplateGallery(
            FingerprintMatcher(),
            slots=FINGER_SLOTS,
            shortlist_threshold=4,
            shortlist=30,
            slot_shortlist=0,
            cascade_fingers=fingers,
            cascade_keep=4,
        )

    cascade, plain = gallery(2), gallery(0)
    exhaustive = TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS)
    for g in (cascade, plain, exhaustive):
        g.add_many(people)
    found = cascade.search(probe, 3)
    assert cascade.last_cascade == 4 and plain.search(probe, 3) and plain.last_cascade is None
    assert found[0].ref == "p7"
    assert len(found) == 3
    full = {c.ref: c for c in exhaustive.search(probe, 30)}
    for c in found:
        assert set(c.slot_scores) == set(probe)
        assert c.slot_scores == full[c.ref].slot_scores
        assert c.score == pytest.approx(full[c.ref].score)
    assert plain.search(probe, 3)[0].ref == "p7"  # impostors after the mate may differ


def test_the_shortlist_adds_the_best_by_relative_votes_each_finger_over_its_best() -> None:
    """Beside the ``size`` best by summed votes, the pre-selection takes the ``size`` best by
    relative votes (each finger's votes over that finger's best vote, summed), not already chosen:
    a subject whose fingers all collide moderately, but whose summed votes a few strongly colliding
    impostor fingers outweigh, still reaches the full matcher."""
    people = [(f"p{i}", {s: [t] for s, t in _hand(i, 0).items()}) for i in range(40)]

    def gallery(relative: float) -> TemplateGallery:
        return TemplateGallery(
            FingerprintMatcher(),
            slots=FINGER_SLOTS,
            shortlist_threshold=4,
            shortlist=3,
            shortlist_scale=0.0,
            slot_shortlist=0,
            relative_shortlist=relative,
        )

    plain, both = gallery(0.0), gallery(1.0)
    for g in (plain, both):
        g.add_many(people)
    added = 0
    for person in range(0, 40, 3):
        probe = _hand(person, 1)
        fused, _, _ = plain._votes(probe, extra=False)
        shares = np.zeros_like(fused)
        for slot in probe:
            one, _, _ = plain._votes({slot: probe[slot]}, extra=False)
            shares += one / one.max()
        by_votes = [plain._subject_ref[i] for i in np.argsort(-fused, kind="stable")[:3]]
        by_shares = [plain._subject_ref[i] for i in np.argsort(-shares, kind="stable")[:3]]
        plain.search(probe, 3)
        both.search(probe, 3)
        assert plain.last_preselection == by_votes
        assert both.last_preselection == by_votes + [r for r in by_shares if r not in by_votes]
        assert both.last_preselection[0] == f"p{person}"
        added += len(both.last_preselection) - 3
    assert added > 0  # the relative order is not the summed one
    with pytest.raises(ValueError):
        gallery(-1.0)


def test_a_cascade_needs_more_probe_fingers_and_shortlisted_subjects_than_it_keeps() -> None:
    people = [(f"p{i}", {s: [t] for s, t in _hand(i, 0, 2).items()}) for i in range(10)]
    gallery = TemplateGallery(
        FingerprintMatcher(), slots=FINGER_SLOTS, shortlist_threshold=4, cascade_fingers=2, cascade_keep=4
    )
    gallery.add_many(people)
    gallery.search(_hand(3, 1, 2), 3)  # two fingers: nothing left for a second stage
    assert gallery.last_cascade is None
    with pytest.raises(ValueError):
        TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS, cascade_keep=0)


def test_templates_added_right_after_a_search_with_them_index_as_if_decoded_anew() -> None:
    """An enrollment searches with its templates, then adds them: the gallery reuses the packed and
    hashed forms of the search (no second decode), and answers exactly as one that decoded them."""
    people = [(f"p{i}", {s: [t] for s, t in _hand(i, 0, 3).items()}) for i in range(12)]
    searched = TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS, shortlist_threshold=4)
    fresh = TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS, shortlist_threshold=4)
    newcomer = _hand(40, 0, 3)
    for g in (searched, fresh):
        g.add_many(people)
    searched.search(newcomer, 3)
    assert len(searched._probe_forms) == 3
    searched.add("p40", {s: [t] for s, t in newcomer.items()})
    fresh.add("p40", {s: [t] for s, t in newcomer.items()})
    assert not searched._probe_forms  # used once, then gone
    probe = _hand(40, 1, 3)
    assert [(c.ref, c.slot_scores) for c in searched.search(probe, 5)] == [
        (c.ref, c.slot_scores) for c in fresh.search(probe, 5)
    ]
    assert searched.search(probe, 1)[0].ref == "p40"
    a, b = searched.export_state(), fresh.export_state()
    assert a.arrays.keys() == b.arrays.keys()
    assert all((a.arrays[name] == b.arrays[name]).all() for name in a.arrays)
