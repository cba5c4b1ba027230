"""What a partner is told (an answer, always with its decision and reasons) and what an officer
sees of a request (never the probe, never personal data)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


class RequestStatus:
    PENDING = "pending"
    ANSWERED = "answered"
    DENIED = "denied"


# --- answers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What the partner receives (signed by the caller): always the decision and its reasons."""

    request_id: str
    registry: str
    partner: str
    status: str
    operation: str
    rung_asked: int
    rung: int | None
    reasons: tuple[str, ...]
    withheld: tuple[str, ...]
    agreement: str | None
    agreement_version: int | None
    received_at: datetime
    answered_at: datetime | None
    result: Mapping[str, Any] | None = None
    #: SHA-256 of the signed request body
    request_sha256: str = ""
    #: the exchange-log block (padron.sharing.exchange): added when the answer is served
    log: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        value = self.state_json()
        if self.log is not None:
            value["log"] = dict(self.log)
        return value

    def state_json(self) -> dict[str, Any]:
        """The answer without its log block (what the exchange-log entry is computed from)."""
        return {
            "request_id": self.request_id,
            "request_sha256": self.request_sha256,
            "registry": self.registry,
            "partner": self.partner,
            "status": self.status,
            "operation": self.operation,
            "rung_asked": self.rung_asked,
            "rung": self.rung,
            "reasons": list(self.reasons),
            "withheld": list(self.withheld),
            "agreement": (
                {"id": self.agreement, "version": self.agreement_version} if self.agreement else None
            ),
            "received_at": self.received_at.isoformat(),
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
            "result": dict(self.result) if self.result is not None else None,
        }

    def body(self) -> bytes:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode("utf-8")

    def state_body(self) -> bytes:
        return json.dumps(self.state_json(), sort_keys=True, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class RequestView:
    """A request as an officer sees it: what was asked, the agreement, what would be disclosed,
    the decisions so far (no personal data: the probe is not shown, nothing is searched yet)."""

    request_id: str
    partner: str
    operation: str
    purpose: str
    case_ref: str
    rung_asked: int
    rung: int | None
    status: str
    reasons: tuple[str, ...]
    withheld: tuple[str, ...]
    agreement: str | None
    agreement_version: int | None
    approval: str | None
    #: the attributes a rung-2 answer would disclose
    would_disclose: tuple[str, ...]
    approvals: tuple[Mapping[str, str], ...]
    received_at: datetime
    decided_at: datetime | None
    embargo_until: date | None

    def to_json(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "partner": self.partner,
            "operation": self.operation,
            "purpose": self.purpose,
            "case_ref": self.case_ref,
            "rung_asked": self.rung_asked,
            "rung": self.rung,
            "status": self.status,
            "reasons": list(self.reasons),
            "withheld": list(self.withheld),
            "agreement": self.agreement,
            "agreement_version": self.agreement_version,
            "approval": self.approval,
            "would_disclose": list(self.would_disclose),
            "approvals": [dict(a) for a in self.approvals],
            "received_at": self.received_at.isoformat(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "embargo_until": self.embargo_until.isoformat() if self.embargo_until else None,
        }


def answer_from_json(value: Mapping[str, Any]) -> Answer:
    agreement = value.get("agreement") or {}
    return Answer(
        request_id=value["request_id"],
        registry=value["registry"],
        partner=value["partner"],
        status=value["status"],
        operation=value["operation"],
        rung_asked=value["rung_asked"],
        rung=value["rung"],
        reasons=tuple(value["reasons"]),
        withheld=tuple(value["withheld"]),
        agreement=agreement.get("id"),
        agreement_version=agreement.get("version"),
        received_at=datetime.fromisoformat(value["received_at"]),
        answered_at=datetime.fromisoformat(value["answered_at"]) if value.get("answered_at") else None,
        result=value.get("result"),
        request_sha256=value.get("request_sha256", ""),
    )
