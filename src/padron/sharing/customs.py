"""The customs agreement's cargo-inspection exchange, carried by the same gateway.

This country's customs records its inspections of cargo: the transport references (an ISO 6346
container number, a bill of lading and/or an air waybill), the goods as HS codes, the ports of
loading and entry (UN/LOCODE), the dates of departure, arrival and inspection, the seals found,
why the cargo was inspected, the outcome and what was seized (:mod:`padron.sharing.cargo`
checks each piece). A partner customs administration asks about a cargo reference under an
agreement whose ``customs`` operation sets the rung: 0 whether any inspection is on record, 1
how many and when, 2 the inspection attributes the agreement lists; an agreement may also push
held and seized inspections to the partner as they are recorded (:mod:`padron.sharing.customs_push`).
Inspections received from partners are kept apart (their source partner is recorded): they are
never answered to another partner nor pushed on.

Nothing here is personal data, but every record (``customs.record``, subject
``cargo:<reference>``) and every answer is in the audit log like the rest of the gateway.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from padron.domain.access import AccessContext
from padron.domain.errors import ErrorCategory, PadronError
from padron.registry.service import Registry
from padron.registry.storage.models import CustomsInspectionRow, CustomsPushRow, CustomsSeizureRow
from padron.sharing.cargo import (
    PUSHED_OUTCOMES,
    CustomsRecordError,
    HsCode,
    InspectionDatesError,
    Outcome,
    OutcomeError,
    RiskReason,
    RiskReasonError,
    Seal,
    Seizure,
    SeizureCategory,
    TransportReferenceError,
    air_waybill,
    bill_of_lading,
    container_number,
    free_text,
    hs_codes,
    locode,
    outcome,
    reference_key,
    risk_reason,
    seals,
    seizures,
)

__all__ = [
    "FIELDS",
    "Customs",
    "CustomsRecordError",
    "Inspection",
    "Outcome",
    "RiskReason",
    "UnknownInspectionError",
    "cargo_reference",
    "check_inspection",
    "inspection_from_json",
]

#: the fields of an inspection record, in the order of the CSV columns
FIELDS: Final = (
    "container",
    "bill_of_lading",
    "air_waybill",
    "hs_codes",
    "port_of_loading",
    "port_of_entry",
    "departed_on",
    "arrived_on",
    "inspected_on",
    "seals",
    "risk_reason",
    "risk_text",
    "outcome",
    "seizures",
    "notes",
)
#: fields every record gives (at least one transport reference besides)
REQUIRED: Final = frozenset(
    {"hs_codes", "port_of_loading", "port_of_entry", "arrived_on", "inspected_on", "risk_reason", "outcome"}
)
#: no inspection is dated before this (a typo such as 0026 for 2026)
EARLIEST: Final = date(1990, 1, 1)
MAX_TEXT: Final = 500
MAX_RISK_TEXT: Final = 200
#: inspections a list returns at most
MAX_LIST: Final = 1000


class UnknownInspectionError(PadronError):
    code = "PAD-SHARE-041"
    category = ErrorCategory.NOT_FOUND
    summary = "No cargo inspection with this number."


def cargo_reference(value: object) -> str:
    """A cargo reference to search for (a container, bill of lading or air waybill)."""
    return reference_key(value, "cargo")


def _today() -> date:
    return datetime.now(UTC).date()


def _day(value: object, name: str, *, required: bool) -> date | None:
    if value is None or value == "":
        if required:
            raise InspectionDatesError(f"{name} is required (YYYY-MM-DD)", field=name)
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InspectionDatesError(f"{name} {str(value)[:30]!r} is not a date YYYY-MM-DD", field=name)


def _optional(value: object, check: Callable[[object, str], str], name: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return check(value, name)


@dataclass(frozen=True)
class Inspection:
    """One cargo inspection; built only valid (each field checked, then the fields together)."""

    port_of_loading: str
    port_of_entry: str
    arrived_on: date
    inspected_on: date
    goods: tuple[HsCode, ...]
    risk_reason: RiskReason
    outcome: Outcome
    container: str | None = None
    bill_of_lading: str | None = None
    air_waybill: str | None = None
    departed_on: date | None = None
    seals: tuple[Seal, ...] = ()
    risk_text: str = ""
    seizures: tuple[Seizure, ...] = ()
    notes: str = ""
    #: our number for it (None: not stored yet)
    id: int | None = None
    #: a received inspection: the partner it came from and its number there
    source: str | None = None
    source_id: int | None = None
    recorded_at: datetime | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        values = self.values()
        checked, errors = check_inspection(values)
        if errors:
            raise errors[0]
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def values(self) -> dict[str, Any]:
        """The record's fields as :func:`check_inspection` takes them."""
        return {
            "container": self.container,
            "bill_of_lading": self.bill_of_lading,
            "air_waybill": self.air_waybill,
            "hs_codes": [g.code if isinstance(g, HsCode) else g for g in self.goods],
            "port_of_loading": self.port_of_loading,
            "port_of_entry": self.port_of_entry,
            "departed_on": self.departed_on,
            "arrived_on": self.arrived_on,
            "inspected_on": self.inspected_on,
            "seals": [s.to_json() if isinstance(s, Seal) else s for s in self.seals],
            "risk_reason": self.risk_reason,
            "risk_text": self.risk_text,
            "outcome": self.outcome,
            "seizures": [s.to_json() if isinstance(s, Seizure) else s for s in self.seizures],
            "notes": self.notes,
        }

    @property
    def reference(self) -> str:
        """The cargo's reference in the audit log: its container, else its bill of lading, else
        its air waybill."""
        return next(r for r in (self.container, self.bill_of_lading, self.air_waybill) if r)

    @property
    def references(self) -> tuple[str, ...]:
        return tuple(r for r in (self.container, self.bill_of_lading, self.air_waybill) if r)

    @property
    def received(self) -> bool:
        return self.source is not None

    def attributes(self, names: frozenset[str]) -> dict[str, Any]:
        """The attributes named (padron.sharing.agreements.CUSTOMS_ATTRIBUTES): what a rung-2
        answer or a push discloses. ``hs_codes`` are the 6-digit headings (what every customs
        administration reads); ``tariff_codes`` the 10-digit Mexican codes given."""
        headings = list(dict.fromkeys(g.heading for g in self.goods))
        value: dict[str, Any] = {
            "container": self.container,
            "bill_of_lading": self.bill_of_lading,
            "air_waybill": self.air_waybill,
            "hs_codes": headings,
            "tariff_codes": [g.code for g in self.goods if len(g.code) == 10],
            "port_of_loading": self.port_of_loading,
            "port_of_entry": self.port_of_entry,
            "departed_on": self.departed_on.isoformat() if self.departed_on else None,
            "arrived_on": self.arrived_on.isoformat(),
            "inspected_on": self.inspected_on.isoformat(),
            "seals": [s.to_json() for s in self.seals],
            "risk_reason": self.risk_reason.value,
            "risk_text": self.risk_text,
            "outcome": self.outcome.value,
            "seizures": [s.to_json() for s in self.seizures],
            "notes": self.notes,
        }
        return {k: v for k, v in value.items() if k in names}

    def to_json(self) -> dict[str, Any]:
        """Everything, for this registry's own users (the CLI's --json, the API)."""
        from padron.sharing.agreements import CUSTOMS_ATTRIBUTES

        out: dict[str, Any] = {"id": self.id, **self.attributes(CUSTOMS_ATTRIBUTES)}
        out["goods"] = [
            {"code": g.code, "heading": g.heading, "fraccion": g.fraccion, "nico": g.nico} for g in self.goods
        ]
        out["source"] = self.source
        out["source_id"] = self.source_id
        out["recorded_at"] = self.recorded_at.isoformat() if self.recorded_at else None
        return out


