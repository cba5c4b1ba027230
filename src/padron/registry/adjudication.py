"""Adjudication: the grey-zone cases a human decides, and the submitted images they look at.

An enrollment in the grey zone opens a case per candidate (see :mod:`padron.matching.dedup`);
an adjudicator lists and reads the cases, looks at both sides' images, and decides each one:
"same" merges the attempt into the candidate (no CURP), "different" on every case of the attempt
issues its CURP. Every case listed or read and every image shown is audited in the same
transaction as the reading.

The use cases are a base class of :class:`~padron.registry.identity.IdentityService`, which
provides the registry, the galleries and the issuing of a CURP that a "different" decision
completes. Submitted images are sealed by the vault with the attempt (at enrollment) and opened
here, for adjudicators only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from padron.domain.access import AccessContext, Role
from padron.domain.errors import AccessDeniedError, ErrorCategory, PadronError
from padron.domain.identity import Case, CaseDecision, CaseImages, CaseStatus, SampleImage, draft_from_json
from padron.domain.person import PersonDraft
from padron.domain.template import Modality
from padron.domain.text import require_actor_reason
from padron.matching.gallery import SampleError, slot_modality
from padron.registry.audit import attempt_ref, person_ref
from padron.registry.journal import BiometricIndex, open_template
from padron.registry.service import Registry
from padron.registry.storage.database import lock_enrollment
from padron.registry.storage.models import (
    AdjudicationCaseRow,
    EnrollmentAttemptRow,
    GalleryJournalRow,
    PersonRow,
    SampleImageRow,
    TemplateRow,
)
from padron.registry.vault import Vault


class CaseNotFoundError(PadronError):
    code = "PAD-ADJ-001"
    category = ErrorCategory.NOT_FOUND
    summary = "No adjudication case with this number."


class CaseClosedError(PadronError):
    code = "PAD-ADJ-002"
    category = ErrorCategory.CONFLICT
    summary = "The adjudication case was already decided or closed."


def _now() -> datetime:
    return datetime.now(UTC)


# --- the submitted images ------------------------------------------------------------------------

#: who may see the images (the raw biometrics): adjudicators, and the command line's operator
IMAGE_ROLES = frozenset({Role.ADJUDICATOR, Role.ADMIN})


def require_image_access(ctx: AccessContext) -> None:
    if ctx.role not in IMAGE_ROLES:
        raise AccessDeniedError(
            f"the images of an enrollment are shown to adjudicators only, not to the {ctx.role.value} role",
            role=ctx.role.value,
        )


def image_context(attempt_id: int, slot: str) -> str:
    """The associated data of a sealed image: its attempt and slot (a row moved to another
    attempt or slot no longer opens)."""
    return f"image:attempt:{attempt_id}/slot:{slot}"


def image_media_type(slot: str, data: bytes) -> str:
    """The media type of an image for ``slot``, checked by its modality's image guard (header
    and pixels: the same refusals, with the same codes, as extraction); the error names the slot."""
    from PIL import Image

    from padron.biometrics.images import decode_frame, open_image

    modality = slot_modality(slot)
    if modality is Modality.FACE:
        from padron.biometrics.face.decode import POLICY
    else:
        from padron.biometrics.fingerprint.image import POLICY
    label = "face" if modality is Modality.FACE else f"finger {slot}"
    try:
        with open_image(data, POLICY) as image:
            fmt = image.format or ""
            decode_frame(image, POLICY, lambda frame: frame.size)
    except PadronError as error:
        error.message = f"{label} image: {error.message}"
        error.args = (error.message,)
        error.details.setdefault("slot", slot)
        raise
    return Image.MIME.get(fmt, "application/octet-stream")


def seal_image(vault: Vault, attempt_id: int, slot: str, media_type: str, data: bytes) -> SampleImageRow:
    return SampleImageRow(
        attempt_id=attempt_id,
        slot=slot,
        media_type=media_type,
        size=len(data),
        sealed=vault.seal(data, image_context(attempt_id, slot)),
        created_at=_now(),
    )


def open_image_row(vault: Vault, row: SampleImageRow) -> SampleImage:
    data = vault.open(row.sealed, image_context(row.attempt_id, row.slot))
    return SampleImage(row.slot, row.media_type, data)


# --- the use cases -------------------------------------------------------------------------------

#: the algorithm of padron's own fingerprint templates (minutiae and cylinders)
FINGERPRINT_ALGORITHM: Final = "padron-mcc"


@dataclass(frozen=True)
class CaseMinutiae:
    """One side's minutiae of a finger: (x, y, angle in radians) in the template's image of
    ``width`` x ``height`` pixels (500 dpi)."""

    slot: str
    width: int
    height: int
    points: tuple[tuple[float, float, float], ...]


class Adjudication:
    """The adjudication use cases; :class:`~padron.registry.identity.IdentityService` inherits
    them and provides what they share with enrollment."""

    registry: Registry
    index: BiometricIndex

    if TYPE_CHECKING:

        def _issue(
            self,
            session: Session,
            attempt: EnrollmentAttemptRow,
            draft: PersonDraft,
            nationality: str,
            actor: str,
            reason: str,
        ) -> PersonRow:
            """Issue the attempt's CURP and add the person to the galleries (IdentityService)."""

        def _sync(self) -> None:
            """Bring this process's galleries up to date (IdentityService)."""

    def cases(
        self, ctx: AccessContext, *, status: str | None = "open", limit: int = 100, offset: int = 0
    ) -> list[Case]:
        """Adjudication cases, oldest first, from ``offset``; each one listed discloses the
        applicant and the candidate (audited)."""
        query = select(AdjudicationCaseRow).order_by(AdjudicationCaseRow.id).limit(limit).offset(offset)
        if status:
            query = query.where(AdjudicationCaseRow.status == status)

        def work(session: Session) -> list[Case]:
            cases = [self._case(session, row) for row in session.scalars(query)]
            for case in cases:
                self._audit_case(session, ctx, "case.list", case)
            return cases

        return self.registry.transact(work)

    def case_count(self, *, status: str | None = "open") -> int:
        """How many cases (of ``status``) there are: a number, no personal data."""
        query = select(func.count()).select_from(AdjudicationCaseRow)
        if status:
            query = query.where(AdjudicationCaseRow.status == status)
        with self.registry.db.read_session() as session:
            return int(session.scalar(query) or 0)

    def case(self, case_id: int, ctx: AccessContext) -> Case:
        def work(session: Session) -> Case:
            case = self._case(session, self._case_row(session, case_id))
            self._audit_case(session, ctx, "case.read", case)
            return case

        return self.registry.transact(work)

    def _audit_case(self, session: Session, ctx: AccessContext, action: str, case: Case) -> None:
        details = {"case": case.id, "attempt": case.attempt_id, "candidate": case.candidate_ref}
        self.registry.audit.record(
            session, ctx, action, subject=attempt_ref(case.attempt_id), details=details
        )
        if case.candidate_ref.startswith("p:"):
            candidate = person_ref(int(case.candidate_ref[2:]))
            self.registry.audit.record(session, ctx, action, subject=candidate, details=details)

    def case_images(
        self, case_id: int, ctx: AccessContext, *, side: str | None = None, slot: str | None = None
    ) -> CaseImages:
        """Both sides' images of an adjudication case (or only ``side``'s, only ``slot``),
        opened from the vault, for an adjudicator (or the command line). A disclosure of raw
        biometrics: audited ("case.images", one entry per side whose images are shown) in the
        same transaction as the reading."""
        require_image_access(ctx)
        if side not in (None, "applicant", "candidate"):
            raise SampleError(f"unknown side {side!r}: 'applicant' or 'candidate'", side=side)

        def work(session: Session) -> CaseImages:
            row = self._case_row(session, case_id)
            applicant: dict[str, SampleImage] = {}
            if side in (None, "applicant"):
                applicant = self._attempt_images(session, [row.attempt_id])
            candidate: dict[str, SampleImage] = {}
            candidate_subject = row.candidate_ref
            if row.candidate_ref.startswith("p:"):
                person_id = int(row.candidate_ref[2:])
                if side in (None, "candidate"):
                    candidate = self._person_images(session, person_id)
                candidate_subject = person_ref(person_id)
            elif row.candidate_ref.startswith("a:"):
                other = int(row.candidate_ref[2:])
                if side in (None, "candidate"):
                    candidate = self._attempt_images(session, [other])
                candidate_subject = attempt_ref(other)
            if slot is not None:
                applicant = {s: i for s, i in applicant.items() if s == slot}
                candidate = {s: i for s, i in candidate.items() if s == slot}
            base = {"case": row.id, "attempt": row.attempt_id, "candidate": row.candidate_ref}
            for subject, name, shown in (
                (attempt_ref(row.attempt_id), "applicant", applicant),
                (candidate_subject, "candidate", candidate),
            ):
                if side not in (None, name) or not shown:
                    continue  # nothing of this side was opened
                details = {**base, "side": name, "slots": sorted(shown)}
                self.registry.audit.record(session, ctx, "case.images", subject=subject, details=details)
            return CaseImages(row.id, row.attempt_id, row.candidate_ref, applicant, candidate)

        return self.registry.transact(work)

    def case_minutiae(self, case_id: int, ctx: AccessContext, *, side: str, slot: str) -> CaseMinutiae | None:
        """The minutiae of one side's finger template of a case, to draw over its image (None:
        no template of padron's fingerprint format for that slot). For an adjudicator;
        audited ("case.minutiae") in the same transaction."""
        require_image_access(ctx)
        if side not in ("applicant", "candidate"):
            raise SampleError(f"unknown side {side!r}: 'applicant' or 'candidate'", side=side)

        def work(session: Session) -> CaseMinutiae | None:
            row = self._case_row(session, case_id)
            owner: Any
            if side == "applicant":
                owner, subject = TemplateRow.attempt_id == row.attempt_id, attempt_ref(row.attempt_id)
            elif row.candidate_ref.startswith("p:"):
                person_id = int(row.candidate_ref[2:])
                owner, subject = TemplateRow.person_id == person_id, person_ref(person_id)
            else:
                other = int(row.candidate_ref[2:])
                owner, subject = TemplateRow.attempt_id == other, attempt_ref(other)
            stored = session.scalars(
                select(TemplateRow)
                .where(owner, TemplateRow.slot == slot)
                .order_by(TemplateRow.id.desc())
                .limit(1)
            ).first()
            if stored is None or stored.algorithm != FINGERPRINT_ALGORITHM:
                return None
            from padron.biometrics.fingerprint.template import decode

            decoded = decode(open_template(self.index.vault, stored).payload)
            m = decoded.minutiae
            points = tuple((float(x), float(y), float(a)) for x, y, a in zip(m.x, m.y, m.angle, strict=True))
            details = {"case": row.id, "side": side, "slot": slot, "minutiae": len(points)}
            self.registry.audit.record(session, ctx, "case.minutiae", subject=subject, details=details)
            return CaseMinutiae(slot, decoded.width, decoded.height, points)

        return self.registry.transact(work)

    def person_images(self, curp: str, ctx: AccessContext) -> dict[str, SampleImage]:
        """The images a person was enrolled with (the attempt that issued the CURP), by slot;
        for an adjudicator; audited ("person.images") in the same transaction."""
        require_image_access(ctx)

        def work(session: Session) -> dict[str, SampleImage]:
            person = self.registry._row_by_curp(session, curp)
            shown = self._person_images(session, person.id)
            self.registry.audit.record(
                session, ctx, "person.images", subject=person_ref(person.id), details={"slots": sorted(shown)}
            )
            return shown

        return self.registry.transact(work)

    def _person_images(self, session: Session, person_id: int) -> dict[str, SampleImage]:
        attempts = list(
            session.scalars(
                select(EnrollmentAttemptRow.id)
                .where(EnrollmentAttemptRow.person_id == person_id)
                .order_by(EnrollmentAttemptRow.id)
            )
        )
        return self._attempt_images(session, attempts)

    def _attempt_images(self, session: Session, attempt_ids: list[int]) -> dict[str, SampleImage]:
        """The images of these attempts by slot (a later attempt's image of a slot wins)."""
        if not attempt_ids:
            return {}
        rows = session.scalars(
            select(SampleImageRow)
            .where(SampleImageRow.attempt_id.in_(attempt_ids))
            .order_by(SampleImageRow.attempt_id, SampleImageRow.slot)
        )
        return {row.slot: open_image_row(self.index.vault, row) for row in rows}

    def decide(self, case_id: int, ctx: AccessContext, *, same: bool, reason: str) -> Case:
        """Record a human decision. "same": the attempt is merged into the candidate (no CURP).
        "different": once every case of the attempt says different, its CURP is issued."""
        adjudicator, reason = require_actor_reason(ctx.actor, reason)

        def work(session: Session) -> Case:
            lock_enrollment(session)
            row = self._case_row(session, case_id)
            if row.status != CaseStatus.OPEN:
                raise CaseClosedError(f"case {case_id} is {row.status} ({row.decision or 'no decision'})")
            now = _now()
            decision = CaseDecision.SAME if same else CaseDecision.DIFFERENT
            row.status, row.decision = CaseStatus.DECIDED.value, decision.value
            row.adjudicator, row.reason, row.decided_at = adjudicator, reason, now
            attempt = session.get(EnrollmentAttemptRow, row.attempt_id)
            assert attempt is not None
            siblings = list(
                session.scalars(
                    select(AdjudicationCaseRow).where(
                        AdjudicationCaseRow.attempt_id == attempt.id, AdjudicationCaseRow.id != row.id
                    )
                )
            )
            if same:
                attempt.status = "merged"
                attempt.resolved_at = now
                attempt.duplicate_of = (
                    int(row.candidate_ref[2:]) if row.candidate_ref.startswith("p:") else None
                )
                for other in siblings:
                    if other.status == CaseStatus.OPEN:
                        other.status = CaseStatus.CLOSED.value
                session.add(GalleryJournalRow(ref=f"a:{attempt.id}", op="remove", at=now))
            elif all(
                o.status == CaseStatus.DECIDED and o.decision == CaseDecision.DIFFERENT for o in siblings
            ):
                draft = draft_from_json(attempt.demographics)
                person = self._issue(
                    session,
                    attempt,
                    draft,
                    attempt.demographics["nationality"],
                    adjudicator,
                    f"adjudication case {case_id}: {reason}",
                )
                for template in session.scalars(
                    select(TemplateRow).where(TemplateRow.attempt_id == attempt.id)
                ):
                    template.person_id = person.id
                session.add(GalleryJournalRow(ref=f"a:{attempt.id}", op="remove", at=now))
            session.flush()
            case = self._case(session, row)
            self.registry.audit.record(
                session,
                ctx,
                "case.decide",
                subject=attempt_ref(case.attempt_id),
                outcome=case.decision.value if case.decision else "decided",
                details={"case": case.id, "candidate": case.candidate_ref},
            )
            return case

        case = self.registry.transact(work)
        self._sync()
        return case

    def _case_row(self, session: Session, case_id: int) -> AdjudicationCaseRow:
        row = session.get(AdjudicationCaseRow, case_id)
        if row is None:
            raise CaseNotFoundError(f"no adjudication case {case_id}", case=case_id)
        return row

    def _case(self, session: Session, row: AdjudicationCaseRow) -> Case:
        attempt = session.get(EnrollmentAttemptRow, row.attempt_id)
        assert attempt is not None
        candidate_curp = None
        if row.candidate_ref.startswith("p:"):
            candidate = session.get(PersonRow, int(row.candidate_ref[2:]))
            candidate_curp = candidate.curp if candidate else None
        return Case(
            id=row.id,
            attempt_id=row.attempt_id,
            candidate_ref=row.candidate_ref,
            candidate_curp=candidate_curp,
            fused_llr=row.fused_llr,
            status=CaseStatus(row.status),
            decision=CaseDecision(row.decision) if row.decision else None,
            adjudicator=row.adjudicator,
            reason=row.reason,
            opened_at=row.opened_at,
            decided_at=row.decided_at,
            evidence=dict(row.evidence),
            applicant={**attempt.demographics, "attempt_status": attempt.status},
        )
