"""``/v1/adjudication/cases``: the grey-zone duplicates waiting for a human decision.

Adjudicators see each case whole (both records, the scores per slot, the thresholds) and
decide it; auditors may read the queue and the cases. Listing or reading a case discloses both
people's records, so each case shown is recorded in the audit log.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Path, Query, Response

from padron.api.schemas import PROTECTED, WITH_BODY, problem_responses
from padron.api.schemas_biometrics import CaseDecision, CaseImagesPublic, CasePage, CasePublic, case_summary
from padron.api.security import authenticated
from padron.api.state import identity
from padron.domain.access import AccessContext
from padron.domain.errors import ErrorCategory, PadronError
from padron.registry.identity import IdentityService

Context = Annotated[AccessContext, Depends(authenticated)]
Identity = Annotated[IdentityService, Depends(identity)]
CaseId = Annotated[int, Path(ge=1, le=2**53 - 1, description="The case number.")]
Side = Annotated[Literal["applicant", "candidate"], Path(description="Whose image.")]
Slot = Annotated[
    Literal["face", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"],
    Path(description="face, or a finger position 1-10."),
]


class CaseImageNotFoundError(PadronError):
    code = "PAD-ADJ-003"
    category = ErrorCategory.NOT_FOUND
    summary = "The side of the adjudication case has no image for this slot."


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

    @router.get(
        "/v1/adjudication/cases/{case_id}/images",
        name="list_case_images",
        summary="Which images each side of a case has (slots, media types, sizes)",
        description="Listing the images opens them from the vault: recorded as a disclosure of "
        "both sides' raw biometrics.",
        responses=problem_responses(*PROTECTED, 404, 422),
    )
    def list_case_images(case_id: CaseId, ctx: Context, service: Identity) -> CaseImagesPublic:
        return CaseImagesPublic.of(service.case_images(case_id, ctx))

    @router.get(
        "/v1/adjudication/cases/{case_id}/images/{side}/{slot}",
        name="get_case_image",
        summary="One image of a case, as it was submitted (for the side-by-side view)",
        response_class=Response,
        responses={
            200: {"content": {"image/*": {}}, "description": "The image bytes, in their media type."},
            **problem_responses(*PROTECTED, 404, 422),
        },
    )
    def get_case_image(case_id: CaseId, side: Side, slot: Slot, ctx: Context, service: Identity) -> Response:
        images = service.case_images(case_id, ctx, side=side, slot=slot).sides()[side]
        if slot not in images:
            raise CaseImageNotFoundError(
                f"the {side} of case {case_id} has no {slot} image (its images: "
                f"{', '.join(sorted(images)) or 'none'})",
                case=case_id,
                side=side,
                slot=slot,
            )
        image = images[slot]
        headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
        return Response(image.data, media_type=image.media_type, headers=headers)
