"""The resident's view: who accessed my record, when, why and under which legal basis.

A resident proves who they are (their CURP and a biometric verification that passes, at a
kiosk or an office) and gets every audit entry about their record, oldest first. An entry under
a lawful embargo (an investigation, a partner's request that an officer embargoed) is counted
but not detailed until its embargo date. Showing the history is itself an access, recorded in the
same transaction as the read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from padron.audit.entry import AuditEntry
from padron.domain.access import AccessContext
from padron.domain.errors import ErrorCategory, PadronError
from padron.domain.template import Template
from padron.registry.audit import EMBARGO_DETAIL, person_ref
from padron.registry.identity import IdentityService
from padron.registry.storage.models import AuditEntryRow

#: the most entries one answer details (the newest; the count says how many there are)
MAX_HISTORY_ENTRIES: Final = 1000


class ResidentNotVerifiedError(PadronError):
    code = "PAD-RES-001"
    category = ErrorCategory.FORBIDDEN
    summary = (
        "The biometric verification of the resident did not pass: a record's access history is "
        "shown only to its holder."
    )


@dataclass(frozen=True)
class Access:
    """One access to the resident's record, as the resident sees it."""

    at: datetime
    actor: str
    role: str
    channel: str
    purpose: str
    action: str
    outcome: str
    legal_basis: str | None
    case_ref: str | None
    partner: str | None


@dataclass(frozen=True)
class AccessHistory:
    curp: str
    #: the accesses the resident may see now, oldest first
    accesses: list[Access]
    #: accesses under an embargo that has not ended: counted, not detailed
    embargoed: int
    #: the earliest date an embargoed access will be shown (None without embargoed accesses)
    next_disclosure: date | None
    #: all accesses to the record (the detailed ones may be cut to the newest
    #: MAX_HISTORY_ENTRIES)
    total: int


def _embargo(entry: AuditEntry) -> date | None:
    value = entry.details.get(EMBARGO_DETAIL)
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _access(entry: AuditEntry) -> Access:
    return Access(
        at=entry.at,
        actor=entry.actor,
        role=entry.role,
        channel=entry.channel,
        purpose=entry.purpose,
        action=entry.action,
        outcome=entry.outcome,
        legal_basis=entry.legal_basis,
        case_ref=entry.case_ref,
        partner=entry.partner,
    )


def access_history(
    identity: IdentityService,
    curp: str,
    samples: Mapping[str, Template],
    ctx: AccessContext,
    *,
    today: date | None = None,
) -> AccessHistory:
    """The access history of the holder of ``curp``, once ``samples`` verify as theirs.

    The verification is the ordinary 1:1 use case (a revoked, deceased or merged CURP is refused
    with its own code); a no-match raises ResidentNotVerifiedError and discloses nothing."""
    verification = identity.verify(curp, samples, ctx)
    if not verification.match:
        raise ResidentNotVerifiedError(
            f"the samples do not verify as the holder of {verification.curp}; the access history "
            "is shown only to its holder",
            curp=verification.curp,
        )
    registry = identity.registry
    day = today or datetime.now(UTC).date()

    def work(session: Session) -> AccessHistory:
        person = registry._row_by_curp(session, verification.curp)
        subject = person_ref(person.id)
        entries = [
            AuditEntry.from_bytes(data)
            for data in session.scalars(
                select(AuditEntryRow.entry)
                .where(AuditEntryRow.subject == subject)
                .order_by(AuditEntryRow.seq)
            )
        ]
        shown: list[Access] = []
        embargoes: list[date] = []
        for entry in entries:
            until = _embargo(entry)
            if until is not None and until > day:
                embargoes.append(until)
            else:
                shown.append(_access(entry))
        history = AccessHistory(
            curp=person.curp,
            accesses=shown[-MAX_HISTORY_ENTRIES:],
            embargoed=len(embargoes),
            next_disclosure=min(embargoes) if embargoes else None,
            total=len(entries),
        )
        registry.audit.record(
            session,
            ctx,
            "resident.history",
            subject=subject,
            details={"shown": len(history.accesses), "embargoed": history.embargoed},
        )
        return history

    return registry.transact(work)
