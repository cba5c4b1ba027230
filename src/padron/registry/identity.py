"""One person, one identity: biometric enrollment with de-duplication, adjudication,
verification (1:1) and identification (1:N).

Enrollment, in one transaction that holds the enrollment lock (so two enrollments of the same
person can never both pass the search):

1. bring this process's galleries up to date from the gallery journal (other processes may have
   enrolled since);
2. search every submitted slot (face, fingers 1-10) and fuse the per-slot LLRs per subject;
3. decide with thresholds from the likelihood-ratio bound (see :mod:`padron.matching.fusion`):
   *sure duplicate* (fused LLR >= ln(N / fpir_sure)) -- refused and linked to the existing identity;
   *grey zone* (>= ln(N / fpir_grey)) -- an adjudication case per candidate, the attempt's templates
   join the gallery as ``a:<attempt>`` so that a second attempt meets the first;
   otherwise *unique* -- the CURP is issued and the templates join the gallery as ``p:<person>``.

Templates are sealed by the vault, and so are the submitted images (kept for the adjudicator, in
``sample_images``, written in the same transaction as the attempt); every gallery change is a
journal row written in the same transaction as the registry change, so a crash (kill -9) at any
point leaves registry and journal in agreement, and galleries are rebuilt from them at start-up.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from padron.domain.access import AccessContext, Purpose, Role, require_identification
from padron.domain.curp import CurpData, Sex
from padron.domain.errors import AccessDeniedError, ErrorCategory, PadronError
from padron.domain.person import Person, PersonDraft, Status, parse_nationality
from padron.domain.template import Modality, Template
from padron.domain.text import require_actor_reason
from padron.matching.fusion import FusedScore, LlrModel, check_dedup_rates, check_rate, fuse, llr_threshold
from padron.matching.gallery import FACE_SLOT, FINGER_SLOTS, Gallery, Matcher, SharedGallery
from padron.matching.locks import ReadWriteLock
from padron.registry.audit import attempt_ref, person_ref
from padron.registry.service import Registry, _to_person
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

SLOTS = (FACE_SLOT, *FINGER_SLOTS)


class SampleError(PadronError):
    code = "PAD-ENR-001"
    summary = "No usable sample, an unknown slot or a template of the wrong modality was submitted."


class ImageSlotError(PadronError):
    code = "PAD-ENR-002"
    summary = (
        "An image was given for a slot with no template in the same request: every image kept "
        "belongs to a submitted sample (face, fingers 1-10)."
    )


class CaseNotFoundError(PadronError):
    code = "PAD-ADJ-001"
    category = ErrorCategory.NOT_FOUND
    summary = "No adjudication case with this number."


class CaseClosedError(PadronError):
    code = "PAD-ADJ-002"
    category = ErrorCategory.CONFLICT
    summary = "The adjudication case was already decided or closed."


class NoReferenceError(PadronError):
    code = "PAD-VER-001"
    summary = "The person has no enrolled template for any of the submitted slots."


class NotVerifiableError(PadronError):
    code = "PAD-VER-002"
    category = ErrorCategory.CONFLICT
    summary = "The CURP is revoked, deceased, suspended or merged: only an active identity is verified."


def slot_modality(slot: str) -> Modality:
    if slot == FACE_SLOT:
        return Modality.FACE
    if slot in FINGER_SLOTS:
        return Modality.FINGERPRINT
    raise SampleError(f"unknown slot {slot!r}: use 'face' or finger positions 1-10", slot=slot)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class DedupPolicy:
    """Operating points, as false-positive identification rates (chance that a unique person is
    refused automatically / sent to a human). Thresholds follow from these and the gallery size."""

    fpir_sure: float = 1e-4
    fpir_grey: float = 0.01
    #: candidates examined per search
    candidates: int = 10
    #: 1:1 verification: false match rate of the decision
    verify_fmr: float = 1e-4
    #: 1:N identification: false positive identification rate of a returned candidate
    identify_fpir: float = 0.01

    def __post_init__(self) -> None:
        """Every rate in (0, 1) and fpir_sure < fpir_grey (OperatingPointError and its kin)."""
        check_dedup_rates(self.fpir_sure, self.fpir_grey)
        check_rate(self.verify_fmr, "verify_fmr")
        check_rate(self.identify_fpir, "identify_fpir")


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatchEvidence:
    """One subject found by a search, with the evidence per slot."""

    ref: str
    llr: float
    slot_scores: dict[str, float]
    slot_llrs: dict[str, float]
    curp: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "curp": self.curp,
            "llr": round(self.llr, 4),
            "slot_scores": {k: round(v, 6) for k, v in self.slot_scores.items()},
            "slot_llrs": {k: round(v, 4) for k, v in self.slot_llrs.items()},
        }


@dataclass(frozen=True)
class EnrollmentResult:
    #: issued | refused | pending
    status: str
    attempt_id: int
    person: Person | None = None
    duplicate_of: str | None = None
    cases: list[int] = field(default_factory=list)
    candidates: list[MatchEvidence] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "attempt_id": self.attempt_id,
            "curp": self.person.curp if self.person else None,
            "person": self.person.to_dict() if self.person else None,
            "duplicate_of": self.duplicate_of,
            "cases": self.cases,
            "candidates": [c.to_dict() for c in self.candidates],
            "thresholds": self.thresholds,
        }


@dataclass(frozen=True)
class Verification:
    curp: str
    match: bool
    llr: float
    threshold: float
    fmr: float
    slot_scores: dict[str, float]
    slot_llrs: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {
            "curp": self.curp,
            "match": self.match,
            "llr": round(self.llr, 4),
            "threshold_llr": round(self.threshold, 4),
            "fmr": self.fmr,
            "slot_scores": {k: round(v, 6) for k, v in self.slot_scores.items()},
            "slot_llrs": {k: round(v, 4) for k, v in self.slot_llrs.items()},
        }


@dataclass(frozen=True)
class Case:
    id: int
    attempt_id: int
    candidate_ref: str
    candidate_curp: str | None
    fused_llr: float
    status: str
    decision: str | None
    adjudicator: str | None
    reason: str | None
    opened_at: datetime
    decided_at: datetime | None
    evidence: dict[str, Any]
    applicant: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "attempt_id": self.attempt_id,
            "candidate_ref": self.candidate_ref,
            "candidate_curp": self.candidate_curp,
            "fused_llr": round(self.fused_llr, 4),
            "status": self.status,
            "decision": self.decision,
            "adjudicator": self.adjudicator,
            "reason": self.reason,
            "opened_at": self.opened_at.isoformat(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "applicant": self.applicant,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class SampleImage:
    """A submitted image, opened from the vault: what an adjudicator looks at."""

    slot: str
    media_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class CaseImages:
    """Both sides of an adjudication case: the applicant's images (the attempt) and the
    candidate's (the enrolled person's enrollment, or the other pending attempt), by slot."""

    case_id: int
    attempt_id: int
    candidate_ref: str
    applicant: dict[str, SampleImage]
    candidate: dict[str, SampleImage]

    def sides(self) -> dict[str, dict[str, SampleImage]]:
        return {"applicant": self.applicant, "candidate": self.candidate}


#: who may see the images (the raw biometrics): adjudicators, and the command line's operator
IMAGE_ROLES = frozenset({Role.ADJUDICATOR, Role.ADMIN})


def require_image_access(ctx: AccessContext) -> None:
    if ctx.role not in IMAGE_ROLES:
        raise AccessDeniedError(
            f"the images of an enrollment are shown to adjudicators only, not to the {ctx.role.value} role",
            role=ctx.role.value,
        )


# --- galleries kept in step with the registry ---------------------------------------------------


class BiometricIndex:
    """The galleries (one per modality) this process searches, kept in step with the gallery
    journal.

    Embedded galleries belong to this process: each server process has its own, so a server
    with embedded galleries runs one worker process (``padron serve`` refuses more) whose
    threads share them. Searches take the read side of a readers-writer lock and run side by
    side where the gallery allows parallel reads (``parallel_reads``; the others search one at a
    time); applying the journal takes the write side.

    Shared galleries (:class:`SharedGallery`: the named Ray shards every worker of a deployment
    uses) hold the journal position they have applied: a worker that starts finds them loaded and
    only replays what it has not seen, and a batch of changes older than what a shard has
    applied is ignored, so workers applying the same journal cannot undo each other.
    """

    def __init__(self, galleries: Mapping[Modality, Gallery], vault: Vault) -> None:
        self.galleries = dict(galleries)
        self.vault = vault
        self.last_seq = 0
        self._rw = ReadWriteLock()
        self._one_at_a_time = {
            m: (contextlib.nullcontext() if getattr(g, "parallel_reads", False) else threading.Lock())
            for m, g in self.galleries.items()
        }

    @property
    def shared(self) -> bool:
        """Whether the galleries are shared by every worker (then all of them are)."""
        return bool(self.galleries) and all(isinstance(g, SharedGallery) for g in self.galleries.values())

    def start(self, session: Session) -> int:
        """At start-up: load the galleries from the journal, or (shared galleries that another
        worker loaded) take up their position and replay the tail; returns the subjects loaded
        by this call."""
        if self.shared:
            lock_enrollment(session)  # one worker of the deployment loads shared galleries
            positions = {cast(SharedGallery, g).position() for g in self.galleries.values()}
            if len(positions) == 1 and None not in positions:
                with self._rw.write():
                    self.last_seq = cast(int, positions.pop())
                self.sync(session)
                return 0
        return self.rebuild(session)

    def rebuild(self, session: Session) -> int:
        """Load every subject whose last journal entry is ``add``; returns how many."""
        with self._rw.write():
            last = session.scalar(select(func.max(GalleryJournalRow.seq))) or 0
            latest = (
                select(GalleryJournalRow.ref, func.max(GalleryJournalRow.seq).label("seq"))
                .where(GalleryJournalRow.seq <= last)
                .group_by(GalleryJournalRow.ref)
                .subquery()
            )
            rows = session.execute(
                select(GalleryJournalRow.ref)
                .join(latest, GalleryJournalRow.seq == latest.c.seq)
                .where(GalleryJournalRow.op == "add")
            )
            refs = [r for (r,) in rows]
            for gallery in self.galleries.values():
                if isinstance(gallery, SharedGallery):
                    gallery.reset()
                else:
                    for ref in list(gallery.refs()):
                        gallery.remove(ref)
            loaded = self._load(session, refs)
            for modality, gallery in self.galleries.items():
                parts = [
                    (ref, {slot: ts for slot, ts in samples.items() if slot_modality(slot) == modality})
                    for ref, samples in loaded.items()
                ]
                parts = [(ref, part) for ref, part in parts if part]
                bulk = getattr(gallery, "add_many", None)
                if bulk is not None:
                    bulk(parts)  # the fingerprint index sorts its entries in once
                else:
                    for ref, part in parts:
                        gallery.add(ref, part)
                if isinstance(gallery, SharedGallery):
                    gallery.apply(last, [])  # loaded up to the journal's position ``last``
            self.last_seq = last
            return len(loaded)

    def sync(self, session: Session) -> int:
        """Apply the journal entries this process has not seen yet; returns how many."""
        if (session.scalar(select(func.max(GalleryJournalRow.seq))) or 0) <= self.last_seq:
            return 0  # the common case: nothing new, and no search is held back
        with self._rw.write():
            entries = list(
                session.scalars(
                    select(GalleryJournalRow)
                    .where(GalleryJournalRow.seq > self.last_seq)
                    .order_by(GalleryJournalRow.seq)
                )
            )
            if not entries:
                return 0
            final: dict[str, str] = {}
            for e in entries:
                final[e.ref] = e.op
            added = self._load(session, [ref for ref, op in final.items() if op == "add"])
            upto = entries[-1].seq
            for modality, gallery in self.galleries.items():
                if isinstance(gallery, SharedGallery):
                    changes = [(ref, self._part(added.get(ref), modality)) for ref in final]
                    gallery.apply(upto, changes)  # ignored by a shard that is further along
            for ref, op in final.items():
                if op == "add" and ref in added:
                    self._add(ref, added[ref])
                else:
                    self._remove(ref)
            self.last_seq = upto
            return len(entries)

    def search(self, probe: Mapping[str, Template], k: int) -> dict[str, dict[str, float]]:
        """ref -> slot -> score, over every gallery the probe has slots for. A subject found by
        one modality is also scored on the others (so a face ranked 11th still adds its evidence
        to a fingerprint hit, and the other way round)."""
        found: dict[str, dict[str, float]] = defaultdict(dict)
        with self._rw.read():
            parts = {
                modality: {slot: t for slot, t in probe.items() if slot_modality(slot) == modality}
                for modality in self.galleries
            }
            hits: dict[Modality, set[str]] = {}
            for modality, gallery in self.galleries.items():
                if parts[modality]:
                    with self._one_at_a_time[modality]:
                        candidates = gallery.search(parts[modality], k)
                    hits[modality] = {c.ref for c in candidates}
                    for candidate in candidates:
                        found[candidate.ref].update(candidate.slot_scores)
            for modality, refs in hits.items():
                for ref in set(found) - refs:
                    with self._one_at_a_time[modality]:
                        found[ref].update(self.galleries[modality].score(ref, parts[modality]))
        return dict(found)

    def size(self) -> int:
        with self._rw.read():
            return len(self._refs())

    def stats(self) -> dict[str, Any]:
        with self._rw.read():
            return {
                "subjects": len(self._refs()),
                "journal_seq": self.last_seq,
                "by_modality": {m.value: len(g) for m, g in self.galleries.items()},
                "shared": self.shared,
            }

    def refs(self) -> set[str]:
        with self._rw.read():
            return self._refs()

    def _refs(self) -> set[str]:
        out: set[str] = set()
        for gallery in self.galleries.values():
            out |= gallery.refs()
        return out

    @staticmethod
    def _part(
        samples: dict[str, list[Template]] | None, modality: Modality
    ) -> dict[str, list[Template]] | None:
        """A subject's templates of one modality (None: take the subject out of that gallery)."""
        if samples is None:
            return None
        part = {slot: ts for slot, ts in samples.items() if slot_modality(slot) == modality}
        return part or None

    def _add(self, ref: str, samples: dict[str, list[Template]]) -> None:
        for modality, gallery in self.galleries.items():
            if isinstance(gallery, SharedGallery):
                continue  # changed through apply (versioned)
            part = {slot: ts for slot, ts in samples.items() if slot_modality(slot) == modality}
            if part:
                gallery.add(ref, part)
            else:
                gallery.remove(ref)

    def _remove(self, ref: str) -> None:
        for gallery in self.galleries.values():
            if not isinstance(gallery, SharedGallery):
                gallery.remove(ref)

    def _load(self, session: Session, refs: list[str]) -> dict[str, dict[str, list[Template]]]:
        """Open the sealed templates of these refs (``p:<person>`` / ``a:<attempt>``)."""
        person_ids = {int(r[2:]): r for r in refs if r.startswith("p:")}
        attempt_ids = {int(r[2:]): r for r in refs if r.startswith("a:")}
        out: dict[str, dict[str, list[Template]]] = {}
        for ids, column in ((person_ids, TemplateRow.person_id), (attempt_ids, TemplateRow.attempt_id)):
            if not ids:
                continue
            keys = list(ids)
            for start in range(0, len(keys), 5000):
                chunk = keys[start : start + 5000]
                query = select(TemplateRow).where(column.in_(chunk)).order_by(TemplateRow.id)
                if column is TemplateRow.attempt_id:
                    query = query.where(TemplateRow.person_id.is_(None))
                for row in session.scalars(query):
                    owner = row.person_id if column is TemplateRow.person_id else row.attempt_id
                    assert owner is not None
                    ref = ids[owner]
                    template = open_template(self.vault, row)
                    out.setdefault(ref, {}).setdefault(row.slot, []).append(template)
        return out