def check_inspection(
    values: Mapping[str, Any], *, today: date | None = None
) -> tuple[dict[str, Any], list[CustomsRecordError]]:
    """Each field of ``values`` checked on its own, then the fields together; returns the
    normalized fields and **every** error found (each names its field), so an import can report
    all that is wrong with a row at once. Unknown fields are errors too."""
    errors: list[CustomsRecordError] = []
    out: dict[str, Any] = {}
    for name in sorted(set(values) - set(FIELDS) - {"tariff_codes"}):
        errors.append(
            CustomsRecordError(f"{str(name)[:40]!r} is not a field of an inspection", field=str(name))
        )

    def run(name: str, check: Callable[[], Any]) -> None:
        try:
            out[name] = check()
        except CustomsRecordError as error:
            errors.append(error)

    goods: object = values.get("hs_codes")
    tariff = values.get("tariff_codes")
    if isinstance(tariff, list | tuple) and tariff and isinstance(goods, list | tuple | None):
        # the attributes of an answer or a push: the 6-digit headings and the 10-digit codes apart
        covered = {str(code)[:6] for code in tariff}
        goods = [*tariff, *(g for g in goods or () if str(g) not in covered)]
    elif tariff not in (None, [], ()):
        errors.append(
            CustomsRecordError("tariff_codes must be a list of 10-digit codes", field="tariff_codes")
        )
    run("container", lambda: _optional(values.get("container"), container_number, "container"))
    run("bill_of_lading", lambda: _optional(values.get("bill_of_lading"), bill_of_lading, "bill_of_lading"))
    run("air_waybill", lambda: _optional(values.get("air_waybill"), air_waybill, "air_waybill"))
    run("goods", lambda: hs_codes(goods))
    run("port_of_loading", lambda: locode(values.get("port_of_loading"), "port_of_loading"))
    run("port_of_entry", lambda: locode(values.get("port_of_entry"), "port_of_entry"))
    run("departed_on", lambda: _day(values.get("departed_on"), "departed_on", required=False))
    run("arrived_on", lambda: _day(values.get("arrived_on"), "arrived_on", required=True))
    run("inspected_on", lambda: _day(values.get("inspected_on"), "inspected_on", required=True))
    run("seals", lambda: seals(values.get("seals")))
    run("risk_reason", lambda: risk_reason(values.get("risk_reason")))
    run(
        "risk_text",
        lambda: free_text(
            values.get("risk_text"), "risk_text", max_length=MAX_RISK_TEXT, error=RiskReasonError
        ),
    )
    run("outcome", lambda: outcome(values.get("outcome")))
    run("seizures", lambda: seizures(values.get("seizures")))
    run("notes", lambda: free_text(values.get("notes"), "notes", max_length=MAX_TEXT))
    errors.extend(_together(out, today or _today()))
    return out, errors


