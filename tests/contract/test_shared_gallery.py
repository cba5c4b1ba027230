"""One national gallery per deployment: workers share named Ray shards, never a copy each.

Two identity services on one registry stand for two worker processes (the cross-process run
is tests/api/test_workers.py): the second finds the shards the first loaded and only replays the
journal tail, an enrollment through one is searched by the other at once, and a worker that is
behind cannot undo a change another worker already applied.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from padron.domain.template import Modality
from padron.matching.backends.memory import TemplateGallery, VectorGallery
from padron.matching.gallery import FINGER_SLOTS, SharedGallery
from padron.matching.vector import CosineMatcher
from padron.registry.identity import BiometricIndex, IdentityService
from padron.registry.service import Registry
from tests.support.contexts import INVESTIGATOR, OFFICER
from tests.support.synthetic import (
    FACE_DIM,
    FACE_LLR,
    FINGER_LLR,
    TEST_KEY,
    SyntheticIdentity,
    draft,
)

pytestmark = pytest.mark.xdist_group("ray")


@pytest.fixture
def deployment(ray_runtime: None) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:8]}"
    yield name
    import ray

    from padron.matching.backends.ray import NAMESPACE

    for actor in ray.util.list_named_actors(all_namespaces=True):
        if actor["namespace"] == NAMESPACE and actor["name"].startswith(name + "/"):
            ray.kill(ray.get_actor(actor["name"], namespace=NAMESPACE))


def worker(registry: Registry, deployment: str, *, segments: bool = False) -> IdentityService:
    """What one server process builds: the production wiring on the deployment's named shards
    (``segments``: gallery snapshots kept in the registry, in small parts)."""
    from padron.matching.backends.ray import RayGallery
    from padron.registry.segments import SegmentStore
    from padron.registry.vault import Vault

    finger_matcher = CosineMatcher(Modality.FINGERPRINT)
    galleries = {
        Modality.FACE: RayGallery(
            functools.partial(VectorGallery, dim=FACE_DIM),
            modality=Modality.FACE,
            shards=2,
            deployment=deployment,
        ),
        Modality.FINGERPRINT: RayGallery(
            functools.partial(TemplateGallery, finger_matcher, slots=FINGER_SLOTS),
            modality=Modality.FINGERPRINT,
            shards=2,
            deployment=deployment,
        ),
    }
    vault = Vault.from_base64(TEST_KEY)
    store = SegmentStore(registry.db, vault, part_bytes=4096) if segments else None
    service = IdentityService(
        registry,
        BiometricIndex(galleries, vault, segments=store),
        matchers={Modality.FACE: CosineMatcher(Modality.FACE), Modality.FINGERPRINT: finger_matcher},
        llr_models={Modality.FACE: FACE_LLR, Modality.FINGERPRINT: FINGER_LLR},
    )
    service.start()
    return service


def named_shards(deployment: str) -> list[str]:
    import ray

    from padron.matching.backends.ray import NAMESPACE

    return sorted(
        a["name"]
        for a in ray.util.list_named_actors(all_namespaces=True)
        if a["namespace"] == NAMESPACE and a["name"].startswith(deployment + "/")
    )


def test_two_workers_share_one_gallery(tmp_path: Path, deployment: str) -> None:
    registry = Registry.open(f"sqlite:///{tmp_path / 'padron.db'}", migrate=True)
    try:
        first = worker(registry, deployment)
        for i in range(5):
            result = first.enroll(draft(i), SyntheticIdentity.make(i).capture(1), ctx=OFFICER, reason="r")
            assert result.status == "issued"
        assert all(isinstance(g, SharedGallery) for g in first.index.galleries.values())

        second = worker(registry, deployment)  # a second worker of the same deployment starts
        assert named_shards(deployment) == [
            f"{deployment}/face/1-of-2",
            f"{deployment}/face/2-of-2",
            f"{deployment}/fingerprint/1-of-2",
            f"{deployment}/fingerprint/2-of-2",
        ]  # the same four shards, not four more
        assert second.index.last_seq == first.index.last_seq  # took up their position, no reload
        assert second.gallery_stats()["subjects"] == 5

        # enrolled through the second, found by the first, and the other way round
        late = second.enroll(draft(7), SyntheticIdentity.make(7).capture(1), ctx=OFFICER, reason="r")
        assert late.status == "issued" and late.person is not None
        found, _ = first.identify(SyntheticIdentity.make(7).capture(2), ctx=INVESTIGATOR)
        assert [c.curp for c in found] == [late.person.curp]
        again = first.enroll(
            draft(17, given="Otro"), SyntheticIdentity.make(7).capture(3), ctx=OFFICER, reason="r"
        )
        assert again.status == "refused" and again.duplicate_of == late.person.curp

        # a worker that is behind cannot undo what another applied: its batch is older
        gallery = first.index.galleries[Modality.FACE]
        assert isinstance(gallery, SharedGallery)
        assert gallery.apply(1, [(f"p:{late.person.id}", None)]) is False
        found, _ = second.identify(SyntheticIdentity.make(7).capture(4), ctx=INVESTIGATOR)
        assert [c.curp for c in found] == [late.person.curp]
    finally:
        registry.close()


def test_threads_of_one_worker_search_the_embedded_face_gallery_side_by_side(tmp_path: Path) -> None:
    """Searches take the read side of the index's lock: two threads are inside the face
    gallery's search at the same moment (a gallery without parallel reads is searched one
    thread at a time)."""
    from tests.support.synthetic import identity_service

    registry = Registry.open(f"sqlite:///{tmp_path / 'padron.db'}", migrate=True)
    try:
        service = identity_service(registry)
        service.enroll(draft(1), SyntheticIdentity.make(1).capture(1, fingers=()), ctx=OFFICER, reason="r")
        gallery = service.index.galleries[Modality.FACE]
        assert getattr(gallery, "parallel_reads", False)
        inside = threading.Barrier(2, timeout=10)
        original = gallery.search

        def meeting_search(*args: Any, **kwargs: Any) -> Any:
            inside.wait()  # breaks unless the other search is inside too
            return original(*args, **kwargs)

        gallery.search = meeting_search  # type: ignore[method-assign]
        errors: list[BaseException] = []

        def identify() -> None:
            try:
                service.identify(SyntheticIdentity.make(1).capture(2, fingers=()), ctx=INVESTIGATOR)
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=identify) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert errors == []
        assert not getattr(service.index.galleries[Modality.FINGERPRINT], "parallel_reads", False)
    finally:
        registry.close()


def test_fresh_shards_load_their_own_segments_and_replay_the_journal_tail(
    tmp_path: Path, deployment: str
) -> None:
    """A snapshot of Ray shards is one segment per shard, encoded in the shard's process; when the
    deployment's shards are gone (a cluster restart), the next worker's fresh shards each
    assemble their own segment from the parts it reads and opens, then the journal after the
    snapshot is replayed: the searches are those of an embedded gallery rebuilt from every
    template."""
    import ray

    from padron.matching.backends.ray import RayGallery, shard_of
    from tests.support.synthetic import identity_service

    registry = Registry.open(f"sqlite:///{tmp_path / 'padron.db'}", migrate=True)
    try:
        first = worker(registry, deployment, segments=True)
        assert first.index.startup["source"] == "rebuild"
        curps = {}
        for i in range(10):
            result = first.enroll(draft(i), SyntheticIdentity.make(i).capture(1), ctx=OFFICER, reason="r")
            assert result.person is not None
            curps[i] = result.person.curp
        info = first.snapshot()
        assert info is not None and info.layout == "face=ray/2,fingerprint=ray/2"
        assert {(s.modality, s.shard, s.layout) for s in info.segments} == {
            (m, i, "ray/2") for m in ("face", "fingerprint") for i in (0, 1)
        }
        for i in range(10, 12):
            assert first.enroll(
                draft(i), SyntheticIdentity.make(i).capture(1), ctx=OFFICER, reason="r"
            ).person
        registry.merge(curps[2], curps[0], OFFICER, reason="dup")
        for gallery in first.index.galleries.values():
            assert isinstance(gallery, RayGallery)
            gallery.destroy()  # the deployment's shards are gone
        assert named_shards(deployment) == []

        second = worker(registry, deployment, segments=True)
        startup = second.index.startup
        assert startup["source"] == "segments" and startup["snapshot"] == info.id
        assert startup["position"] == 10 and startup["replayed"] == 3
        refs = second.index.refs()
        assert len(refs) == 11
        for gallery in second.index.galleries.values():
            assert isinstance(gallery, RayGallery)
            sizes = ray.get([s.size.remote() for s in gallery._shards])
            held = {ref for ref in refs if ref in gallery.refs()}
            assert sizes == [sum(1 for r in held if shard_of(r, 2) == i) for i in (0, 1)]
        rebuilt = identity_service(registry)  # embedded, every template opened
        for i in (0, 2, 5, 11):
            probe = SyntheticIdentity.make(i).capture(5)
            assert sorted(second.index.search(probe, 6).items()) == sorted(
                rebuilt.index.search(probe, 6).items()
            )
    finally:
        registry.close()
