"""Agreements as Cedar policies: compiled from the agreement's terms, stored with its version,
shown to officers, and evaluated with ``cedarpy`` for every partner request.

The policy of an agreement is one ``permit`` per allowed operation and one ``forbid`` per term
that can refuse a request (outside the validity period, a purpose not agreed, raw biometrics, a
rung above the agreed one, too many candidates, the day's quota used up, an approval still
missing). Each policy carries an ``@id`` naming its reason code, and the order of the policies is
kept beside the text, so Cedar's answer (which policies decided) becomes the reasons of the
decision: an answer "insofar as possible" says exactly which term withheld what. The request's
counters (requests today, officers who approved) come in as Cedar context.

A request that only lacks its approvals is *pending* (an officer must approve), not denied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Final

from padron.domain.errors import ErrorCategory, PadronError
from padron.sharing.agreements import Agreement, Operation, Partner, Rung, Status

#: the reason when no permit applies (the operation is not in any agreement in force)
NOT_AGREED: Final = "operation-not-agreed"
#: the reason when there is no agreement in force with the partner at all
NO_AGREEMENT: Final = "no-agreement-in-force"
APPROVAL_REQUIRED: Final = "approval-required"


class PolicyEngineError(PadronError):
    code = "PAD-SHARE-004"
    category = ErrorCategory.INTERNAL
    summary = "The Cedar policy engine could not evaluate an agreement's policy (a bug: see the log)."


class Verdict(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    PENDING = "pending"


@dataclass(frozen=True)
class PartnerRequest:
    """What the policy sees of a partner's request."""

    partner: str
    operation: Operation
    purpose: str
    rung: Rung
    day: date
    candidates: int = 1
    raw_biometrics: bool = False


@dataclass(frozen=True)
class Usage:
    """The counters a decision depends on."""

    #: this partner's requests of this operation today (UTC), before this one
    used_today: int = 0
    #: distinct officers who approved this request
    approvals: int = 0


@dataclass(frozen=True)
class PolicyDecision:
    verdict: Verdict
    #: reason codes: the permit that allowed it, or every term that refused it
    reasons: tuple[str, ...]
    agreement: str | None = None
    version: int | None = None


@dataclass(frozen=True)
class CompiledPolicy:
    agreement: str
    version: int
    partner: str
    #: the Cedar policy text (stored with the agreement's version, shown to officers)
    text: str
    #: the reason code of each policy, in the order of the text
    reasons: tuple[str, ...]


def _day(value: date) -> int:
    return value.year * 10_000 + value.month * 100 + value.day


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _string_set(values: Sequence[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in sorted(values)) + "]"


def compile_agreement(agreement: Agreement, partner: Partner) -> CompiledPolicy:
    """The Cedar policy of one agreement version (identifiers are checked by Agreement and
    Partner, so they are safe inside Cedar string literals)."""
    if agreement.partner != partner.id:
        raise ValueError(f"agreement {agreement.id} is with {agreement.partner}, not {partner.id}")
    principal = f'Partner::"{partner.id}"'
    first, last = _day(agreement.valid_from), _day(agreement.valid_until)
    purposes = _string_set(list(agreement.purposes))
    blocks: list[tuple[str, str]] = []

    def add(reason: str, policy: str) -> None:
        blocks.append((reason, f'@id("{reason}")\n{policy};'))

    for op in sorted(agreement.operations):
        action = f'Action::"{op.value}"'
        add(f"permit-{op.value}", f"permit (principal == {principal}, action == {action}, resource)")
    add(
        "outside-validity",
        "forbid (principal, action, resource)\n"
        f"  unless {{ context.day >= {first} && context.day <= {last} }}",
    )
    add(
        "purpose-not-agreed",
        f"forbid (principal, action, resource)\n  unless {{ {purposes}.contains(context.purpose) }}",
    )
    if not agreement.raw_biometrics:
        add(
            "raw-biometrics-never-leave",
            "forbid (principal, action, resource)\n  when { context.raw_biometrics }",
        )
    for op, terms in sorted(agreement.operations.items()):
        action = f'Action::"{op.value}"'
        scope = f"forbid (principal, action == {action}, resource)"
        add(f"{op.value}-rung-above-agreed", f"{scope}\n  unless {{ context.rung <= {int(terms.max_rung)} }}")
        add(
            f"{op.value}-too-many-candidates",
            f"{scope}\n  unless {{ context.candidates <= {terms.candidates} }}",
        )
        add(
            f"{op.value}-daily-quota-used",
            f"{scope}\n  unless {{ context.used_today < {terms.daily_quota} }}",
        )
        needed = terms.approval.approvers
        if needed:
            add(
                f"{op.value}-{APPROVAL_REQUIRED}",
                f"{scope}\n  when {{ context.rung > 0 && context.approvals < {needed} }}",
            )
    # free text goes into comments only, on one line each (a line break would end the comment)
    title, agency = _one_line(agreement.title), _one_line(partner.agency)
    basis, reference = _one_line(agreement.legal_basis), _one_line(agreement.legal_reference)
    header = (
        f"// {title} -- agreement {agreement.id}, version {agreement.version}, with {agency} "
        f"({partner.country})\n// legal basis: {basis} ({reference})\n"
    )
    for op, terms in sorted(agreement.operations.items()):
        if terms.push:  # not a partner's request: what this registry sends on its own, as agreed
            header += (
                f"// {op.value}: held and seized inspections are pushed to {partner.id} "
                f"({', '.join(sorted(terms.attributes))})\n"
            )
    text = header + "\n\n".join(block for _, block in blocks) + "\n"
    return CompiledPolicy(
        agreement=agreement.id,
        version=agreement.version,
        partner=partner.id,
        text=text,
        reasons=tuple(reason for reason, _ in blocks),
    )


def in_force(agreement: Agreement, partner: Partner, day: date) -> bool:
    return partner.status is Status.ACTIVE and agreement.in_force(day)


def evaluate(policy: CompiledPolicy | None, request: PartnerRequest, usage: Usage) -> PolicyDecision:
    """Allow, deny or pending, with the reasons. ``policy`` None: no agreement in force (a
    suspended one takes effect on the next request this way)."""
    if policy is None or policy.partner != request.partner:
        return PolicyDecision(Verdict.DENY, (NO_AGREEMENT,))
    import cedarpy

    cedar_request: dict[str, Any] = {
        "principal": f'Partner::"{request.partner}"',
        "action": f'Action::"{request.operation.value}"',
        "resource": 'Registry::"padron"',
        "context": {
            "purpose": request.purpose,
            "rung": int(request.rung),
            "day": _day(request.day),
            "candidates": request.candidates,
            "raw_biometrics": request.raw_biometrics,
            "used_today": usage.used_today,
            "approvals": usage.approvals,
        },
    }
    result = cedarpy.is_authorized(cedar_request, policy.text, [])
    if result.diagnostics.errors:
        errors = "; ".join(map(str, result.diagnostics.errors))
        raise PolicyEngineError(f"agreement {policy.agreement} v{policy.version}: {errors}")
    reasons = tuple(policy.reasons[int(pid.removeprefix("policy"))] for pid in result.diagnostics.reasons)
    if result.decision == cedarpy.Decision.Allow:
        verdict = Verdict.ALLOW
    elif not reasons:
        verdict, reasons = Verdict.DENY, (NOT_AGREED,)
    elif all(r.endswith(APPROVAL_REQUIRED) for r in reasons):
        verdict = Verdict.PENDING
    else:
        verdict = Verdict.DENY
    return PolicyDecision(verdict, tuple(sorted(reasons)), policy.agreement, policy.version)
