"""``/v1/adjudication/cases``: the grey-zone duplicates waiting for a human decision.

Adjudicators see each case whole (both records, the scores per slot, the thresholds) and
decide it; auditors may read the queue and the cases. Listing or reading a case discloses both
people's records, so each case shown is recorded in the audit log.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Path, Query

from padron.api.schemas import PROTECTED, WITH_BODY, problem_responses
from padron.api.schemas_biometrics import CaseDecision, CasePage, CasePublic, case_summary
from padron.api.security import authenticated
from padron.api.state import identity
from padron.domain.access import AccessContext
from padron.registry.identity import IdentityService

Context = Annotated[AccessContext, Depends(authenticated)]
Identity = Annotated[IdentityService, Depends(identity)]
CaseId = Annotated[int, Path(ge=1, le=2**53 - 1, description="The case number.")]

#: the most cases one page holds
MAX_PAGE = 200


def add_routes(app: FastAPI) -> None:
    router = app.router

    @router.get(
        "/v1/adjudication/cases",
        name="list_adjudication_cases",
        summary="The adjudication queue, oldest first, a page at a time",
        responses=problem_responses(*PROTECTED, 422),
    )
    def list_adjudication_cases(
        ctx: Context,
        service: Identity,
        status: Annotated[Literal["open", "decided", "closed", "all"], Query()] = "open",
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        offset: Annotated[int, Query(ge=0, le=2**53 - 1)] = 0,
    ) -> CasePage:
        wanted = None if status == "all" else status
        cases = service.cases(ctx, status=wanted, limit=limit, offset=offset)
        return CasePage(
            total=service.case_count(status=wanted), offset=offset, cases=[case_summary(c) for c in cases]
        )

    @router.get(
        "/v1/adjudication/cases/{case_id}",
        name="get_adjudication_case",
        summary="One case: both records and the evidence",
        responses=problem_responses(*PROTECTED, 404, 422),
    )
    def get_adjudication_case(case_id: CaseId, ctx: Context, service: Identity) -> CasePublic:
        return CasePublic.of(service.case(case_id, ctx))

    @router.post(
        "/v1/adjudication/cases/{case_id}/decision",
        name="decide_adjudication_case",
        summary="Decide a case: the applicant and the candidate are one person, or two",
        description="same: the attempt is merged into the candidate (no CURP). different: once "
        "every case of the attempt says different, its CURP is issued. A decided case is 409 "
        "PAD-ADJ-002.",
        responses=problem_responses(*PROTECTED, *WITH_BODY, 404, 409),
    )
    def decide_adjudication_case(
        case_id: CaseId, body: CaseDecision, ctx: Context, service: Identity
    ) -> CasePublic:
        return CasePublic.of(service.decide(case_id, ctx, same=body.same, reason=body.reason))
