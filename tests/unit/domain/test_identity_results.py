"""The biometric results' statuses are enums that read as their strings: equal to them, and plain
strings in every ``to_dict`` (the CLI's and the API's JSON)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from padron.domain.identity import Case, CaseDecision, CaseStatus, EnrollmentResult, EnrollmentStatus


def test_enrollment_status_reads_as_its_string() -> None:
    result = EnrollmentResult(EnrollmentStatus.PENDING, 4, cases=[1, 2])
    assert result.status == "pending"
    out = result.to_dict()
    assert type(out["status"]) is str
    assert json.loads(json.dumps(out))["status"] == "pending"
    assert {s.value for s in EnrollmentStatus} == {"issued", "refused", "pending"}


def test_case_status_and_decision_read_as_their_strings() -> None:
    at = datetime(2024, 1, 2, tzinfo=UTC)
    case = Case(
        id=1,
        attempt_id=2,
        candidate_ref="p:3",
        candidate_curp=None,
        fused_llr=7.5,
        status=CaseStatus.DECIDED,
        decision=CaseDecision.DIFFERENT,
        adjudicator="ana",
        reason="other person",
        opened_at=at,
        decided_at=at,
        evidence={},
        applicant={},
    )
    out = case.to_dict()
    assert (out["status"], out["decision"]) == ("decided", "different")
    assert type(out["status"]) is str and type(out["decision"]) is str
    assert case.status == "decided" and case.decision == "different"
    assert {s.value for s in CaseStatus} == {"open", "decided", "closed"}
