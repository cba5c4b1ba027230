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

import base64
import binascii
import dataclasses
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from padron.domain.access import AccessContext, Channel, Purpose, Role
from padron.domain.errors import ErrorCategory, PadronError
from padron.domain.jsontext import loads_strict
from padron.domain.person import Person
from padron.domain.template import Template
from padron.domain.text import require_actor_reason
from padron.registry.audit import person_ref
from padron.registry.identity import IdentityService, NoReferenceError, NotVerifiableError
from padron.registry.service import _to_person
from padron.registry.storage.models import (
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
    check_identifier,
)
from padron.sharing.exchange import ExchangeLog, entry_of
from padron.sharing.keys import GatewayIdentity
from padron.sharing.policy import (
    APPROVAL_REQUIRED,
    CompiledPolicy,
    PartnerRequest,
    Usage,
    Verdict,
    evaluate,
)
from padron.sharing.references import UnknownReferenceError
from padron.sharing.signing import Signed, public_key_from_b64
from padron.sharing.store import Sharing, StoredAgreement, partner_ref

#: a partner's 1:N search names only candidates this sure (false positive identification rate)
PARTNER_FPIR: Final = 1e-4
#: the largest probe a partner may send (base64 text in the JSON body), per sample
MAX_PROBE_SAMPLE_BYTES: Final = 8 * 1024 * 1024
#: requests an officer list shows at most
MAX_LIST: Final = 200

#: turns a probe into templates (padron's extractors, verification quality)
SampleExtractor = Callable[["Probe"], dict[str, Template]]


class GatewayRequestError(PadronError):
    code = "PAD-SHARE-014"
    summary = "A partner request is malformed (a field missing, of the wrong type, or out of range)."


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


class RequestStatus:
    PENDING = "pending"
    ANSWERED = "answered"
    DENIED = "denied"


# --- the request, as the partner sends it -------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """A partner's biometric sample: a face image, finger images or ISO/IEC 19794-2 records."""

    face: bytes | None = None
    fingers: Mapping[str, bytes] = field(default_factory=dict)
    finger_templates: Mapping[str, bytes] = field(default_factory=dict)
    #: the ANSI/NIST-ITL transaction the samples came in (the answer is returned the same way)
    nist: bytes | None = None

    @property
    def empty(self) -> bool:
        return self.face is None and not self.fingers and not self.finger_templates


@dataclass(frozen=True)
class Ask:
    operation: Operation
    purpose: str
    rung: Rung
    #: the partner's own case reference (recorded; shown in the resident's access history)
    case_ref: str
    candidates: int = 1
    #: verify / disclose: the reference of an earlier answer
    reference: str | None = None
    #: verify: the CURP the traveller presents
    curp: str | None = None
    probe: Probe = field(default_factory=Probe)
    raw_biometrics: bool = False
    #: the size of our exchange log with the partner that the partner last kept (for the
    #: consistency proof of the answer's checkpoint)
    log_size: int | None = None
    #: customs: the cargo reference asked about (a container, bill of lading or air waybill)
    cargo: str | None = None


_ASK_FIELDS: Final = frozenset(
    {
        "operation",
        "purpose",
        "rung",
        "case_ref",
        "candidates",
        "reference",
        "curp",
        "probe",
        "raw_biometrics",
        "log_size",
        "cargo",
    }
)
_PROBE_FIELDS: Final = frozenset({"face", "fingers", "finger_templates", "ansi_nist"})
_POSITIONS: Final = frozenset(str(i) for i in range(1, 11))


def _bad(message: str, field_name: str) -> GatewayRequestError:
    return GatewayRequestError(message, field=field_name)


def _b64(value: object, field_name: str) -> bytes:
    if not isinstance(value, str) or len(value) > MAX_PROBE_SAMPLE_BYTES * 4 // 3 + 4:
        raise _bad(f"{field_name} must be base64 text of at most {MAX_PROBE_SAMPLE_BYTES} bytes", field_name)
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _bad(f"{field_name} is not valid base64", field_name) from None
    if not data:
        raise _bad(f"{field_name} is empty", field_name)
    return data


