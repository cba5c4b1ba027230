"""Biometric enrollment with de-duplication, adjudication, verification and identification --
on SQLite and on PostgreSQL, under concurrency and kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from padron.domain.access import AccessContext, Purpose
from padron.domain.errors import AccessDeniedError, PersonNotFoundError
from padron.domain.person import Status
from padron.registry.identity import (
    CaseClosedError,
    DedupPolicy,
    EnrollmentResult,
    IdentityService,
    NoReferenceError,
    NotVerifiableError,
    SampleError,
)
from padron.registry.service import Registry
from padron.registry.storage.models import EnrollmentAttemptRow, TemplateRow
from tests.conftest import REPO_ROOT
from tests.support.contexts import ADJUDICATOR, INVESTIGATOR, OFFICER, READER, VERIFIER, as_actor
from tests.support.synthetic import SyntheticIdentity, draft, identity_service


def issued_curp(result: EnrollmentResult) -> str:
    assert result.status == "issued" and result.person is not None, result.to_dict()
    return result.person.curp


def enroll_population(service: IdentityService, n: int, start: int = 0) -> list[str]:
    curps = []
    for i in range(start, start + n):
        result = service.enroll(draft(i), SyntheticIdentity.make(i).capture(1), ctx=OFFICER, reason="r")
        curps.append(issued_curp(result))
    return curps


def test_unique_people_get_curps_and_sealed_templates(registry: Registry) -> None:
    service = identity_service(registry)
    curps = enroll_population(service, 6)
    assert len(set(curps)) == 6
    assert service.gallery_stats()["subjects"] == 6
    with registry.db.session() as session:
        rows = list(session.scalars(select(TemplateRow)))
    assert len(rows) == 6 * 11
    raw = SyntheticIdentity.make(0).capture(1)["face"].payload
    assert all(raw not in row.sealed for row in rows)  # nothing stored in the clear


def test_the_same_person_under_another_name_is_refused(registry: Registry) -> None:
    service = identity_service(registry)
    curps = enroll_population(service, 5)
    again = service.enroll(
        draft(50, given="Fernando"), SyntheticIdentity.make(3).capture(2), ctx=OFFICER, reason="r"
    )
    assert again.status == "refused" and again.person is None
    assert again.duplicate_of == curps[3]
    assert again.candidates[0].curp == curps[3]
    assert again.candidates[0].llr >= again.thresholds["sure_llr"]
    assert set(again.candidates[0].slot_scores) == {"face", *[str(p) for p in range(1, 11)]}
    assert registry.count() == 5
    with registry.db.session() as session:
        attempt = session.get(EnrollmentAttemptRow, again.attempt_id)
        assert attempt is not None and attempt.status == "refused" and attempt.duplicate_of is not None


def test_missing_modalities_still_match(registry: Registry) -> None:
    service = identity_service(registry)
    nine_fingers = tuple(str(p) for p in range(1, 10))
    first = service.enroll(
        draft(0),
        SyntheticIdentity.make(0).capture(1, face=False, fingers=nine_fingers),
        ctx=OFFICER,
        reason="r",
    )
    enroll_population(service, 4, start=1)
    assert first.status == "issued"
    found, _ = service.identify(
        SyntheticIdentity.make(0).capture(5, face=False, fingers=("7",)), ctx=INVESTIGATOR
    )
    assert found[0].curp == issued_curp(first) and set(found[0].slot_scores) == {"7"}
    # a face-only probe finds nobody for the person enrolled without a face
    face_only, _ = service.identify(SyntheticIdentity.make(0).capture(5, fingers=()), ctx=INVESTIGATOR)
    assert all(c.curp != issued_curp(first) for c in face_only)


def test_a_subject_found_by_one_modality_is_scored_on_the_others(registry: Registry) -> None:
    service = identity_service(registry, DedupPolicy(candidates=1))
    enroll_population(service, 6)
    # a face of subject 2 with a thumb of subject 4: each gallery's top-1 is another subject
    probe = {
        **SyntheticIdentity.make(2).capture(3, fingers=()),
        **SyntheticIdentity.make(4).capture(3, face=False, fingers=("1",)),
    }
    found = service.index.search(probe, 1)
    assert len(found) == 2
    assert all(set(scores) == {"face", "1"} for scores in found.values())
    by_face = max(found, key=lambda ref: found[ref]["face"])
    by_thumb = max(found, key=lambda ref: found[ref]["1"])
    assert by_face != by_thumb and found[by_thumb]["face"] < 0.5 and found[by_face]["1"] < 0.5


def test_grey_zone_goes_to_adjudication(registry: Registry) -> None:
    service = identity_service(registry)
    curps = enroll_population(service, 8)
    # only a face, moderately similar to person 2: evidence between the two thresholds
    sample = SyntheticIdentity.make(2).face_at(0.86, session=9)
    result = service.enroll(draft(80, given="Tomás"), sample, ctx=OFFICER, reason="r")
    assert result.status == "pending" and result.person is None and len(result.cases) == 1
    assert result.thresholds["grey_llr"] <= result.candidates[0].llr < result.thresholds["sure_llr"]
    case = service.case(result.cases[0], ctx=ADJUDICATOR)
    assert case.candidate_curp == curps[2] and case.status == "open"
    assert case.applicant["given_names"] == "TOMÁS"
    face_score = result.candidates[0].slot_scores["face"]
    assert case.evidence["match"]["slot_scores"]["face"] == pytest.approx(face_score)
    assert [c.id for c in service.cases(ctx=ADJUDICATOR)] == result.cases
    # a second attempt by the same applicant meets the pending first one in the gallery
    second = service.enroll(draft(81, given="Tomás"), sample, ctx=OFFICER, reason="r")
    assert second.status in ("refused", "pending") and second.person is None
    assert any(c.ref == f"a:{result.attempt_id}" for c in second.candidates)

    decided = service.decide(
        result.cases[0],
        same=False,
        ctx=as_actor("test:adjudicator", Purpose.ADJUDICATION),
        reason="different ears",
    )
    assert decided.status == "decided" and decided.decision == "different"
    assert decided.adjudicator == "test:adjudicator" and decided.reason == "different ears"
    assert decided.applicant["attempt_status"] == "issued"
    issued = registry.persons(READER, name="TOMÁS")
    assert len(issued) == 1 and issued[0].curp not in curps
    history = registry.history(issued[0].curp, READER)
    assert history[0].actor == "test:adjudicator" and "case" in history[0].reason
    with pytest.raises(CaseClosedError):
        service.decide(result.cases[0], same=True, ctx=as_actor("a", Purpose.ADJUDICATION), reason="again")
    found, _ = service.identify(sample, ctx=INVESTIGATOR)
    assert found[0].curp == issued[0].curp  # the new person's templates joined the gallery


def test_adjudicator_says_same(registry: Registry) -> None:
    service = identity_service(registry)
    curps = enroll_population(service, 4)
    result = service.enroll(
        draft(40, given="Tomás"),
        SyntheticIdentity.make(1).face_at(0.86, session=3),
        ctx=OFFICER,
        reason="r",
    )
    assert result.status == "pending"
    case = service.decide(
        result.cases[0], same=True, ctx=as_actor("test:adjudicator", Purpose.ADJUDICATION), reason="same scar"
    )
    assert case.applicant["attempt_status"] == "merged" and case.candidate_curp == curps[1]
    assert registry.count() == 4
    assert f"a:{result.attempt_id}" not in service.index.refs()


def test_verification(registry: Registry) -> None:
    service = identity_service(registry)
    curps = enroll_population(service, 3)
    genuine = service.verify(curps[1].lower(), SyntheticIdentity.make(1).capture(4), ctx=VERIFIER)
    assert genuine.match and genuine.llr >= genuine.threshold and genuine.curp == curps[1]
    assert set(genuine.slot_scores) == {"face", *[str(p) for p in range(1, 11)]}
    impostor = service.verify(
        curps[1], SyntheticIdentity.make(2).capture(4, fingers=("1", "2")), ctx=VERIFIER
    )
    assert not impostor.match and set(impostor.slot_scores) == {"face", "1", "2"}
    # one finger gives ~ +7.4 of evidence: not enough for FMR 1e-4 (ln 1e4 = 9.2); two fingers are
    thumb = service.verify(
        curps[0], SyntheticIdentity.make(0).capture(4, face=False, fingers=("1",)), ctx=VERIFIER
    )
    assert not thumb.match and set(thumb.slot_llrs) == {"1"} and 0 < thumb.llr < thumb.threshold
    two = service.verify(
        curps[0], SyntheticIdentity.make(0).capture(4, face=False, fingers=("1", "6")), ctx=VERIFIER
    )
    assert two.match and two.llr == pytest.approx(sum(two.slot_llrs.values()))
    with pytest.raises(PersonNotFoundError):
        service.verify("HEGG560427MVZRRL04", SyntheticIdentity.make(0).capture(4), ctx=VERIFIER)
    plain = registry.enroll(draft(99), ctx=OFFICER, reason="no biometrics")
    with pytest.raises(NoReferenceError):
        service.verify(plain.curp, SyntheticIdentity.make(0).capture(4), ctx=VERIFIER)
    with pytest.raises(SampleError):
        service.verify(curps[0], {}, ctx=VERIFIER)


def test_identification_ranks_and_limits(registry: Registry) -> None:
    service = identity_service(registry)
    curps = enroll_population(service, 10)
    found, threshold = service.identify(SyntheticIdentity.make(6).capture(7), top=3, ctx=INVESTIGATOR)
    assert [c.curp for c in found] == [curps[6]] and found[0].llr >= threshold
    stranger, _ = service.identify(SyntheticIdentity.make(1000).capture(7), ctx=INVESTIGATOR)
    assert stranger == []


def test_bad_samples(registry: Registry) -> None:
    service = identity_service(registry)
    face = SyntheticIdentity.make(0).capture(1, fingers=())["face"]
    with pytest.raises(SampleError):
        service.enroll(draft(0), {}, ctx=OFFICER, reason="r")
    with pytest.raises(SampleError):
        service.enroll(draft(0), {"11": face}, ctx=OFFICER, reason="r")
    with pytest.raises(SampleError):
        service.enroll(draft(0), {"3": face}, ctx=OFFICER, reason="r")
    assert registry.count() == 0


def test_merge_removes_the_duplicate_from_the_gallery(registry: Registry) -> None:
    service = identity_service(registry)
    curps = enroll_population(service, 3)
    registry.merge(curps[2], curps[0], ctx=as_actor("a"), reason="same person found by an investigator")
    assert registry.get(curps[2], READER).status is Status.MERGED
    found, _ = service.identify(SyntheticIdentity.make(2).capture(3), ctx=INVESTIGATOR)
    assert all(c.curp != curps[2] for c in found)


def test_restart_rebuilds_the_same_gallery(registry: Registry) -> None:
    service = identity_service(registry)
    enroll_population(service, 6)
    service.enroll(draft(60), SyntheticIdentity.make(1).face_at(0.86, session=2), ctx=OFFICER, reason="r")
    restarted = identity_service(Registry(registry.db))
    assert restarted.index.refs() == service.index.refs()
    probe = SyntheticIdentity.make(4).capture(9)
    assert restarted.identify(probe, ctx=INVESTIGATOR) == service.identify(probe, ctx=INVESTIGATOR)


def test_the_subject_count_follows_every_change_to_either_gallery(registry: Registry) -> None:
    """The count the dedup thresholds are set for is the subjects of both galleries together,
    each once (kept between enrollments, not recounted): it follows face-only and finger-only
    enrollments, a merge, another instance's enrollments and a restart."""
    service = identity_service(registry)
    other = identity_service(Registry(registry.db))

    def counts_right(expected: int) -> None:
        for s in (service, other):
            s.gallery_stats()  # brings the galleries up to the journal, as an enrollment does
            assert s.index.size() == len(s.index.refs()) == expected

    counts_right(0)
    curps = enroll_population(service, 3)
    counts_right(3)
    face_only = SyntheticIdentity.make(20).capture(1, fingers=())
    fingers_only = SyntheticIdentity.make(21).capture(1, face=False)
    for i, samples in ((20, face_only), (21, fingers_only)):
        issued_curp(other.enroll(draft(i), samples, ctx=OFFICER, reason="r"))
    counts_right(5)
    registry.merge(curps[2], curps[0], ctx=as_actor("a"), reason="same person found by an investigator")
    counts_right(4)
    assert identity_service(Registry(registry.db)).index.size() == 4


