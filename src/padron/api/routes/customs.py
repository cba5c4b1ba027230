"""The customs exchange over HTTP.

- ``/v1/customs/inspections``: customs officers (role ``customs``) record cargo inspections and
  search them by container, bill of lading or air waybill; auditors may read them.
- ``/v1/customs/imports``: a batch of inspections as CSV (``text/csv``) or JSON: every row
  checked, then all recorded in one transaction; any bad row and nothing is recorded (422 with
  every bad row's number, field and code in ``details.rows``).
- ``/v1/customs/pushes``: the queue of held and seized inspections for partners whose agreement
  pushes them, and sending it (``/send``).
- ``/v1/partner/customs/inspections``: a partner's signed push of its inspections, answered
  with a signed receipt.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from padron.api.problems import UnsupportedMediaTypeError
from padron.api.routes.gateway import PARTNER_PROBLEMS, signed_body
from padron.api.schemas import PROTECTED, WITH_BODY, problem_responses
from padron.api.schemas_customs import (
    CustomsReceiptPublic,
    ImportPublic,
    InspectionCreate,
    InspectionList,
    InspectionPublic,
    PushList,
    PushPublic,
    PushResultPublic,
    PushResults,
    PushSend,
)
from padron.api.security import PartnerCall, authenticated, signed_partner
from padron.api.state import services
from padron.domain.access import AccessContext
from padron.sharing import customs_import, customs_push
from padron.sharing.customs import Customs, inspection_from_json

Context = Annotated[AccessContext, Depends(authenticated)]
Partner = Annotated[PartnerCall, Depends(signed_partner)]

IMPORTS_PATH = "/v1/customs/imports"

_IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The inspections as CSV (a header row, list columns ';'-separated) or JSON "
        '({"inspections": [...]}); at most 2,000 rows and 4 MiB.',
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "inspections": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/InspectionCreate"},
                        }
                    },
                    "required": ["inspections"],
                }
            },
        },
    }
}


def _customs(request: Request) -> Customs:
    return Customs(services(request).registry)


def add_routes(app: FastAPI) -> None:
    router = app.router

    @router.post(
        "/v1/customs/inspections",
        name="record_inspection",
        status_code=201,
        summary="Record a cargo inspection (queued for partners whose agreement pushes held, seized cargo)",
        responses=problem_responses(*PROTECTED, *WITH_BODY),
    )
    def record_inspection(request: Request, body: InspectionCreate, ctx: Context) -> InspectionPublic:
        inspection = inspection_from_json(body.model_dump())
        return InspectionPublic.of(_customs(request).record(inspection, ctx))

    @router.get(
        "/v1/customs/inspections",
        name="list_inspections",
        summary="Cargo inspections, oldest first: of a container, bill of lading or air waybill",
        responses=problem_responses(*PROTECTED, 422),
    )
    def list_inspections(
        request: Request,
        ctx: Context,
        reference: Annotated[str | None, Query(max_length=60)] = None,
        outcome: Annotated[Literal["cleared", "held", "seized"] | None, Query()] = None,
        source: Annotated[
            Literal["ours", "received", "all"], Query(description="Ours, received from partners, or both.")
        ] = "ours",
        partner: Annotated[str | None, Query(max_length=63)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> InspectionList:
        received = {"ours": False, "received": True, "all": None}[source]
        found = _customs(request).inspections(
            reference, outcome=outcome, received=received, partner=partner, limit=limit
        )
        return InspectionList(inspections=[InspectionPublic.of(i) for i in found])

    @router.get(
        "/v1/customs/inspections/{inspection_id}",
        name="get_inspection",
        summary="One cargo inspection",
        responses=problem_responses(*PROTECTED, 404, 422),
    )
    def get_inspection(
        request: Request, inspection_id: Annotated[int, Path(ge=1, le=2**31 - 1)], ctx: Context
    ) -> InspectionPublic:
        return InspectionPublic.of(_customs(request).inspection(inspection_id))

    @router.post(
        IMPORTS_PATH,
        name="import_inspections",
        status_code=201,
        summary="Import inspections from CSV or JSON: all rows or none (422 lists every bad row)",
        responses=problem_responses(*PROTECTED, *WITH_BODY),
        response_model=ImportPublic,
        openapi_extra=_IMPORT_BODY,
    )
    async def import_inspections(request: Request, ctx: Context) -> ImportPublic:
        content_type = request.headers.get("content-type", "")
        media = content_type.split(";", 1)[0].strip().lower()
        if media not in ("text/csv", "application/json"):
            raise UnsupportedMediaTypeError(
                f"send the inspections as text/csv or application/json, not {media or 'untyped'}",
                content_type=content_type[:100],
            )
        data = await request.body()
        fmt = customs_import.format_of(media)
        imported = await run_in_threadpool(
            customs_import.import_inspections, _customs(request), data, fmt, ctx
        )
        return ImportPublic.model_validate(imported.to_json())

    @router.get(
        "/v1/customs/pushes",
        name="list_pushes",
        summary="The push queue: our held and seized inspections for partners whose agreement pushes them",
        responses=problem_responses(*PROTECTED, 422),
    )
    def list_pushes(
        request: Request,
        ctx: Context,
        status: Annotated[Literal["queued", "sent", "refused", "cancelled"] | None, Query()] = None,
        partner: Annotated[str | None, Query(max_length=63)] = None,
    ) -> PushList:
        found = customs_push.queue(services(request).registry, status=status, partner=partner)
        return PushList(pushes=[PushPublic.model_validate(q.to_json()) for q in found])

    @router.post(
        "/v1/customs/pushes/send",
        name="send_pushes",
        summary="Send the queued inspections to their partners (signed; each answers with a signed receipt)",
        responses=problem_responses(*PROTECTED, *WITH_BODY),
    )
    def send_pushes(request: Request, body: PushSend, ctx: Context) -> PushResults:
        state = services(request)
        gateway = state.require_gateway()
        results = customs_push.send_pushes(
            state.registry, gateway.me, ctx, partner=body.partner, connect=state.peer_http
        )
        return PushResults(results=[PushResultPublic.model_validate(r.to_json()) for r in results])

    @router.post(
        customs_push.PUSH_PATH,
        name="partner_customs_push",
        summary="A partner pushes its held and seized inspections (signed); answered with a signed receipt",
        description='The body is JSON {"inspections": [{"id": <its number>, ...the agreed attributes}], '
        '"agreement": {"id", "version"}, "log_size"} signed with RFC 9421 like every partner request. '
        "Accepted only under a customs agreement in force and only if every record checks (nothing is "
        "kept otherwise); the receipt is an entry of our exchange log with the partner and carries its "
        "checkpoint.",
        responses=problem_responses(*PARTNER_PROBLEMS, 415, 422),
        response_model=CustomsReceiptPublic,
    )
    async def partner_customs_push(request: Request, call: Partner) -> Response:
        gateway = services(request).require_gateway()
        receipt = await run_in_threadpool(customs_push.receive_push, gateway, call.signed, call.body)
        return signed_body(request, call, customs_push.receipt_body(receipt), 200)
