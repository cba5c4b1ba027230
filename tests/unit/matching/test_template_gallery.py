"""The exhaustive fingerprint gallery keeps one packed batch per finger position and grows it with
each enrollment: searches between enrollments must give exactly what a gallery built at once gives."""

from __future__ import annotations

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