def test_another_process_enrollment_is_seen(registry: Registry) -> None:
    """Two service instances (as in two processes) share only the database: the journal keeps
    the second one's gallery in step before it searches."""
    one, two = identity_service(registry), identity_service(Registry(registry.db))
    first = one.enroll(draft(0), SyntheticIdentity.make(0).capture(1), ctx=OFFICER, reason="r")
    again = two.enroll(draft(1), SyntheticIdentity.make(0).capture(2), ctx=OFFICER, reason="r")
    assert first.status == "issued" and again.status == "refused"
    assert again.duplicate_of == issued_curp(first)


def test_simultaneous_enrollments_of_one_person_from_threads(registry: Registry) -> None:
    services = [identity_service(Registry(registry.db)) for _ in range(4)]
    barrier = threading.Barrier(4)

    def attempt(k: int) -> EnrollmentResult:
        barrier.wait()
        return services[k].enroll(
            draft(k), SyntheticIdentity.make(7).capture(k), ctx=as_actor(f"t{k}"), reason="race"
        )

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(attempt, range(4)))
    assert sorted(r.status for r in results) == ["issued", "refused", "refused", "refused"]
    assert registry.count() == 1


def _run_batch(url: str, first: int, count: int, session: int = 1) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.batch_enroll", url, str(first), str(count), str(session)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "src"), str(REPO_ROOT)])},
    )


