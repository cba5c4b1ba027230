"""Gallery snapshots (sealed segments) on SQLite and PostgreSQL: a restart loads the newest one and
replays only the journal after it (additions and removals), and then searches exactly as galleries
rebuilt from every template do -- same candidates, same scores -- with the cosine stand-ins and
with padron's fingerprint matcher and its pre-selection; a damaged, foreign-format or misplaced
segment is ignored (logged) and the galleries rebuilt; writers running at the same time, or dying
half-way, never leave a snapshot that loads wrongly; a snapshot is written after a rebuild and every
N journal entries."""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from padron.audit.entry import AuditEntry
from padron.domain.template import Modality, Template
from padron.matching.backends.memory import TemplateGallery, VectorGallery
from padron.matching.gallery import FINGER_SLOTS, Gallery
from padron.matching.segments import SegmentError, encode_parts, read_header
from padron.registry.identity import IdentityService
from padron.registry.segments import SegmentStore, segment_context
from padron.registry.service import Registry
from padron.registry.storage.models import AuditEntryRow, GallerySegmentRow, GallerySnapshotRow
from padron.registry.vault import Vault
from tests.support.contexts import OFFICER
from tests.support.synthetic import FACE_DIM, TEST_KEY, SyntheticIdentity, draft, identity_service


def enroll(service: IdentityService, people: range, session: int = 1) -> dict[int, str]:
    curps = {}
    for i in people:
        result = service.enroll(draft(i), SyntheticIdentity.make(i).capture(session), OFFICER, reason="r")
        assert result.person is not None, result.to_dict()
        curps[i] = result.person.curp
    return curps


def results(
    service: IdentityService, probes: Sequence[Mapping[str, Template]], k: int = 8
) -> list[list[tuple[str, dict[str, float]]]]:
    """What the galleries answer, raw (every candidate's per-slot scores), probe by probe."""
    return [sorted(service.index.search(probe, k).items()) for probe in probes]


def probes_of(people: list[int], session: int = 7) -> list[Mapping[str, Template]]:
    out: list[Mapping[str, Template]] = []
    for i in people:
        capture = SyntheticIdentity.make(i).capture(session)
        out += [capture, {"2": capture["2"], "7": capture["7"]}, {"face": capture["face"]}]
    return out


def snapshots(registry: Registry) -> list[GallerySnapshotRow]:
    with registry.db.session() as session:
        rows = list(session.scalars(select(GallerySnapshotRow)))
        session.expunge_all()
        return rows


def test_a_restart_loads_the_snapshot_replays_the_tail_and_searches_as_a_rebuild(registry: Registry) -> None:
    first = identity_service(registry, segments=True)
    assert first.index.startup["source"] == "rebuild"  # nothing saved yet: rebuilt
    assert snapshots(registry) == []  # empty galleries: nothing to save
    curps = enroll(first, range(12))
    info = first.snapshot()
    assert info is not None and info.position == 12
    assert {s.modality for s in info.segments} == {"face", "fingerprint"}
    assert max(s.part for s in info.segments) >= 1  # 4 KiB parts: each gallery spans several
    assert [s.id for s in snapshots(registry)] == [info.id]  # the older snapshot was deleted
    # the journal after the snapshot: three more persons, two removals (one of them new)
    curps |= enroll(first, range(12, 15))
    registry.merge(curps[3], curps[0], OFFICER, reason="dup")
    registry.merge(curps[13], curps[1], OFFICER, reason="dup")

    restarted = identity_service(registry, segments=True)
    startup = restarted.index.startup
    assert startup["source"] == "segments" and startup["snapshot"] == info.id
    assert startup["position"] == 12 and startup["replayed"] == 5
    rebuilt = identity_service(registry)  # no segments: every template opened
    assert rebuilt.index.startup["source"] == "rebuild"
    first.gallery_stats()  # replays the merges
    assert restarted.index.refs() == rebuilt.index.refs() == first.index.refs()
    assert len(restarted.index.refs()) == 15 - 2
    probes = probes_of([0, 3, 5, 12, 13, 14])
    assert results(restarted, probes) == results(rebuilt, probes) == results(first, probes)
    # and after more enrollments through the restarted one, still the same
    enroll(restarted, range(15, 17))
    rebuilt.gallery_stats()  # replays the journal
    assert results(restarted, probes) == results(rebuilt, probes)
    with registry.db.session() as session:
        entries = [AuditEntry.from_bytes(e) for e in session.scalars(select(AuditEntryRow.entry))]
    loads = [e.details for e in entries if e.action == "gallery.load"]
    assert {"source": "segments", "subjects": 13, "snapshot": info.id, "position": 12, "replayed": 5} in loads
    assert {"source": "templates", "subjects": 13} in loads  # the rebuilt one opened every template


