"""Partners and agreements: who may ask this registry what, how far an answer may go, and on
which terms -- the written agreement as data, checked before it is used.

An agreement binds this registry and one partner agency under a legal basis, for a period and
for named purposes. For each operation it allows (1:1 verification, 1:N identification, a
follow-up disclosure of core data, the customs cargo exchange) it states the highest rung of
disclosure (0 hit / no-hit, 1 a pseudonymous reference, 2 core data), the most candidates an
answer may name, a daily quota and who must approve (nobody, one officer, two distinct
officers). It also says how long a partner's probe may be kept (by default it is deleted after
the search), whether raw biometrics may ever leave (by default never), and the reciprocity
terms. :mod:`padron.sharing.policy` compiles an agreement to Cedar policies; the agreement's
version numbers the policy text that is stored with it and shown to officers.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import IntEnum, StrEnum
from types import MappingProxyType
from typing import Final

from padron.domain.errors import ErrorCategory, PadronError
from padron.domain.person import UPDATABLE_FIELDS

#: an identifier of a partner or an agreement: letters, digits, dot, dash, underscore
_IDENTIFIER: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}", re.ASCII)
_COUNTRY: Final = re.compile(r"[A-Z]{3}", re.ASCII)
_URL: Final = re.compile(r"https?://[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?", re.ASCII)
#: the largest candidate cap and daily quota an agreement may state
MAX_CANDIDATES: Final = 50
MAX_DAILY_QUOTA: Final = 1_000_000


class AgreementError(PadronError):
    code = "PAD-SHARE-001"
    summary = "An agreement's terms are incomplete or inconsistent; details name the term."


class PartnerError(PadronError):
    code = "PAD-SHARE-002"
    summary = "A partner's record is incomplete or malformed (identifier, country, public key)."


class PartnerStatusError(PadronError):
    code = "PAD-SHARE-003"
    category = ErrorCategory.CONFLICT
    summary = "The partner or the agreement is suspended or outside its validity: no request is answered."


class Operation(StrEnum):
    """What a partner may ask."""

    VERIFY = "verify"  # 1:1: is this traveller the holder of this reference?
    IDENTIFY = "identify"  # 1:N: is this person known to the registry?
    DISCLOSE = "disclose"  # follow-up: core data for a reference from an earlier hit
    CUSTOMS = "customs"  # the customs agreement's cargo-inspection records


class Rung(IntEnum):
    """How far an answer goes."""

    HIT = 0  # hit / no-hit only
    REFERENCE = 1  # a per-partner pseudonymous reference
    CORE_DATA = 2  # the attributes the agreement lists, by follow-up request


class Approval(StrEnum):
    NONE = "none"
    ONE_OFFICER = "one-officer"
    TWO_OFFICERS = "two-officers"

    @property
    def approvers(self) -> int:
        return {Approval.NONE: 0, Approval.ONE_OFFICER: 1, Approval.TWO_OFFICERS: 2}[self]


class Status(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


#: the attributes a rung-2 disclosure may list (the registry's core data; never biometrics)
CORE_ATTRIBUTES: Final = frozenset({"curp", *UPDATABLE_FIELDS, "status"})
#: the attributes of a cargo inspection a customs exchange may list (no personal data;
#: padron.sharing.customs.Inspection.attributes)
CUSTOMS_ATTRIBUTES: Final = frozenset(
    {
        "container",
        "bill_of_lading",
        "air_waybill",
        "hs_codes",
        "tariff_codes",
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
    }
)
#: what a pushed inspection must carry for the partner to check and keep it as a record
CUSTOMS_PUSH_ATTRIBUTES: Final = frozenset(
    {
        "container",
        "bill_of_lading",
        "air_waybill",
        "hs_codes",
        "port_of_loading",
        "port_of_entry",
        "arrived_on",
        "inspected_on",
        "risk_reason",
        "risk_text",
        "outcome",
        "seizures",
    }
)


def check_identifier(value: str, what: str, error: type[PadronError] = AgreementError) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise error(
            f"{what} {value!r} must be 1-63 lowercase letters, digits, '.', '-' or '_' (starting with a "
            "letter or digit)",
            field=what,
        )
    return value


@dataclass(frozen=True)
class Partner:
    """A partner agency: a peer running the same software, known by its Ed25519 public key."""

    id: str
    agency: str
    country: str
    contact: str
    #: the raw 32-byte Ed25519 public key, base64
    public_key: str
    status: Status = Status.ACTIVE
    #: where the partner's own gateway answers (``https://host[:port]``), for our requests to it
    url: str | None = None

    def __post_init__(self) -> None:
        check_identifier(self.id, "partner id", PartnerError)
        if self.url is not None and not _URL.fullmatch(self.url):
            raise PartnerError(
                f"the partner's URL {self.url[:80]!r} must be http(s)://host[:port] with no path", field="url"
            )
        if not self.agency.strip() or not self.contact.strip():
            raise PartnerError("a partner needs its agency's name and a contact", field="agency")
        if not _COUNTRY.fullmatch(self.country):
            raise PartnerError(
                f"country {self.country!r} must be an ISO 3166-1 alpha-3 code (e.g. USA, GTM)",
                field="country",
            )
        try:
            raw = base64.b64decode(self.public_key, validate=True)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise PartnerError(
                "the partner's public key must be the base64 of a raw 32-byte Ed25519 key", field="public_key"
            )
        object.__setattr__(self, "status", Status(self.status))


@dataclass(frozen=True)
class OperationTerms:
    """The terms of one operation under an agreement."""

    #: the highest rung an answer may reach
    max_rung: Rung
    #: the most candidates one answer may name (1:N; 1 for everything else)
    candidates: int = 1
    #: requests a day (UTC) for this operation
    daily_quota: int = 100
    #: who approves an answer before it leaves, per rung above 0 (rung 0 never waits)
    approval: Approval = Approval.ONE_OFFICER
    #: the attributes a rung-2 answer discloses (only for rung 2)
    attributes: frozenset[str] = frozenset()
    #: customs only: held and seized inspections are pushed to the partner as they are recorded
    #: (the attributes listed, which must include CUSTOMS_PUSH_ATTRIBUTES), not only on request
    push: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_rung", Rung(self.max_rung))
        object.__setattr__(self, "approval", Approval(self.approval))
        object.__setattr__(self, "attributes", frozenset(self.attributes))
        if not 1 <= self.candidates <= MAX_CANDIDATES:
            raise AgreementError(
                f"candidates must be 1-{MAX_CANDIDATES}, not {self.candidates}", field="candidates"
            )
        if not 1 <= self.daily_quota <= MAX_DAILY_QUOTA:
            raise AgreementError(
                f"the daily quota must be 1-{MAX_DAILY_QUOTA}, not {self.daily_quota}", field="daily_quota"
            )
        unknown = sorted(self.attributes - CORE_ATTRIBUTES - CUSTOMS_ATTRIBUTES)
        if unknown:
            raise AgreementError(
                f"an agreement may disclose only core data; not {', '.join(unknown)}",
                field="attributes",
                allowed=sorted(CORE_ATTRIBUTES),
            )
        if self.attributes and self.max_rung < Rung.CORE_DATA:
            raise AgreementError("attributes are disclosed only at rung 2 (core data)", field="attributes")
        if not isinstance(self.push, bool):
            raise AgreementError("push must be true or false", field="push")
        if self.push:
            missing = sorted(CUSTOMS_PUSH_ATTRIBUTES - self.attributes)
            if self.max_rung < Rung.CORE_DATA or missing:
                raise AgreementError(
                    "a push sends whole inspection records: it needs rung 2 and the attributes "
                    f"{', '.join(sorted(CUSTOMS_PUSH_ATTRIBUTES))} (missing: {', '.join(missing) or 'none'})",
                    field="push",
                    missing=missing,
                )


@dataclass(frozen=True)
class Agreement:
    """One version of a written agreement with one partner."""

    id: str
    version: int
    partner: str
    title: str
    #: the legal basis, as written (a treaty article, a memorandum)
    legal_basis: str
    #: its reference (e.g. the official journal's publication)
    legal_reference: str
    valid_from: date
    valid_until: date
    purposes: frozenset[str]
    operations: Mapping[Operation, OperationTerms]
    #: days a partner's probe is kept after its search (0: deleted after the search)
    probe_retention_days: int = 0
    #: whether raw biometrics (images, templates) may ever leave; by default never
    raw_biometrics: bool = False
    reciprocity: str = ""
    status: Status = Status.ACTIVE

    def __post_init__(self) -> None:
        check_identifier(self.id, "agreement id")
        check_identifier(self.partner, "partner id")
        if self.version < 1:
            raise AgreementError("an agreement's version starts at 1", field="version")
        for name in ("title", "legal_basis", "legal_reference"):
            if not getattr(self, name).strip():
                raise AgreementError(f"the agreement needs its {name.replace('_', ' ')}", field=name)
        if self.valid_until < self.valid_from:
            raise AgreementError("the agreement ends before it starts", field="valid_until")
        purposes = frozenset(self.purposes)
        if not purposes:
            raise AgreementError("the agreement names no purpose", field="purposes")
        for purpose in purposes:
            check_identifier(purpose, "purpose")
        operations = {Operation(op): terms for op, terms in self.operations.items()}
        if not operations:
            raise AgreementError("the agreement allows no operation", field="operations")
        for op, terms in operations.items():
            if op is not Operation.IDENTIFY and terms.candidates != 1:
                raise AgreementError(f"only identify names several candidates, not {op}", field="candidates")
            if op is not Operation.CUSTOMS and terms.push:
                raise AgreementError(f"only the customs exchange pushes records, not {op}", field="push")
            allowed = CUSTOMS_ATTRIBUTES if op is Operation.CUSTOMS else CORE_ATTRIBUTES
            if not terms.attributes <= allowed:
                wrong = ", ".join(sorted(terms.attributes - allowed))
                raise AgreementError(
                    f"{op.value} may disclose only {', '.join(sorted(allowed))}; not {wrong}",
                    field="attributes",
                    allowed=sorted(allowed),
                )
        if Operation.DISCLOSE in operations and operations[Operation.DISCLOSE].max_rung < Rung.CORE_DATA:
            raise AgreementError("a follow-up disclosure is rung 2 (core data)", field="operations")
        if not 0 <= self.probe_retention_days <= 3650:
            raise AgreementError("probe retention must be 0-3650 days", field="probe_retention_days")
        object.__setattr__(self, "purposes", purposes)
        object.__setattr__(self, "operations", MappingProxyType(operations))
        object.__setattr__(self, "status", Status(self.status))

    def in_force(self, day: date) -> bool:
        return self.status is Status.ACTIVE and self.valid_from <= day <= self.valid_until


# --- as JSON (the stored terms, the agreement file of `padron agreement add`) -----------------


def agreement_to_json(agreement: Agreement) -> dict[str, object]:
    return {
        "id": agreement.id,
        "version": agreement.version,
        "partner": agreement.partner,
        "title": agreement.title,
        "legal_basis": agreement.legal_basis,
        "legal_reference": agreement.legal_reference,
        "valid_from": agreement.valid_from.isoformat(),
        "valid_until": agreement.valid_until.isoformat(),
        "purposes": sorted(agreement.purposes),
        "operations": {
            op.value: {
                "max_rung": int(terms.max_rung),
                "candidates": terms.candidates,
                "daily_quota": terms.daily_quota,
                "approval": terms.approval.value,
                "attributes": sorted(terms.attributes),
                **({"push": True} if terms.push else {}),
            }
            for op, terms in sorted(agreement.operations.items())
        },
        "probe_retention_days": agreement.probe_retention_days,
        "raw_biometrics": agreement.raw_biometrics,
        "reciprocity": agreement.reciprocity,
        "status": agreement.status.value,
    }
