"""The indexed fingerprint gallery (MinHash pre-selection + full matcher on the shortlist) finds
the mates that exhaustive matching finds, on every backend, on a generated gallery."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from padron.biometrics.fingerprint.extract import Chain
from padron.biometrics.fingerprint.minutiae import Minutiae
from padron.biometrics.fingerprint.template import create, to_envelope
from padron.domain.template import Modality, Template
from padron.matching.backends.memory import TemplateGallery
from padron.matching.gallery import FINGER_SLOTS, Gallery
from padron.matching.modalities import FingerprintMatcher
from tests.support.galleries import gallery_on

SUBJECTS = 60
SLOTS = ("1", "2")
SHAPE = (360, 320)
Population = tuple[list[tuple[str, dict[str, list[Template]]]], list[tuple[str, dict[str, Template]]]]


def _finger(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A master finger: 45 minutiae at least 12 px apart, directions following a smooth field."""
    points: list[tuple[float, float]] = []
    while len(points) < 45:
        x, y = rng.uniform(40, SHAPE[1] - 40), rng.uniform(40, SHAPE[0] - 40)
        if all((x - a) ** 2 + (y - b) ** 2 >= 144 for a, b in points):
            points.append((x, y))
    xy = np.array(points)
    field = rng.uniform(0, np.pi, 3)
    angle = (
        field[0] + 0.01 * field[1] * xy[:, 0] + 0.01 * field[2] * xy[:, 1] + np.pi * rng.integers(0, 2, 45)
    )
    return xy[:, 0], xy[:, 1], angle


def _impression(master: tuple[np.ndarray, np.ndarray, np.ndarray], rng: np.random.Generator) -> Template:
    """The finger seen again: rotated, shifted, jittered, 15 % of minutiae lost."""
    x, y, angle = master
    keep = rng.random(len(x)) > 0.15
    turn = rng.uniform(-0.3, 0.3)
    cx, cy = SHAPE[1] / 2, SHAPE[0] / 2
    c, s = np.cos(turn), np.sin(turn)
    dx, dy = x[keep] - cx, y[keep] - cy
    nx = cx + c * dx + s * dy + rng.uniform(-15, 15) + rng.normal(0, 1.5, keep.sum())
    ny = cy - s * dx + c * dy + rng.uniform(-15, 15) + rng.normal(0, 1.5, keep.sum())
    m = Minutiae.from_lists(
        nx,
        ny,
        angle[keep] + turn + rng.normal(0, 0.05, keep.sum()),
        np.ones(keep.sum()),
        np.full(keep.sum(), 60),
    )
    return to_envelope(create(m, SHAPE, Chain.CLASSIC, None))


@pytest.fixture(scope="module")
def population() -> Population:
    rng = np.random.default_rng(5)
    enrolled, probes = [], []
    for i in range(SUBJECTS):
        masters = {slot: _finger(rng) for slot in SLOTS}
        ref = f"p{i:03d}"
        enrolled.append((ref, {slot: [_impression(m, rng)] for slot, m in masters.items()}))
        if i % 5 == 0:
            probes.append((ref, {slot: _impression(m, rng) for slot, m in masters.items()}))
    return enrolled, probes


def indexed() -> Gallery:
    return TemplateGallery(
        FingerprintMatcher(),
        slots=FINGER_SLOTS,
        shortlist_threshold=0,
        shortlist=4,
        penetration=0.0,
        slot_shortlist=1,
    )


def exhaustive() -> TemplateGallery:
    return TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS, shortlist_threshold=10**9)


@pytest.fixture(params=["memory", "ray"])
def indexed_gallery(request: pytest.FixtureRequest) -> Iterator[Gallery]:
    yield from gallery_on(request, request.param, indexed, Modality.FINGERPRINT, shards=2)


pytestmark = pytest.mark.xdist_group("ray")


def test_indexed_search_finds_the_mates_exhaustive_search_finds(
    indexed_gallery: Gallery, population: Population
) -> None:
    enrolled, probes = population
    full = exhaustive()
    full.add_many(enrolled)
    indexed_gallery.add_many(enrolled)  # type: ignore[attr-defined]
    assert len(indexed_gallery) == len(full) == SUBJECTS
    for ref, probe in probes:
        for part in (probe, {"1": probe["1"]}, {"2": probe["2"]}):  # ten-print style and one finger
            want = full.search(part, 3)
            got = indexed_gallery.search(part, 3)
            assert want[0].ref == ref  # the generated mate is found exhaustively ...
            assert got[0].ref == ref  # ... and through the pre-selection, with the same score
            assert got[0].score == pytest.approx(want[0].score, abs=1e-9)
            assert got[0].slot_scores == pytest.approx(want[0].slot_scores, abs=1e-9)


def test_the_shortlist_is_a_small_share_of_the_gallery(population: Population) -> None:
    enrolled, probes = population
    gallery = indexed()
    assert isinstance(gallery, TemplateGallery)
    gallery.add_many(enrolled)
    for ref, probe in probes:
        assert gallery.search(probe, 1)[0].ref == ref
        # 4 by fused votes + at most 1 per finger: at most 6 of 60 subjects were matched fully
        assert gallery.last_shortlist is not None and gallery.last_shortlist <= 6
        assert gallery.preselect(probe, 3)[0] == ref


def test_removed_and_replaced_subjects_leave_the_index(population: Population) -> None:
    enrolled, probes = population
    gallery = indexed()
    for ref, samples in enrolled:  # one by one: the index's tail, then merges
        gallery.add(ref, samples)
    ref, probe = probes[1]
    gallery.remove(ref)
    assert ref not in {c.ref for c in gallery.search(probe, 10)}
    other = next(samples for r, samples in enrolled if r != ref)
    gallery.add(ref, other)  # the ref now holds someone else's fingers
    assert gallery.search(probe, 1)[0].ref != ref
    gallery.add(ref, dict(enrolled)[ref])
    assert gallery.search(probe, 1)[0].ref == ref
    assert len(gallery) == SUBJECTS