def _together(v: Mapping[str, Any], today: date) -> list[CustomsRecordError]:
    """The rules across fields (each checked only when its fields passed on their own)."""
    errors: list[CustomsRecordError] = []
    refs = ("container", "bill_of_lading", "air_waybill")
    if all(name in v for name in refs):
        if not any(v[name] for name in refs):
            errors.append(
                TransportReferenceError(
                    "an inspection names its cargo: a container number, a bill of lading and/or an air "
                    "waybill",
                    field="transport",
                )
            )
        elif v["bill_of_lading"] and v["air_waybill"]:
            errors.append(
                TransportReferenceError(
                    "a consignment travels under a bill of lading (sea, land) or an air waybill (air), "
                    "not both",
                    field="air_waybill",
                )
            )
    latest = today + timedelta(days=1)  # a day's grace for time zones
    days = {name: v.get(name) for name in ("departed_on", "arrived_on", "inspected_on")}
    for name, day in days.items():
        if day is not None and not EARLIEST <= day <= latest:
            errors.append(
                InspectionDatesError(
                    f"{name} {day.isoformat()} must be between {EARLIEST.isoformat()} and today", field=name
                )
            )
    departed, arrived, inspected = days["departed_on"], days["arrived_on"], days["inspected_on"]
    if departed is not None and arrived is not None and departed > arrived:
        errors.append(
            InspectionDatesError(
                f"departed_on {departed.isoformat()} is after arrived_on {arrived.isoformat()}",
                field="departed_on",
            )
        )
    if arrived is not None and inspected is not None and inspected < arrived:
        errors.append(
            InspectionDatesError(
                f"inspected_on {inspected.isoformat()} is before the cargo arrived ({arrived.isoformat()})",
                field="inspected_on",
            )
        )
    if "risk_reason" in v and "risk_text" in v:
        if v["risk_reason"] is RiskReason.OTHER and not v["risk_text"]:
            errors.append(RiskReasonError("risk_reason other needs its risk_text", field="risk_text"))
        elif v["risk_reason"] is not RiskReason.OTHER and v["risk_text"]:
            errors.append(
                RiskReasonError(
                    f"risk_text is for risk_reason other, not {v['risk_reason'].value}", field="risk_text"
                )
            )
    if "outcome" in v and "seizures" in v:
        if v["outcome"] is Outcome.SEIZED and not v["seizures"]:
            errors.append(OutcomeError("outcome seized needs what was seized (seizures)", field="seizures"))
        elif v["outcome"] is not Outcome.SEIZED and v["seizures"]:
            errors.append(
                OutcomeError(
                    f"seizures are recorded with outcome seized, not {v['outcome'].value}", field="seizures"
                )
            )
    return errors


