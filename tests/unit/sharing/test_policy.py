"""Agreements compiled to Cedar policies: every term refuses what it should, with its reason,
an approval still missing makes a request pending, and nothing outside an agreement is allowed."""

from __future__ import annotations

import base64
import dataclasses
from datetime import date
from typing import Any

import pytest

from padron.sharing.agreements import (
    Agreement,
    AgreementError,
    Approval,
    Operation,
    OperationTerms,
    Partner,
    PartnerError,
    Rung,
    Status,
)
from padron.sharing.policy import PartnerRequest, PolicyDecision, Usage, Verdict, compile_agreement, evaluate

KEY = base64.b64encode(bytes(range(32))).decode()
DHS = Partner("us-dhs", "Department of Homeland Security", "USA", "liaison@example.gov", KEY)
DAY = date(2027, 3, 1)


def agreement(**changes: object) -> Agreement:
    terms = {
        Operation.VERIFY: OperationTerms(max_rung=Rung.REFERENCE, daily_quota=100, approval=Approval.NONE),
        Operation.IDENTIFY: OperationTerms(
            max_rung=Rung.REFERENCE, candidates=10, daily_quota=20, approval=Approval.TWO_OFFICERS
        ),
        Operation.DISCLOSE: OperationTerms(
            max_rung=Rung.CORE_DATA,
            daily_quota=10,
            approval=Approval.ONE_OFFICER,
            attributes=frozenset({"curp", "birth_date"}),
        ),
    }
    base = Agreement(
        id="mx-us-2027",
        version=1,
        partner="us-dhs",
        title="Border security cooperation",
        legal_basis="Memorandum of understanding, art. 4",
        legal_reference="DOF 2027-01-15",
        valid_from=date(2027, 1, 1),
        valid_until=date(2027, 12, 31),
        purposes=frozenset({"border-control"}),
        operations=terms,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def ask(
    policy_agreement: Agreement | None = None, usage: Usage | None = None, **fields: Any
) -> PolicyDecision:
    request = PartnerRequest(
        **{
            "partner": "us-dhs",
            "operation": Operation.VERIFY,
            "purpose": "border-control",
            "rung": Rung.REFERENCE,
            "day": DAY,
            **fields,
        }
    )
    policy = compile_agreement(policy_agreement or agreement(), DHS)
    return evaluate(policy, request, usage or Usage())


def test_an_agreed_request_is_allowed_by_its_permit() -> None:
    decision = ask()
    assert decision.verdict is Verdict.ALLOW and decision.reasons == ("permit-verify",)
    assert (decision.agreement, decision.version) == ("mx-us-2027", 1)


@pytest.mark.parametrize(
    ("fields", "usage", "reasons"),
    [
        ({"day": date(2028, 1, 1)}, None, ("outside-validity",)),
        ({"purpose": "immigration-enforcement"}, None, ("purpose-not-agreed",)),
        ({"raw_biometrics": True}, None, ("raw-biometrics-never-leave",)),
        ({"rung": Rung.CORE_DATA}, None, ("verify-rung-above-agreed",)),
        (
            {"operation": Operation.IDENTIFY, "candidates": 11},
            Usage(approvals=2),
            ("identify-too-many-candidates",),
        ),
        ({}, Usage(used_today=100), ("verify-daily-quota-used",)),
        ({"operation": Operation.CUSTOMS}, None, ("operation-not-agreed",)),
        ({"purpose": "fishing", "day": date(2026, 1, 1)}, None, ("outside-validity", "purpose-not-agreed")),
    ],
    ids=["expired", "purpose", "raw", "rung", "candidates", "quota", "operation", "several"],
)
def test_each_term_refuses_with_its_reason(
    fields: dict[str, Any], usage: Usage | None, reasons: tuple[str, ...]
) -> None:
    decision = ask(usage=usage, **fields)
    assert decision.verdict is Verdict.DENY
    assert decision.reasons == reasons


def test_the_two_person_rule_makes_a_request_pending_until_two_officers_approve() -> None:
    identify: dict[str, Any] = {"operation": Operation.IDENTIFY, "candidates": 3}
    assert ask(**identify).verdict is Verdict.PENDING
    assert ask(**identify).reasons == ("identify-approval-required",)
    assert ask(usage=Usage(approvals=1), **identify).verdict is Verdict.PENDING
    assert ask(usage=Usage(approvals=2), **identify).verdict is Verdict.ALLOW
    # a hit / no-hit answer never waits for an officer
    assert ask(rung=Rung.HIT, **identify).verdict is Verdict.ALLOW
    # an approval does not lift another refusal
    over = ask(usage=Usage(approvals=2, used_today=20), **identify)
    assert over.verdict is Verdict.DENY and over.reasons == ("identify-daily-quota-used",)


def test_no_policy_means_no_agreement_in_force() -> None:
    request = PartnerRequest("us-dhs", Operation.VERIFY, "border-control", Rung.HIT, DAY)
    assert evaluate(None, request, Usage()).reasons == ("no-agreement-in-force",)
    other = compile_agreement(agreement(), DHS)
    stranger = dataclasses.replace(request, partner="gt-pnc")
    assert evaluate(other, stranger, Usage()).verdict is Verdict.DENY


def test_the_policy_text_is_cedar_an_officer_can_read_and_free_text_cannot_inject() -> None:
    hostile = agreement(title='x\n@id("evil")\npermit (principal, action, resource);\n//')
    policy = compile_agreement(hostile, DHS)
    assert "permit (principal, action, resource);" in policy.text  # only inside the comment line
    assert policy.text.splitlines()[0].startswith("// x @id")
    assert ask(hostile, operation=Operation.CUSTOMS).verdict is Verdict.DENY
    assert 'permit (principal == Partner::"us-dhs", action == Action::"verify", resource);' in policy.text
    assert "context.used_today < 100" in policy.text


def test_agreements_and_partners_are_checked_before_use() -> None:
    with pytest.raises(AgreementError, match="ends before it starts"):
        agreement(valid_until=date(2026, 1, 1))
    with pytest.raises(AgreementError, match="only core data"):
        OperationTerms(max_rung=Rung.CORE_DATA, attributes=frozenset({"fingerprints"}))
    with pytest.raises(AgreementError, match="only identify names several candidates"):
        agreement(operations={Operation.VERIFY: OperationTerms(max_rung=Rung.HIT, candidates=5)})
    with pytest.raises(AgreementError, match="purpose"):
        agreement(purposes=frozenset({'x" || true'}))
    with pytest.raises(PartnerError, match="alpha-3"):
        Partner("us-dhs", "DHS", "US", "c", KEY)
    with pytest.raises(PartnerError, match="32-byte"):
        Partner("us-dhs", "DHS", "USA", "c", "bm90IGEga2V5")
    assert not agreement(status=Status.SUSPENDED).in_force(DAY)