def _positions(value: object, field_name: str) -> dict[str, bytes]:
    if not isinstance(value, dict):
        raise _bad(f"{field_name} must map finger positions 1-10 to base64", field_name)
    out = {}
    for position, data in value.items():
        if position not in _POSITIONS:
            raise _bad(f"{field_name}: {str(position)[:10]!r} is not a finger position 1-10", field_name)
        out[position] = _b64(data, f"{field_name}.{position}")
    return out


def _probe(value: object) -> Probe:
    if value is None:
        return Probe()
    if not isinstance(value, dict):
        raise _bad("probe must be an object with face, fingers and/or finger_templates", "probe")
    unknown = sorted(set(value) - _PROBE_FIELDS)
    if unknown:
        raise _bad(f"probe: unknown field(s) {', '.join(unknown)[:200]}", "probe")
    if value.get("ansi_nist") is not None:
        if set(value) != {"ansi_nist"}:
            raise _bad(
                "probe: an ANSI/NIST-ITL transaction carries all the samples; send nothing else", "probe"
            )
        return _nist_probe(_b64(value["ansi_nist"], "probe.ansi_nist"))
    face = _b64(value["face"], "probe.face") if value.get("face") is not None else None
    fingers = _positions(value.get("fingers", {}), "probe.fingers")
    templates = _positions(value.get("finger_templates", {}), "probe.finger_templates")
    both = sorted(set(fingers) & set(templates))
    if both:
        raise _bad(f"finger {', '.join(both)}: an image or a template, not both", "probe")
    return Probe(face, fingers, templates)


def _nist_probe(data: bytes) -> Probe:
    """The face and finger images of an ANSI/NIST-ITL 1-2011 transaction (Type-10 face, Type-4
    and Type-14 fingers; PAD-NIST- errors for a malformed file or an image padron cannot read)."""
    from padron.interchange import ansinist

    inputs = ansinist.sample_inputs(ansinist.decode(data))
    return Probe(face=inputs.face, fingers=dict(inputs.fingers), nist=data)


#: the Type-2 fields of an ANSI/NIST-ITL answer (user-defined: 2.003 and up)
NIST_FIELDS: Final = {"request": 3, "status": 4, "rung": 5, "hit": 6, "references": 7, "attributes": 8}


def nist_answer(request: bytes, request_id: str, registry: str, result: Mapping[str, Any], rung: int) -> str:
    """The answer as an ANSI/NIST-ITL 1-2011 transaction answering ``request`` (base64): a
    Type-1 addressed to the request's originator with 1.010 TCR its TCN, and a Type-2 record
    with the request id, the status, the rung, hit / match, the references and (ASCII) core
    attributes as ``name=value`` subfields."""
    from padron.interchange import ansinist

    tx = ansinist.decode(request)
    fields: dict[int, Any] = {
        NIST_FIELDS["request"]: request_id,
        NIST_FIELDS["status"]: "answered",
        NIST_FIELDS["rung"]: str(rung),
        NIST_FIELDS["hit"]: "Y" if result.get("hit") or result.get("match") else "N",
    }
    references = [str(r) for r in result.get("references", [])]
    if references:
        fields[NIST_FIELDS["references"]] = [[r] for r in references]
    persons = list(result.get("persons", [])) + ([result["person"]] if result.get("person") else [])
    pairs = [f"{k}={v}" for person in persons for k, v in sorted(person.items()) if str(v).isascii()]
    if pairs:
        fields[NIST_FIELDS["attributes"]] = [[p] for p in pairs]
    reply = ansinist.reply_to(
        tx,
        type_of_transaction="SRE",
        control_number=request_id[:40],
        records=[ansinist.text_record(fields)],
        originating_agency=registry.upper().replace("-", "")[:35] or None,
    )
    return base64.b64encode(ansinist.encode(reply)).decode("ascii")


