"""The galleries kept in step with the gallery journal, and the sealing of templates.

Every gallery change (a subject ``p:<person>`` or ``a:<attempt>`` added or removed) is a row of
the gallery journal, written in the same transaction as the registry change it follows; this
process's galleries replay the journal (all of it at start-up, the rows they have not seen before
each use), opening the subjects' sealed templates from the vault. So a crash at any point leaves
registry and journal in agreement, and the galleries are rebuilt from them.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from padron.domain.template import Modality, Template
from padron.matching.gallery import Gallery, SharedGallery, slot_modality
from padron.matching.locks import ReadWriteLock
from padron.registry.storage.database import lock_enrollment
from padron.registry.storage.models import GalleryJournalRow, TemplateRow
from padron.registry.vault import Vault


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
        created_at=datetime.now(UTC),
    )


def open_template(vault: Vault, row: TemplateRow) -> Template:
    return Template.from_bytes(vault.open(row.sealed, template_context(row)))


def template_context(row: TemplateRow) -> str:
    """The associated data of a sealed template: its uid and slot."""
    return f"template:{row.uid}/slot:{row.slot}"
