"""The partner-request pages: pending requests with their agreement, purpose, the rung asked
for and exactly what an answer would disclose; an officer's approval or denial with the
two-person rule in view (the second approver must be another officer); the history and the
reciprocity report. The pages call the sharing gateway's officer use cases, as
``/v1/gateway/requests`` does."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from padron.api.problems import RequestFieldError
from padron.api.security import ConsoleCall, console_authenticated
from padron.api.state import services
from padron.domain.access import Role
from padron.sharing.gateway import RequestStatus, RequestView
from padron.web.console import form_fields
from padron.web.pages import render, with_headers

Console = Annotated[ConsoleCall, Depends(console_authenticated)]
RequestId = Annotated[str, Path(max_length=64)]

#: approvals each rule needs
NEEDED = {"none": 0, "one-officer": 1, "two-officers": 2}


def request_view(view: RequestView, call: ConsoleCall) -> dict[str, Any]:
    approvals = [a for a in view.approvals if a.get("decision") == "approve"]
    mine = any(a.get("actor") == call.session.actor for a in view.approvals)
    return {
        "r": view,
        "needed": NEEDED.get(view.approval or "", 0),
        "approved": len(approvals),
        "mine": mine,
        "can_decide": call.session.role is Role.OFFICER and view.status == RequestStatus.PENDING and not mine,
    }


def _reason(fields: dict[str, str]) -> str:
    reason = fields.get("reason", "").strip()
    if not reason:
        raise RequestFieldError("a decision on a partner's request needs its reason", fields=["reason"])
    return reason


def add_routes(app: FastAPI) -> None:
    router = app.router

    @router.get("/console/gateway", include_in_schema=False)
    def console_gateway(request: Request, call: Console) -> Response:
        gateway = services(request).require_gateway()
        pending = gateway.requests(status=RequestStatus.PENDING, limit=100)
        history = [v for v in gateway.requests(limit=100) if v.status != RequestStatus.PENDING]
        return render(
            request,
            "gateway.html",
            call,
            pending=[request_view(v, call) for v in pending],
            history=history,
            reciprocity=gateway.reciprocity(),
        )

    @router.get("/console/gateway/{request_id}", include_in_schema=False)
    def console_gateway_request(request: Request, request_id: RequestId, call: Console) -> Response:
        view = services(request).require_gateway().request(request_id)
        return render(request, "gateway_request.html", call, **request_view(view, call))

    @router.post("/console/gateway/{request_id}/approve", include_in_schema=False)
    async def console_approve(request: Request, request_id: RequestId, call: Console) -> Response:
        fields = await form_fields(request)
        reason = _reason(fields)
        embargo_text = fields.get("embargo_until", "").strip()
        try:
            embargo = date.fromisoformat(embargo_text) if embargo_text else None
        except ValueError:
            raise RequestFieldError(
                f"embargo_until must be a date YYYY-MM-DD, not {embargo_text[:20]!r}",
                fields=["embargo_until"],
            ) from None
        gateway = services(request).require_gateway()
        await run_in_threadpool(
            lambda: gateway.approve(request_id, call.ctx, reason=reason, embargo_until=embargo)
        )
        return with_headers(RedirectResponse(f"/console/gateway/{request_id}", status_code=303), request)

    @router.post("/console/gateway/{request_id}/deny", include_in_schema=False)
    async def console_deny(request: Request, request_id: RequestId, call: Console) -> Response:
        reason = _reason(await form_fields(request))
        gateway = services(request).require_gateway()
        await run_in_threadpool(lambda: gateway.deny(request_id, call.ctx, reason=reason))
        return with_headers(RedirectResponse(f"/console/gateway/{request_id}", status_code=303), request)