def test_simultaneous_enrollments_of_the_same_people_from_two_processes(database_url: str) -> None:
    Registry.open(database_url, migrate=True).close()
    procs = [_run_batch(database_url, 0, 8, session=s) for s in (1, 2)]
    outputs = [p.communicate(timeout=240) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outputs]
    lines = [line.split() for out, _ in outputs for line in out.splitlines()]
    issued = [identity for identity, status, _ in lines if status == "issued"]
    assert sorted(issued) == [str(i) for i in range(8)]  # each person exactly once
    assert sum(1 for _, status, _ in lines if status == "refused") == 8
    registry = Registry.open(database_url)
    try:
        assert registry.count() == 8
    finally:
        registry.close()


def test_kill_9_mid_batch_loses_and_duplicates_nothing(database_url: str) -> None:
    Registry.open(database_url, migrate=True).close()
    proc = _run_batch(database_url, 0, 40)
    assert proc.stdout is not None
    for seen, _line in enumerate(proc.stdout, start=1):
        if seen == 12:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    registry = Registry.open(database_url)
    try:
        service = identity_service(registry)  # restart: galleries rebuilt from the registry
        persons = registry.persons(READER, limit=1000)
        assert len(persons) >= 12
        with registry.db.session() as session:
            owners = [r for (r,) in session.execute(select(TemplateRow.person_id))]
            attempts = list(session.scalars(select(EnrollmentAttemptRow)))
        # every issued person has all 11 templates and is in the gallery, nothing half-written
        assert {o for o in owners} == {p.id for p in persons}
        assert all(owners.count(p.id) == 11 for p in persons)
        assert service.index.refs() == {f"p:{p.id}" for p in persons}
        assert {a.status for a in attempts} == {"issued"} and len(attempts) == len(persons)
        enrolled_before = len(persons)
    finally:
        registry.close()

    # resume the whole batch with new captures: those enrolled before the crash are refused
    rerun = _run_batch(database_url, 0, 40, session=3)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-2000:]
    statuses = [line.split()[1] for line in out.splitlines()]
    assert statuses.count("refused") == enrolled_before
    assert statuses.count("issued") == 40 - enrolled_before
    registry = Registry.open(database_url)
    try:
        assert registry.count() == 40
    finally:
        registry.close()