def inspection_from_json(values: Mapping[str, Any], *, today: date | None = None) -> Inspection:
    """An inspection from its JSON (an API body, a JSON import row, a partner's push); the first
    error found is raised (:func:`check_inspection` gives them all)."""
    if not isinstance(values, Mapping):
        raise CustomsRecordError("an inspection is a JSON object", field="inspection")
    checked, errors = check_inspection(values, today=today)
    if errors:
        raise errors[0]
    return _build(checked)


def _build(checked: Mapping[str, Any], **extra: Any) -> Inspection:
    return Inspection(**checked, **extra)


# --- the store ------------------------------------------------------------------------------------


def _inspection(row: CustomsInspectionRow, seized: Sequence[CustomsSeizureRow]) -> Inspection:
    return Inspection(
        container=row.container,
        bill_of_lading=row.bill_of_lading,
        air_waybill=row.air_waybill,
        goods=tuple(HsCode(c) for c in row.hs_codes),
        port_of_loading=row.port_of_loading,
        port_of_entry=row.port_of_entry,
        departed_on=row.departed_on,
        arrived_on=row.arrived_on,
        inspected_on=row.inspected_on,
        seals=tuple(Seal(s["number"], bool(s["intact"])) for s in row.seals),
        risk_reason=RiskReason(row.risk_reason),
        risk_text=row.risk_text,
        outcome=Outcome(row.outcome),
        seizures=tuple(
            Seizure(SeizureCategory(s.category), s.description, s.quantity, s.unit)
            for s in sorted(seized, key=lambda s: s.position)
        ),
        notes=row.notes,
        id=row.id,
        source=row.source_partner,
        source_id=row.source_id,
        recorded_at=row.created_at,
    )


@dataclass(frozen=True)
class Pushing:
    """A partner whose customs agreement in force pushes held and seized inspections."""

    partner: str
    agreement: str
    version: int


