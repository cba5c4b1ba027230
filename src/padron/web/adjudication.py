"""The adjudication pages: the queue of grey-zone cases, one case side by side (faces, each
finger pair with its score and its minutiae drawn over the image, the demographic differences
highlighted) and the same / different decision with its reason.

Every page calls the biometric service's adjudication use cases (the ones behind
``/v1/adjudication``) with the console's access context, so each case shown, each image opened
and each decision lands in the audit log as over the API.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from padron.api.problems import RequestFieldError
from padron.api.routes.adjudication import CaseImageNotFoundError
from padron.api.security import ConsoleCall, console_authenticated
from padron.api.state import services
from padron.domain.errors import PadronError
from padron.web.console import form_fields
from padron.web.images import as_png
from padron.web.pages import render, with_headers

Console = Annotated[ConsoleCall, Depends(console_authenticated)]
CaseId = Annotated[int, Path(ge=1, le=2**53 - 1)]
Side = Annotated[Literal["applicant", "candidate"], Path()]
Slot = Annotated[Literal["face", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"], Path()]

#: the demographic fields compared side by side
FIELDS = ("given_names", "first_surname", "second_surname", "birth_date", "sex", "birth_state", "nationality")
SLOTS = ("face", *(str(i) for i in range(1, 11)))


def age_text(opened: datetime, now: datetime) -> str:
    seconds = max(0, int((now - opened).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days} d {hours} h" if days else f"{hours} h {rest // 60} min"


def _value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return str(getattr(value, "value", value.isoformat() if hasattr(value, "isoformat") else value))


def case_view(request: Request, call: ConsoleCall, case_id: int) -> dict[str, Any]:
    svc = services(request)
    identity = svc.identity.get()
    case = identity.case(case_id, call.ctx)
    images = identity.case_images(case_id, call.ctx)
    candidate: dict[str, Any] = {}
    if case.candidate_curp:
        person = svc.registry.get(case.candidate_curp, call.ctx)
        candidate = {f: getattr(person, f, None) for f in FIELDS}
    rows = []
    for field in FIELDS:
        mine, theirs = _value(case.applicant.get(field)), _value(candidate.get(field))
        rows.append(
            {
                "field": field,
                "applicant": mine,
                "candidate": theirs,
                "differs": bool(candidate) and mine != theirs,
            }
        )
    match = case.evidence.get("match", {})
    scores, llrs = match.get("slot_scores", {}), match.get("slot_llrs", {})
    sides = images.sides()
    slots = []
    for slot in SLOTS:
        if slot not in scores and slot not in sides["applicant"] and slot not in sides["candidate"]:
            continue
        slots.append(
            {
                "slot": slot,
                "score": scores.get(slot),
                "llr": llrs.get(slot),
                "applicant": slot in sides["applicant"],
                "candidate": slot in sides["candidate"],
            }
        )
    return {
        "case": case,
        "rows": rows,
        "slots": slots,
        "thresholds": {
            name: f"{value:.2f}" if isinstance(value, float) and not value.is_integer() else f"{value:g}"
            for name, value in case.evidence.get("thresholds", {}).items()
        },
        "age": age_text(case.opened_at, datetime.now(UTC)),
    }


def add_routes(app: FastAPI) -> None:
    router = app.router

    @router.get("/console/adjudication", include_in_schema=False)
    def console_adjudication_queue(request: Request, call: Console) -> Response:
        identity = services(request).identity.get()
        cases = identity.cases(call.ctx, status="open", limit=100)
        now = datetime.now(UTC)
        return render(
            request,
            "adjudication_queue.html",
            call,
            cases=[(c, age_text(c.opened_at, now)) for c in cases],
            total=identity.case_count(status="open"),
            decided=request.query_params.get("decided"),
        )

    @router.get("/console/adjudication/{case_id}", include_in_schema=False)
    def console_adjudication_case(request: Request, case_id: CaseId, call: Console) -> Response:
        return render(request, "adjudication_case.html", call, **case_view(request, call, case_id))

    @router.get("/console/adjudication/{case_id}/images/{side}/{slot}", include_in_schema=False)
    def console_case_image(
        request: Request, case_id: CaseId, side: Side, slot: Slot, call: Console
    ) -> Response:
        identity = services(request).identity.get()
        images = identity.case_images(case_id, call.ctx, side=side, slot=slot).sides()[side]
        if slot not in images:
            raise CaseImageNotFoundError(
                f"the {side} of case {case_id} has no {slot} image", case=case_id, side=side, slot=slot
            )
        minutiae = None
        if slot != "face":
            minutiae = identity.case_minutiae(case_id, call.ctx, side=side, slot=slot)
        try:
            png = as_png(images[slot].data, minutiae=minutiae)
        except PadronError:
            raise
        except Exception as error:  # the image was checked at enrollment: a bug if it fails now
            raise CaseImageNotFoundError(
                f"the {side}'s {slot} image of case {case_id} cannot be shown: {type(error).__name__}"
            ) from None
        response = Response(png, media_type="image/png")
        with_headers(response, request)
        return response

    @router.post("/console/adjudication/{case_id}/decision", include_in_schema=False)
    async def console_decide_case(request: Request, case_id: CaseId, call: Console) -> Response:
        fields = await form_fields(request)
        decision, reason = fields.get("decision"), fields.get("reason", "").strip()
        missing = [
            name
            for name, ok in (("decision", decision in ("same", "different")), ("reason", reason))
            if not ok
        ]
        if missing:
            raise RequestFieldError(
                "a decision needs same or different and its reason: " + ", ".join(missing), fields=missing
            )
        identity = services(request).identity.get()
        await run_in_threadpool(
            lambda: identity.decide(case_id, call.ctx, same=decision == "same", reason=reason)
        )
        return with_headers(
            RedirectResponse(f"/console/adjudication?decided={case_id}", status_code=303), request
        )