def seal_template(
    vault: Vault, template: Template, slot: str, *, person_id: int | None, attempt_id: int | None
) -> TemplateRow:
    uid = str(uuid.uuid4())
    return TemplateRow(
        uid=uid,
        person_id=person_id,
        attempt_id=attempt_id,
        slot=slot,
        modality=template.modality.value,
        algorithm=template.algorithm,
        version=template.version,
        quality=template.quality,
        sealed=vault.seal(template.to_bytes(), f"template:{uid}/slot:{slot}"),
        created_at=_now(),
    )


def open_template(vault: Vault, row: TemplateRow) -> Template:
    return Template.from_bytes(vault.open(row.sealed, template_context(row)))


def template_context(row: TemplateRow) -> str:
    """The associated data of a sealed template: its uid and slot."""
    return f"template:{row.uid}/slot:{row.slot}"


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


# --- the use cases --------------------------------------------------------------------------------


class IdentityService:
    """Biometric use cases over a :class:`Registry` and this process's galleries."""

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
        """Rebuild the galleries from the registry (at start-up); returns the subjects loaded.
        Every sealed template is opened: one audit entry ("gallery.load") records it."""
        ctx = ctx or AccessContext.system(Purpose.ADMINISTRATION)

        def work(session: Session) -> int:
            loaded = self.index.start(session)
            if loaded:  # an empty registry opens nothing
                self.registry.audit.record(session, ctx, "gallery.load", details={"subjects": loaded})
            return loaded

        return self.registry.transact(work)

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
            gallery_size = max(1, self.index.size())
            thresholds = {
                "sure_llr": llr_threshold(gallery_size, self.policy.fpir_sure),
                "grey_llr": llr_threshold(gallery_size, self.policy.fpir_grey),
                "gallery_size": float(gallery_size),
            }
            candidates = self._candidates(session, samples)
            demographic = _demographic_matches(session, draft.data)
            best = candidates[0] if candidates else None
            now = _now()
            attempt = EnrollmentAttemptRow(
                submitted_at=now,
                actor=actor,
                reason=reason,
                demographics=_draft_json(draft, nationality),
                status="pending",
                best_llr=best.llr if best else None,
                evidence={
                    "thresholds": thresholds,
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
                session, attempt, draft, nationality, samples, candidates, thresholds, demographic
            )
            subject = person_ref(result.person.id) if result.person else attempt_ref(attempt.id)
            details: dict[str, Any] = {"attempt": attempt.id, "slots": sorted(samples), "cases": result.cases}
            if checked_images:
                details["images"] = sorted(checked_images)
            self.registry.audit.record(
                session, ctx, "enrollment.submit", subject=subject, outcome=result.status, details=details
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
        candidates: list[MatchEvidence],
        thresholds: dict[str, float],
        demographic: list[dict[str, Any]],
    ) -> EnrollmentResult:
        now = _now()
        best = candidates[0] if candidates else None
        if best is not None and best.llr >= thresholds["sure_llr"]:
            attempt.status = "refused"
            attempt.resolved_at = now
            attempt.duplicate_of = int(best.ref[2:]) if best.ref.startswith("p:") else None
            self._store(session, samples, person_id=None, attempt_id=attempt.id)
            return EnrollmentResult(
                "refused",
                attempt.id,
                duplicate_of=best.curp or best.ref,
                candidates=candidates,
                thresholds=thresholds,
            )
        grey = [c for c in candidates if c.llr >= thresholds["grey_llr"]]
        if grey:
            attempt.status = "pending"
            self._store(session, samples, person_id=None, attempt_id=attempt.id)
            session.add(GalleryJournalRow(ref=f"a:{attempt.id}", op="add", at=now))
            cases = []
            for c in grey:
                row = AdjudicationCaseRow(
                    attempt_id=attempt.id,
                    candidate_ref=c.ref,
                    fused_llr=c.llr,
                    evidence={
                        "match": c.to_dict(),
                        "thresholds": thresholds,
                        "demographic_matches": demographic,
                    },
                    status="open",
                    opened_at=now,
                )
                session.add(row)
                session.flush()
                cases.append(row.id)
            return EnrollmentResult(
                "pending", attempt.id, cases=cases, candidates=candidates, thresholds=thresholds
            )
        person = self._issue(session, attempt, draft, nationality, attempt.actor, attempt.reason)
        self._store(session, samples, person_id=person.id, attempt_id=attempt.id)
        return EnrollmentResult(
            "issued", attempt.id, person=_to_person(person), candidates=candidates, thresholds=thresholds
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
        attempt.status = "issued"
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

    # --- adjudication -----------------------------------------------------------------------------

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
            if row.status != "open":
                raise CaseClosedError(f"case {case_id} is {row.status} ({row.decision or 'no decision'})")
            now = _now()
            row.status, row.decision = "decided", "same" if same else "different"
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
                    if other.status == "open":
                        other.status = "closed"
                session.add(GalleryJournalRow(ref=f"a:{attempt.id}", op="remove", at=now))
            elif all(o.status == "decided" and o.decision == "different" for o in siblings):
                draft = _draft_from_json(attempt.demographics)
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
                outcome=case.decision or "decided",
                details={"case": case.id, "candidate": case.candidate_ref},
            )
            return case

        case = self.registry.transact(work)
        self._sync()
        return case

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
            status=row.status,
            decision=row.decision,
            adjudicator=row.adjudicator,
            reason=row.reason,
            opened_at=row.opened_at,
            decided_at=row.decided_at,
            evidence=dict(row.evidence),
            applicant={**attempt.demographics, "attempt_status": attempt.status},
        )


def _draft_json(draft: PersonDraft, nationality: str) -> dict[str, Any]:
    d = draft.data
    return {
        "given_names": d.given_names,
        "first_surname": d.first_surname,
        "second_surname": d.second_surname,
        "birth_date": d.birth_date.isoformat(),
        "sex": d.sex.value,
        "birth_state": d.birth_state,
        "nationality": nationality,
    }


def _draft_from_json(data: Mapping[str, Any]) -> PersonDraft:
    from datetime import date

    return PersonDraft(
        CurpData(
            given_names=data["given_names"],
            first_surname=data["first_surname"],
            second_surname=data["second_surname"],
            birth_date=date.fromisoformat(data["birth_date"]),
            sex=Sex(data["sex"]),
            birth_state=data["birth_state"],
        ),
        nationality=data["nationality"],
    )


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
