"""The customs agreement's cargo-inspection exchange, carried by the same gateway.

This country's customs records its inspections of cargo (a container number, bill of lading or
unique consignment reference; the port as a UN/LOCODE; goods as HS codes; the method and the
result). A partner customs administration asks about a cargo reference under an agreement
whose ``customs`` operation sets the rung: 0 whether any inspection is on record, 1 how many and
when, 2 the inspection attributes the agreement lists. Nothing here is personal data, but every
record and every answer is in the audit log like the rest of the gateway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from padron.domain.access import AccessContext
from padron.domain.errors import PadronError
from padron.domain.text import clean_line
from padron.registry.service import Registry
from padron.registry.storage.models import CustomsInspectionRow

_REFERENCE: Final = re.compile(r"[A-Z0-9][A-Z0-9-]{3,34}", re.ASCII)
_LOCODE: Final = re.compile(r"[A-Z]{2}[A-Z2-9]{3}", re.ASCII)
_COUNTRY: Final = re.compile(r"[A-Z]{3}", re.ASCII)
_HS: Final = re.compile(r"[0-9]{6}", re.ASCII)
MAX_HS_CODES: Final = 50


class CustomsRecordError(PadronError):
    code = "PAD-SHARE-022"
    summary = "A cargo inspection record is malformed; details name the field."


class Method(StrEnum):
    DOCUMENTARY = "documentary"
    XRAY = "x-ray"
    PHYSICAL = "physical"
    CANINE = "canine"


class Result(StrEnum):
    CLEARED = "cleared"
    HELD = "held"
    SEIZED = "seized"


def cargo_reference(value: object) -> str:
    text = str(value or "").strip().upper()
    if not _REFERENCE.fullmatch(text):
        raise CustomsRecordError(
            f"the cargo reference {str(value)[:40]!r} must be 4-35 letters, digits or '-' (a container "
            "number, bill of lading or UCR)",
            field="reference",
        )
    return text


@dataclass(frozen=True)
class Inspection:
    reference: str
    port: str
    inspected_on: date
    method: Method
    result: Result
    hs_codes: tuple[str, ...]
    origin: str
    destination: str
    notes: str = ""
    id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "reference", cargo_reference(self.reference))
        if not _LOCODE.fullmatch(self.port):
            raise CustomsRecordError(f"the port {self.port!r} must be a UN/LOCODE (e.g. MXZLO)", field="port")
        for name in ("origin", "destination"):
            if not _COUNTRY.fullmatch(getattr(self, name)):
                raise CustomsRecordError(f"{name} must be an ISO 3166-1 alpha-3 code", field=name)
        try:
            object.__setattr__(self, "method", Method(self.method))
            object.__setattr__(self, "result", Result(self.result))
        except ValueError as error:
            raise CustomsRecordError(str(error), field="method") from None
        codes = tuple(self.hs_codes)
        if not codes or len(codes) > MAX_HS_CODES or not all(_HS.fullmatch(c) for c in codes):
            raise CustomsRecordError(
                f"goods are 1-{MAX_HS_CODES} six-digit HS codes, e.g. 851712", field="hs_codes"
            )
        object.__setattr__(self, "hs_codes", codes)
        object.__setattr__(self, "notes", clean_line(self.notes, "notes", max_length=500))

    def attributes(self, names: frozenset[str]) -> dict[str, Any]:
        value = {
            "reference": self.reference,
            "port": self.port,
            "inspected_on": self.inspected_on.isoformat(),
            "method": self.method.value,
            "result": self.result.value,
            "hs_codes": list(self.hs_codes),
            "origin": self.origin,
            "destination": self.destination,
            "notes": self.notes,
        }
        return {k: v for k, v in value.items() if k in names}


def _inspection(row: CustomsInspectionRow) -> Inspection:
    return Inspection(
        reference=row.reference,
        port=row.port,
        inspected_on=row.inspected_on,
        method=Method(row.method),
        result=Result(row.result),
        hs_codes=tuple(row.hs_codes),
        origin=row.origin,
        destination=row.destination,
        notes=row.notes,
        id=row.id,
    )


class Customs:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def record(self, inspection: Inspection, ctx: AccessContext) -> Inspection:
        def work(session: Session) -> Inspection:
            row = CustomsInspectionRow(
                reference=inspection.reference,
                port=inspection.port,
                inspected_on=inspection.inspected_on,
                method=inspection.method.value,
                result=inspection.result.value,
                hs_codes=list(inspection.hs_codes),
                origin=inspection.origin,
                destination=inspection.destination,
                notes=inspection.notes,
                recorded_by=ctx.actor,
                created_at=datetime.now(UTC),
            )
            session.add(row)
            session.flush()
            self.registry.audit.record(
                session,
                ctx,
                "customs.record",
                subject=f"cargo:{inspection.reference}",
                outcome=inspection.result.value,
                details={"inspection": row.id, "port": inspection.port},
            )
            return _inspection(row)

        return self.registry.transact(work)

    def inspections(self, reference: str | None = None) -> list[Inspection]:
        query = select(CustomsInspectionRow).order_by(
            CustomsInspectionRow.inspected_on, CustomsInspectionRow.id
        )
        if reference is not None:
            query = query.where(CustomsInspectionRow.reference == cargo_reference(reference))
        with self.registry.db.read_session() as session:
            return [_inspection(r) for r in session.scalars(query.limit(1000))]
