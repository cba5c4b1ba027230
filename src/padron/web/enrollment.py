"""The enrollment desk: the demographic form with a live CURP preview (and the rule that
failed), each sample's quality as soon as it is chosen (score, reasons, thumbnail), and the
outcome: a CURP issued, a duplicate refused with a link to the existing record, or the attempt
sent to adjudication.

The preview is the registry's own validation (``PersonCreate.to_draft`` and the CURP rules);
the quality check and the enrollment go through the application's sample reader and the
biometric service's ``enroll``, exactly as ``POST /v1/enrollments``. Uploads are parsed in
memory by :mod:`padron.api.uploads` (never spooled to disk). The desk's script sends the
session's CSRF token in ``X-CSRF-Token``.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Depends, FastAPI, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from padron.api.problems import validation_error
from padron.api.routes.biometrics import read_enrollment_samples
from padron.api.schemas import PersonCreate
from padron.api.security import ConsoleCall, console_authenticated
from padron.api.state import services
from padron.api.uploads import UploadForm, read_upload
from padron.domain.curp import build_curp
from padron.domain.errors import PadronError
from padron.domain.states import BORN_ABROAD, STATE_NAMES
from padron.web.console import form_fields
from padron.web.images import thumbnail_data_uri
from padron.web.pages import render, with_headers

Console = Annotated[ConsoleCall, Depends(console_authenticated)]

PERSON_FIELDS: Final = (
    "given_names",
    "first_surname",
    "second_surname",
    "birth_date",
    "sex",
    "birth_state",
    "nationality",
    "reason",
)
REQUIRED: Final = frozenset({"given_names", "first_surname", "birth_date", "sex", "birth_state"})
ENROLLMENT_FORM: Final = UploadForm(text=frozenset(PERSON_FIELDS), required=REQUIRED)
QUALITY_FORM: Final = UploadForm()
#: the desk's uploads (their body limit is padron.api.uploads.MAX_UPLOAD_BYTES)
UPLOAD_PATHS: Final = ("/console/enrollment", "/console/enrollment/quality")
FINGERS: Final = tuple(str(i) for i in range(1, 11))


def person_of(fields: dict[str, str]) -> PersonCreate:
    """The form's demographics as POST /v1/persons takes them (PAD-API-001 naming the fields)."""
    values: dict[str, Any] = {
        name: fields[name].strip() for name in PERSON_FIELDS if fields.get(name, "").strip()
    }
    values.setdefault("reason", "alta en mesa de enrolamiento")
    try:
        return PersonCreate.model_validate(values)
    except ValidationError as error:
        raise validation_error([{**e, "loc": ("body", *e.get("loc", ()))} for e in error.errors()]) from None


def _error(error: PadronError) -> dict[str, Any]:
    details = {k: v for k, v in error.details.items() if isinstance(v, str | int | float | list)}
    return {"code": error.code, "message": error.message, "title": error.summary, "details": details}


def preview(fields: dict[str, str]) -> dict[str, Any]:
    """The CURP the form's data gives (before the homonym differentiator is settled at issue),
    or the rule that refuses it."""
    try:
        draft = person_of(fields).to_draft()
    except PadronError as error:
        return {"curp": None, "error": _error(error)}
    return {"curp": build_curp(draft.data), "error": None}


def add_routes(app: FastAPI) -> None:
    router = app.router

    @router.get("/console/enrollment", include_in_schema=False)
    def console_enrollment(request: Request, call: Console) -> Response:
        states = sorted(STATE_NAMES.items(), key=lambda item: item[1])
        return render(request, "enrollment.html", call, states=[*states, (BORN_ABROAD, "—")], fingers=FINGERS)

    @router.post("/console/enrollment/preview", include_in_schema=False)
    async def console_enrollment_preview(request: Request, call: Console) -> Response:
        return with_headers(JSONResponse(preview(await form_fields(request))), request)

    @router.post("/console/enrollment/quality", include_in_schema=False)
    async def console_enrollment_quality(request: Request, call: Console) -> Response:
        upload = await read_upload(request, QUALITY_FORM)
        upload.require_samples()
        (slot, image), *_ = upload.images.items() or [("", b"")]
        svc = services(request)
        out: dict[str, Any] = {"slot": slot, "thumbnail": thumbnail_data_uri(image) if image else None}
        try:
            samples = await run_in_threadpool(svc.samples, upload, True)
        except PadronError as error:
            reasons = error.details.get("reasons")
            out.update(
                ok=False,
                quality=None,
                error=_error(error),
                reasons=reasons if isinstance(reasons, list) else [],
            )
            return with_headers(JSONResponse(out, status_code=200), request)
        template = next(iter(samples.templates.values()))
        out.update(ok=True, quality=template.quality, error=None, reasons=[])
        return with_headers(JSONResponse(out), request)

    @router.post("/console/enrollment", include_in_schema=False)
    async def console_enroll(request: Request, call: Console) -> Response:
        upload = await read_upload(request, ENROLLMENT_FORM)
        person = person_of(dict(upload.text))
        draft = person.to_draft()
        upload.require_samples()
        svc = services(request)

        def work() -> Any:
            samples = read_enrollment_samples(svc, upload, call.ctx)
            return svc.identity.get().enroll(
                draft, samples.templates, call.ctx, reason=person.reason, images=samples.images
            )

        result = await run_in_threadpool(work)
        body = {
            "status": result.status,
            "curp": result.person.curp if result.person else None,
            "duplicate_of": result.duplicate_of,
            "cases": list(result.cases),
        }
        status = {"issued": 201, "pending": 202}.get(str(result.status), 200)
        return with_headers(JSONResponse(body, status_code=status), request)

    @router.get("/console/persons/{curp}", include_in_schema=False)
    def console_person(
        request: Request, curp: Annotated[str, Path(max_length=40)], call: Console
    ) -> Response:
        person = services(request).registry.get(curp, call.ctx)
        return render(request, "person.html", call, person=person)
