"""The sharing gateway's use cases on the answering side: a partner's signed request, decided by
its agreement's Cedar policy, answered as far as the agreement allows and no further, every
step in the audit log and every person concerned in their access history.

A request is **received** (:meth:`Gateway.receive`): its signature was verified by the caller
(:mod:`padron.sharing.signing`), here its nonce is recorded (a replay is refused), the policies
of the partner's agreements in force decide it, and then

- *denied*: the answer says so, with the reason code of every term that refused it;
- *allowed*: the search runs at once, the probe is dropped after it, the answer is built at
  the rung granted and sealed in the database, and every person it concerns gets an audit
  entry in the same transaction;
- *pending*: an officer must approve (two distinct officers where the agreement asks). Nothing
  is searched until then -- no resident's data is computed on before a person agreed; the
  probe waits sealed in the vault and is deleted once the request is decided.

Graduated disclosure, "insofar as possible": a request for a rung above the agreed one is
answered at the highest rung the agreement allows, and more candidates than agreed are cut to
the agreed number; the answer's ``withheld`` says what was held back and under which term.
Rung 0 answers hit / no-hit, rung 1 adds per-partner pseudonymous references
(:mod:`padron.sharing.references`), rung 2 the core attributes the agreement lists.

The partner polls :meth:`Gateway.answer` for a pending request's answer.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from padron.domain.access import AccessContext, Channel, Purpose, Role
from padron.domain.errors import ErrorCategory, PadronError
from padron.domain.person import Person
from padron.domain.template import Template
from padron.domain.text import require_actor_reason
from padron.registry.audit import person_ref
from padron.registry.identity import IdentityService, NoReferenceError, NotVerifiableError
from padron.registry.service import _to_person
from padron.registry.storage.models import (
    AuditEntryRow,
    GatewayApprovalRow,
    GatewayNonceRow,
    GatewayRequestRow,
    PartnerRow,
    PersonRow,
)
from padron.sharing import vigilance
from padron.sharing.agreements import (
    Agreement,
    Operation,
    Rung,
    Status,
)
from padron.sharing.answers import Answer, RequestStatus, RequestView, answer_from_json
from padron.sharing.asks import (
    Ask,
    GatewayRequestError,
    Probe,
    cosigned_note,
    nist_answer,
    parse_ask,
)
from padron.sharing.decisions import Decision, decide
from padron.sharing.exchange import ExchangeLog, entry_of
from padron.sharing.keys import GatewayIdentity
from padron.sharing.policy import (
    Verdict,
)
from padron.sharing.references import UnknownReferenceError
from padron.sharing.signing import Signed, public_key_from_b64
from padron.sharing.store import Sharing, partner_ref

#: a partner's 1:N search names only candidates this sure (false positive identification rate)
PARTNER_FPIR: Final = 1e-4
#: requests an officer list shows at most
MAX_LIST: Final = 200
#: a request no officer decided within this time is denied (``approval-expired``), its probe
#: deleted unsearched
PENDING_TTL: Final = timedelta(days=7)

#: turns a probe into templates (padron's extractors, verification quality)
SampleExtractor = Callable[["Probe"], dict[str, Template]]


class ReplayError(PadronError):
    code = "PAD-SHARE-015"
    category = ErrorCategory.UNAUTHENTICATED
    summary = "The request's signature nonce was used before: a replayed request is refused."


class UnknownGatewayRequestError(PadronError):
    code = "PAD-SHARE-016"
    category = ErrorCategory.NOT_FOUND
    summary = "No partner request with this identifier (for this partner)."


class GatewayDecisionError(PadronError):
    code = "PAD-SHARE-017"
    category = ErrorCategory.CONFLICT
    summary = (
        "The request cannot take this decision: it is not pending, or this officer has decided "
        "on it already (the second approver must be another officer)."
    )


@dataclass(frozen=True)
class Reciprocity:
    """What passed between this registry and one partner, both ways (counts; the console's
    summary -- ``padron.sharing.exchange.reciprocity`` gives one partner's by period and rung)."""

    partner: str
    answered: int
    denied: int
    pending: int
    #: requests this registry sent the partner
    sent: int

    @property
    def received(self) -> int:
        return self.answered + self.denied + self.pending


def request_ref(request_id: str) -> str:
    return f"gateway-request:{request_id}"


def _probe_bytes(probe: Probe) -> bytes:
    """The probe's samples in one canonical byte string (for its keyed digest)."""
    parts = [b"face", probe.face or b""]
    for kind, values in (("fingers", probe.fingers), ("templates", probe.finger_templates)):
        for position in sorted(values):
            parts += [f"{kind}:{position}".encode(), values[position]]
    return b"\x00".join(hashlib.sha256(p).digest() for p in parts)


def _is_hit(result: Mapping[str, Any]) -> bool:
    return bool(result.get("hit") or result.get("match") or result.get("person"))


def _attributes(person: Person, names: frozenset[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in sorted(names):
        value = getattr(person, name)
        out[name] = value.isoformat() if isinstance(value, date) else getattr(value, "value", value)
    return out


class Gateway:
    """The answering side of the gateway over a registry's partners, agreements and biometrics."""

    def __init__(
        self,
        sharing: Sharing,
        identity: Callable[[], IdentityService],
        me: GatewayIdentity,
        extract: SampleExtractor,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.sharing = sharing
        self.registry = sharing.registry
        self._identity = identity
        self.me = me
        self._extract = extract
        self._clock = clock or (lambda: datetime.now(UTC))
        self.log = ExchangeLog(self.registry, me)

    # --- keys ---------------------------------------------------------------------------------

    def public_key(self, partner_id: str) -> Ed25519PublicKey | None:
        """The public key of an active partner (None: unknown or suspended)."""
        with self.registry.db.read_session() as session:
            row = session.get(PartnerRow, partner_id)
            if row is None or row.status != Status.ACTIVE.value:
                return None
            return public_key_from_b64(row.public_key)

    # --- receiving ----------------------------------------------------------------------------

    def refused(self, key_id: str | None, error: PadronError) -> None:
        """Record a request refused before it was decided (a bad signature, a replay): the
        partner named is only what the request claims."""
        claimed = (key_id or "unknown")[:63]
        ctx = AccessContext(
            actor=f"partner:{claimed}",
            role=Role.PARTNER,
            channel=Channel.PARTNER,
            purpose=Purpose.PARTNER_REQUEST,
            partner=claimed,
        )
        reason = str(error.details.get("reason", error.code))[:80]

        def work(session: Session) -> None:
            self.registry.audit.record(
                session,
                ctx,
                "gateway.refused",
                subject=partner_ref(claimed),
                outcome=reason,
                details={"code": error.code, "claimed_keyid": claimed},
            )

        self.registry.transact(work)

    def _context(
        self, partner: str, ask_case: str, agreement: Agreement | None, embargo: date | None = None
    ) -> AccessContext:
        return AccessContext(
            actor=f"partner:{partner}",
            role=Role.PARTNER,
            channel=Channel.PARTNER,
            purpose=Purpose.PARTNER_REQUEST,
            legal_basis=(
                f"{agreement.legal_reference} ({agreement.id} v{agreement.version})" if agreement else None
            ),
            case_ref=ask_case,
            partner=partner,
            embargo_until=embargo,
        )

    @staticmethod
    def _used_today(session: Session, partner: str, operation: Operation, day: date) -> int:
        return int(
            session.scalar(
                select(func.count())
                .select_from(GatewayRequestRow)
                .where(
                    GatewayRequestRow.partner_id == partner,
                    GatewayRequestRow.operation == operation.value,
                    GatewayRequestRow.day == day,
                    GatewayRequestRow.status != RequestStatus.DENIED,
                )
            )
            or 0
        )

    def receive(self, signed: Signed, body: bytes, ask: Ask) -> Answer:
        """Decide and (where allowed) answer a partner's verified request."""
        partner = signed.key_id
        now = self._clock()
        day = now.date()
        request_id = str(uuid.uuid4())
        digest = hashlib.sha256(body).hexdigest()
        in_force = self.sharing.in_force(partner, day)
        vault = self._vault()  # before the transaction: the first use starts the biometric service
        self.expire_pending(now)
        probe_digest = (
            None if ask.probe.empty else self.me.references.digest(partner, _probe_bytes(ask.probe))
        )

        def register(session: Session) -> Decision:
            row = session.get(PartnerRow, partner, with_for_update=True)  # one decision at a time per partner
            if row is None:
                raise UnknownGatewayRequestError(f"no partner {partner!r}", partner=partner)
            if session.get(GatewayNonceRow, (partner, signed.nonce)) is not None:
                raise ReplayError(
                    f"the nonce of this request was used before by {partner}: replay refused", partner=partner
                )
            session.execute(delete(GatewayNonceRow).where(GatewayNonceRow.expires_at < now))
            session.execute(  # probes kept under an agreement's retention are deleted when it ends
                update(GatewayRequestRow)
                .where(GatewayRequestRow.probe_kept_until < day)
                .values(probe=None, probe_kept_until=None)
            )
            session.add(GatewayNonceRow(partner_id=partner, nonce=signed.nonce, expires_at=signed.expires))
            decision = decide(
                ask, in_force, partner, day, self._used_today(session, partner, ask.operation, day)
            )
            refused = vigilance.refusal(session, partner, ask.operation.value, probe_digest, now)
            if refused is not None and decision.verdict is not Verdict.DENY:
                decision = Decision(Verdict.DENY, (refused[0],), stored=decision.stored)
            wrong_reference = self._reference_problem(session, partner, ask)
            if wrong_reference is not None and decision.verdict is not Verdict.DENY:
                decision = Decision(Verdict.DENY, (wrong_reference,), stored=decision.stored)
            status = {
                Verdict.ALLOW: RequestStatus.PENDING,  # until its answer is stored (below)
                Verdict.PENDING: RequestStatus.PENDING,
                Verdict.DENY: RequestStatus.DENIED,
            }[decision.verdict]
            agreement = decision.agreement
            probe = None
            if decision.verdict is not Verdict.DENY:
                # the whole signed request waits sealed until it is searched (then it is deleted)
                probe = vault.seal(body, f"gateway-probe:{request_id}")
            session.add(
                GatewayRequestRow(
                    id=request_id,
                    partner_id=partner,
                    operation=ask.operation.value,
                    purpose=ask.purpose,
                    case_ref=ask.case_ref,
                    rung_asked=int(ask.rung),
                    rung=int(decision.rung) if decision.rung is not None else None,
                    status=status,
                    reasons=list(decision.reasons),
                    withheld=list(decision.withheld),
                    agreement_id=agreement.id if agreement else None,
                    agreement_version=agreement.version if agreement else None,
                    request_sha256=digest,
                    received_at=now,
                    day=day,
                    decided_at=now if decision.verdict is Verdict.DENY else None,
                    probe=probe,
                    probe_digest=probe_digest,
                )
            )
            if refused is not None and decision.reasons == (refused[0],):
                vigilance.record_refusal(
                    self.registry, session, self._context(partner, ask.case_ref, agreement),
                    partner, ask.operation.value, refused[0], refused[1], request_id, now,
                )  # fmt: skip
            if decision.verdict is not Verdict.ALLOW:  # the partner is told this state now
                session.flush()
                request_row = session.get(GatewayRequestRow, request_id)
                assert request_row is not None
                self._log_state(session, request_row)
            self.registry.audit.record(
                session,
                self._context(partner, ask.case_ref, agreement),
                "gateway.request",
                subject=partner_ref(partner),
                outcome=decision.verdict.value,
                details={
                    "request": request_id,
                    "operation": ask.operation.value,
                    "purpose": ask.purpose,
                    "rung_asked": int(ask.rung),
                    "rung": int(decision.rung) if decision.rung is not None else None,
                    "reasons": list(decision.reasons),
                    "withheld": list(decision.withheld),
                    "request_sha256": digest,
                    "nonce": signed.nonce,
                },
            )
            return decision

        try:
            decision = self.registry.transact(register)
        except ReplayError as error:
            self.refused(partner, error)
            raise
        if decision.verdict is Verdict.ALLOW:
            self._answer_now(request_id, ask, decision, embargo=None)
        return self.answer(partner, request_id, ask.log_size)

    def _reference_problem(self, session: Session, partner: str, ask: Ask) -> str | None:
        """Why a reference cannot be used by ``partner``: not one this registry issued to it
        (another partner's, altered, invented), or a follow-up without a prior hit."""
        if ask.reference is None:
            return None
        try:
            person_id = self.me.references.resolve(partner, ask.reference)
        except UnknownReferenceError:
            return "reference-not-issued-to-partner"
        if ask.operation is not Operation.DISCLOSE:
            return None
        hit = session.scalar(
            select(func.count())
            .select_from(AuditEntryRow)
            .where(
                AuditEntryRow.partner == partner,
                AuditEntryRow.subject == person_ref(person_id),
                AuditEntryRow.action.in_(("gateway.identify", "gateway.verify")),
            )
        )
        return None if hit else "no-prior-hit"

    def _vault(self) -> Any:
        return self._identity().index.vault

    def _answer_now(self, request_id: str, ask: Ask, decision: Decision, *, embargo: date | None) -> Answer:
        """Run the allowed request, store its sealed answer, drop the probe, record every person
        concerned; all of it in one transaction after the search."""
        assert decision.rung is not None and decision.stored is not None
        agreement = decision.stored.agreement
        with self.registry.db.read_session() as session:
            row = session.get(GatewayRequestRow, request_id)
            assert row is not None
            partner = row.partner_id
        ctx = self._context(partner, ask.case_ref, agreement, embargo)
        try:
            result, persons, extra_withheld = self._run(partner, ask, decision, ctx)
        except PadronError as error:
            if error.category not in (ErrorCategory.INVALID, ErrorCategory.NOT_FOUND):
                raise
            # a probe that cannot be read, a record that is gone: denied, with the code, not left pending
            self._deny_unusable(request_id, error)
            return self.answer(partner, request_id)
        if ask.probe.nist is not None:  # asked in ANSI/NIST-ITL: answered the same way too
            result["ansi_nist"] = nist_answer(
                ask.probe.nist, request_id, self.me.id, result, int(decision.rung)
            )
        now = self._clock()

        def store(session: Session) -> Answer:
            row = session.get(GatewayRequestRow, request_id, with_for_update=True)
            assert row is not None
            if row.status != RequestStatus.PENDING:  # decided meanwhile (a third approval, a denial)
                return self._state(row)
            answer = Answer(
                request_id=request_id,
                request_sha256=row.request_sha256,
                registry=self.me.id,
                partner=partner,
                status=RequestStatus.ANSWERED,
                operation=row.operation,
                rung_asked=row.rung_asked,
                rung=int(decision.rung) if decision.rung is not None else None,
                reasons=tuple(row.reasons),
                withheld=tuple([*row.withheld, *extra_withheld]),
                agreement=row.agreement_id,
                agreement_version=row.agreement_version,
                received_at=row.received_at,
                answered_at=now,
                result=result,
            )
            row.status, row.decided_at = RequestStatus.ANSWERED, row.decided_at or now
            row.withheld = list(answer.withheld)
            if agreement.probe_retention_days:  # the agreement keeps partners' probes (sealed)
                row.probe_kept_until = now.date() + timedelta(days=agreement.probe_retention_days)
            else:
                row.probe = None  # deleted after the search
            row.answer = self._vault().seal(answer.body(), f"gateway-answer:{request_id}")
            row.hit = _is_hit(result)
            self._log_state(session, row, answer)
            for person_id in persons:
                self.registry.audit.record(
                    session,
                    ctx,
                    f"gateway.{row.operation}",
                    subject=person_ref(person_id),
                    details={"request": request_id, "rung": int(decision.rung or 0)},
                )
            if ask.cargo is not None:
                self.registry.audit.record(
                    session,
                    ctx,
                    "gateway.customs",
                    subject=f"cargo:{ask.cargo}",
                    outcome="hit" if result.get("hit") else "no-hit",
                    details={"request": request_id, "rung": int(decision.rung or 0)},
                )
            session.flush()
            vigilance.after_answer(
                self.registry, session, ctx, partner, row.operation, request_id, persons, now
            )
            self.registry.audit.record(
                session,
                ctx,
                "gateway.answer",
                subject=partner_ref(partner),
                outcome=RequestStatus.ANSWERED,
                details={
                    "request": request_id,
                    "rung": answer.rung,
                    "persons": len(persons),
                    "answer_sha256": hashlib.sha256(answer.body()).hexdigest(),
                },
            )
            return answer

        return self.registry.transact(store)

    def expire_pending(self, now: datetime) -> int:
        """Deny the requests that waited longer than :data:`PENDING_TTL` for officers."""
        with self.registry.db.read_session() as session:
            stale = list(
                session.scalars(
                    select(GatewayRequestRow.id).where(
                        GatewayRequestRow.status == RequestStatus.PENDING,
                        GatewayRequestRow.received_at < now - PENDING_TTL,
                    )
                )
            )

        def work(session: Session, request_id: str) -> None:
            row = session.get(GatewayRequestRow, request_id, with_for_update=True)
            if row is None or row.status != RequestStatus.PENDING:
                return
            row.status, row.decided_at, row.probe = RequestStatus.DENIED, now, None
            row.reasons = ["approval-expired"]
            self._log_state(session, row)
            self.registry.audit.record(
                session,
                AccessContext.system(Purpose.PARTNER_REQUEST),
                "gateway.deny",
                subject=request_ref(request_id),
                outcome="approval-expired",
            )

        for request_id in stale:
            self.registry.transact(functools.partial(work, request_id=request_id))
        return len(stale)

    def _deny_unusable(self, request_id: str, error: PadronError) -> None:
        def work(session: Session) -> None:
            row = self._row(session, request_id)
            row.status, row.decided_at, row.probe = RequestStatus.DENIED, self._clock(), None
            row.reasons = [f"unusable-request:{error.code}"]
            self._log_state(session, row)
            self.registry.audit.record(
                session,
                AccessContext.system(Purpose.PARTNER_REQUEST),
                "gateway.deny",
                subject=request_ref(request_id),
                outcome="unusable-request",
                details={"code": error.code},
            )

        self.registry.transact(work)

    def _run(
        self, partner: str, ask: Ask, decision: Decision, ctx: AccessContext
    ) -> tuple[dict[str, Any], list[int], list[str]]:
        """The result of an allowed request, the persons it concerns, and what was withheld."""
        assert decision.rung is not None and decision.stored is not None
        rung = decision.rung
        terms = decision.stored.agreement.operations[ask.operation]
        if ask.attributes is not None:  # only what was asked, within what is agreed
            terms = dataclasses.replace(terms, attributes=terms.attributes & ask.attributes)
        refs = self.me.references
        if ask.operation is Operation.IDENTIFY:
            samples = self._extract(ask.probe)
            found = self._identity().search_for_partner(
                samples, ctx, top=decision.candidates, fpir=PARTNER_FPIR
            )
            result: dict[str, Any] = {"hit": bool(found)}
            if rung >= Rung.REFERENCE:
                result["references"] = [refs.issue(partner, p) for p in found]
            if rung >= Rung.CORE_DATA:
                result["persons"] = [
                    {"reference": refs.issue(partner, p), **_attributes(self._person(p), terms.attributes)}
                    for p in found
                ]
            return result, found, []
        if ask.operation is Operation.CUSTOMS:
            from padron.sharing.customs import Customs

            assert ask.cargo is not None
            found_records = Customs(self.registry).inspections(ask.cargo)
            result = {"cargo": ask.cargo, "hit": bool(found_records)}
            if rung >= Rung.REFERENCE:
                result["inspections"] = len(found_records)
                result["dates"] = sorted({r.inspected_on.isoformat() for r in found_records})
            if rung >= Rung.CORE_DATA:
                result["records"] = [r.attributes(terms.attributes) for r in found_records]
            return result, [], []
        if ask.operation is Operation.VERIFY:
            person_id = self._person_of(partner, ask)
            if person_id is None:
                return {"match": False}, [], ["not-verifiable"]
            person = self._person(person_id)
            samples = self._extract(ask.probe)
            try:
                verification = self._identity().verify(person.curp, samples, ctx)
            except (NotVerifiableError, NoReferenceError):
                return {"match": False}, [person_id], ["not-verifiable"]
            result = {"match": verification.match}
            if verification.match and rung >= Rung.REFERENCE:
                result["reference"] = refs.issue(partner, person_id)
            if verification.match and rung >= Rung.CORE_DATA:
                result["person"] = _attributes(person, terms.attributes)
            return result, [person_id], []
        # DISCLOSE: the core data of the person an earlier answer referred to
        assert ask.reference is not None
        person_id = refs.resolve(partner, ask.reference)
        person = self._person(person_id)
        return (
            {"reference": ask.reference, "person": _attributes(person, terms.attributes)},
            [person_id],
            [],
        )

    def _person_of(self, partner: str, ask: Ask) -> int | None:
        if ask.reference is not None:
            try:
                return self.me.references.resolve(partner, ask.reference)
            except UnknownReferenceError:
                return None
        with self.registry.db.read_session() as session:
            found = session.scalar(select(PersonRow.id).where(PersonRow.curp == (ask.curp or "").upper()))
            return int(found) if found is not None else None

    def _person(self, person_id: int) -> Person:
        with self.registry.db.read_session() as session:
            row = session.get(PersonRow, person_id)
            if row is None:
                raise UnknownReferenceError("the reference names no record of this registry")
            return _to_person(row)

    # --- the partner's view -------------------------------------------------------------------

    def answer(self, partner: str, request_id: str, known_size: int | None = None) -> Answer:
        """The answer to one of ``partner``'s requests (pending, denied or answered), with the
        exchange-log block proving its state is in our log with the partner (consistency from
        ``known_size``, the size the partner kept last)."""
        with self.registry.db.read_session() as session:
            row = session.get(GatewayRequestRow, request_id)
            if row is None or row.partner_id != partner:
                raise UnknownGatewayRequestError(
                    f"{partner} sent no request {request_id[:40]!r}", request=request_id[:40]
                )
            answer = self._state(row)
            seq = row.log_seq
        if seq is None:
            return answer
        return dataclasses.replace(answer, log=self.log.proof(partner, seq, known_size))

    def _state(self, row: GatewayRequestRow) -> Answer:
        """What the partner is told of ``row`` now (without the log block)."""
        if row.answer is not None:
            value = json.loads(self._vault().open(row.answer, f"gateway-answer:{row.id}"))
            return answer_from_json(value)
        return Answer(
            request_id=row.id,
            registry=self.me.id,
            partner=row.partner_id,
            status=row.status,
            operation=row.operation,
            rung_asked=row.rung_asked,
            rung=row.rung,
            reasons=tuple(row.reasons),
            withheld=tuple(row.withheld),
            agreement=row.agreement_id,
            agreement_version=row.agreement_version,
            received_at=row.received_at,
            answered_at=row.decided_at,
            request_sha256=row.request_sha256,
        )

    def _log_state(self, session: Session, row: GatewayRequestRow, answer: Answer | None = None) -> None:
        """Append the request's current state to our exchange log with its partner (the
        partner's row is locked: one append at a time per log)."""
        session.get(PartnerRow, row.partner_id, with_for_update=True)
        session.flush()
        state = answer if answer is not None else self._state(row)
        at = state.answered_at or state.received_at
        row.log_seq = self.log.append(session, row.partner_id, entry_of(state.state_json()), at)

    # --- officers -----------------------------------------------------------------------------

    def requests(self, *, status: str | None = None, limit: int = 50) -> list[RequestView]:
        query = (
            select(GatewayRequestRow)
            .order_by(GatewayRequestRow.received_at.desc())
            .limit(max(1, min(limit, MAX_LIST)))
        )
        if status is not None:
            query = query.where(GatewayRequestRow.status == status)
        with self.registry.db.read_session() as session:
            rows = list(session.scalars(query))
            return [self._view(session, row) for row in rows]

    def reciprocity(self) -> list[Reciprocity]:
        """Per partner: the requests it sent us, by what became of them, and the requests this
        registry sent it (its own audit log's ``gateway.sent``): counts, no personal data."""
        with self.registry.db.read_session() as session:
            received: dict[str, dict[str, int]] = {}
            for partner, status, count in session.execute(
                select(GatewayRequestRow.partner_id, GatewayRequestRow.status, func.count()).group_by(
                    GatewayRequestRow.partner_id, GatewayRequestRow.status
                )
            ):
                received.setdefault(partner, {})[status] = int(count)
            sent = {
                str(subject).removeprefix("partner:"): int(count)
                for subject, count in session.execute(
                    select(AuditEntryRow.subject, func.count())
                    .where(AuditEntryRow.action == "gateway.sent")
                    .group_by(AuditEntryRow.subject)
                )
                if subject is not None
            }
            partners = sorted(session.scalars(select(PartnerRow.id)))
        return [
            Reciprocity(
                partner=p,
                answered=received.get(p, {}).get(RequestStatus.ANSWERED, 0),
                denied=received.get(p, {}).get(RequestStatus.DENIED, 0),
                pending=received.get(p, {}).get(RequestStatus.PENDING, 0),
                sent=sent.get(p, 0),
            )
            for p in partners
        ]

    def request(self, request_id: str) -> RequestView:
        with self.registry.db.read_session() as session:
            return self._view(session, self._row(session, request_id))

    @staticmethod
    def _row(session: Session, request_id: str) -> GatewayRequestRow:
        row = session.get(GatewayRequestRow, request_id)
        if row is None:
            raise UnknownGatewayRequestError(
                f"no partner request {request_id[:40]!r}", request=request_id[:40]
            )
        return row

    def _view(self, session: Session, row: GatewayRequestRow) -> RequestView:
        approval: str | None = None
        attributes: tuple[str, ...] = ()
        if row.agreement_id is not None and row.agreement_version is not None:
            stored = self.sharing.agreement(row.agreement_id, row.agreement_version)
            terms = stored.agreement.operations.get(Operation(row.operation))
            if terms is not None:
                approval = terms.approval.value
                if (row.rung or 0) >= Rung.CORE_DATA:
                    attributes = tuple(sorted(terms.attributes))
        approvals = tuple(
            {"actor": a.actor, "decision": a.decision, "reason": a.reason, "at": a.at.isoformat()}
            for a in session.scalars(
                select(GatewayApprovalRow)
                .where(GatewayApprovalRow.request_id == row.id)
                .order_by(GatewayApprovalRow.at)
            )
        )
        return RequestView(
            request_id=row.id,
            partner=row.partner_id,
            operation=row.operation,
            purpose=row.purpose,
            case_ref=row.case_ref,
            rung_asked=row.rung_asked,
            rung=row.rung,
            status=row.status,
            reasons=tuple(row.reasons),
            withheld=tuple(row.withheld),
            agreement=row.agreement_id,
            agreement_version=row.agreement_version,
            approval=approval,
            would_disclose=attributes,
            approvals=approvals,
            received_at=row.received_at,
            decided_at=row.decided_at,
            embargo_until=row.embargo_until,
        )

    def approve(
        self, request_id: str, ctx: AccessContext, *, reason: str, embargo_until: date | None = None
    ) -> RequestView:
        """An officer's approval. Once the agreement's approvers have approved (distinct
        officers), the request is decided again under the agreement in force now and, if still
        allowed, answered; ``embargo_until`` (a lawful embargo) keeps the persons concerned from
        seeing the details in their access history until that date."""
        return self._decide(request_id, ctx, "approve", reason, embargo_until)

    def deny(self, request_id: str, ctx: AccessContext, *, reason: str) -> RequestView:
        """An officer's refusal: the request is denied, its probe deleted unsearched."""
        return self._decide(request_id, ctx, "deny", reason, None)

    def _decide(
        self, request_id: str, ctx: AccessContext, decision: str, reason: str, embargo: date | None
    ) -> RequestView:
        _, reason = require_actor_reason(ctx.actor, reason)
        now = self._clock()

        def record(session: Session) -> int:
            row = session.get(GatewayRequestRow, request_id, with_for_update=True)
            if row is None:
                raise UnknownGatewayRequestError(
                    f"no partner request {request_id[:40]!r}", request=request_id[:40]
                )
            if row.status != RequestStatus.PENDING or row.probe is None:
                raise GatewayDecisionError(
                    f"request {request_id} is {row.status}, not pending", status=row.status
                )
            if session.get(GatewayApprovalRow, (request_id, ctx.actor)) is not None:
                raise GatewayDecisionError(
                    f"{ctx.actor} has decided on request {request_id} already; another officer must",
                    actor=ctx.actor,
                )
            session.add(
                GatewayApprovalRow(
                    request_id=request_id, actor=ctx.actor, decision=decision, reason=reason, at=now
                )
            )
            if embargo is not None:
                row.embargo_until = max(embargo, row.embargo_until or embargo)
            if decision == "deny":
                row.status, row.decided_at, row.probe = RequestStatus.DENIED, now, None
                row.reasons = [*row.reasons, "denied-by-officer"]
                self._log_state(session, row)
            session.flush()
            approvals = int(
                session.scalar(
                    select(func.count())
                    .select_from(GatewayApprovalRow)
                    .where(
                        GatewayApprovalRow.request_id == request_id, GatewayApprovalRow.decision == "approve"
                    )
                )
                or 0
            )
            self.registry.audit.record(
                session,
                ctx,
                f"gateway.{decision}",
                subject=request_ref(request_id),
                details={
                    "reason": reason,
                    "approvals": approvals,
                    "embargo_until": embargo.isoformat() if embargo else None,
                },
            )
            return approvals

        approvals = self.registry.transact(record)
        if decision == "approve":
            self._after_approval(request_id, approvals)
        return self.request(request_id)

    def _after_approval(self, request_id: str, approvals: int) -> None:
        with self.registry.db.read_session() as session:
            row = self._row(session, request_id)
            partner, day, sealed, embargo = row.partner_id, row.day, row.probe, row.embargo_until
            operation = Operation(row.operation)
            used = self._used_today(session, partner, operation, day) - 1  # this one counted already
        assert sealed is not None
        ask = parse_ask(self._vault().open(sealed, f"gateway-probe:{request_id}"))
        in_force = self.sharing.in_force(partner, self._clock().date())
        decision = decide(ask, in_force, partner, day, max(0, used), approvals)
        if decision.verdict is Verdict.PENDING:
            return  # more approvals needed
        if decision.verdict is Verdict.DENY:  # e.g. the agreement was suspended meanwhile

            def refuse(session: Session) -> None:
                r = self._row(session, request_id)
                r.status, r.decided_at, r.probe = RequestStatus.DENIED, self._clock(), None
                r.reasons = list(decision.reasons)
                self._log_state(session, r)
                self.registry.audit.record(
                    session,
                    AccessContext.system(Purpose.PARTNER_REQUEST),
                    "gateway.deny",
                    subject=request_ref(request_id),
                    details={"reasons": list(decision.reasons)},
                )

            self.registry.transact(refuse)
            return
        self._answer_now(request_id, ask, decision, embargo=embargo)


__all__ = [
    "Answer",
    "Ask",
    "Decision",
    "Gateway",
    "GatewayDecisionError",
    "GatewayRequestError",
    "Probe",
    "ReplayError",
    "RequestStatus",
    "RequestView",
    "UnknownGatewayRequestError",
    "cosigned_note",
    "decide",
    "parse_ask",
]