def test_an_enrollment_that_loses_a_curp_race_is_retried_whole(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent writer (e.g. a demographic-only `person add`) that takes the CURP between
    allocation and insert: the enrollment runs again from the start instead of failing."""
    service = identity_service(registry)
    taken = registry.enroll(draft(0), ctx=OFFICER, reason="r").curp
    real = Registry._allocate_curp
    calls: list[str] = []

    def racing(self: Registry, session, data, *, requested=None) -> str:
        calls.append("x")
        return taken if len(calls) == 1 else real(self, session, data, requested=requested)

    monkeypatch.setattr(Registry, "_allocate_curp", racing)
    result = service.enroll(draft(0), SyntheticIdentity.make(0).capture(1), ctx=OFFICER, reason="r")
    assert len(calls) == 2
    assert result.status == "issued" and result.person is not None
    assert result.person.curp[:16] == taken[:16] and result.person.curp != taken
    assert registry.count() == 2
    with registry.db.session() as session:
        attempts = list(session.scalars(select(EnrollmentAttemptRow)))
    assert [a.status for a in attempts] == ["issued"]  # the lost try left no attempt behind


def test_only_an_active_identity_is_verified_and_only_investigations_identify(registry: Registry) -> None:
    service = identity_service(registry)
    curps = enroll_population(service, 2)
    genuine = SyntheticIdentity.make(0).capture(4)
    assert service.verify(curps[0], genuine, ctx=VERIFIER).match
    registry.set_status(curps[0], Status.DECEASED, OFFICER, reason="acta de defunción")
    with pytest.raises(NotVerifiableError, match="deceased"):
        service.verify(curps[0], genuine, ctx=VERIFIER)  # never "match" for a dead person's CURP
    survivor = enroll_population(service, 1, start=5)[0]
    registry.merge(curps[1], survivor, OFFICER, reason="dup")
    with pytest.raises(NotVerifiableError, match="merged"):
        service.verify(curps[1], SyntheticIdentity.make(1).capture(4), ctx=VERIFIER)
    probe = SyntheticIdentity.make(1).capture(4)
    for ctx in (VERIFIER, ADJUDICATOR, AccessContext.cli("test:inv", Purpose.INVESTIGATION)):  # no case ref
        with pytest.raises(AccessDeniedError):
            service.identify(probe, ctx=ctx)
    service.identify(probe, ctx=INVESTIGATOR)  # with a case reference
