"""The audit explorer and the dashboard on the API test application."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from padron.domain.access import Role
from padron.registry.service import Registry
from padron.registry.stats import enrollment_stats
from tests.api.conftest import auth, synthetic_image
from tests.api.test_biometrics import enroll, issued
from tests.web.conftest import log_in


def test_the_auditor_filters_entries_sees_the_verification_and_the_resident_view(console: TestClient) -> None:
    curp = issued(console, 0)
    assert console.get(f"/v1/persons/{curp}", headers=auth(Role.ADJUDICATOR)).status_code == 200
    log_in(console, Role.AUDITOR)
    page = console.get("/console/audit")
    assert page.status_code == 200 and 'id="log-status"' in page.text and "íntegro" in page.text
    by_person = console.get("/console/audit", params={"curp": curp})
    assert "enrollment.submit" in by_person.text and "person.read" in by_person.text
    by_purpose = console.get("/console/audit", params={"curp": curp, "purpose": "adjudication"})
    assert "person.read" in by_purpose.text and "enrollment.submit" not in by_purpose.text
    by_actor = console.get("/console/audit", params={"actor": "key:registrarid:registrar desk"})
    assert "enrollment.submit" in by_actor.text and "person.read</td>" not in by_actor.text
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    later = console.get("/console/audit", params={"since": tomorrow})
    assert "Sin entradas." in later.text
    assert console.get("/console/audit", params={"since": "ayer"}).status_code == 422
    assert console.get("/console/audit", params={"purpose": "curiosity"}).status_code == 422
    resident = console.get("/console/audit/resident", params={"curp": curp})
    assert (
        resident.status_code == 200
        and "adjudicator desk" in resident.text
        and "adjudication" in resident.text
    )
    # the auditor's own reads are in the log, with channel console
    again = console.get("/console/audit", params={"actor": "key:auditorid:auditor desk"})
    assert "audit.read" in again.text and "console" in again.text


def test_the_dashboard_shows_rates_backlog_and_server_drawn_figures(
    console: TestClient, sqlite_registry: Registry
) -> None:
    for i in range(4):
        issued(console, i)
    assert enroll(console, 0, given_names="Anita").json()["status"] == "refused"
    grey = {"face": ("face.png", synthetic_image(2, 9, cosine=0.86), "image/png")}
    assert enroll(console, 7, files=grey, given_names="Tomás").status_code == 202
    unreadable = {"face": ("face.png", b"not a synthetic image", "image/png")}
    assert enroll(console, 6, files=unreadable).status_code == 422  # a failure to enroll
    stats = enrollment_stats(sqlite_registry)
    assert (stats.issued, stats.refused, stats.pending, stats.failed, stats.open_cases) == (4, 1, 1, 1, 1)
    assert stats.duplicate_rate == 1 / 5 and stats.fte_rate == 1 / 7
    assert stats.days[-1].counts == {"issued": 4, "refused": 1, "pending": 1, "failed": 1}
    log_in(console, Role.ADMIN)
    page = console.get("/console/dashboard")
    assert page.status_code == 200
    assert '<div class="value" id="fig-dup">20.0 %</div>' in page.text
    assert '<div class="value" id="fig-fte">14.3 %</div>' in page.text
    assert '<div class="value" id="fig-backlog">1</div>' in page.text
    for chart in ("enrollments.png", "scores.png", "det.png"):
        image = console.get(f"/console/dashboard/{chart}")
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG"), chart
    assert console.get("/console/dashboard/other.png").status_code == 422
