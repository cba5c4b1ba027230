"""One person, one identity: biometric enrollment with de-duplication, verification (1:1) and
identification (1:N), in :class:`IdentityService` (which also carries the adjudication use cases,
:mod:`padron.registry.adjudication`).

Enrollment, in one transaction that holds the enrollment lock (so two enrollments of the same
person can never both pass the search):

1. bring this process's galleries up to date from the gallery journal
   (:mod:`padron.registry.journal`; other processes may have enrolled since);
2. search every submitted slot (face, fingers 1-10) and fuse the per-slot LLRs per subject;
3. decide (:func:`padron.matching.dedup.decide`), and act on the decision:
   *duplicate* -- refused and linked to the existing identity;
   *grey zone* -- an adjudication case per candidate, the attempt's templates join the gallery
   as ``a:<attempt>`` so that a second attempt meets the first;
   *unique* -- the CURP is issued and the templates join the gallery as ``p:<person>``.

Templates are sealed by the vault, and so are the submitted images (kept for the adjudicator, in
``sample_images``, written in the same transaction as the attempt); every gallery change is a
journal row written in the same transaction as the registry change, so a crash (kill -9) at any
point leaves registry and journal in agreement, and galleries are rebuilt from them at start-up.

The result types live in :mod:`padron.domain.identity`, the policy and the decision in
:mod:`padron.matching.dedup`; the names other modules imported from here are re-exported.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from padron.domain.access import AccessContext, Channel, Purpose, require_identification
from padron.domain.curp import CurpData
from padron.domain.errors import AccessDeniedError, ErrorCategory, PadronError
from padron.domain.identity import (
    Case,
    CaseDecision,
    CaseImages,
    CaseStatus,
    EnrollmentResult,
    EnrollmentStatus,
    MatchEvidence,
    SampleImage,
    Verification,
    draft_to_json,
)
from padron.domain.person import PersonDraft, Status, parse_nationality
from padron.domain.template import Modality, Template
from padron.domain.text import require_actor_reason
from padron.matching import dedup
from padron.matching.dedup import DedupDecision, DedupOutcome, DedupPolicy, Thresholds
from padron.matching.fusion import FusedScore, LlrModel, fuse, llr_threshold
from padron.matching.gallery import SLOTS, Matcher, SampleError, slot_modality
from padron.registry.adjudication import (
    IMAGE_ROLES,
    Adjudication,
    CaseClosedError,
    CaseNotFoundError,
    image_context,
    image_media_type,
    open_image_row,
    require_image_access,
    seal_image,
)
from padron.registry.audit import attempt_ref, person_ref
from padron.registry.journal import BiometricIndex, open_template, seal_template, template_context
from padron.registry.segments import SnapshotInfo
from padron.registry.service import Registry, _to_person
from padron.registry.storage.database import lock_enrollment
from padron.registry.storage.models import (
    AdjudicationCaseRow,
    EnrollmentAttemptRow,
    GalleryJournalRow,
    PersonRow,
    TemplateRow,
)

__all__ = [
    "IMAGE_ROLES",
    "SLOTS",
    "BiometricIndex",
    "Case",
    "CaseClosedError",
    "CaseDecision",
    "CaseImages",
    "CaseNotFoundError",
    "CaseStatus",
    "DedupPolicy",
    "EnrollmentResult",
    "EnrollmentStatus",
    "IdentityService",
    "ImageSlotError",
    "MatchEvidence",
    "NoReferenceError",
    "NotVerifiableError",
    "SampleError",
    "SampleImage",
    "Verification",
    "image_context",
    "image_media_type",
    "open_image_row",
    "open_template",
    "require_image_access",
    "seal_image",
    "seal_template",
    "slot_modality",
    "template_context",
]


log = logging.getLogger("padron.identity")


class ImageSlotError(PadronError):
    code = "PAD-ENR-002"
    summary = (
        "An image was given for a slot with no template in the same request: every image kept "
        "belongs to a submitted sample (face, fingers 1-10)."
    )


class NoReferenceError(PadronError):
    code = "PAD-VER-001"
    summary = "The person has no enrolled template for any of the submitted slots."


class NotVerifiableError(PadronError):
    code = "PAD-VER-002"
    category = ErrorCategory.CONFLICT
    summary = "The CURP is revoked, deceased, suspended or merged: only an active identity is verified."


def _now() -> datetime:
    return datetime.now(UTC)


# --- the use cases --------------------------------------------------------------------------------


class IdentityService(Adjudication):
    """Biometric use cases over a :class:`Registry` and this process's galleries: enrollment,
    verification, identification, and (inherited) adjudication."""

    def __init__(
        self,
        registry: Registry,
        index: BiometricIndex,
        *,
        matchers: Mapping[Modality, Matcher],
        llr_models: Mapping[Modality, LlrModel],
        policy: DedupPolicy | None = None,
    ) -> None:
        self.registry = registry
        self.index = index
        self.matchers = dict(matchers)
        self.slot_models = {
            slot: llr_models[slot_modality(slot)] for slot in SLOTS if slot_modality(slot) in llr_models
        }
        self.policy = policy or DedupPolicy()

    def use_llr_model(self, modality: Modality, model: LlrModel) -> None:
        """Replace a modality's LLR model (e.g. a site calibration measured on local captures)."""
        for slot in SLOTS:
            if slot_modality(slot) == modality:
                self.slot_models[slot] = model

    def start(self, ctx: AccessContext | None = None) -> int:
        """Load the galleries (at start-up): from the newest gallery snapshot plus the journal
        after it, or rebuilt from the registry (then a snapshot is written); returns the subjects
        loaded. Biometric data is opened either way: one audit entry ("gallery.load") records
        how many subjects and from where."""
        ctx = ctx or AccessContext.system(Purpose.ADMINISTRATION)

        def work(session: Session) -> int:
            loaded = self.index.start(session)
            if loaded:  # an empty registry opens nothing
                self.registry.audit.record(session, ctx, "gallery.load", details=self._load_details(loaded))
            return loaded

        loaded = self.registry.transact(work)
        if self.index.snapshot_due:
            self._snapshot_quietly()
        return loaded

    def rebuild(self, ctx: AccessContext | None = None) -> int:
        """Rebuild the galleries from the registry, opening every sealed template (no snapshot
        used), then write a snapshot; returns the subjects loaded."""
        ctx = ctx or AccessContext.system(Purpose.ADMINISTRATION)

        def work(session: Session) -> int:
            loaded = self.index.rebuild(session)
            self.index.startup = {"source": "rebuild", "reason": "asked", "position": self.index.last_seq}
            if loaded:
                self.registry.audit.record(session, ctx, "gallery.load", details=self._load_details(loaded))
            return loaded

        loaded = self.registry.transact(work)
        if self.index.snapshot_due:
            self._snapshot_quietly()
        return loaded

    def snapshot(self) -> SnapshotInfo | None:
        """Save the galleries' search form now (sealed segments at the journal position applied);
        None when segments are not kept."""
        self._sync()
        return self.index.snapshot()

    def _load_details(self, loaded: int) -> dict[str, Any]:
        details: dict[str, Any] = {"subjects": loaded}
        startup = self.index.startup
        if startup.get("source") == "segments":
            details.update(
                source="segments",
                snapshot=startup["snapshot"],
                position=startup["position"],
                replayed=startup["replayed"],
            )
        else:
            details["source"] = "templates"
        return details

    def _snapshot_quietly(self) -> None:
        """A snapshot after a rebuild: a failure is logged, never fatal (the next start-up
        rebuilds again)."""
        try:
            self.index.snapshot()
        except Exception as error:
            log.warning("could not write a gallery snapshot after the rebuild: %s", error)

    # --- enrollment -------------------------------------------------------------------------------

    def enroll(
        self,
        draft: PersonDraft,
        samples: Mapping[str, Template],
        ctx: AccessContext,
        *,
        reason: str,
        images: Mapping[str, bytes] | None = None,
    ) -> EnrollmentResult:
        """Enroll with de-duplication. ``images``: the submitted images by slot (each slot must
        have its template in ``samples``, ImageSlotError otherwise), checked by the image guard
        and kept sealed with the attempt (for the adjudicator), in the same transaction."""
        actor, reason = require_actor_reason(ctx.actor, reason)
        samples = self._check_samples(samples)
        checked_images = self._check_images(samples, images or {})
        nationality = parse_nationality(draft.nationality)

        # one transaction (search, attempt, decision, CURP, templates, journal), run again from
        # the start if a concurrent writer took the same CURP
        def work(session: Session) -> EnrollmentResult:
            lock_enrollment(session)
            self.index.sync(session)
            thresholds = Thresholds.of(self.index.size(), self.policy)
            candidates = self._candidates(session, samples)
            decision = dedup.decide(candidates, thresholds)
            demographic = _demographic_matches(session, draft.data)
            best = candidates[0] if candidates else None
            now = _now()
            attempt = EnrollmentAttemptRow(
                submitted_at=now,
                actor=actor,
                reason=reason,
                demographics=draft_to_json(draft, nationality),
                status="pending",
                best_llr=best.llr if best else None,
                evidence={
                    "thresholds": thresholds.to_dict(),
                    "candidates": [c.to_dict() for c in candidates],
                    "demographic_matches": demographic,
                    "slots": sorted(samples),
                },
            )
            session.add(attempt)
            session.flush()
            for slot, (media_type, data) in checked_images.items():
                session.add(seal_image(self.index.vault, attempt.id, slot, media_type, data))
            result = self._decide(
                session, attempt, draft, nationality, samples, decision, candidates, thresholds, demographic
            )
            subject = person_ref(result.person.id) if result.person else attempt_ref(attempt.id)
            details: dict[str, Any] = {"attempt": attempt.id, "slots": sorted(samples), "cases": result.cases}
            if checked_images:
                details["images"] = sorted(checked_images)
            self.registry.audit.record(
                session,
                ctx,
                "enrollment.submit",
                subject=subject,
                outcome=result.status.value,
                details=details,
            )
            return result

        result = self.registry.transact(work)
        self._sync()
        return result

    def _decide(
        self,
        session: Session,
        attempt: EnrollmentAttemptRow,
        draft: PersonDraft,
        nationality: str,
        samples: Mapping[str, Template],
        decision: DedupDecision,
        candidates: list[MatchEvidence],
        thresholds: Thresholds,
        demographic: list[dict[str, Any]],
    ) -> EnrollmentResult:
        """Carry out the de-duplication ``decision`` on the attempt (in the enrollment's
        transaction): refuse it, open its cases, or issue its CURP; store its templates."""
        now = _now()
        evidence = thresholds.to_dict()
        if decision.outcome is DedupOutcome.DUPLICATE:
            best = decision.duplicate
            assert best is not None
            attempt.status = EnrollmentStatus.REFUSED.value
            attempt.resolved_at = now
            attempt.duplicate_of = int(best.ref[2:]) if best.ref.startswith("p:") else None
            self._store(session, samples, person_id=None, attempt_id=attempt.id)
            return EnrollmentResult(
                EnrollmentStatus.REFUSED,
                attempt.id,
                duplicate_of=best.curp or best.ref,
                candidates=candidates,
                thresholds=evidence,
            )
        if decision.outcome is DedupOutcome.GREY:
            attempt.status = EnrollmentStatus.PENDING.value
            self._store(session, samples, person_id=None, attempt_id=attempt.id)
            session.add(GalleryJournalRow(ref=f"a:{attempt.id}", op="add", at=now))
            cases = []
            for c in decision.grey:
                row = AdjudicationCaseRow(
                    attempt_id=attempt.id,
                    candidate_ref=c.ref,
                    fused_llr=c.llr,
                    evidence={
                        "match": c.to_dict(),
                        "thresholds": evidence,
                        "demographic_matches": demographic,
                    },
                    status=CaseStatus.OPEN.value,
                    opened_at=now,
                )
                session.add(row)
                session.flush()
                cases.append(row.id)
            return EnrollmentResult(
                EnrollmentStatus.PENDING, attempt.id, cases=cases, candidates=candidates, thresholds=evidence
            )
        person = self._issue(session, attempt, draft, nationality, attempt.actor, attempt.reason)
        self._store(session, samples, person_id=person.id, attempt_id=attempt.id)
        return EnrollmentResult(
            EnrollmentStatus.ISSUED,
            attempt.id,
            person=_to_person(person),
            candidates=candidates,
            thresholds=evidence,
        )

    def _issue(
        self,
        session: Session,
        attempt: EnrollmentAttemptRow,
        draft: PersonDraft,
        nationality: str,
        actor: str,
        reason: str,
    ) -> PersonRow:
        person = self.registry.create_person(session, draft, nationality, actor, reason)
        attempt.status = EnrollmentStatus.ISSUED.value
        attempt.person_id = person.id
        attempt.resolved_at = _now()
        session.add(GalleryJournalRow(ref=f"p:{person.id}", op="add", at=_now()))
        return person

    def _store(
        self,
        session: Session,
        samples: Mapping[str, Template],
        *,
        person_id: int | None,
        attempt_id: int | None,
    ) -> None:
        for slot, template in samples.items():
            session.add(
                seal_template(self.index.vault, template, slot, person_id=person_id, attempt_id=attempt_id)
            )

    # --- verification and identification ----------------------------------------------------------

    def verify(self, curp: str, samples: Mapping[str, Template], ctx: AccessContext) -> Verification:
        """1:1: do the samples belong to the holder of ``curp``? Only an active identity can be
        verified (a revoked, deceased or merged CURP is refused, never a "match"). Opening the
        holder's sealed templates and the decision are audited before the answer is returned."""
        samples = self._check_samples(samples)
        with self.registry.db.read_session() as session:
            person = self.registry._row_by_curp(session, curp)
            if person.status != Status.ACTIVE.value:
                raise NotVerifiableError(
                    f"{person.curp} is {person.status}"
                    + (f" (merged into {person.merged_into})" if person.merged_into else "")
                    + "; only an active identity can be verified",
                    status=person.status,
                )
            person_id = person.id
            rows = session.scalars(
                select(TemplateRow).where(
                    TemplateRow.person_id == person.id, TemplateRow.slot.in_(list(samples))
                )
            )
            references: dict[str, list[Template]] = defaultdict(list)
            for row in rows:
                references[row.slot].append(open_template(self.index.vault, row))
            holder = person.curp
        if not references:
            raise NoReferenceError(
                f"{holder} has no enrolled template for {', '.join(sorted(samples))}", slots=sorted(samples)
            )
        scores = {}
        for slot, refs in references.items():
            matcher = self.matchers[slot_modality(slot)]
            prepared = matcher.prepare(samples[slot])
            scores[slot] = float(max(prepared.scores(matcher.batch([matcher.decode(t) for t in refs]))))
        fused = fuse(scores, self.slot_models)
        threshold = llr_threshold(1, self.policy.verify_fmr)
        match = fused.llr >= threshold

        def audit(session: Session) -> None:
            subject = person_ref(person_id)
            opened = {"slots": sorted(references), "templates": sum(map(len, references.values()))}
            self.registry.audit.record(session, ctx, "template.open", subject=subject, details=opened)
            outcome = "match" if match else "no-match"
            self.registry.audit.record(session, ctx, "person.verify", subject=subject, outcome=outcome)

        self.registry.transact(audit)
        return Verification(
            curp=holder,
            match=match,
            llr=fused.llr,
            threshold=threshold,
            fmr=self.policy.verify_fmr,
            slot_scores=scores,
            slot_llrs=fused.slot_llrs,
        )

    def identify(
        self, samples: Mapping[str, Template], ctx: AccessContext, *, top: int = 10, fpir: float | None = None
    ) -> tuple[list[MatchEvidence], float]:
        """Ranked candidates whose fused LLR clears the threshold for ``fpir``; and that threshold.

        1:N identification is for investigations only: the context must be an investigator's
        (or the command line's), with purpose "investigation" and a case reference. Every
        candidate returned is a disclosure and gets its audit entry."""
        require_identification(ctx)
        samples = self._check_samples(samples)
        self._sync()

        def work(session: Session) -> tuple[list[MatchEvidence], float]:
            threshold = llr_threshold(
                max(1, self.index.size()), self.policy.identify_fpir if fpir is None else fpir
            )
            found = [
                c
                for c in self._candidates(session, samples, k=max(top, self.policy.candidates))
                if c.llr >= threshold
            ][:top]
            self.registry.audit.record(
                session,
                ctx,
                "identify.search",
                outcome=f"{len(found)} candidate(s)",
                details={"slots": sorted(samples)},
            )
            for rank, c in enumerate(found, start=1):
                subject = person_ref(int(c.ref[2:])) if c.ref.startswith("p:") else c.ref
                self.registry.audit.record(
                    session, ctx, "identify.candidate", subject=subject, details={"rank": rank}
                )
            return found, threshold

        return self.registry.transact(work)

    def search_for_partner(
        self, samples: Mapping[str, Template], ctx: AccessContext, *, top: int, fpir: float
    ) -> list[int]:
        """1:N for the sharing gateway (:mod:`padron.sharing.gateway`): the persons (internal
        numbers, best first, at most ``top``) whose fused LLR clears the threshold for ``fpir``.
        Only for a partner's request that its agreement allowed; the gateway records every
        person its answer concerns in the same transaction as the answer."""
        if ctx.channel is not Channel.PARTNER or ctx.purpose is not Purpose.PARTNER_REQUEST:
            raise AccessDeniedError(
                "a partner search is made only by the sharing gateway, for a partner's request",
                channel=ctx.channel.value,
            )
        samples = self._check_samples(samples)
        self._sync()
        with self.registry.db.read_session() as session:
            threshold = llr_threshold(max(1, self.index.size()), fpir)
            found = [
                c
                for c in self._candidates(session, samples, k=max(top, self.policy.candidates))
                if c.llr >= threshold and c.ref.startswith("p:")
            ][:top]
        return [int(c.ref[2:]) for c in found]

    def record_enrollment_failure(self, ctx: AccessContext, error: PadronError) -> None:
        """A failure to enroll: the samples of an enrollment were refused (``error``: quality
        under the enrollment floor, an unreadable image). Recorded in the audit log
        (``enrollment.fail``, outcome the refusal's code) for the failure-to-enroll rate; no
        personal data, nothing else is written."""
        slot = error.details.get("slot")
        details = {"slot": slot} if isinstance(slot, str) else {}

        def work(session: Session) -> None:
            self.registry.audit.record(session, ctx, "enrollment.fail", outcome=error.code, details=details)

        self.registry.transact(work)

    def gallery_stats(self) -> dict[str, Any]:
        self._sync()
        return self.index.stats()

    # --- internals --------------------------------------------------------------------------------

    def _sync(self) -> None:
        with self.registry.db.read_session() as session:
            self.index.sync(session)

    def _check_samples(self, samples: Mapping[str, Template]) -> dict[str, Template]:
        if not samples:
            raise SampleError("no biometric sample given: submit a face and/or fingers 1-10")
        checked = {}
        for slot, template in samples.items():
            modality = slot_modality(str(slot))
            if template.modality != modality:
                raise SampleError(
                    f"slot {slot} needs a {modality.value} template, got {template.modality.value}", slot=slot
                )
            if modality not in self.matchers:
                raise SampleError(f"this registry has no {modality.value} matcher configured", slot=slot)
            checked[str(slot)] = template
        return checked

    def _check_images(
        self, samples: Mapping[str, Template], images: Mapping[str, bytes]
    ) -> dict[str, tuple[str, bytes]]:
        """Each image with its media type, by slot; every image's slot has a template in ``samples``."""
        checked: dict[str, tuple[str, bytes]] = {}
        for slot, data in images.items():
            slot = str(slot)
            slot_modality(slot)  # an unknown slot is SampleError
            if slot not in samples:
                raise ImageSlotError(
                    f"an image was given for slot {slot}, which has no template in this request; "
                    f"images are kept only for the submitted samples ({', '.join(sorted(samples))})",
                    slot=slot,
                )
            checked[slot] = (image_media_type(slot, bytes(data)), bytes(data))
        return checked

    def _candidates(
        self, session: Session, samples: Mapping[str, Template], *, k: int | None = None
    ) -> list[MatchEvidence]:
        found = self.index.search(samples, k or self.policy.candidates)
        fused: list[tuple[str, dict[str, float], FusedScore]] = [
            (ref, scores, fuse(scores, self.slot_models)) for ref, scores in found.items()
        ]
        fused.sort(key=lambda item: (-item[2].llr, item[0]))
        person_ids = [int(ref[2:]) for ref, _, _ in fused if ref.startswith("p:")]
        curps = (
            {
                pid: curp
                for pid, curp in session.execute(
                    select(PersonRow.id, PersonRow.curp).where(PersonRow.id.in_(person_ids))
                )
            }
            if person_ids
            else {}
        )
        return [
            MatchEvidence(
                ref=ref,
                llr=f.llr,
                slot_scores=scores,
                slot_llrs=f.slot_llrs,
                curp=curps.get(int(ref[2:])) if ref.startswith("p:") else None,
            )
            for ref, scores, f in fused
        ]


def _demographic_matches(session: Session, data: CurpData) -> list[dict[str, Any]]:
    """Persons whose CURP starts with the same ten characters: same name letters and birth date."""
    from padron.domain.curp import curp_stem

    stem10 = curp_stem(data)[:10]
    rows = session.scalars(
        select(PersonRow).where(PersonRow.curp >= stem10, PersonRow.curp < stem10 + "~").limit(20)
    )
    return [
        {
            "curp": r.curp,
            "name": " ".join(p for p in (r.given_names, r.first_surname, r.second_surname) if p),
            "birth_date": r.birth_date.isoformat(),
            "birth_state": r.birth_state,
            "status": r.status,
        }
        for r in rows
        if r.status != Status.MERGED.value
    ]
