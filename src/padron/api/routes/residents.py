"""``/v1/residents/accesses``: a resident's own access history, after a biometric verification.

A resident at a kiosk or an office (the desk's key has the verifier role) gives their CURP and
a face or fingers; when the samples verify as theirs, they get every access to their record:
who, when, with which purpose and legal basis. Accesses under a lawful embargo are counted and
shown from their embargo date.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from padron.api.routes.biometrics import UPLOAD_PROBLEMS
from padron.api.schemas import problem_responses
from padron.api.schemas_biometrics import AccessHistoryPublic
from padron.api.security import authenticated
from padron.api.state import services
from padron.api.uploads import UploadForm, read_upload
from padron.domain.access import AccessContext
from padron.registry.residents import access_history

Context = Annotated[AccessContext, Depends(authenticated)]

RESIDENT_FORM = UploadForm(text=frozenset({"curp"}), required=frozenset({"curp"}))


def add_routes(app: FastAPI) -> None:
    router = app.router

    @router.post(
        "/v1/residents/accesses",
        name="resident_access_history",
        status_code=200,
        summary="A resident's access history: who looked at my record, when and why",
        description="The resident proves who they are with their CURP and a face or fingers; a "
        "sample that does not verify is 403 PAD-RES-001 and discloses nothing. Showing the "
        "history is itself recorded.",
        openapi_extra=RESIDENT_FORM.openapi({"curp": "The resident's CURP."}),
        responses=problem_responses(*UPLOAD_PROBLEMS, 404, 409),
    )
    async def resident_access_history(request: Request, ctx: Context) -> AccessHistoryPublic:
        upload = await read_upload(request, RESIDENT_FORM)
        upload.require_samples()
        svc = services(request)
        curp = upload.text["curp"].strip()

        def work() -> Any:
            samples = svc.samples(upload, False)
            return access_history(svc.identity.get(), curp, samples.templates, ctx)

        return AccessHistoryPublic.of(await run_in_threadpool(work))