def _cargo(value: object) -> str | None:
    if value is None:
        return None
    from padron.sharing.customs import CustomsRecordError, cargo_reference

    try:
        return cargo_reference(value)
    except CustomsRecordError as error:
        raise _bad(error.message, "cargo") from None


def _text(value: Mapping[str, Any], name: str, *, required: bool = True, limit: int = 200) -> str | None:
    item = value.get(name)
    if item is None:
        if required:
            raise _bad(f"the request needs {name}", name)
        return None
    if not isinstance(item, str) or not item.strip() or len(item) > limit or not item.isprintable():
        raise _bad(f"{name} must be printable text of 1-{limit} characters", name)
    return item.strip()


def _integer(value: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    item = value.get(name, default)
    if isinstance(item, bool) or not isinstance(item, int) or not low <= item <= high:
        raise _bad(f"{name} must be an integer {low}-{high}", name)
    return item


def parse_ask(body: bytes) -> Ask:
    """A partner request from its JSON body (GatewayRequestError naming the field)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("the request body is not UTF-8 JSON", "body") from None
    value = loads_strict(text, what="the partner request", max_depth=8, error=GatewayRequestError)
    if not isinstance(value, dict):
        raise _bad("the request body must be a JSON object", "body")
    unknown = sorted(set(value) - _ASK_FIELDS)
    if unknown:
        raise _bad(f"unknown field(s) {', '.join(unknown)[:200]}", "body")
    try:
        operation = Operation(str(value.get("operation")))
    except ValueError:
        allowed = ", ".join(o.value for o in Operation)
        raise _bad(f"operation must be one of {allowed}", "operation") from None
    purpose = _text(value, "purpose")
    assert purpose is not None
    check_identifier(purpose, "purpose", GatewayRequestError)
    case_ref = _text(value, "case_ref")
    assert case_ref is not None
    raw = value.get("raw_biometrics", False)
    if not isinstance(raw, bool):
        raise _bad("raw_biometrics must be true or false", "raw_biometrics")
    ask = Ask(
        operation=operation,
        purpose=purpose,
        rung=Rung(_integer(value, "rung", 0, 0, 2)),
        case_ref=case_ref,
        candidates=_integer(value, "candidates", 1, 1, 50),
        reference=_text(value, "reference", required=False, limit=80),
        curp=_text(value, "curp", required=False, limit=18),
        probe=_probe(value.get("probe")),
        raw_biometrics=raw,
        log_size=_integer(value, "log_size", 0, 0, 2**31) if value.get("log_size") is not None else None,
        cargo=_cargo(value.get("cargo")),
    )
    if operation is Operation.IDENTIFY and ask.probe.empty:
        raise _bad("identify needs a probe (a face, finger images or finger templates)", "probe")
    if operation is Operation.VERIFY and (ask.probe.empty or (ask.reference is None) == (ask.curp is None)):
        raise _bad("verify needs a probe and exactly one of reference or curp", "reference")
    if operation is Operation.DISCLOSE and ask.reference is None:
        raise _bad("disclose needs the reference of an earlier answer", "reference")
    if operation is Operation.CUSTOMS and (ask.cargo is None or not ask.probe.empty):
        raise _bad("customs needs a cargo reference (and no biometric probe)", "cargo")
    if operation is not Operation.CUSTOMS and ask.cargo is not None:
        raise _bad("a cargo reference is for the customs operation only", "cargo")
    return ask


def cosigned_note(body: bytes) -> str:
    """The checkpoint note of a partner's cosignature request ({"checkpoint": <signed note>})."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("the body is not UTF-8 JSON", "body") from None
    value = loads_strict(text, what="the cosignature", max_depth=4, error=GatewayRequestError)
    if (
        not isinstance(value, dict)
        or set(value) != {"checkpoint"}
        or not isinstance(value["checkpoint"], str)
    ):
        raise _bad('the body must be {"checkpoint": "<signed note>"}', "checkpoint")
    if len(value["checkpoint"]) > 65_536:
        raise _bad("the checkpoint note is too long", "checkpoint")
    return str(value["checkpoint"])


# --- decisions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reasons: tuple[str, ...]
    rung: Rung | None = None
    candidates: int = 1
    withheld: tuple[str, ...] = ()
    stored: StoredAgreement | None = None

    @property
    def agreement(self) -> Agreement | None:
        return self.stored.agreement if self.stored is not None else None


_ORDER: Final = {Verdict.ALLOW: 0, Verdict.PENDING: 1, Verdict.DENY: 2}


def decide(
    ask: Ask,
    in_force: Sequence[tuple[StoredAgreement, CompiledPolicy]],
    partner: str,
    day: date,
    used_today: int,
    approvals: int = 0,
) -> Decision:
    """The best decision any agreement in force gives: allow before pending before deny; a rung
    above the agreed one is lowered to the agreed one, more candidates cut to the agreed
    number, and what was withheld says so."""
    if not in_force:
        return Decision(Verdict.DENY, ("no-agreement-in-force",))
    best: Decision | None = None
    for stored, policy in in_force:
        terms = stored.agreement.operations.get(ask.operation)
        withheld: list[str] = []
        candidates = ask.candidates
        if terms is not None and candidates > terms.candidates:
            candidates = terms.candidates
            withheld.append(f"{ask.operation.value}-too-many-candidates")
        rung = ask.rung
        while True:
            request = PartnerRequest(
                partner=partner,
                operation=ask.operation,
                purpose=ask.purpose,
                rung=rung,
                day=day,
                candidates=candidates,
                raw_biometrics=ask.raw_biometrics,
            )
            result = evaluate(policy, request, Usage(used_today=used_today, approvals=approvals))
            lowerable = result.verdict is Verdict.DENY and all(
                r.endswith("-rung-above-agreed") or r.endswith(APPROVAL_REQUIRED) for r in result.reasons
            )
            if not lowerable or rung == Rung.HIT:
                break
            rung = Rung(rung - 1)
            if f"{ask.operation.value}-rung-above-agreed" not in withheld:
                withheld.append(f"{ask.operation.value}-rung-above-agreed")
        decision = Decision(
            verdict=result.verdict,
            reasons=result.reasons,
            rung=rung if result.verdict is not Verdict.DENY else None,
            candidates=candidates,
            withheld=tuple(withheld) if result.verdict is not Verdict.DENY else (),
            stored=stored,
        )
        if best is None or _ORDER[decision.verdict] < _ORDER[best.verdict]:
            best = decision
    assert best is not None
    return best


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

        decision = self.registry.transact(register)
        if decision.verdict is Verdict.ALLOW:
            self._answer_now(request_id, ask, decision, embargo=None)
        return self.answer(partner, request_id, ask.log_size)

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
        result, persons, extra_withheld = self._run(partner, ask, decision, ctx)
        if ask.probe.nist is not None:  # asked in ANSI/NIST-ITL: answered the same way too
            result["ansi_nist"] = nist_answer(
                ask.probe.nist, request_id, self.me.id, result, int(decision.rung)
            )
        now = self._clock()

        def store(session: Session) -> Answer:
            row = session.get(GatewayRequestRow, request_id)
            assert row is not None
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

    def _run(
        self, partner: str, ask: Ask, decision: Decision, ctx: AccessContext
    ) -> tuple[dict[str, Any], list[int], list[str]]:
        """The result of an allowed request, the persons it concerns, and what was withheld."""
        assert decision.rung is not None and decision.stored is not None
        rung = decision.rung
        terms = decision.stored.agreement.operations[ask.operation]
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
            return _answer_from_json(value)
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


def _answer_from_json(value: Mapping[str, Any]) -> Answer:
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
