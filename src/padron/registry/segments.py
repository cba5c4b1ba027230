"""Sealed gallery segments in the registry database: the galleries' search form saved at a
gallery-journal position, so that a restart loads it in bulk and replays only the journal after it.

A *snapshot* (table ``gallery_snapshots``) is every gallery of a process's BiometricIndex saved at
once; it holds one *segment* per gallery shard (an embedded gallery is one shard), each cut into
parts of about ``part_bytes`` (table ``gallery_segments``, one row per part). A part's plaintext
is :mod:`padron.matching.segments`'s layout (a JSON header and numpy arrays, no pickle); it is
sealed by the vault like a template (AES-256-GCM, its own data key wrapped by the vault key) with
:func:`segment_context` as associated data, so a part copied onto another row fails to open.
``padron keys rotate`` re-wraps these rows with the others.

Why the database and not files in the data folder: it is the one thing every process of a
deployment shares (server workers, the command line, the host that drives the Ray shards),
backups and restores carry the segments with the journal they belong to, a snapshot becomes
visible atomically (its ``completed_at`` is committed after its last part), and the vault-key
rotation reaches every sealed row in one place.

Writers never collide: each snapshot has its own id, every part is its own insert, and readers
only look at complete snapshots. After completing one, a writer deletes the older snapshots of
the same layout and any incomplete snapshot abandoned for a day; a reader whose parts vanish
meanwhile (another writer finished) tries the newest snapshot again, and otherwise the galleries
are rebuilt from the registry.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from padron.matching.segments import FORMAT, PART_BYTES, SegmentError, check_part, read_header
from padron.registry.storage.database import Database
from padron.registry.storage.models import GallerySegmentRow, GallerySnapshotRow
from padron.registry.vault import Vault, VaultError

log = logging.getLogger("padron.segments")

#: an incomplete snapshot older than this was abandoned by its writer (a crash): deleted
ABANDONED_AFTER = timedelta(days=1)


def segment_context(
    snapshot_id: str, modality: str, layout: str, shard: int, part: int, position: int
) -> str:
    """The associated data of a sealed segment part: its snapshot, gallery, shard, part and
    journal position."""
    return f"gallery-segment:{snapshot_id}/{modality}/{layout}/shard:{shard}/part:{part}/position:{position}"


def row_context(row: GallerySegmentRow) -> str:
    return segment_context(row.snapshot_id, row.modality, row.layout, row.shard, row.part, row.position)


@dataclass(frozen=True)
class SegmentInfo:
    """A stored part, without its bytes."""

    id: int
    snapshot_id: str
    modality: str
    layout: str
    shard: int
    shards: int
    part: int
    parts: int
    position: int
    format: int
    size: int

    @property
    def context(self) -> str:
        return segment_context(
            self.snapshot_id, self.modality, self.layout, self.shard, self.part, self.position
        )


@dataclass(frozen=True)
class SnapshotInfo:
    id: str
    layout: str
    position: int
    segments: tuple[SegmentInfo, ...]
    sealed_bytes: int
    completed_at: datetime | None
    written_by: str

    def parts_of(self, modality: str) -> list[SegmentInfo]:
        """The parts of one gallery, shard by shard, in order."""
        return sorted((s for s in self.segments if s.modality == modality), key=lambda s: (s.shard, s.part))

    def to_dict(self) -> dict[str, Any]:
        per: dict[str, dict[str, Any]] = {}
        for s in self.segments:
            entry = per.setdefault(
                s.modality, {"layout": s.layout, "parts": 0, "bytes": 0, "positions": set()}
            )
            entry["parts"] += 1
            entry["bytes"] += s.size
            entry["positions"].add(s.position)
        return {
            "id": self.id,
            "layout": self.layout,
            "position": self.position,
            "sealed_bytes": self.sealed_bytes,
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
            "written_by": self.written_by,
            "galleries": {m: {**e, "positions": sorted(e["positions"])} for m, e in sorted(per.items())},
        }


def _read_sealed(session: Session, segment_id: int) -> bytes | None:
    """A part's sealed bytes (None: the row is gone). On SQLite through the incremental blob
    API, about twice as fast as selecting a large blob."""
    if session.get_bind().dialect.name == "sqlite":
        raw = session.connection().connection.dbapi_connection
        if raw is not None and hasattr(raw, "blobopen"):
            try:
                with raw.blobopen(
                    GallerySegmentRow.__tablename__, "sealed", segment_id, readonly=True
                ) as blob:
                    return bytes(blob.read())
            except sqlite3.OperationalError:
                return None  # no such row
    value = session.scalar(select(GallerySegmentRow.sealed).where(GallerySegmentRow.id == segment_id))
    return bytes(value) if value is not None else None


def check_complete(snapshot: SnapshotInfo, modality: str, layout: str) -> list[SegmentInfo]:
    """The parts of ``modality``'s gallery, checked to make whole segments of ``layout``: every
    shard, every part of each, once (SegmentError otherwise)."""
    parts = snapshot.parts_of(modality)
    if not parts:
        raise SegmentError(f"snapshot {snapshot.id} has no {modality} gallery")
    shards = {s.shards for s in parts}
    layouts = {s.layout for s in parts}
    if layouts != {layout} or len(shards) != 1:
        raise SegmentError(f"snapshot {snapshot.id}'s {modality} segments are of layout {sorted(layouts)}")
    by_shard: dict[int, list[SegmentInfo]] = defaultdict(list)
    for s in parts:
        by_shard[s.shard].append(s)
    if set(by_shard) != set(range(shards.pop())):
        raise SegmentError(f"snapshot {snapshot.id}'s {modality} gallery lacks shards")
    for shard, got in by_shard.items():
        counts = {s.parts for s in got}
        if len(counts) != 1 or sorted(s.part for s in got) != list(range(counts.pop())):
            raise SegmentError(f"snapshot {snapshot.id}'s {modality} shard {shard + 1} lacks parts")
    if any(s.format != FORMAT for s in parts):
        raise SegmentError(
            f"snapshot {snapshot.id}'s {modality} segments are of another format",
            format=sorted({s.format for s in parts}),
        )
    return parts


class SegmentStore:
    """Gallery segments in the registry database, sealed with the vault."""

    def __init__(self, db: Database, vault: Vault, *, part_bytes: int = PART_BYTES, readers: int = 2) -> None:
        if part_bytes < 1 << 10:
            raise ValueError("part_bytes must be at least 1 KiB")
        self.db = db
        self.vault = vault
        self.part_bytes = part_bytes
        self.readers = max(1, readers)

    # --- reading ------------------------------------------------------------------------------------

    def latest(self, session: Session, layout: str, upto: int) -> SnapshotInfo | None:
        """The newest complete snapshot of this layout at a journal position no later than
        ``upto`` (a later one cannot belong to this journal: logged and skipped)."""
        base = select(GallerySnapshotRow).where(
            GallerySnapshotRow.layout == layout, GallerySnapshotRow.completed_at.is_not(None)
        )
        ahead = session.scalar(
            select(func.count()).select_from(base.where(GallerySnapshotRow.position > upto).subquery())
        )
        if ahead:
            log.warning(
                "%d gallery snapshot(s) are ahead of the gallery journal (position > %d): not used",
                ahead,
                upto,
            )
        row = session.scalars(
            base.where(GallerySnapshotRow.position <= upto)
            .order_by(GallerySnapshotRow.position.desc(), GallerySnapshotRow.completed_at.desc())
            .limit(1)
        ).first()
        return self._info(session, row) if row is not None else None

    def snapshots(self, session: Session) -> list[SnapshotInfo]:
        """Every snapshot (complete or not), newest first."""
        rows = session.scalars(select(GallerySnapshotRow).order_by(GallerySnapshotRow.created_at.desc()))
        return [self._info(session, row) for row in rows]

    def _info(self, session: Session, row: GallerySnapshotRow) -> SnapshotInfo:
        columns = [c for c in GallerySegmentRow.__table__.columns if c.key not in ("sealed", "created_at")]
        parts = session.execute(
            select(*columns).where(GallerySegmentRow.snapshot_id == row.id).order_by(GallerySegmentRow.id)
        )
        return SnapshotInfo(
            id=row.id,
            layout=row.layout,
            position=int(row.position) if row.position is not None else -1,
            segments=tuple(SegmentInfo(**dict(p._mapping)) for p in parts),
            sealed_bytes=int(row.sealed_bytes),
            completed_at=row.completed_at,
            written_by=row.written_by,
        )

    def open_parts(self, parts: Sequence[SegmentInfo]) -> Iterator[tuple[SegmentInfo, bytearray]]:
        """Each part opened and its checksum verified, in the order given; the next ones are
        read and opened by ``readers`` threads meanwhile. SegmentError when a part is gone
        (``vanished``), fails to open or is not what its row says."""
        with ThreadPoolExecutor(max_workers=self.readers, thread_name_prefix="padron-segments") as pool:
            ahead: list[Future[bytearray]] = []
            queue = list(parts)
            window = self.readers + 1
            at = 0
            try:
                for info in queue:
                    while len(ahead) < window and at < len(queue):
                        ahead.append(pool.submit(self._open, queue[at]))
                        at += 1
                    yield info, ahead.pop(0).result()
            finally:
                for future in ahead:
                    future.cancel()

    def read(self, parts: Sequence[SegmentInfo], sink: Callable[[SegmentInfo, bytearray], object]) -> None:
        """Each part read, opened, verified and given to ``sink`` (e.g. an Assembler's ``add``) in
        ``readers`` threads, in any order; the first failure is raised once the threads stop."""
        if not parts:
            return
        with ThreadPoolExecutor(max_workers=self.readers, thread_name_prefix="padron-segments") as pool:
            failed = threading.Event()

            def one(info: SegmentInfo) -> None:
                if failed.is_set():
                    return
                try:
                    plain = self._open(info)
                    sink(info, plain)
                except BaseException:
                    failed.set()
                    raise

            futures = [pool.submit(one, info) for info in parts]
            errors = [f.exception() for f in futures]
        for error in errors:
            if error is not None:
                raise error

    def _open(self, info: SegmentInfo) -> bytearray:
        with self.db.read_session() as session:
            sealed = _read_sealed(session, info.id)
        if sealed is None:
            raise SegmentError(
                f"gallery segment {info.id} vanished (a newer snapshot replaced it)", vanished=True
            )
        try:
            plain = self.vault.open_buffer(sealed, info.context)
        except VaultError as error:
            raise SegmentError(f"gallery segment {info.id} does not open: {error.message}") from None
        del sealed
        header = check_part(plain)
        expected = {
            "modality": info.modality,
            "shard": info.shard,
            "shards": info.shards,
            "part": info.part,
            "parts": info.parts,
            "position": info.position,
        }
        found = {k: header.get(k) for k in expected}
        if found != expected:
            raise SegmentError(
                f"gallery segment {info.id} is not what its row says", row=expected, header=found
            )
        return plain

    # --- writing ------------------------------------------------------------------------------------

    def write(self, layout: str, layouts: dict[str, str], parts: Iterable[bytes]) -> SnapshotInfo:
        """Store a snapshot: ``parts`` (plaintext, any gallery, any shard) are sealed and inserted
        one per transaction, then the snapshot is completed and the older ones of its layout are
        deleted. ``layouts``: modality -> that gallery's layout."""
        snapshot_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        writer = f"{socket.gethostname()}:{os.getpid()}"[:200]
        with self.db.session() as session:
            session.add(
                GallerySnapshotRow(
                    id=snapshot_id,
                    layout=layout,
                    position=None,
                    segments=0,
                    sealed_bytes=0,
                    written_by=writer,
                    created_at=now,
                    completed_at=None,
                )
            )
        positions: list[int] = []
        written = total = 0
        try:
            for part in parts:
                header = read_header(part)
                modality = str(header["modality"])
                if modality not in layouts:
                    raise SegmentError(f"a segment of gallery {modality!r} has no layout")
                row = GallerySegmentRow(
                    snapshot_id=snapshot_id,
                    modality=modality,
                    layout=layouts[modality],
                    shard=int(header["shard"]),
                    shards=int(header["shards"]),
                    part=int(header["part"]),
                    parts=int(header["parts"]),
                    position=int(header["position"]),
                    format=int(header["format"]),
                    size=len(part),
                    created_at=datetime.now(UTC),
                )
                row.sealed = self.vault.seal(part, row_context(row))
                total += len(row.sealed)
                with self.db.session() as session:
                    session.add(row)
                positions.append(row.position)
                written += 1
                del part
            if not positions:
                raise SegmentError("a snapshot needs at least one segment")

            def complete(session: Session) -> None:
                session.execute(
                    update(GallerySnapshotRow)
                    .where(GallerySnapshotRow.id == snapshot_id)
                    .values(
                        position=min(positions),
                        segments=written,
                        sealed_bytes=total,
                        completed_at=datetime.now(UTC),
                    )
                )

            with self.db.session() as session:
                complete(session)
        except BaseException:
            self._drop([snapshot_id])
            raise
        self.prune(layout)
        with self.db.read_session() as session:
            done = session.get(GallerySnapshotRow, snapshot_id)
            if done is None:  # pruned at once: a newer snapshot completed meanwhile
                return SnapshotInfo(snapshot_id, layout, min(positions), (), total, datetime.now(UTC), writer)
            return self._info(session, done)

    def prune(self, layout: str) -> int:
        """Delete the snapshots of ``layout`` older than its newest complete one, and every
        incomplete snapshot abandoned for :data:`ABANDONED_AFTER`; returns how many."""
        with self.db.read_session() as session:
            newest = session.execute(
                select(GallerySnapshotRow.id)
                .where(GallerySnapshotRow.layout == layout, GallerySnapshotRow.completed_at.is_not(None))
                .order_by(GallerySnapshotRow.position.desc(), GallerySnapshotRow.completed_at.desc())
                .limit(1)
            ).scalar()
            stale = list(
                session.scalars(
                    select(GallerySnapshotRow.id).where(
                        GallerySnapshotRow.layout == layout,
                        GallerySnapshotRow.completed_at.is_not(None),
                        GallerySnapshotRow.id != newest,
                    )
                )
            )
            abandoned = list(
                session.scalars(
                    select(GallerySnapshotRow.id).where(
                        GallerySnapshotRow.completed_at.is_(None),
                        GallerySnapshotRow.created_at < datetime.now(UTC) - ABANDONED_AFTER,
                    )
                )
            )
        self._drop(stale + abandoned)
        return len(stale) + len(abandoned)

    def _drop(self, ids: list[str]) -> None:
        for snapshot_id in ids:
            try:
                with self.db.session() as session:
                    session.execute(
                        delete(GallerySegmentRow).where(GallerySegmentRow.snapshot_id == snapshot_id)
                    )
                    session.execute(delete(GallerySnapshotRow).where(GallerySnapshotRow.id == snapshot_id))
            except Exception as error:  # best effort: the next writer deletes it
                log.warning("could not delete gallery snapshot %s: %s", snapshot_id, error)

    def latest_position(self, layout: str) -> int | None:
        """The journal position of the newest complete snapshot of ``layout`` (None: none)."""
        with self.db.read_session() as session:
            value = session.scalar(
                select(func.max(GallerySnapshotRow.position)).where(
                    GallerySnapshotRow.layout == layout, GallerySnapshotRow.completed_at.is_not(None)
                )
            )
        return int(value) if value is not None else None
