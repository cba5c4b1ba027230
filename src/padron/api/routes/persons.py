"""``/v1/persons``: read, enroll (demographics only), correct and merge persons.

Each route builds nothing itself: the access context comes from the key, the work from one
Registry use case, the answer from a Public schema. Registry calls are synchronous SQLAlchemy,
so the routes are ``def`` (FastAPI runs them in its thread pool).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request, Response

from padron.api.schemas import (
    PROTECTED,
    WITH_BODY,
    HistoryEntryPublic,
    MergeRequest,
    PersonCreate,
    PersonHistory,
    PersonPublic,
    PersonUpdate,
    problem_responses,
)
from padron.api.security import authenticated
from padron.api.state import registry
from padron.domain.access import AccessContext
from padron.registry.service import Registry

Context = Annotated[AccessContext, Depends(authenticated)]
Persons = Annotated[Registry, Depends(registry)]


def add_routes(app: FastAPI) -> None:
    """Add the routes to ``app`` directly, with their full paths (the route table checked
    against padron.api.roles is the application's own; bodies are parsed by the app's
    route class, padron.api.bodies.StrictJsonRoute)."""
    router = app.router

    @router.get(
        "/v1/persons/{curp}",
        name="get_person",
        summary="A person by current or former CURP",
        responses=problem_responses(*PROTECTED, 404, 422),
    )
    def get_person(curp: str, ctx: Context, persons: Persons) -> PersonPublic:
        return PersonPublic.of(persons.get(curp, ctx))

    @router.get(
        "/v1/persons/{curp}/history",
        name="get_person_history",
        summary="Every change to a person, oldest first",
        responses=problem_responses(*PROTECTED, 404, 422),
    )
    def get_person_history(curp: str, ctx: Context, persons: Persons) -> PersonHistory:
        entries = persons.history(curp, ctx)
        # the newest entry names the CURP the person holds now (one read, no race with a correction)
        return PersonHistory(curp=entries[-1].curp, entries=[HistoryEntryPublic.of(e) for e in entries])

    @router.post(
        "/v1/persons",
        name="create_person",
        status_code=201,
        summary="Enroll a person from demographics (no biometrics) and issue a CURP",
        responses=problem_responses(*PROTECTED, *WITH_BODY, 409),
    )
    def create_person(
        body: PersonCreate, ctx: Context, persons: Persons, request: Request, response: Response
    ) -> PersonPublic:
        person = persons.enroll(body.to_draft(), ctx, reason=body.reason)
        response.headers["Location"] = str(request.app.url_path_for("get_person", curp=person.curp))
        return PersonPublic.of(person)

    @router.patch(
        "/v1/persons/{curp}",
        name="update_person",
        summary="Correct a person's data and/or change their status",
        description="A change to a field the CURP derives from issues a new CURP; the old one still "
        "finds the person.",
        responses=problem_responses(*PROTECTED, *WITH_BODY, 404, 409),
    )
    def update_person(curp: str, body: PersonUpdate, ctx: Context, persons: Persons) -> PersonPublic:
        person = persons.update(
            curp,
            body.changes(),
            ctx,
            status=body.status,
            expected_version=body.expected_version,
            reason=body.reason,
        )
        return PersonPublic.of(person)

    @router.post(
        "/v1/persons/{curp}/merge",
        name="merge_person",
        summary="Record that a person is a duplicate of another identity",
        responses=problem_responses(*PROTECTED, *WITH_BODY, 404, 409),
    )
    def merge_person(curp: str, body: MergeRequest, ctx: Context, persons: Persons) -> PersonPublic:
        return PersonPublic.of(persons.merge(curp, body.into, ctx, reason=body.reason))
