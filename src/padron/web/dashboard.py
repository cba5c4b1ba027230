"""The dashboard: enrollments per day, the duplicate and failure-to-enroll rates, the
adjudication backlog and its age, the score histograms of recent de-duplication searches and
the DET points of the calibrations in use (figures drawn on the server with matplotlib).
Counts and scores only, no personal data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from padron.api.security import ConsoleCall, console_authenticated
from padron.api.state import services
from padron.domain.template import Modality
from padron.registry.stats import enrollment_stats
from padron.web import charts
from padron.web.adjudication import age_text
from padron.web.i18n import translator
from padron.web.pages import page_language, render, with_headers

Console = Annotated[ConsoleCall, Depends(console_authenticated)]
Chart = Annotated[Literal["enrollments.png", "scores.png", "det.png"], Path()]


def _calibrations() -> dict[str, object]:
    from padron.matching.modalities import packaged_calibration

    out: dict[str, object] = {}
    for modality in (Modality.FACE, Modality.FINGERPRINT):
        try:
            calibration = packaged_calibration(modality)
        except (FileNotFoundError, KeyError):
            continue
        out[f"{modality.value}: {calibration.algorithm} ({calibration.dataset})"] = calibration
    return out


def add_routes(app: FastAPI) -> None:
    router = app.router

    @router.get("/console/dashboard", include_in_schema=False)
    def console_dashboard(request: Request, call: Console) -> Response:
        stats = enrollment_stats(services(request).registry)
        oldest = age_text(stats.oldest_open, datetime.now(UTC)) if stats.oldest_open else None
        return render(request, "dashboard.html", call, stats=stats, oldest=oldest)

    @router.get("/console/dashboard/{chart}", include_in_schema=False)
    async def console_dashboard_chart(request: Request, chart: Chart, call: Console) -> Response:
        t = translator(page_language(request))
        registry = services(request).registry

        def draw() -> bytes:
            if chart == "det.png":
                return charts.det_chart(_calibrations())
            stats = enrollment_stats(registry)
            labels = {
                **{outcome: t(f"dash.{outcome}") for outcome, _ in charts.OUTCOMES},
                "attempts": t("dash.attempts"),
                "face": t("enroll.face"),
                "fingerprint": t("enroll.finger"),
                "llr": t("adj.llr"),
            }
            if chart == "enrollments.png":
                return charts.enrollments_chart(stats, labels)
            return charts.scores_chart(stats, labels)

        png = await run_in_threadpool(draw)
        return with_headers(Response(png, media_type="image/png"), request)
