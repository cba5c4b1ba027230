"""Every gallery backend passes the same suite and returns identical results."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from padron.domain.template import Modality, Template
from padron.matching.backends.memory import TemplateGallery, VectorGallery
from padron.matching.gallery import FACE_SLOT, FINGER_SLOTS, Candidate, Gallery, GalleryError
from tests.support.galleries import gallery_on

DIM = 128


def unit(v: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    out: npt.NDArray[np.float32] = (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)
    return out


def face(vector: npt.NDArray[np.float32]) -> Template:
    return Template(Modality.FACE, "test-vector", 1, vector.astype("<f4").tobytes())


def finger(vector: npt.NDArray[np.float32]) -> Template:
    return Template(Modality.FINGERPRINT, "test-vector", 1, vector.astype("<f4").tobytes())


class _Prepared:
    def __init__(self, probe: npt.NDArray[np.float32]) -> None:
        self.probe = probe

    def scores(self, candidates: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        return np.asarray(candidates @ self.probe, dtype=np.float32)


class VectorMatcher:
    """A stand-in fingerprint matcher (cosine of vectors) to exercise TemplateGallery's plumbing."""

    modality = Modality.FINGERPRINT

    def decode(self, template: Template) -> npt.NDArray[np.float32]:
        return np.frombuffer(template.payload, dtype="<f4").copy()

    def batch(self, decoded: Sequence[Any]) -> npt.NDArray[np.float32]:
        return np.stack(decoded)

    def prepare(self, probe: Template) -> _Prepared:
        return _Prepared(self.decode(probe))


def make_exact() -> Gallery:
    return VectorGallery(faiss_threshold=10**9)


def make_faiss() -> Gallery:
    return VectorGallery(faiss_threshold=50, bf16=False)


def make_bf16() -> Gallery:
    return VectorGallery(faiss_threshold=50, bf16=True)


def make_fingers() -> Gallery:
    return TemplateGallery(VectorMatcher(), slots=FINGER_SLOTS)


FACE_BACKENDS = ["memory-exact", "memory-faiss", "memory-bf16", "ray"]


@pytest.fixture
def face_gallery(request: pytest.FixtureRequest) -> Iterator[Gallery]:
    kind = request.param
    factory = {
        "memory-exact": make_exact,
        "memory-faiss": make_faiss,
        "memory-bf16": make_bf16,
        "ray": make_exact,
    }[kind]
    yield from gallery_on(request, kind, factory, Modality.FACE, shards=3)


@pytest.fixture
def finger_gallery(request: pytest.FixtureRequest) -> Iterator[Gallery]:
    yield from gallery_on(request, request.param, make_fingers, Modality.FINGERPRINT, shards=3)


def population(n: int, seed: int = 1) -> npt.NDArray[np.float32]:
    return unit(np.random.default_rng(seed).normal(size=(n, DIM)))


def noisy(v: npt.NDArray[np.float32], seed: int, level: float = 0.04) -> npt.NDArray[np.float32]:
    return unit(v + np.random.default_rng(seed).normal(scale=level, size=v.shape))


def fill_faces(gallery: Gallery, vectors: npt.NDArray[np.float32]) -> None:
    for i, v in enumerate(vectors):
        gallery.add(f"p{i:04d}", {FACE_SLOT: [face(v)]})


pytestmark = pytest.mark.xdist_group("ray")


@pytest.mark.parametrize("face_gallery", FACE_BACKENDS, indirect=True)
def test_face_mated_probes_rank_first(face_gallery: Gallery) -> None:
    vectors = population(300)
    fill_faces(face_gallery, vectors)
    assert len(face_gallery) == 300
    for i in range(0, 300, 7):
        result = face_gallery.search({FACE_SLOT: face(noisy(vectors[i], seed=i))}, k=5)
        assert len(result) == 5
        assert result[0].ref == f"p{i:04d}"
        assert result[0].score > 0.8 > 0.4 > result[1].score
        assert [c.score for c in result] == sorted((c.score for c in result), reverse=True)
        assert result[0].slot_scores == {FACE_SLOT: result[0].score}
        # scoring one named subject gives the score the search gave it
        assert face_gallery.score(
            result[2].ref, {FACE_SLOT: face(noisy(vectors[i], seed=i))}
        ) == pytest.approx({FACE_SLOT: result[2].score})
    assert face_gallery.score("nobody", {FACE_SLOT: face(vectors[0])}) == {}


@pytest.mark.parametrize("face_gallery", FACE_BACKENDS, indirect=True)
def test_face_remove_replace_and_several_templates(face_gallery: Gallery) -> None:
    vectors = population(120, seed=2)
    fill_faces(face_gallery, vectors)
    probe = {FACE_SLOT: face(noisy(vectors[5], seed=99))}
    face_gallery.remove("p0005")
    face_gallery.remove("never-there")
    assert "p0005" not in {c.ref for c in face_gallery.search(probe, k=10)}
    assert len(face_gallery) == 119
    # re-adding under another ref, with two templates: the best one counts, the subject once
    face_gallery.add("again", {FACE_SLOT: [face(vectors[77]), face(vectors[5])]})
    result = face_gallery.search(probe, k=3)
    assert result[0].ref == "again" and [c.ref for c in result].count("again") == 1
    # replacing a subject's templates drops the old ones
    face_gallery.add("again", {FACE_SLOT: [face(vectors[77])]})
    assert face_gallery.search(probe, k=1)[0].ref != "again"
    assert len(face_gallery) == 120 and "again" in face_gallery.refs()