class Customs:
    """Cargo inspections in the registry's database, every record in the audit log."""

    def __init__(self, registry: Registry, *, clock: Callable[[], datetime] | None = None) -> None:
        self.registry = registry
        self._clock = clock or (lambda: datetime.now(UTC))

    # --- recording ----------------------------------------------------------------------------

    def record(self, inspection: Inspection, ctx: AccessContext) -> Inspection:
        """Record one of our inspections (queued for the partners whose agreement pushes it)."""
        return self.record_many([inspection], ctx)[0]

    def record_many(
        self,
        inspections: Sequence[Inspection],
        ctx: AccessContext,
        *,
        batch: Mapping[str, Any] | None = None,
    ) -> list[Inspection]:
        """Record inspections in one transaction: all of them or none. ``batch`` (an import's
        file digest, format and row count) is recorded in a ``customs.import`` audit entry."""
        if any(i.received for i in inspections):
            raise CustomsRecordError("received inspections are stored by the push receiver", field="source")
        pushing = self.pushing() if any(i.outcome in PUSHED_OUTCOMES for i in inspections) else []
        now = self._clock()

        def work(session: Session) -> list[Inspection]:
            stored = []
            for inspection in inspections:
                row = self._store(session, inspection, ctx.actor, now)
                queued: list[str] = []
                if inspection.outcome in PUSHED_OUTCOMES:
                    for target in pushing:
                        session.add(
                            CustomsPushRow(
                                inspection_id=row.id,
                                partner_id=target.partner,
                                agreement_id=target.agreement,
                                agreement_version=target.version,
                                status="queued",
                                queued_at=now,
                                reasons=[],
                            )
                        )
                        queued.append(target.partner)
                self.registry.audit.record(
                    session,
                    ctx,
                    "customs.record",
                    subject=f"cargo:{inspection.reference}",
                    outcome=inspection.outcome.value,
                    details={
                        "inspection": row.id,
                        "port_of_entry": inspection.port_of_entry,
                        "queued_for": queued,
                    },
                )
                stored.append(replace(inspection, id=row.id, recorded_at=now))
            if batch is not None:
                self.registry.audit.record(
                    session,
                    ctx,
                    "customs.import",
                    subject="customs:import",
                    details={**batch, "inspections": [i.id for i in stored]},
                )
            return stored

        return self.registry.transact(work)

    @staticmethod
    def _store(
        session: Session,
        inspection: Inspection,
        actor: str,
        now: datetime,
        *,
        source: str | None = None,
        source_id: int | None = None,
    ) -> CustomsInspectionRow:
        row = CustomsInspectionRow(
            container=inspection.container,
            bill_of_lading=inspection.bill_of_lading,
            air_waybill=inspection.air_waybill,
            hs_codes=[g.code for g in inspection.goods],
            port_of_loading=inspection.port_of_loading,
            port_of_entry=inspection.port_of_entry,
            departed_on=inspection.departed_on,
            arrived_on=inspection.arrived_on,
            inspected_on=inspection.inspected_on,
            seals=[s.to_json() for s in inspection.seals],
            risk_reason=inspection.risk_reason.value,
            risk_text=inspection.risk_text,
            outcome=inspection.outcome.value,
            notes=inspection.notes,
            source_partner=source,
            source_id=source_id,
            recorded_by=actor,
            created_at=now,
        )
        session.add(row)
        session.flush()
        for position, seizure in enumerate(inspection.seizures):
            session.add(
                CustomsSeizureRow(
                    inspection_id=row.id,
                    position=position,
                    category=seizure.category.value,
                    description=seizure.description,
                    quantity=seizure.quantity,
                    unit=seizure.unit,
                )
            )
        return row

    def pushing(self, day: date | None = None) -> list[Pushing]:
        """The partners whose customs agreement in force pushes held and seized inspections."""
        from padron.sharing.agreements import Operation
        from padron.sharing.store import Sharing

        sharing = Sharing(self.registry)
        today = day or self._clock().date()
        out = []
        for partner in sharing.partners():
            for stored, _ in sharing.in_force(partner.id, today):
                terms = stored.agreement.operations.get(Operation.CUSTOMS)
                if terms is not None and terms.push:
                    out.append(Pushing(partner.id, stored.agreement.id, stored.agreement.version))
                    break
        return out

    # --- reading ------------------------------------------------------------------------------

    def inspections(
        self,
        reference: str | None = None,
        *,
        outcome: Outcome | str | None = None,
        received: bool | None = False,
        partner: str | None = None,
        limit: int = MAX_LIST,
    ) -> list[Inspection]:
        """Inspections, oldest first: of one cargo reference (its container, bill of lading or
        air waybill), of one outcome; ours (``received`` False, the default), received from
        partners (True, or from ``partner``) or both (None)."""
        query = select(CustomsInspectionRow).order_by(
            CustomsInspectionRow.inspected_on, CustomsInspectionRow.id
        )
        if reference is not None:
            key = cargo_reference(reference)
            query = query.where(
                or_(
                    CustomsInspectionRow.container == key,
                    CustomsInspectionRow.bill_of_lading == key,
                    CustomsInspectionRow.air_waybill == key,
                )
            )
        if outcome is not None:
            query = query.where(CustomsInspectionRow.outcome == Outcome(outcome).value)
        if partner is not None:
            query = query.where(CustomsInspectionRow.source_partner == partner)
        elif received is True:
            query = query.where(CustomsInspectionRow.source_partner.is_not(None))
        elif received is False:
            query = query.where(CustomsInspectionRow.source_partner.is_(None))
        with self.registry.db.read_session() as session:
            rows = list(session.scalars(query.limit(max(1, min(limit, MAX_LIST)))))
            return self._with_seizures(session, rows)

    def inspection(self, inspection_id: int) -> Inspection:
        with self.registry.db.read_session() as session:
            row = session.get(CustomsInspectionRow, inspection_id)
            if row is None:
                raise UnknownInspectionError(f"no cargo inspection {inspection_id}", inspection=inspection_id)
            return self._with_seizures(session, [row])[0]

    @staticmethod
    def _with_seizures(session: Session, rows: Sequence[CustomsInspectionRow]) -> list[Inspection]:
        by_inspection: dict[int, list[CustomsSeizureRow]] = {}
        ids = [r.id for r in rows if r.outcome == Outcome.SEIZED.value]
        for start in range(0, len(ids), 500):
            for s in session.scalars(
                select(CustomsSeizureRow).where(CustomsSeizureRow.inspection_id.in_(ids[start : start + 500]))
            ):
                by_inspection.setdefault(s.inspection_id, []).append(s)
        return [_inspection(r, by_inspection.get(r.id, [])) for r in rows]
