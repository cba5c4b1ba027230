"""``/v1/enrollments``, ``/v1/verifications``, ``/v1/identifications``: the biometric use cases.

Each takes a ``multipart/form-data`` upload (:mod:`padron.api.uploads`: a face image, finger
images ``finger_N`` and/or ISO/IEC 19794-2 minutiae records ``finger_template_N``, parsed in
memory, never spooled to disk) besides its text fields, and answers only what its role may
know (:mod:`padron.api.schemas_biometrics`). Templates are extracted and searched in the thread
pool (CPU-bound work off the event loop).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Final

from fastapi import Depends, FastAPI, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from padron.api.bodies import parse_json_body
from padron.api.problems import RequestFieldError, validation_error
from padron.api.schemas import PROTECTED, WITH_BODY, PersonCreate, problem_responses
from padron.api.schemas_biometrics import (
    CandidatePublic,
    EnrollmentPublic,
    IdentificationPublic,
    VerificationPublic,
)
from padron.api.security import authenticated
from padron.api.state import Samples, Services, services
from padron.api.uploads import Upload, UploadForm, read_upload
from padron.domain.access import AccessContext
from padron.domain.errors import ErrorCategory, PadronError

Context = Annotated[AccessContext, Depends(authenticated)]

ENROLLMENT_FORM: Final = UploadForm(text=frozenset({"person"}), required=frozenset({"person"}))
VERIFICATION_FORM: Final = UploadForm(text=frozenset({"curp"}), required=frozenset({"curp"}))
IDENTIFICATION_FORM: Final = UploadForm(
    text=frozenset({"case_ref", "legal_basis", "top"}), required=frozenset({"case_ref"})
)
#: the most candidates one identification returns
MAX_TOP: Final = 50

#: the routes that take uploads (their body limit is padron.api.uploads.MAX_UPLOAD_BYTES)
UPLOAD_PATHS: Final = (
    "/v1/enrollments",
    "/v1/verifications",
    "/v1/identifications",
    "/v1/residents/accesses",
)

_PERSON_FIELD = (
    "The person's demographics as JSON: the fields of POST /v1/persons (given_names, "
    "first_surname, second_surname, birth_date, sex, birth_state, nationality, reason)."
)
#: what any upload endpoint can answer besides its own outcomes
UPLOAD_PROBLEMS: Final = (*PROTECTED, *WITH_BODY)


def read_enrollment_samples(svc: Services, upload: Upload, ctx: AccessContext) -> Samples:
    """An enrollment's samples under the enrollment floors; samples refused (quality, an
    unreadable image) are a failure to enroll, recorded for the failure-to-enroll rate."""
    try:
        return svc.samples(upload, True)
    except PadronError as error:
        if error.category is ErrorCategory.INVALID:
            svc.identity.get().record_enrollment_failure(ctx, error)
        raise


def person_field(text: str) -> PersonCreate:
    """The ``person`` field of an enrollment: strict JSON (PAD-API-003), then the schema of
    POST /v1/persons (PAD-API-001 naming ``person.<field>``)."""
    value = parse_json_body(text.encode("utf-8"))
    try:
        return PersonCreate.model_validate(value)
    except ValidationError as error:
        errors = [{**e, "loc": ("body", "person", *e.get("loc", ()))} for e in error.errors()]
        raise validation_error(errors) from None


def top_field(text: str | None) -> int:
    if text is None:
        return 10
    try:
        top = int(text.strip())
    except ValueError:
        raise RequestFieldError(
            f"top must be an integer 1-{MAX_TOP}, not {text[:20]!r}", fields=["top"]
        ) from None
    if not 1 <= top <= MAX_TOP:
        raise RequestFieldError(f"top must be 1-{MAX_TOP}, not {top}", fields=["top"])
    return top


def add_routes(app: FastAPI) -> None:
    router = app.router

    @router.post(
        "/v1/enrollments",
        name="create_enrollment",
        status_code=201,
        summary="Enroll a person with biometrics: de-duplicated 1:N before a CURP is issued",
        description="201: a CURP is issued (Location names the person). 200: refused, the person "
        "is already enrolled as `duplicate_of`. 202: sent to adjudication (`cases`). The answer "
        "carries no score and no other person's data besides the CURP of a duplicate.",
        openapi_extra=ENROLLMENT_FORM.openapi({"person": _PERSON_FIELD}),
        responses={
            200: {"model": EnrollmentPublic, "description": "Refused: already enrolled."},
            202: {"model": EnrollmentPublic, "description": "Pending adjudication."},
            **problem_responses(*UPLOAD_PROBLEMS, 409),
        },
    )
    async def create_enrollment(request: Request, response: Response, ctx: Context) -> EnrollmentPublic:
        upload = await read_upload(request, ENROLLMENT_FORM)
        person = person_field(upload.text["person"])
        draft = person.to_draft()  # the registry's rules, before any extraction
        upload.require_samples()
        svc = services(request)

        def work() -> Any:
            samples = read_enrollment_samples(svc, upload, ctx)
            return svc.identity.get().enroll(
                draft, samples.templates, ctx, reason=person.reason, images=samples.images
            )

        result = await run_in_threadpool(work)
        response.status_code = {"issued": 201, "pending": 202}.get(result.status, 200)
        if result.person is not None:
            response.headers["Location"] = str(
                request.app.url_path_for("get_person", curp=result.person.curp)
            )
        return EnrollmentPublic.of(result)

    @router.post(
        "/v1/verifications",
        name="create_verification",
        status_code=200,
        summary="1:1: do the samples belong to the holder of the CURP?",
        description="Answers match or no match and nothing else (no score, no threshold, no "
        "per-finger result). A revoked, deceased, suspended or merged CURP is refused (409 "
        "PAD-VER-002), never a match.",
        openapi_extra=VERIFICATION_FORM.openapi({"curp": "The claimed identity."}),
        responses=problem_responses(*UPLOAD_PROBLEMS, 404, 409),
    )
    async def create_verification(request: Request, ctx: Context) -> VerificationPublic:
        upload = await read_upload(request, VERIFICATION_FORM)
        upload.require_samples()
        svc = services(request)
        curp = upload.text["curp"].strip()

        def work() -> Any:
            samples = svc.samples(upload, False)
            return svc.identity.get().verify(curp, samples.templates, ctx)

        verification = await run_in_threadpool(work)
        return VerificationPublic(curp=verification.curp, match=verification.match)

    @router.post(
        "/v1/identifications",
        name="create_identification",
        status_code=200,
        summary="1:N for an investigation: the ranked identities the samples may belong to",
        description="Investigators only, with a case reference (`case_ref`: the warrant or case "
        "file) and optionally the legal basis; every candidate returned is recorded in that "
        "person's access history. Candidates are ranked, without scores.",
        openapi_extra=IDENTIFICATION_FORM.openapi(
            {
                "case_ref": "The case file or warrant the search serves (required).",
                "legal_basis": "The law or order that allows the search.",
                "top": f"The most candidates to return, 1-{MAX_TOP} (default 10).",
            }
        ),
        responses=problem_responses(*UPLOAD_PROBLEMS),
    )
    async def create_identification(request: Request, ctx: Context) -> IdentificationPublic:
        upload = await read_upload(request, IDENTIFICATION_FORM)
        top = top_field(upload.text.get("top"))
        search_ctx = dataclasses.replace(
            ctx, case_ref=upload.text["case_ref"], legal_basis=upload.text.get("legal_basis") or None
        )
        upload.require_samples()
        svc = services(request)

        def work() -> Any:
            samples = svc.samples(upload, False)
            return svc.identity.get().identify(samples.templates, search_ctx, top=top)

        found, _threshold = await run_in_threadpool(work)
        assert search_ctx.case_ref is not None
        return IdentificationPublic(
            case_ref=search_ctx.case_ref,
            candidates=[CandidatePublic(rank=rank, curp=c.curp) for rank, c in enumerate(found, start=1)],
        )