def finger_galleries(threshold: int) -> dict[Modality, Gallery]:
    from padron.matching.modalities import FingerprintMatcher

    return {
        Modality.FACE: VectorGallery(dim=FACE_DIM),
        Modality.FINGERPRINT: TemplateGallery(
            FingerprintMatcher(), slots=FINGER_SLOTS, shortlist_threshold=threshold
        ),
    }


def mcc_samples(person: int, impression: int) -> dict[str, Template]:
    from padron.synth.templates import master_minutiae, synthetic_template

    face = SyntheticIdentity.make(person).capture(impression, fingers=())
    return {
        **face,
        **{s: synthetic_template(master_minutiae(person, int(s)), impression) for s in ("2", "7")},
    }


def test_padron_fingerprints_with_the_preselection_load_exactly_as_rebuilt(registry: Registry) -> None:
    """The real matcher's packed cylinders and the LSH index entries, saved and loaded: the
    pre-selection (above 8 subjects) shortlists and scores the same subjects the same."""
    first = identity_service(registry, segments=True, galleries=finger_galleries(8), part_bytes=16384)
    curps = {}
    for i in range(14):
        result = first.enroll(draft(i), mcc_samples(i, 0), OFFICER, reason="r")
        assert result.person is not None, result.to_dict()
        curps[i] = result.person.curp
    assert first.snapshot() is not None
    for i in range(14, 16):
        assert first.enroll(draft(i), mcc_samples(i, 0), OFFICER, reason="r").person is not None
    registry.merge(curps[4], curps[0], OFFICER, reason="dup")
    restarted = identity_service(registry, segments=True, galleries=finger_galleries(8))
    assert restarted.index.startup["source"] == "segments" and restarted.index.startup["replayed"] == 3
    rebuilt = identity_service(registry, galleries=finger_galleries(8))
    probes = [{s: t for s, t in mcc_samples(i, 1).items() if s != "face"} for i in (1, 4, 9, 15)]
    got, want = results(restarted, probes, 5), results(rebuilt, probes, 5)
    assert got == want
    finger = restarted.index.galleries[Modality.FINGERPRINT]
    assert isinstance(finger, TemplateGallery) and finger.last_shortlist is not None  # indexed
    best = max(got[0], key=lambda item: sum(item[1].values()))
    assert best[0] == f"p:{_person_id(registry, 1)}"


#: one probe's answer: (candidate, [(slot, score as float.hex())]) and the pre-selection's shortlist size
Answer = tuple[list[tuple[str, list[tuple[str, str]]]], int | None]


