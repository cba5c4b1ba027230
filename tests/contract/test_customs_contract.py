"""Cargo inspections in the database, on SQLite and PostgreSQL: a batch import is one
transaction (a failure in the middle leaves nothing behind, not even audit entries), the
records read back as written, the schema's own constraints back the model's rules, and the push
queue is filled in the same transaction as the record."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from padron.domain.access import AccessContext, Purpose
from padron.domain.errors import PadronError
from padron.registry.service import Registry
from padron.registry.storage.models import (
    AuditEntryRow,
    CustomsInspectionRow,
    CustomsPushRow,
    CustomsSeizureRow,
)
from padron.sharing.agreements import (
    CUSTOMS_PUSH_ATTRIBUTES,
    Agreement,
    Approval,
    Operation,
    OperationTerms,
    Partner,
    Rung,
)
from padron.sharing.customs import Customs
from padron.sharing.customs_import import CustomsImportError, ImportFormat, import_inspections
from padron.sharing.store import Sharing

CTX = AccessContext.cli("test:customs", Purpose.CUSTOMS)
TODAY = datetime.now(UTC).date()

ROWS: list[dict[str, Any]] = [
    {
        "container": "MSKU9070323",
        "hs_codes": ["8517130101"],
        "port_of_loading": "CNSHA",
        "port_of_entry": "MXZLO",
        "arrived_on": "2026-11-02",
        "inspected_on": "2026-11-03",
        "risk_reason": "canine-alert",
        "outcome": "seized",
        "seizures": [
            {"category": "drugs", "description": "cocaine", "quantity": "12.5", "unit": "kg"},
            {"category": "firearms", "description": "pistols", "quantity": 3, "unit": "units"},
        ],
    },
    {
        "air_waybill": "176-12345675",
        "hs_codes": ["300490"],
        "port_of_loading": "DEFRA",
        "port_of_entry": "MXMEX",
        "arrived_on": "2026-11-05",
        "inspected_on": "2026-11-05",
        "risk_reason": "random",
        "outcome": "cleared",
    },
    {
        "bill_of_lading": "HLCUSHA2611001",
        "hs_codes": ["610910"],
        "port_of_loading": "CNSHA",
        "port_of_entry": "MXZLO",
        "arrived_on": "2026-11-02",
        "inspected_on": "2026-11-04",
        "seals": [{"number": "H-1", "intact": True}],
        "risk_reason": "other",
        "risk_text": "declared value far under market",
        "outcome": "held",
    },
]


def _count(registry: Registry, model: Any) -> int:
    with registry.db.read_session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _json(rows: list[dict[str, Any]]) -> bytes:
    return json.dumps({"inspections": rows}).encode()


def test_an_import_is_one_transaction(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    customs = Customs(registry)
    before = _count(registry, AuditEntryRow)
    store = Customs._store
    calls: list[int] = []

    def failing(*args: Any, **kwargs: Any) -> CustomsInspectionRow:
        calls.append(1)
        if len(calls) == 3:
            raise PadronError("the disk filled up on the third row")
        return store(*args, **kwargs)

    monkeypatch.setattr(Customs, "_store", staticmethod(failing))
    with pytest.raises(PadronError, match="third row"):
        import_inspections(customs, _json(ROWS), ImportFormat.JSON, CTX)
    assert _count(registry, CustomsInspectionRow) == _count(registry, CustomsSeizureRow) == 0
    assert _count(registry, AuditEntryRow) == before  # not even the first two rows' audit entries
    monkeypatch.setattr(Customs, "_store", staticmethod(store))
    imported = import_inspections(customs, _json(ROWS), ImportFormat.JSON, CTX)
    assert len(imported.inspections) == 3
    assert _count(registry, CustomsSeizureRow) == 2
    assert _count(registry, AuditEntryRow) == before + 4  # three records and the import
    (seized,) = customs.inspections(outcome="seized")
    assert [(s.category.value, s.quantity, s.unit) for s in seized.seizures] == [
        ("drugs", "12.5", "kg"),
        ("firearms", "3", "units"),
    ]
    assert seized == imported.inspections[0]
    assert [i.reference for i in customs.inspections()] == ["MSKU9070323", "HLCUSHA2611001", "17612345675"]


def test_a_bad_row_imports_nothing_on_either_format(registry: Registry) -> None:
    customs = Customs(registry)
    header = (
        "container,air_waybill,hs_codes,port_of_loading,port_of_entry,arrived_on,inspected_on,risk_reason,"
        "outcome"
    )
    csv = "\n".join(
        [
            header,
            "MSKU9070323,,851713,CNSHA,MXZLO,2026-11-02,2026-11-03,random,held",
            # inspected before it arrived
            ",176-12345675,300490,DEFRA,MXMEX,2026-11-05,2026-11-04,random,cleared",
        ]
    ).encode()
    with pytest.raises(CustomsImportError) as refused:
        import_inspections(customs, csv, ImportFormat.CSV, CTX)
    assert [(r["row"], r["field"], r["code"], r["line"]) for r in refused.value.details["rows"]] == [
        (2, "inspected_on", "PAD-SHARE-035", 3)
    ]
    with pytest.raises(CustomsImportError):
        import_inspections(
            customs, _json([ROWS[0], {**ROWS[1], "port_of_entry": "MX"}]), ImportFormat.JSON, CTX
        )
    assert _count(registry, CustomsInspectionRow) == 0
    assert import_inspections(
        customs, csv.replace(b"2026-11-04,random", b"2026-11-05,random"), ImportFormat.CSV, CTX
    )


def test_the_schema_backs_the_model(registry: Registry) -> None:
    now = datetime.now(UTC)

    def insert(**values: Any) -> None:
        row = {
            "container": "MSKU9070323",
            "hs_codes": ["851713"],
            "port_of_loading": "CNSHA",
            "port_of_entry": "MXZLO",
            "arrived_on": date(2026, 11, 2),
            "inspected_on": date(2026, 11, 3),
            "seals": [],
            "risk_reason": "random",
            "risk_text": "",
            "outcome": "cleared",
            "notes": "",
            "recorded_by": "test",
            "created_at": now,
            **values,
        }
        with registry.db.session() as session:
            session.add(CustomsInspectionRow(**row))

    insert()
    for bad in (
        {"container": None},  # no transport reference
        {"outcome": "lost"},
        {"risk_reason": "hunch"},
        {"source_id": 5},  # a source id without its partner
    ):
        with pytest.raises(IntegrityError):
            insert(**bad)


def test_held_and_seized_records_are_queued_with_the_record(registry: Registry) -> None:
    sharing = Sharing(registry)
    sharing.add_partner(Partner("us-cbp", "CBP", "USA", "x@example.gov", "A" * 43 + "="), CTX)
    sharing.add_agreement(
        Agreement(
            id="mx-us-customs",
            version=1,
            partner="us-cbp",
            title="Customs mutual assistance",
            legal_basis="CMAA art. 3",
            legal_reference="DOF 2026-01-15",
            valid_from=TODAY - timedelta(days=1),
            valid_until=TODAY + timedelta(days=365),
            purposes=frozenset({"customs-control"}),
            operations={
                Operation.CUSTOMS: OperationTerms(
                    max_rung=Rung.CORE_DATA,
                    approval=Approval.NONE,
                    attributes=CUSTOMS_PUSH_ATTRIBUTES,
                    push=True,
                )
            },
        ),
        CTX,
    )
    customs = Customs(registry)
    imported = import_inspections(customs, _json(ROWS), ImportFormat.JSON, CTX)
    with registry.db.read_session() as session:
        queued = {(r.inspection_id, r.partner_id, r.status) for r in session.scalars(select(CustomsPushRow))}
    seized, _, held = (i.id for i in imported.inspections)
    assert queued == {(seized, "us-cbp", "queued"), (held, "us-cbp", "queued")}
