"""The registry behaves the same on SQLite and on PostgreSQL (every test runs on both)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from padron.domain.curp import CurpData, Sex, validate_curp
from padron.domain.errors import (
    AccessContextError,
    ConcurrentUpdateError,
    CurpHomonymError,
    MergeTargetError,
    NoChangeError,
    PersonNotFoundError,
    PersonStatusError,
    ReasonRequiredError,
    SchemaNotInitializedError,
    UnknownFieldError,
)
from padron.domain.person import ChangeKind, PersonDraft, Status
from padron.registry.service import Registry
from padron.registry.storage.database import Database
from padron.registry.storage.models import Base
from tests.support.contexts import OFFICER, READER, as_actor


def draft(
    given: str = "Juan",
    first: str = "Hernández",
    second: str | None = "García",
    born: date = date(1990, 5, 17),
    sex: Sex = Sex.HOMBRE,
    state: str = "DF",
) -> PersonDraft:
    return PersonDraft(
        CurpData.parse(
            given_names=given,
            first_surname=first,
            second_surname=second,
            birth_date=born,
            sex=sex,
            birth_state=state,
        )
    )


# --- schema -------------------------------------------------------------------------------------


def test_migrations_create_exactly_the_models(database_url: str) -> None:
    database = Database(database_url)
    try:
        database.migrate()
        database.migrate()  # idempotent
        with database.engine.connect() as connection:
            diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diffs == []
        assert database.current_revision() == database.head_revision()
    finally:
        database.dispose()


def test_unmigrated_database_is_refused(database_url: str) -> None:
    with pytest.raises(SchemaNotInitializedError, match="padron init"):
        Registry.open(database_url)


# --- enrollment and homonyms --------------------------------------------------------------------


def test_enroll_issues_a_valid_curp_and_records_creation(registry: Registry) -> None:
    person = registry.enroll(draft(), ctx=OFFICER, reason="first enrollment")
    assert person.curp == "HEGJ900517HDFRRN03"
    assert validate_curp(person.curp).curp == person.curp
    assert person.status is Status.ACTIVE and person.version == 1
    assert registry.get(person.curp, READER) == person
    assert registry.get(person.curp.lower(), READER) == person
    (entry,) = registry.history(person.curp, READER)
    assert (
        entry.kind is ChangeKind.CREATED
        and entry.actor == OFFICER.actor
        and entry.reason == "first enrollment"
    )
    assert entry.changes["curp"] == [None, person.curp]
    assert entry.changes["first_surname"] == [None, "HERNÁNDEZ"]


def test_homonyms_get_the_lowest_free_differentiator(registry: Registry) -> None:
    curps = [registry.enroll(draft(), ctx=OFFICER, reason="homonym").curp for _ in range(3)]
    assert [c[16] for c in curps] == ["0", "1", "2"]
    assert len({c[:16] for c in curps}) == 1
    young = [registry.enroll(draft(born=date(2004, 2, 29)), ctx=OFFICER, reason="r").curp for _ in range(2)]
    assert [c[16] for c in young] == ["A", "B"]


def test_requested_homonym_must_be_free(registry: Registry) -> None:
    person = registry.enroll(draft(), ctx=OFFICER, reason="r", homonym="4")
    assert person.curp[16] == "4"
    with pytest.raises(CurpHomonymError):
        registry.enroll(draft(), ctx=OFFICER, reason="r", homonym="4")
    assert registry.enroll(draft(), ctx=OFFICER, reason="r").curp[16] == "0"


def test_every_change_needs_actor_and_reason(registry: Registry) -> None:
    with pytest.raises(ReasonRequiredError):
        registry.enroll(draft(), ctx=OFFICER, reason="  ")
    with pytest.raises(AccessContextError):  # no context without an actor
        registry.enroll(draft(), ctx=as_actor(""), reason="r")
    assert registry.count() == 0


def test_unknown_curp(registry: Registry) -> None:
    with pytest.raises(PersonNotFoundError):
        registry.get("HEGG560427MVZRRL04", READER)


# --- corrections --------------------------------------------------------------------------------


def test_correction_reissues_the_curp_and_keeps_the_old_one_resolvable(registry: Registry) -> None:
    person = registry.enroll(draft(), ctx=OFFICER, reason="r")
    updated = registry.update(
        person.curp,
        {"birth_date": "1990-05-18"},
        ctx=as_actor("test:registrar"),
        reason="certificate says 18",
    )
    assert updated.curp != person.curp and updated.curp[4:10] == "900518"
    assert updated.version == 2
    assert registry.get(person.curp, READER) == updated  # the retired CURP still finds the person
    assert registry.curps_of(updated.curp, READER) == [person.curp, updated.curp]
    entry = registry.history(updated.curp, READER)[-1]
    assert entry.kind is ChangeKind.UPDATED and entry.actor == "test:registrar"
    assert entry.changes == {"birth_date": ["1990-05-17", "1990-05-18"], "curp": [person.curp, updated.curp]}
    # a retired CURP is never issued again, even to someone whose data give the same stem
    newcomer = registry.enroll(draft(), ctx=OFFICER, reason="r")
    assert newcomer.curp[:16] == person.curp[:16] and newcomer.curp != person.curp


def test_correction_that_keeps_the_letters_keeps_the_curp(registry: Registry) -> None:
    person = registry.enroll(draft(given="Juan"), ctx=OFFICER, reason="r")
    updated = registry.update(
        person.curp, {"given_names": "Juan Carlos", "nationality": "mex"}, ctx=as_actor("a"), reason="r"
    )
    assert updated.curp == person.curp and updated.given_names == "JUAN CARLOS"
    assert registry.history(person.curp, READER)[-1].changes == {"given_names": ["JUAN", "JUAN CARLOS"]}


def test_update_validation(registry: Registry) -> None:
    person = registry.enroll(draft(), ctx=OFFICER, reason="r")
    with pytest.raises(UnknownFieldError):
        registry.update(person.curp, {"curp": "X"}, ctx=as_actor("a"), reason="r")
    with pytest.raises(NoChangeError):
        registry.update(person.curp, {"first_surname": "hernández"}, ctx=as_actor("a"), reason="r")
    with pytest.raises(ConcurrentUpdateError):
        registry.update(
            person.curp, {"second_surname": "López"}, ctx=as_actor("a"), reason="r", expected_version=7
        )
    assert registry.get(person.curp, READER).version == 1
    assert len(registry.history(person.curp, READER)) == 1


# --- status and merges --------------------------------------------------------------------------


def test_status_lifecycle(registry: Registry) -> None:
    curp = registry.enroll(draft(), ctx=OFFICER, reason="r").curp
    assert (
        registry.set_status(curp, Status.SUSPENDED, ctx=as_actor("a"), reason="fraud check").status
        is Status.SUSPENDED
    )
    assert (
        registry.set_status(curp, Status.ACTIVE, ctx=as_actor("a"), reason="cleared").status is Status.ACTIVE
    )
    assert (
        registry.set_status(curp, Status.DECEASED, ctx=as_actor("a"), reason="death record").status
        is Status.DECEASED
    )
    with pytest.raises(PersonStatusError):
        registry.set_status(curp, Status.ACTIVE, ctx=as_actor("a"), reason="r")
    kinds = [(e.kind, e.changes.get("status")) for e in registry.history(curp, READER)]
    assert kinds[1:] == [
        (ChangeKind.STATUS, ["active", "suspended"]),
        (ChangeKind.STATUS, ["suspended", "active"]),
        (ChangeKind.STATUS, ["active", "deceased"]),
    ]
    assert registry.persons(READER, status=Status.DECEASED)[0].curp == curp


def test_merge(registry: Registry) -> None:
    keep = registry.enroll(draft(), ctx=OFFICER, reason="r")
    dup = registry.enroll(draft(given="Juan José"), ctx=OFFICER, reason="r")
    merged = registry.merge(dup.curp, keep.curp, ctx=as_actor("test:adjudicator"), reason="same fingerprints")
    assert merged.status is Status.MERGED and merged.merged_into == keep.curp
    assert registry.history(keep.curp, READER)[-1].changes == {"absorbed": [None, dup.curp]}
    with pytest.raises(MergeTargetError):
        registry.merge(dup.curp, keep.curp, ctx=as_actor("a"), reason="again")
    with pytest.raises(MergeTargetError):
        registry.merge(keep.curp, keep.curp, ctx=as_actor("a"), reason="self")
    with pytest.raises(MergeTargetError):
        registry.merge(keep.curp, "HEGG560427MVZRRL04", ctx=as_actor("a"), reason="missing")
    with pytest.raises(PersonStatusError):
        registry.set_status(dup.curp, Status.ACTIVE, ctx=as_actor("a"), reason="r")


def test_listing_and_search(registry: Registry) -> None:
    for given in ("Ana", "Beatriz", "Carla"):
        registry.enroll(draft(given=given, sex=Sex.MUJER), ctx=OFFICER, reason="r")
    assert [p.given_names for p in registry.persons(READER)] == ["ANA", "BEATRIZ", "CARLA"]
    assert [p.given_names for p in registry.persons(READER, limit=1, offset=1)] == ["BEATRIZ"]
    assert [p.given_names for p in registry.persons(READER, name="carl")] == ["CARLA"]
    assert registry.count() == 3


# --- concurrency --------------------------------------------------------------------------------


def test_concurrent_homonym_enrollments_from_threads(database_url: str) -> None:
    Registry.open(database_url, migrate=True).close()
    born = date(2003, 3, 3)
    registries = [Registry.open(database_url) for _ in range(4)]
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [
                pool.submit(registries[i % 4].enroll, draft(born=born), ctx=as_actor(f"t{i}"), reason="race")
                for i in range(20)
            ]
            curps = [f.result().curp for f in futures]
        assert len(set(curps)) == 20
        # no value lost, none duplicated: exactly the 20 lowest differentiators
        assert sorted(c[16] for c in curps) == list("ABCDEFGHIJKLMNOPQRST")
        assert registries[0].count() == 20
    finally:
        for r in registries:
            r.close()


def _enroll_in_process(url: str, n: int, tag: str) -> list[str]:
    registry = Registry.open(url)
    try:
        born = date(2003, 3, 3)
        return [registry.enroll(draft(born=born), ctx=as_actor(tag), reason="race").curp for _ in range(n)]
    finally:
        registry.close()


def test_concurrent_homonym_enrollments_from_processes(database_url: str) -> None:
    Registry.open(database_url, migrate=True).close()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        results = pool.starmap(_enroll_in_process, [(database_url, 6, f"p{i}") for i in range(3)])
    curps = [c for batch in results for c in batch]
    assert len(set(curps)) == 18
    assert sorted(c[16] for c in curps) == list("ABCDEFGHIJKLMNOPQR")


def test_a_refused_status_change_takes_the_correction_back(registry: Registry) -> None:
    person = registry.enroll(draft(), ctx=OFFICER, reason="r")
    registry.set_status(person.curp, Status.DECEASED, ctx=OFFICER, reason="acta")
    with pytest.raises(PersonStatusError):
        # the correction alone would issue a new CURP; deceased -> active is not allowed
        registry.update(
            person.curp, {"birth_date": "1990-05-18"}, status=Status.ACTIVE, ctx=OFFICER, reason="r"
        )
    after = registry.get(person.curp, READER)
    assert after.curp == person.curp and after.birth_date == person.birth_date
    assert registry.curps_of(person.curp, READER) == [person.curp]
    assert [e.kind for e in registry.history(person.curp, READER)] == [ChangeKind.CREATED, ChangeKind.STATUS]


def test_correction_and_status_change_are_one_transaction(registry: Registry) -> None:
    person = registry.enroll(draft(), ctx=OFFICER, reason="r")
    both = registry.update(
        person.curp, {"birth_date": "1990-05-18"}, status=Status.SUSPENDED, ctx=OFFICER, reason="acta"
    )
    assert both.curp[4:10] == "900518" and both.status is Status.SUSPENDED
    kinds = [e.kind for e in registry.history(both.curp, READER)]
    assert kinds == [ChangeKind.CREATED, ChangeKind.UPDATED, ChangeKind.STATUS]


def test_name_fragments_are_literal(registry: Registry) -> None:
    registry.enroll(draft(), ctx=OFFICER, reason="r")
    assert registry.persons(READER, name="%") == [] and registry.persons(READER, name="H_RN") == []
    assert len(registry.persons(READER, name="HERN")) == 1
