"""One audited path into personal data, on SQLite and on PostgreSQL: every use case -- reads
included -- writes its audit entry in its own transaction, with the caller's context; a refused
use case writes none; concurrent writers never share or skip a place in the log."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from padron.audit.entry import AuditEntry, link_after
from padron.domain.access import AccessContext, Channel, Purpose, Role
from padron.domain.errors import PersonNotFoundError, PersonStatusError
from padron.domain.person import Status
from padron.registry.service import Registry
from padron.registry.storage.models import AuditEntryRow
from tests.contract.test_registry_contract import draft
from tests.support.contexts import OFFICER, READER


def entries(registry: Registry) -> list[AuditEntry]:
    with registry.db.session() as session:
        rows = session.scalars(select(AuditEntryRow.entry).order_by(AuditEntryRow.seq))
        return [AuditEntry.from_bytes(row) for row in rows]


def test_every_use_case_leaves_its_entry_with_the_context(registry: Registry) -> None:
    clerk = AccessContext(
        actor="api:clerk-7", role=Role.REGISTRAR, channel=Channel.API, purpose=Purpose.CORRECTION,
        legal_basis="LGP art. 91", case_ref="EXP-2026-17",
    )  # fmt: skip
    person = registry.enroll(draft(), OFFICER, reason="r")
    registry.get(person.curp, READER)
    registry.update(person.curp, {"birth_date": "1990-05-18"}, clerk, reason="acta")
    registry.history(person.curp, READER)
    registry.persons(READER, limit=10)
    log = entries(registry)
    assert [e.action for e in log] == [
        "person.create", "person.read", "person.update", "person.history", "person.list",
    ]  # fmt: skip
    assert {e.subject for e in log} == {f"person:{person.id}"}  # an id: no name, no CURP
    update = log[2]
    assert (update.actor, update.role, update.channel, update.purpose) == (
        "api:clerk-7", "registrar", "api", "correction",
    )  # fmt: skip
    assert (update.legal_basis, update.case_ref) == ("LGP art. 91", "EXP-2026-17")
    assert update.details["fields"] == ("birth_date",)
    # numbered from 0 without gaps, each linked to its predecessor
    assert [e.seq for e in log] == list(range(len(log)))
    with registry.db.session() as session:
        stored = list(session.scalars(select(AuditEntryRow.entry).order_by(AuditEntryRow.seq)))
    for before, after in zip(stored, log[1:], strict=False):
        assert link_after(before).prev == after.prev


def test_a_refused_use_case_writes_no_entry(registry: Registry) -> None:
    person = registry.enroll(draft(), OFFICER, reason="r")
    registry.set_status(person.curp, Status.DECEASED, OFFICER, reason="acta")
    before = entries(registry)
    with pytest.raises(PersonStatusError):
        registry.update(person.curp, {"given_names": "Pedro"}, OFFICER, reason="r", status=Status.ACTIVE)
    with pytest.raises(PersonNotFoundError):
        registry.get("HEGG560427MVZRRL04", READER)
    assert entries(registry) == before


def test_concurrent_writers_never_share_or_skip_a_place(registry: Registry) -> None:
    people = [registry.enroll(draft(), OFFICER, reason="r") for _ in range(3)]

    def read(i: int) -> None:
        registry.get(people[i % 3].curp, READER)

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(read, range(60)))
    log = entries(registry)
    assert [e.seq for e in log] == list(range(63))
    assert sum(e.action == "person.read" for e in log) == 60
