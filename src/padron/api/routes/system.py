"""Operations: liveness, readiness, metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request, Response

from padron.api.metrics import CONTENT_TYPE
from padron.api.schemas import PROTECTED, Health, Readiness, problem_responses
from padron.api.security import authenticated
from padron.api.state import BiometricsUnavailableError, services
from padron.domain.access import AccessContext


def add_routes(app: FastAPI) -> None:
    router = app.router

    @router.get("/health", name="health", summary="Liveness: the process answers (no database)")
    async def health() -> Health:
        return Health()

    @router.get(
        "/ready",
        name="ready",
        summary="Readiness: the database is reachable, its schema current, the galleries loaded",
        description="503 PAD-API-008 while the biometric galleries load at start-up (or if they "
        "failed to load): a load balancer sends this worker no traffic until then.",
        responses=problem_responses(503),
    )
    def ready(request: Request) -> Readiness:
        svc = services(request)
        database = svc.registry.db
        database.require_current_schema()  # SchemaNotInitializedError / DatabaseUnavailableError: 503
        gallery = svc.identity.state
        if gallery == "failed":
            svc.identity.start()  # try again: the database may be ready now
        if gallery in ("loading", "failed"):
            raise BiometricsUnavailableError(
                "the biometric galleries are still loading"
                if gallery == "loading"
                else "the biometric galleries failed to load; see the server's log",
                gallery=gallery,
            )
        return Readiness(schema_revision=database.head_revision(), gallery=gallery)

    @router.get(
        "/metrics",
        name="metrics",
        summary="Request counts and latencies (Prometheus text format)",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE: {}}}, **problem_responses(*PROTECTED)},
    )
    def metrics(request: Request, ctx: Annotated[AccessContext, Depends(authenticated)]) -> Response:
        return Response(services(request).metrics.render(), media_type=CONTENT_TYPE)
