"""The galleries kept in step with the gallery journal, and the sealing of templates.

Every gallery change (a subject ``p:<person>`` or ``a:<attempt>`` added or removed) is a row of
the gallery journal, written in the same transaction as the registry change it follows; this
process's galleries replay the journal (the rows they have not seen before each use), opening the
subjects' sealed templates from the vault. So a crash at any point leaves registry and journal in
agreement, and the galleries are rebuilt from them.

At start-up the galleries load the newest saved snapshot of their search form (sealed segments,
:mod:`padron.registry.segments`) and replay only the journal after its position; without a usable
snapshot (none yet, damaged, another format or configuration: logged) every subject's templates
are opened and the galleries rebuilt, and a snapshot is written after it. Snapshots are written
again every ``snapshot_every`` journal entries (in the background) and by ``padron gallery
snapshot``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, cast, runtime_checkable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from padron.domain.template import Modality, Template
from padron.matching.gallery import Gallery, SharedGallery, slot_modality
from padron.matching.heap import release_free_memory
from padron.matching.locks import ReadWriteLock
from padron.matching.segments import Assembler, PersistentGallery, SegmentError, encode_parts
from padron.registry.segments import SegmentStore, SnapshotInfo, check_complete
from padron.registry.storage.database import lock_enrollment
from padron.registry.storage.models import GalleryJournalRow, TemplateRow
from padron.registry.vault import Vault

log = logging.getLogger("padron.gallery")


@runtime_checkable
class ShardedSegments(Protocol):
    """A gallery spread over shards that save and load their own segments (RayGallery)."""

    @property
    def segment_layout(self) -> str: ...

    def export_parts(self, max_bytes: int) -> Iterator[bytes]: ...

    def load_parts(self, parts: Any) -> int: ...


#: subjects whose templates a rebuild opens and adds at a time
REBUILD_CHUNK = 10_000


def _release_freed_memory() -> None:
    """Give the heap freed by a rebuild (every template opened and decoded) back to the system
    (glibc's malloc_trim; nothing elsewhere): otherwise the process keeps it as resident memory."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _assemble(assembler: Assembler, info: object, plain: bytearray) -> None:
    assembler.add(plain, checked=True)


def gallery_layout(gallery: Gallery) -> str | None:
    """Which segments a gallery saves and loads: ``memory`` (in this process), ``ray/<n>``, or
    None when it cannot."""
    if isinstance(gallery, ShardedSegments):
        return gallery.segment_layout
    if isinstance(gallery, PersistentGallery):
        return "memory"
    return None


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

    def __init__(
        self,
        galleries: Mapping[Modality, Gallery],
        vault: Vault,
        *,
        segments: SegmentStore | None = None,
        snapshot_every: int = 0,
    ) -> None:
        self.galleries = dict(galleries)
        self.vault = vault
        self.last_seq = 0
        #: where snapshots are kept (None: never saved, every start-up rebuilds)
        self.segments = segments
        #: write a snapshot (in the background) once this many journal entries were applied
        #: since the newest one (0: only after a rebuild and when asked)
        self.snapshot_every = snapshot_every
        #: the journal position of the newest snapshot this process knows of
        self.snapshot_position: int | None = None
        #: a rebuild happened and no snapshot was written since
        self.snapshot_due = False
        #: how the last start-up went (source, snapshot, position, replayed entries, seconds)
        self.startup: dict[str, Any] = {}
        self._rw = ReadWriteLock()
        #: the subjects of every gallery together, kept up to date by :meth:`sync` once known
        #: (None: count them again; never kept for shared galleries, which other workers change)
        self._subjects: set[str] | None = None
        self._one_at_a_time = {
            m: (contextlib.nullcontext() if getattr(g, "parallel_reads", False) else threading.Lock())
            for m, g in self.galleries.items()
        }
        self._snapshot_lock = threading.Lock()
        self._background: threading.Thread | None = None
        layouts = {m: gallery_layout(g) for m, g in self.galleries.items()}
        #: modality -> segment layout, when every gallery can be saved
        self.layouts: dict[str, str] | None = (
            {m.value: cast(str, v) for m, v in layouts.items()}
            if self.galleries and all(v is not None for v in layouts.values())
            else None
        )

    @property
    def layout(self) -> str | None:
        """The snapshot layout of these galleries (None: they cannot be saved)."""
        if self.layouts is None:
            return None
        return ",".join(f"{m}={v}" for m, v in sorted(self.layouts.items()))

    @property
    def shared(self) -> bool:
        """Whether the galleries are shared by every worker (then all of them are)."""
        return bool(self.galleries) and all(isinstance(g, SharedGallery) for g in self.galleries.values())

    def start(self, session: Session) -> int:
        """At start-up: load the newest snapshot and replay the journal after it, or without a
        usable one rebuild the galleries from the journal; shared galleries that another worker
        loaded: take up their position and replay the tail. Returns the subjects loaded by this
        call (:attr:`startup` says how)."""
        began = time.perf_counter()
        if self.shared:
            lock_enrollment(session)  # one worker of the deployment loads shared galleries
            positions = {cast(SharedGallery, g).position() for g in self.galleries.values()}
            if len(positions) == 1 and None not in positions:
                with self._rw.write():
                    self.last_seq = cast(int, positions.pop())
                replayed = self.sync(session)
                self.startup = {
                    "source": "shared",
                    "position": self.last_seq,
                    "replayed": replayed,
                    "seconds": round(time.perf_counter() - began, 3),
                }
                return 0
        reason = self._why_no_segments()
        if reason is None:
            loaded = self._start_from_segments(session, began)
            if loaded is not None:
                release_free_memory()  # what opening the parts needed, back to the system
                return loaded
            reason = self.startup.get("fallback", "no snapshot")
        loaded = self.rebuild(session)
        release_free_memory()  # the decoded templates' temporaries, back to the system
        self.startup = {
            "source": "rebuild",
            "reason": reason,
            "position": self.last_seq,
            "seconds": round(time.perf_counter() - began, 3),
        }
        return loaded

    def _why_no_segments(self) -> str | None:
        if self.segments is None:
            return "segments are not kept"
        if self.layout is None:
            return "a gallery cannot be saved as segments"
        return None

    def _start_from_segments(self, session: Session, began: float) -> int | None:
        """Load the newest usable snapshot and replay the journal after it; None (galleries
        emptied, :attr:`startup` ``fallback`` saying why) when there is none to use."""
        assert self.segments is not None and self.layout is not None
        last = session.scalar(select(func.max(GalleryJournalRow.seq))) or 0
        snapshot: SnapshotInfo | None = None
        for attempt in range(2):
            snapshot = self.segments.latest(session, self.layout, last)
            if snapshot is None:
                self.startup = {"fallback": "no snapshot"}
                return None
            try:
                with self._rw.write():
                    self._load_snapshot(snapshot)
            except SegmentError as error:
                if error.details.get("vanished") and attempt == 0:
                    continue  # a newer snapshot replaced it while it was read: take that one
                log.warning(
                    "gallery snapshot %s (journal position %d) cannot be used, the galleries are "
                    "rebuilt from the registry: %s",
                    snapshot.id,
                    snapshot.position,
                    error,
                )
                self.startup = {"fallback": f"snapshot {snapshot.id} unusable: {error.message}"}
                self._empty()
                return None
            break
        assert snapshot is not None
        loaded_at = time.perf_counter()
        replayed = self.sync(session)
        self.snapshot_position = snapshot.position
        with self._rw.read():
            subjects = len(self._refs())
        self.startup = {
            "source": "segments",
            "snapshot": snapshot.id,
            "position": snapshot.position,
            "replayed": replayed,
            "subjects": subjects,
            "segment_bytes": snapshot.sealed_bytes,
            "load_seconds": round(loaded_at - began, 3),
            "seconds": round(time.perf_counter() - began, 3),
        }
        return subjects

    def _load_snapshot(self, snapshot: SnapshotInfo) -> None:
        """Every gallery from its segments (write lock held); SegmentError when any is unusable."""
        self._subjects = None
        assert self.segments is not None and self.layouts is not None
        for modality, gallery in self.galleries.items():
            parts = check_complete(snapshot, modality.value, self.layouts[modality.value])
            if isinstance(gallery, ShardedSegments):
                opened = self.segments.open_parts(parts)  # in order, each part to its shard
                gallery.load_parts((info.shard, plain) for info, plain in opened)
                continue
            assembler = Assembler(modality=modality.value, shard=0)
            # read, opened, verified and copied into place by the reader threads
            self.segments.read(parts, functools.partial(_assemble, assembler))
            state, common = assembler.state()
            if common["position"] != snapshot.position:
                raise SegmentError(f"the {modality.value} segment is not at the snapshot's position")
            cast(PersistentGallery, gallery).load_state(state)
        self.last_seq = snapshot.position

    def _empty(self) -> None:
        with self._rw.write():
            self._subjects = None
            for gallery in self.galleries.values():
                if isinstance(gallery, SharedGallery):
                    gallery.reset()
                else:
                    for ref in list(gallery.refs()):
                        gallery.remove(ref)
            self.last_seq = 0

    def rebuild(self, session: Session) -> int:
        """Load every subject whose last journal entry is ``add``, opening every template;
        returns how many (a snapshot is due after it)."""
        with self._rw.write():
            self._subjects = None
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
            # persons, then attempts, each by id; opened and added REBUILD_CHUNK subjects at a
            # time, so a national gallery's templates are never all decrypted at once
            refs.sort(key=lambda r: (r[:2], int(r[2:]) if r[2:].isdigit() else 0, r))
            loaded = 0
            for start in range(0, len(refs), REBUILD_CHUNK):
                opened = self._load(session, refs[start : start + REBUILD_CHUNK])
                loaded += len(opened)
                for modality, gallery in self.galleries.items():
                    parts = [
                        (ref, {slot: ts for slot, ts in samples.items() if slot_modality(slot) == modality})
                        for ref, samples in opened.items()
                    ]
                    parts = [(ref, part) for ref, part in parts if part]
                    bulk = getattr(gallery, "add_many", None)
                    if bulk is not None:
                        bulk(parts)  # the fingerprint index sorts each chunk's entries in once
                    else:
                        for ref, part in parts:
                            gallery.add(ref, part)
                del opened
            for gallery in self.galleries.values():
                if isinstance(gallery, SharedGallery):
                    gallery.apply(last, [])  # loaded up to the journal's position ``last``
            _release_freed_memory()
            self.last_seq = last
            # nothing to save in empty galleries (and a command on an empty registry writes nothing)
            self.snapshot_due = self.segments is not None and self.layout is not None and bool(loaded)
            return loaded

    # --- snapshots --------------------------------------------------------------------------------

    def snapshot(self) -> SnapshotInfo | None:
        """Save every gallery's search form at the journal position applied (None when the
        galleries cannot be saved or no store is configured). The embedded galleries' state is
        taken while journal changes wait (a moment: big arrays are referred to, not copied);
        encoding, sealing and writing happen after, searches and changes going on."""
        if self._why_no_segments() is not None:
            return None
        assert self.segments is not None and self.layouts is not None and self.layout is not None
        store, layouts = self.segments, self.layouts
        with self._snapshot_lock:
            with self._rw.read():
                position = self.last_seq
                local = {
                    m: cast(PersistentGallery, g).export_state()
                    for m, g in self.galleries.items()
                    if not isinstance(g, ShardedSegments)
                }

            def parts() -> Iterator[bytes]:
                for modality, gallery in self.galleries.items():
                    if isinstance(gallery, ShardedSegments):
                        yield from gallery.export_parts(store.part_bytes)
                    else:
                        state = local.pop(modality)
                        yield from encode_parts(
                            state, modality=modality.value, position=position, max_bytes=store.part_bytes
                        )

            info = store.write(self.layout, layouts, parts())
            self.snapshot_position = max(self.snapshot_position or 0, info.position)
            self.snapshot_due = False
            return info

    def wait_for_snapshot(self, timeout: float | None = None) -> None:
        """Wait until a background snapshot (if one runs) has finished."""
        thread = self._background
        if thread is not None:
            thread.join(timeout)

    def _maybe_snapshot(self) -> None:
        """A snapshot in the background once ``snapshot_every`` entries were applied since the
        newest one (another process's counts: if it wrote one recently, none is written)."""
        if not self.snapshot_every or self._why_no_segments() is not None:
            return
        if self.last_seq - (self.snapshot_position or 0) < self.snapshot_every:
            return
        if self._background is not None and self._background.is_alive():
            return

        def run() -> None:
            try:
                assert self.segments is not None and self.layout is not None
                newest = self.segments.latest_position(self.layout)
                if newest is not None and self.last_seq - newest < self.snapshot_every:
                    self.snapshot_position = max(self.snapshot_position or 0, newest)
                    return
                info = self.snapshot()
                if info is not None:
                    log.info("gallery snapshot %s written at journal position %d", info.id, info.position)
            except Exception as error:  # a snapshot is an optimization: never break serving
                log.warning("the background gallery snapshot failed: %s", error)

        self._background = threading.Thread(target=run, name="padron-gallery-snapshot", daemon=True)
        self._background.start()

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
                if self._subjects is not None:  # in some gallery iff it has templates of one
                    if op == "add" and any(self._part(added.get(ref), m) for m in self.galleries):
                        self._subjects.add(ref)
                    else:
                        self._subjects.discard(ref)
            self.last_seq = upto
        self._maybe_snapshot()
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
        """Subjects in the galleries together (what the dedup thresholds are set for): one
        gallery's length, or the union of several, counted once and then kept by :meth:`sync`
        (an enrollment asks for it each time: copying 100,000 refs took ~8 ms)."""
        with self._rw.read():
            if len(self.galleries) == 1:
                return len(next(iter(self.galleries.values())))
            if self._subjects is not None:
                return len(self._subjects)
            subjects = self._refs()
            if not any(isinstance(g, SharedGallery) for g in self.galleries.values()):
                self._subjects = subjects  # readers racing here store the same set
            return len(subjects)

    def stats(self) -> dict[str, Any]:
        with self._rw.read():
            return {
                "subjects": len(self._refs()),
                "journal_seq": self.last_seq,
                "by_modality": {m.value: len(g) for m, g in self.galleries.items()},
                "shared": self.shared,
                "snapshot_position": self.snapshot_position,
                "startup": dict(self.startup),
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