def test_a_restart_with_a_tail_of_additions_and_removals_answers_bit_for_bit_as_a_rebuild(
    registry: Registry,
) -> None:
    """Issue 15's done-when: start-up from segments gives identical search results to a rebuild,
    with a journal tail after the snapshot that adds subjects and removes both saved and newly
    added ones (the real matcher, its packed cylinders and the pre-selection's index): the same
    subjects, the same candidates, bit-identical per-finger scores, the same shortlist sizes; and
    still after enrollments through both."""
    galleries = functools.partial(finger_galleries, 6)
    first = identity_service(registry, segments=True, galleries=galleries(), part_bytes=8192)
    curps = {}
    for i in range(12):
        result = first.enroll(draft(i), mcc_samples(i, 0), OFFICER, reason="r")
        assert result.person is not None, result.to_dict()
        curps[i] = result.person.curp
    info = first.snapshot()
    assert info is not None and info.position == 12 and len(info.parts_of("fingerprint")) > 1
    for i in range(12, 16):  # the tail: four additions, then two saved and one added removed
        result = first.enroll(draft(i), mcc_samples(i, 0), OFFICER, reason="r")
        assert result.person is not None, result.to_dict()
        curps[i] = result.person.curp
    registry.merge(curps[2], curps[0], OFFICER, reason="dup")
    registry.merge(curps[7], curps[5], OFFICER, reason="dup")
    registry.merge(curps[14], curps[9], OFFICER, reason="dup")

    restarted = identity_service(registry, segments=True, galleries=galleries())
    startup = restarted.index.startup
    assert startup["source"] == "segments" and startup["snapshot"] == info.id
    assert startup["position"] == 12 and startup["replayed"] == 7
    rebuilt = identity_service(registry, galleries=galleries())
    assert rebuilt.index.startup["source"] == "rebuild"
    assert restarted.index.refs() == rebuilt.index.refs() and len(rebuilt.index.refs()) == 16 - 3

    def answers(service: IdentityService, people: Sequence[int]) -> list[Answer]:
        finger = service.index.galleries[Modality.FINGERPRINT]
        assert isinstance(finger, TemplateGallery)
        out: list[Answer] = []
        for i in people:
            probe = {s: t for s, t in mcc_samples(i, 1).items() if s != "face"}
            found = sorted(service.index.search(probe, 6).items())
            # floats compared by their bits: identical, not merely close
            out.append(
                (
                    [(ref, sorted((s, v.hex()) for s, v in sc.items())) for ref, sc in found],
                    finger.last_shortlist,
                )
            )
        return out

    people = [0, 1, 2, 5, 9, 12, 13, 14, 15]
    got, want = answers(restarted, people), answers(rebuilt, people)
    assert got == want
    assert all(shortlist is not None for _, shortlist in got)  # the pre-selection ran
    result = restarted.enroll(draft(16), mcc_samples(16, 0), OFFICER, reason="r")  # and after more
    assert result.person is not None, result.to_dict()
    rebuilt.gallery_stats()  # replays the journal
    assert answers(restarted, [*people, 16]) == answers(rebuilt, [*people, 16])


def _person_id(registry: Registry, i: int) -> int:
    from padron.registry.storage.models import PersonRow

    with registry.db.session() as session:
        rows = list(session.scalars(select(PersonRow).order_by(PersonRow.id)))
    return rows[i].id


def _tamper(registry: Registry, change: dict[str, object] | None = None, flip: bool = False) -> None:
    with registry.db.session() as session:
        row = session.scalars(select(GallerySegmentRow).order_by(GallerySegmentRow.id.desc())).first()
        assert row is not None
        if flip:
            data = bytearray(row.sealed)
            data[-40] ^= 1
            row.sealed = bytes(data)
        if change:
            session.execute(update(GallerySegmentRow).where(GallerySegmentRow.id == row.id).values(**change))