@pytest.mark.parametrize("face_gallery", FACE_BACKENDS, indirect=True)
def test_face_gallery_refuses_other_modalities_and_slots(face_gallery: Gallery) -> None:
    v = population(1)[0]
    with pytest.raises(GalleryError):
        face_gallery.add("x", {FACE_SLOT: [finger(v)]})
    with pytest.raises(GalleryError):
        face_gallery.add("x", {"3": [face(v)]})
    assert face_gallery.search({FACE_SLOT: face(v)}, k=3) == []
    assert len(face_gallery) == 0


def test_heavy_removal_keeps_results_exact() -> None:
    """After many removals (compaction) numpy's scan and FAISS's return the same candidates, the
    mated subject first, and every score is the exact inner product."""
    vectors = population(3000, seed=3)
    exact, shortlist = make_exact(), make_faiss()
    for gallery in (exact, shortlist):
        fill_faces(gallery, vectors)
        for i in range(0, 3000, 2):
            gallery.remove(f"p{i:04d}")
    for i in range(1, 3000, 38):  # odd: still enrolled
        query = noisy(vectors[i], seed=i)
        probe = {FACE_SLOT: face(query)}
        a, b = exact.search(probe, k=10), shortlist.search(probe, k=10)
        assert a[0].ref == b[0].ref == f"p{i:04d}"
        _same(a, b)
        for c in b:
            assert c.score == pytest.approx(float(vectors[int(c.ref[1:])] @ query), abs=1e-5)


def _same(a: list[Candidate], b: list[Candidate]) -> None:
    assert [c.ref for c in a] == [c.ref for c in b]
    np.testing.assert_allclose([c.score for c in a], [c.score for c in b], rtol=0, atol=1e-5)


@pytest.mark.parametrize("face_gallery", ["ray"], indirect=True)
def test_face_backends_return_what_the_exact_scan_returns(face_gallery: Gallery) -> None:
    vectors = population(400, seed=4)
    reference = make_exact()
    for g in (reference, face_gallery):
        fill_faces(g, vectors)
    rng = np.random.default_rng(5)
    for i in range(40):
        probe = {FACE_SLOT: face(unit(rng.normal(size=DIM)) if i % 2 else noisy(vectors[i * 9], seed=i))}
        _same(face_gallery.search(probe, k=8), reference.search(probe, k=8))


def hands(n: int, seed: int) -> dict[str, dict[str, list[Template]]]:
    """n subjects with 1-10 fingers each (missing fingers allowed)."""
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(n):
        fingers = rng.choice(FINGER_SLOTS, size=int(rng.integers(1, 11)), replace=False)
        out[f"s{i:03d}"] = {str(f): [finger(unit(rng.normal(size=DIM)))] for f in fingers}
    return out


@pytest.mark.parametrize("finger_gallery", ["memory", "ray"], indirect=True)
def test_fingers_fuse_the_compared_positions(finger_gallery: Gallery) -> None:
    subjects = hands(80, seed=6)
    for ref, samples in subjects.items():
        finger_gallery.add(ref, samples)
    target = subjects["s017"]
    probe = {slot: finger(noisy(_vec(ts[0]), seed=int(slot))) for slot, ts in list(target.items())[:2]}
    result = finger_gallery.search(probe, k=5)
    assert result[0].ref == "s017"
    assert set(result[0].slot_scores) == set(probe)
    assert result[0].score == pytest.approx(sum(result[0].slot_scores.values()))
    assert finger_gallery.score(result[1].ref, probe) == pytest.approx(result[1].slot_scores)
    # a position nobody else has enrolled still finds its owner; unknown slots are refused
    with pytest.raises(GalleryError):
        finger_gallery.search({"11": probe[next(iter(probe))]}, k=3)
    finger_gallery.remove("s017")
    assert "s017" not in {c.ref for c in finger_gallery.search(probe, k=80)}


def test_finger_backends_agree(ray_runtime: None) -> None:
    from padron.matching.backends.ray import RayGallery

    subjects = hands(60, seed=7)
    local = make_fingers()
    remote = RayGallery(make_fingers, modality=Modality.FINGERPRINT, shards=2)
    try:
        remote.add_many(list(subjects.items()))
        for ref, samples in subjects.items():
            local.add(ref, samples)
        assert remote.refs() == local.refs()
        for ref in list(subjects)[::6]:
            probe = {slot: finger(noisy(_vec(ts[0]), seed=3)) for slot, ts in subjects[ref].items()}
            _same(remote.search(probe, k=6), local.search(probe, k=6))
    finally:
        remote.close()


def _vec(t: Template) -> npt.NDArray[np.float32]:
    return np.frombuffer(t.payload, dtype="<f4").copy()


_: Callable[[], Gallery] = make_exact  # the factories are Gallery makers
