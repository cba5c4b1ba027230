"""Partners and agreements in the registry's database, every change in the audit log.

An agreement is never edited: ``add_agreement`` stores a new version (its terms and the Cedar
policy they compile to, exactly the text officers are shown); suspending one changes its status
and takes effect on the next request, because :meth:`Sharing.policies_in_force` reads the
database for every request.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from padron.domain.access import AccessContext
from padron.domain.errors import ErrorCategory, PadronError
from padron.domain.text import require_actor_reason
from padron.registry.service import Registry
from padron.registry.storage.models import AgreementRow, PartnerRow
from padron.sharing.agreements import (
    Agreement,
    AgreementError,
    Partner,
    Status,
    agreement_to_json,
)
from padron.sharing.files import agreement_from_json
from padron.sharing.policy import CompiledPolicy, compile_agreement


class UnknownPartnerError(PadronError):
    code = "PAD-SHARE-005"
    category = ErrorCategory.NOT_FOUND
    summary = "No partner with this identifier."


class UnknownAgreementError(PadronError):
    code = "PAD-SHARE-006"
    category = ErrorCategory.NOT_FOUND
    summary = "No agreement (or no such version of it) with this identifier."


class PartnerExistsError(PadronError):
    code = "PAD-SHARE-007"
    category = ErrorCategory.CONFLICT
    summary = "A partner with this identifier exists already; partners are never replaced."


def partner_ref(partner_id: str) -> str:
    return f"partner:{partner_id}"


def agreement_ref(agreement_id: str) -> str:
    return f"agreement:{agreement_id}"


@dataclass(frozen=True)
class StoredAgreement:
    agreement: Agreement
    policy: str
    created_at: datetime
    created_by: str

    @property
    def policy_sha256(self) -> str:
        return hashlib.sha256(self.policy.encode("utf-8")).hexdigest()


def _partner(row: PartnerRow) -> Partner:
    return Partner(row.id, row.agency, row.country, row.contact, row.public_key, Status(row.status), row.url)


def _stored(row: AgreementRow) -> StoredAgreement:
    agreement = replace(agreement_from_json(row.terms), version=row.version, status=Status(row.status))
    return StoredAgreement(agreement, row.policy, row.created_at, row.created_by)


class Sharing:
    """The gateway's partners and agreements over a registry (its database and audit log)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    # --- partners ---------------------------------------------------------------------------

    def add_partner(self, partner: Partner, ctx: AccessContext) -> Partner:
        def work(session: Session) -> Partner:
            if session.get(PartnerRow, partner.id) is not None:
                raise PartnerExistsError(f"partner {partner.id} exists already", partner=partner.id)
            now = datetime.now(UTC)
            session.add(
                PartnerRow(
                    id=partner.id,
                    agency=partner.agency,
                    country=partner.country,
                    contact=partner.contact,
                    public_key=partner.public_key,
                    status=partner.status.value,
                    url=partner.url,
                    created_at=now,
                    updated_at=now,
                )
            )
            details = {"country": partner.country, "status": partner.status.value}
            self.registry.audit.record(
                session, ctx, "partner.add", subject=partner_ref(partner.id), details=details
            )
            return partner

        return self.registry.transact(work)

    def partners(self) -> list[Partner]:
        """Every partner (agencies, no personal data)."""
        with self.registry.db.read_session() as session:
            return [_partner(r) for r in session.scalars(select(PartnerRow).order_by(PartnerRow.id))]

    def partner(self, partner_id: str) -> Partner:
        with self.registry.db.read_session() as session:
            return _partner(self._partner_row(session, partner_id))

    def set_partner_status(
        self, partner_id: str, status: Status, ctx: AccessContext, *, reason: str
    ) -> Partner:
        _, reason = require_actor_reason(ctx.actor, reason)

        def work(session: Session) -> Partner:
            row = self._partner_row(session, partner_id)
            before, row.status, row.updated_at = row.status, Status(status).value, datetime.now(UTC)
            details = {"from": before, "to": row.status, "reason": reason}
            self.registry.audit.record(
                session, ctx, "partner.status", subject=partner_ref(partner_id), details=details
            )
            return _partner(row)

        return self.registry.transact(work)

    # --- agreements -------------------------------------------------------------------------

    def add_agreement(self, agreement: Agreement, ctx: AccessContext) -> StoredAgreement:
        """Store ``agreement`` as the next version of its id (its own version number is
        ignored), with the policy it compiles to."""

        def work(session: Session) -> StoredAgreement:
            partner = _partner(self._partner_row(session, agreement.partner))
            latest = session.scalar(
                select(func.max(AgreementRow.version)).where(AgreementRow.id == agreement.id)
            )
            if latest is not None:
                first = session.get(AgreementRow, (agreement.id, latest))
                assert first is not None
                if first.partner_id != agreement.partner:
                    raise AgreementError(
                        f"agreement {agreement.id} is with {first.partner_id}; a new version cannot "
                        "change the partner",
                        field="partner",
                    )
            versioned = replace(agreement, version=(latest or 0) + 1)
            policy = compile_agreement(versioned, partner)
            row = AgreementRow(
                id=versioned.id,
                version=versioned.version,
                partner_id=partner.id,
                terms=agreement_to_json(versioned),
                policy=policy.text,
                status=versioned.status.value,
                created_at=datetime.now(UTC),
                created_by=ctx.actor,
            )
            session.add(row)
            session.flush()
            stored = _stored(row)
            details = {
                "version": versioned.version,
                "partner": partner.id,
                "policy_sha256": stored.policy_sha256,
            }
            self.registry.audit.record(
                session, ctx, "agreement.add", subject=agreement_ref(versioned.id), details=details
            )
            return stored

        return self.registry.transact(work)

    def agreement(self, agreement_id: str, version: int | None = None) -> StoredAgreement:
        with self.registry.db.read_session() as session:
            return _stored(self._agreement_row(session, agreement_id, version))

    def agreements(self, partner_id: str | None = None) -> list[StoredAgreement]:
        """The latest version of every agreement (of one partner)."""
        latest = select(AgreementRow.id, func.max(AgreementRow.version).label("version")).group_by(
            AgreementRow.id
        )
        if partner_id is not None:
            latest = latest.where(AgreementRow.partner_id == partner_id)
        newest = latest.subquery()
        query = (
            select(AgreementRow)
            .join(newest, (AgreementRow.id == newest.c.id) & (AgreementRow.version == newest.c.version))
            .order_by(AgreementRow.id)
        )
        with self.registry.db.read_session() as session:
            return [_stored(r) for r in session.scalars(query)]

    def set_agreement_status(
        self, agreement_id: str, status: Status, ctx: AccessContext, *, reason: str
    ) -> StoredAgreement:
        """Suspend (or reinstate) the latest version: the next request sees it."""
        _, reason = require_actor_reason(ctx.actor, reason)

        def work(session: Session) -> StoredAgreement:
            row = self._agreement_row(session, agreement_id, None)
            before, row.status = row.status, Status(status).value
            details = {"version": row.version, "from": before, "to": row.status, "reason": reason}
            self.registry.audit.record(
                session, ctx, "agreement.status", subject=agreement_ref(agreement_id), details=details
            )
            return _stored(row)

        return self.registry.transact(work)

    def policies_in_force(self, partner_id: str, day: date) -> list[CompiledPolicy]:
        """The policies of the partner's agreements in force on ``day`` (latest versions, active,
        within their validity; none if the partner is suspended)."""
        return [policy for _, policy in self.in_force(partner_id, day)]

    def in_force(self, partner_id: str, day: date) -> list[tuple[StoredAgreement, CompiledPolicy]]:
        """The partner's agreements in force on ``day``, each with its policy (checked against
        the stored text officers were shown)."""
        with self.registry.db.read_session() as session:
            partner_row = session.get(PartnerRow, partner_id)
            if partner_row is None or partner_row.status != Status.ACTIVE.value:
                return []
            partner = _partner(partner_row)
        out: list[tuple[StoredAgreement, CompiledPolicy]] = []
        for stored in self.agreements(partner_id):
            agreement = stored.agreement
            if agreement.in_force(day):
                policy = compile_agreement(agreement, partner)
                if policy.text != stored.policy:  # the stored text is what officers approved
                    raise AgreementError(
                        f"agreement {agreement.id} v{agreement.version}: its stored policy differs from "
                        "what its terms compile to (edited in the database?)",
                        agreement=agreement.id,
                    )
                out.append((stored, policy))
        return out

    # --- rows -------------------------------------------------------------------------------

    @staticmethod
    def _partner_row(session: Session, partner_id: str) -> PartnerRow:
        row = session.get(PartnerRow, partner_id)
        if row is None:
            raise UnknownPartnerError(f"no partner {partner_id!r}", partner=partner_id)
        return row

    @staticmethod
    def _agreement_row(session: Session, agreement_id: str, version: int | None) -> AgreementRow:
        if version is None:
            version = session.scalar(
                select(func.max(AgreementRow.version)).where(AgreementRow.id == agreement_id)
            )
        row = session.get(AgreementRow, (agreement_id, version)) if version is not None else None
        if row is None:
            suffix = f" version {version}" if version is not None else ""
            raise UnknownAgreementError(f"no agreement {agreement_id!r}{suffix}", agreement=agreement_id)
        return row