@pytest.mark.parametrize("damage", ["flipped byte", "format column", "moved part", "header format"])
def test_an_unusable_snapshot_is_ignored_and_the_galleries_rebuilt(
    registry: Registry, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    first = identity_service(registry, segments=True)
    enroll(first, range(6))
    info = first.snapshot()
    assert info is not None
    if damage == "flipped byte":
        _tamper(registry, flip=True)  # fails authentication
    elif damage == "format column":
        _tamper(registry, {"format": 99})
    elif damage == "moved part":  # its associated data names another place: it does not open
        _tamper(registry, {"position": 5})
    else:  # sealed properly, but its plaintext is of another format version
        vault = Vault.from_base64(TEST_KEY)
        with registry.db.session() as session:
            row = session.scalars(select(GallerySegmentRow).order_by(GallerySegmentRow.id)).first()
            assert row is not None
            context = segment_context(
                row.snapshot_id, row.modality, row.layout, row.shard, row.part, row.position
            )
            plain = vault.open(row.sealed, context)
            length = int.from_bytes(plain[4:8], "little")
            header = json.loads(plain[8 : 8 + length])
            header["format"] = 2
            text = json.dumps(header).encode()
            row.sealed = vault.seal(
                plain[:4] + len(text).to_bytes(4, "little") + text + plain[8 + length :], context
            )
    with caplog.at_level(logging.WARNING, logger="padron.gallery"):
        restarted = identity_service(registry, segments=True)
    assert restarted.index.startup["source"] == "rebuild"
    assert info.id in restarted.index.startup["reason"]
    assert any("cannot be used" in r.getMessage() and info.id in r.getMessage() for r in caplog.records)
    rebuilt = identity_service(registry)
    probes = probes_of([1, 4])
    assert results(restarted, probes) == results(rebuilt, probes)
    # the rebuild wrote a good snapshot in place of the bad one
    [fresh] = snapshots(registry)
    assert fresh.id != info.id and fresh.position == 6
    assert identity_service(registry, segments=True).index.startup["source"] == "segments"


def test_a_gallery_of_another_configuration_does_not_load_the_snapshot(registry: Registry) -> None:
    from padron.matching.finger_index import IndexParameters
    from padron.matching.modalities import FingerprintMatcher

    first = identity_service(registry, segments=True, galleries=finger_galleries(8))
    for i in range(3):
        assert first.enroll(draft(i), mcc_samples(i, 0), OFFICER, reason="r").person is not None
    first.snapshot()
    other = {
        **finger_galleries(8),
        Modality.FINGERPRINT: TemplateGallery(
            FingerprintMatcher(), slots=FINGER_SLOTS, shortlist_threshold=8, index=IndexParameters(bands=16)
        ),
    }
    restarted = identity_service(registry, segments=True, galleries=other)
    assert restarted.index.startup["source"] == "rebuild"
    assert "another configuration" in restarted.index.startup["reason"]
    assert len(restarted.index.refs()) == 3


def test_writers_at_once_or_dying_half_way_leave_one_loadable_snapshot(registry: Registry) -> None:
    a = identity_service(registry, segments=True)
    b = identity_service(registry, segments=True)
    enroll(a, range(8))
    b.gallery_stats()  # b replays what a enrolled
    errors: list[BaseException] = []

    def write(service: IdentityService) -> None:
        try:
            for _ in range(3):
                service.snapshot()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(s,)) for s in (a, b, a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    rows = snapshots(registry)
    assert len(rows) == 1 and rows[0].completed_at is not None and rows[0].position == 8

    # a writer that dies after its first part: its rows are taken out, the good snapshot stays
    store = SegmentStore(registry.db, Vault.from_base64(TEST_KEY), part_bytes=4096)
    state = a.index.galleries[Modality.FACE]
    assert isinstance(state, VectorGallery)

    def dying() -> Iterator[bytes]:
        yield next(iter(encode_parts(state.export_state(), modality="face", position=8, max_bytes=4096)))
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        store.write("face=memory,fingerprint=memory", {"face": "memory", "fingerprint": "memory"}, dying())
    assert [r.id for r in snapshots(registry)] == [rows[0].id]
    # one that died without cleaning up (kill -9): incomplete, never loaded, deleted a day later
    with registry.db.session() as session:
        session.add(
            GallerySnapshotRow(
                id="abandoned",
                layout="face=memory,fingerprint=memory",
                position=None,
                segments=0,
                sealed_bytes=0,
                written_by="x:1",
                created_at=datetime.now(UTC) - timedelta(days=2),
                completed_at=None,
            )
        )
    c = identity_service(registry, segments=True)
    assert c.index.startup["snapshot"] == rows[0].id
    latest = c.snapshot()
    assert latest is not None
    assert [r.id for r in snapshots(registry)] == [latest.id]  # the older and the abandoned: deleted
    with registry.db.session() as session:
        assert session.scalar(select(func.count()).select_from(GallerySegmentRow)) == len(latest.segments)


def test_a_snapshot_is_written_every_n_journal_entries(registry: Registry) -> None:
    service = identity_service(registry, segments=True, snapshot_every=4)
    enroll(service, range(3))
    service.index.wait_for_snapshot()
    assert snapshots(registry) == []
    enroll(service, range(3, 5))
    service.index.wait_for_snapshot(30)
    [row] = snapshots(registry)
    assert row.position is not None and row.position >= 4
    assert service.index.snapshot_position == row.position
    restarted = identity_service(registry, segments=True)
    assert restarted.index.startup["source"] == "segments"
    assert restarted.index.startup["position"] == row.position


def test_the_segments_hold_no_template_bytes_in_the_clear(registry: Registry) -> None:
    service = identity_service(registry, segments=True)
    enroll(service, range(3))
    info = service.snapshot()
    assert info is not None
    with registry.db.session() as session:
        sealed = list(session.scalars(select(GallerySegmentRow.sealed)))
    assert len(sealed) == len(info.segments) > 2
    blob = b"".join(sealed)
    for i in range(3):
        for slot, template in SyntheticIdentity.make(i).capture(1).items():
            assert template.payload[:32] not in blob, slot
    for part in sealed:
        with pytest.raises(SegmentError):
            read_header(part)  # sealed: not even the header is readable
