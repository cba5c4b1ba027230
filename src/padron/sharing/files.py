"""The agreement file of ``padron agreement add FILE``: strict JSON, a strict schema, then the
agreement's own checks (:class:`padron.sharing.agreements.Agreement`).

    {"id": "mx-us-2027", "partner": "us-dhs", "title": "Border security cooperation",
     "legal_basis": "Memorandum of understanding, art. 4", "legal_reference": "DOF 2027-01-15",
     "valid_from": "2027-01-01", "valid_until": "2027-12-31", "purposes": ["border-control"],
     "operations": {"verify": {"max_rung": 1, "daily_quota": 100, "approval": "none"},
                    "identify": {"max_rung": 1, "candidates": 10, "daily_quota": 20,
                                 "approval": "two-officers"},
                    "customs": {"max_rung": 2, "approval": "none", "push": true,
                                "attributes": ["container", "bill_of_lading", ...]}},
     "probe_retention_days": 0, "raw_biometrics": false, "reciprocity": "the same terms both ways"}
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from padron.domain.jsontext import loads_strict
from padron.sharing.agreements import (
    Agreement,
    AgreementError,
    Approval,
    Operation,
    OperationTerms,
    Rung,
    Status,
)

_Text = Annotated[str, StringConstraints(max_length=2000)]
_Id = Annotated[str, StringConstraints(max_length=63)]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class TermsFile(_Strict):
    max_rung: Literal[0, 1, 2]
    candidates: int = Field(default=1, ge=1)
    daily_quota: int = Field(default=100, ge=1)
    approval: Literal["none", "one-officer", "two-officers"] = "one-officer"
    attributes: list[_Id] = []
    #: customs: push held and seized inspections to the partner as they are recorded
    push: bool = False


class AgreementFile(_Strict):
    id: _Id
    partner: _Id
    title: _Text
    legal_basis: _Text
    legal_reference: _Text
    valid_from: _Text
    valid_until: _Text
    purposes: list[_Id]
    operations: dict[Literal["verify", "identify", "disclose", "customs"], TermsFile]
    probe_retention_days: int = 0
    raw_biometrics: bool = False
    reciprocity: _Text = ""


def _date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise AgreementError(f"{field} {value!r} is not a date (YYYY-MM-DD)", field=field) from None


def parse_agreement(text: str) -> Agreement:
    """An agreement file's text to an Agreement (version 1: the store numbers versions)."""
    return agreement_from_json(
        loads_strict(text, what="the agreement file", max_depth=8, error=AgreementError)
    )


def agreement_from_json(value: object) -> Agreement:
    """An agreement from its JSON form (a file, or the stored terms of a version: their
    ``version`` and ``status`` are taken as they are)."""
    stored: dict[str, object] = {}
    if isinstance(value, dict):
        stored = {k: value[k] for k in ("version", "status") if k in value}
        value = {k: v for k, v in value.items() if k not in stored}
    try:
        parsed = AgreementFile.model_validate(value)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "(file)"
        raise AgreementError(
            f"the agreement file's {where}: {first['msg'].lower()}", field=where, problems=error.error_count()
        ) from None
    return Agreement(
        id=parsed.id,
        partner=parsed.partner,
        title=parsed.title,
        legal_basis=parsed.legal_basis,
        legal_reference=parsed.legal_reference,
        valid_from=_date(parsed.valid_from, "valid_from"),
        valid_until=_date(parsed.valid_until, "valid_until"),
        purposes=frozenset(parsed.purposes),
        operations={
            Operation(op): OperationTerms(
                max_rung=Rung(terms.max_rung),
                candidates=terms.candidates,
                daily_quota=terms.daily_quota,
                approval=Approval(terms.approval),
                attributes=frozenset(terms.attributes),
                push=terms.push,
            )
            for op, terms in parsed.operations.items()
        },
        probe_retention_days=parsed.probe_retention_days,
        raw_biometrics=parsed.raw_biometrics,
        reciprocity=parsed.reciprocity,
        version=int(str(stored.get("version", 1))),
        status=Status(str(stored.get("status", Status.ACTIVE.value))),
    )
