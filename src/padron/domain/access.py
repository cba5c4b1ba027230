"""Who is asking, in which role, for what purpose, on what legal basis, through which channel.

Every use case that touches personal data takes an :class:`AccessContext`; the audit event it
writes records the context beside what was done, so the log can answer "who looked at this
record, when and why" -- for the data-protection authority and for the resident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from padron.domain.errors import AccessContextError, AccessDeniedError
from padron.domain.text import MAX_ACTOR_LENGTH, clean_line

MAX_REFERENCE_LENGTH = 200


class Role(StrEnum):
    """What a credential may do (every endpoint declares the roles it admits)."""

    REGISTRAR = "registrar"  # enrolls and corrects persons
    VERIFIER = "verifier"  # 1:1 verification: gets a decision, never scores
    INVESTIGATOR = "investigator"  # 1:N identification, only with a purpose and a case reference
    ADJUDICATOR = "adjudicator"  # decides grey-zone duplicates, sees scores and images
    AUDITOR = "auditor"  # reads and verifies the audit log
    ADMIN = "admin"  # keys, settings, maintenance
    PARTNER = "partner"  # a partner agency through the sharing gateway (its signed requests)
    OFFICER = "officer"  # a sharing officer: reviews partners' requests, approves or denies them
    CUSTOMS = "customs"  # a customs officer: records and imports cargo inspections, pushes them to partners


class Channel(StrEnum):
    CLI = "cli"
    API = "api"
    CONSOLE = "console"
    PARTNER = "partner"
    #: padron itself (start-up, maintenance jobs)
    SYSTEM = "system"


class Purpose(StrEnum):
    """Why personal data is used; recorded with every access."""

    ENROLLMENT = "enrollment"
    CORRECTION = "correction"
    VERIFICATION = "verification"
    INVESTIGATION = "investigation"
    ADJUDICATION = "adjudication"
    AUDIT = "audit"
    ADMINISTRATION = "administration"
    RESIDENT_ACCESS = "resident-access"
    PARTNER_REQUEST = "partner-request"
    #: customs control: cargo inspections (no personal data)
    CUSTOMS = "customs"


def _parse(enum: type[StrEnum], value: object, field: str) -> StrEnum:
    try:
        return enum(str(value).strip().lower())
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise AccessContextError(f"unknown {field} {value!r}; one of {allowed}", field=field) from None


@dataclass(frozen=True, slots=True)
class AccessContext:
    """The credential's holder and the declared reason for one use case call."""

    actor: str
    role: Role
    channel: Channel
    purpose: Purpose
    #: the law or agreement that allows the access (e.g. "LGP art. 91"), where one is needed
    legal_basis: str | None = None
    #: a case file, warrant or ticket number the access serves
    case_ref: str | None = None
    #: the partner agency, for the partner channel (and only there)
    partner: str | None = None
    #: a lawful embargo set by the approving officer: the resident's access history counts this
    #: access but details it only from this date on
    embargo_until: date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", _parse(Role, self.role, "role"))
        object.__setattr__(self, "channel", _parse(Channel, self.channel, "channel"))
        object.__setattr__(self, "purpose", _parse(Purpose, self.purpose, "purpose"))
        actor = clean_line(self.actor, "actor", max_length=MAX_ACTOR_LENGTH)
        if not actor:
            raise AccessContextError("an access needs an actor", field="actor")
        object.__setattr__(self, "actor", actor)
        for field in ("legal_basis", "case_ref", "partner"):
            value = getattr(self, field)
            if value is not None:
                value = clean_line(value, field.replace("_", " "), max_length=MAX_REFERENCE_LENGTH) or None
                object.__setattr__(self, field, value)
        if (self.channel is Channel.PARTNER) != (self.partner is not None):
            raise AccessContextError(
                "a partner is named exactly when the channel is partner", field="partner"
            )

    @classmethod
    def cli(cls, actor: str, purpose: Purpose, *, case_ref: str | None = None) -> AccessContext:
        """The command line: the operator of this installation, with its database and key."""
        return cls(actor=actor, role=Role.ADMIN, channel=Channel.CLI, purpose=purpose, case_ref=case_ref)

    @classmethod
    def system(cls, purpose: Purpose) -> AccessContext:
        """padron's own work (loading the galleries at start-up, signing checkpoints)."""
        return cls(actor="system:padron", role=Role.ADMIN, channel=Channel.SYSTEM, purpose=purpose)

    def to_dict(self) -> dict[str, str | None]:
        return {
            "actor": self.actor,
            "role": self.role.value,
            "channel": self.channel.value,
            "purpose": self.purpose.value,
            "legal_basis": self.legal_basis,
            "case_ref": self.case_ref,
            "partner": self.partner,
            "embargo_until": self.embargo_until.isoformat() if self.embargo_until else None,
        }


def require_identification(ctx: AccessContext) -> None:
    """1:N identification is for investigations: an investigator (or the installation's own
    operator on the command line), with purpose "investigation" and a case reference."""
    if ctx.role not in (Role.INVESTIGATOR, Role.ADMIN) or ctx.purpose is not Purpose.INVESTIGATION:
        raise AccessDeniedError(
            f"1:N identification is for investigators with purpose investigation, not "
            f"{ctx.role.value} with purpose {ctx.purpose.value}",
            role=ctx.role.value,
            purpose=ctx.purpose.value,
        )
    if not ctx.case_ref:
        raise AccessDeniedError("1:N identification needs a case reference (--case)", field="case_ref")
