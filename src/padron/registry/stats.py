"""Figures for the console's dashboard: enrollments per day and what became of them, the
duplicate and failure-to-enroll rates, the adjudication backlog and its age, and the scores
the de-duplication searches saw. Counts and scores only: no personal data.

A failure to enroll is an enrollment whose samples were refused (quality under the enrollment
floor, an unreadable image): :meth:`padron.registry.identity.IdentityService.record_enrollment_failure`
records it in the audit log as ``enrollment.fail`` (nothing else is written for it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import func, select

from padron.registry.service import Registry
from padron.registry.storage.models import AdjudicationCaseRow, AuditEntryRow, EnrollmentAttemptRow

#: the most recent attempts whose search scores are shown
MAX_SCORED_ATTEMPTS: Final = 5000
FAILURE_ACTION: Final = "enrollment.fail"


@dataclass(frozen=True)
class DayCount:
    day: date
    #: attempts by status (issued, refused, pending, merged) and "failed" (refused samples)
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class EnrollmentStats:
    since: date
    days: list[DayCount]
    attempts: int
    issued: int
    refused: int
    merged: int
    pending: int
    failed: int
    open_cases: int
    oldest_open: datetime | None
    #: best fused LLR of each recent attempt that had a candidate
    best_llrs: list[float]
    #: per modality ("face", "fingerprint"): the raw scores of every candidate slot of recent attempts
    slot_scores: dict[str, list[float]]
    #: the de-duplication thresholds of the latest attempt (sure_llr, grey_llr)
    thresholds: dict[str, float]

    @property
    def duplicate_rate(self) -> float | None:
        """Attempts refused as duplicates or merged into an existing identity by an adjudicator."""
        decided = self.issued + self.refused + self.merged
        return (self.refused + self.merged) / decided if decided else None

    @property
    def fte_rate(self) -> float | None:
        tried = self.attempts + self.failed
        return self.failed / tried if tried else None


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def enrollment_stats(registry: Registry, *, days: int = 30, now: datetime | None = None) -> EnrollmentStats:
    now = now or datetime.now(UTC)
    since = (now - timedelta(days=days - 1)).date()
    start = datetime(since.year, since.month, since.day, tzinfo=UTC)
    per_day: dict[date, dict[str, int]] = {since + timedelta(days=i): {} for i in range(days)}
    with registry.db.read_session() as session:
        day_of = func.date(EnrollmentAttemptRow.submitted_at)
        for day, status, count in session.execute(
            select(day_of, EnrollmentAttemptRow.status, func.count())
            .where(EnrollmentAttemptRow.submitted_at >= start)
            .group_by(day_of, EnrollmentAttemptRow.status)
        ):
            per_day.setdefault(_day(day), {})[str(status)] = int(count)
        fail_day = func.date(AuditEntryRow.at)
        for day, count in session.execute(
            select(fail_day, func.count())
            .where(AuditEntryRow.action == FAILURE_ACTION, AuditEntryRow.at >= start)
            .group_by(fail_day)
        ):
            per_day.setdefault(_day(day), {})["failed"] = int(count)
        totals = dict(
            session.execute(
                select(EnrollmentAttemptRow.status, func.count())
                .where(EnrollmentAttemptRow.submitted_at >= start)
                .group_by(EnrollmentAttemptRow.status)
            ).all()
        )
        failed = int(
            session.scalar(
                select(func.count())
                .select_from(AuditEntryRow)
                .where(AuditEntryRow.action == FAILURE_ACTION, AuditEntryRow.at >= start)
            )
            or 0
        )
        open_cases, oldest = session.execute(
            select(func.count(), func.min(AdjudicationCaseRow.opened_at)).where(
                AdjudicationCaseRow.status == "open"
            )
        ).one()
        recent = list(
            session.execute(
                select(EnrollmentAttemptRow.best_llr, EnrollmentAttemptRow.evidence)
                .order_by(EnrollmentAttemptRow.id.desc())
                .limit(MAX_SCORED_ATTEMPTS)
            )
        )
    best = [float(llr) for llr, _ in recent if llr is not None]
    scores: dict[str, list[float]] = {"face": [], "fingerprint": []}
    for _, evidence in recent:
        for candidate in (evidence or {}).get("candidates", []):
            for slot, score in candidate.get("slot_scores", {}).items():
                scores["face" if slot == "face" else "fingerprint"].append(float(score))
    thresholds = {}
    if recent and recent[0][1]:
        thresholds = {
            k: float(v) for k, v in recent[0][1].get("thresholds", {}).items() if k.endswith("_llr")
        }
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return EnrollmentStats(
        since=since,
        days=[DayCount(d, per_day[d]) for d in sorted(per_day)],
        attempts=sum(int(v) for v in totals.values()),
        issued=int(totals.get("issued", 0)),
        refused=int(totals.get("refused", 0)),
        merged=int(totals.get("merged", 0)),
        pending=int(totals.get("pending", 0)),
        failed=failed,
        open_cases=int(open_cases or 0),
        oldest_open=oldest,
        best_llrs=best,
        slot_scores=scores,
        thresholds=thresholds,
    )
