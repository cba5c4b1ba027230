"""Vault key rotation: re-wrap the data key of every sealed row under a new key-encryption key.

Only the 48-byte wrapped data key and its nonce change (:meth:`Vault.rewrap`); the sealed
payloads stay byte for byte. The rows are visited in batches, in id order, each batch its own
short transaction, so a server keeps serving while a rotation runs (configured with both keys in
its keyring, it opens rows under either). Rows under the target key already are skipped (the
query leaves them out), so a rotation killed at any point (kill -9) is resumed by running it
again; nothing is ever half re-wrapped (a row's new bytes are committed with its batch or not
at all).

Every kind of sealed row is listed in :data:`SEALED` -- templates, images and the galleries'
saved segments (64 MiB parts by default: one per transaction) --; the audit log records the start
and the end of each rotation run (system context, the operator in the details).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import LargeBinary, func, literal, select
from sqlalchemy.orm import Session

from padron.domain.access import AccessContext, Purpose
from padron.registry.adjudication import image_context
from padron.registry.journal import template_context
from padron.registry.segments import row_context
from padron.registry.service import Registry
from padron.registry.storage.models import GallerySegmentRow, SampleImageRow, TemplateRow
from padron.registry.vault import Vault, VaultUnknownKeyError

#: rows per transaction: images are up to a few MB each, templates a few KB
DEFAULT_BATCH = 100


@dataclass(frozen=True)
class SealedKind:
    """One table of sealed rows: its ``sealed`` column and the associated data of a row."""

    name: str
    model: type[TemplateRow] | type[SampleImageRow] | type[GallerySegmentRow]
    context: Callable[[Any], str]
    #: at most this many rows per transaction, whatever the batch size (large rows)
    max_batch: int | None = None


SEALED: tuple[SealedKind, ...] = (
    SealedKind("templates", TemplateRow, template_context),
    SealedKind("images", SampleImageRow, lambda row: image_context(row.attempt_id, row.slot)),
    SealedKind("gallery_segments", GallerySegmentRow, row_context, max_batch=1),
)


def _kek_column(kind: SealedKind) -> Any:
    """The kek id inside the sealed bytes (after the 3-byte magic), in SQL: SQLite's and
    PostgreSQL's substr both take blobs / bytea."""
    return func.substr(kind.model.sealed, 4, 8)


@dataclass
class KekCensus:
    """How many sealed rows of each kind are under each kek id."""

    counts: dict[str, dict[bytes, int]] = field(default_factory=dict)

    def total(self, kek_id: bytes) -> int:
        return sum(by_kek.get(kek_id, 0) for by_kek in self.counts.values())

    def kek_ids(self) -> list[bytes]:
        ids = {k for by_kek in self.counts.values() for k in by_kek}
        return sorted(ids)

    def pending(self, target: bytes) -> int:
        """Rows not under ``target``."""
        return sum(n for by_kek in self.counts.values() for k, n in by_kek.items() if k != target)

    def to_dict(self, vault: Vault) -> dict[str, Any]:
        return {
            "current_kek_id": vault.kek_id.hex(),
            "keks": [
                {
                    "kek_id": kek_id.hex(),
                    "key": vault.describe(kek_id),
                    **{kind: by_kek.get(kek_id, 0) for kind, by_kek in self.counts.items()},
                }
                for kek_id in self.kek_ids()
            ],
            "pending": self.pending(vault.kek_id),
        }


def census(registry: Registry) -> KekCensus:
    """Counts of sealed rows per kind and kek id (read only)."""
    out = KekCensus()
    with registry.db.read_session() as session:
        for kind in SEALED:
            column = _kek_column(kind)
            rows = session.execute(select(column, func.count()).group_by(column))
            out.counts[kind.name] = {bytes(kek_id): int(n) for kek_id, n in rows}
    return out


@dataclass
class RotationReport:
    target_kek_id: bytes
    before: KekCensus
    rewrapped: dict[str, int]
    batches: int

    def to_dict(self, vault: Vault) -> dict[str, Any]:
        return {
            "kek_id": self.target_kek_id.hex(),
            "rewrapped": dict(self.rewrapped),
            "batches": self.batches,
            "before": self.before.to_dict(vault),
        }


def rotate(
    registry: Registry,
    vault: Vault,
    *,
    batch_size: int = DEFAULT_BATCH,
    ctx: AccessContext | None = None,
    requested_by: str | None = None,
    after_batch: Callable[[str, int], None] | None = None,
) -> RotationReport:
    """Re-wrap every sealed row not under ``vault``'s current key (the target) with it.

    ``vault`` must open every row (its old keys): a row under a key outside the keyring is
    VaultUnknownKeyError before anything is changed (and, for a row written meanwhile, when its
    batch meets it; the batches before stay committed, and a rerun resumes). ``after_batch``
    (kind, rows) is called after each committed batch (progress; tests stop a rotation there)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    ctx = ctx or AccessContext.system(Purpose.ADMINISTRATION)
    target = vault.kek_id
    before = census(registry)
    unknown = [k for k in before.kek_ids() if not vault.knows(k)]
    if unknown:
        counts = {k.hex(): before.total(k) for k in unknown}
        raise VaultUnknownKeyError(
            f"{sum(counts.values())} sealed row(s) are under key(s) {', '.join(counts)} that are neither "
            f"the new key nor an old key configured: add the key they were sealed with to "
            "PADRON_VAULT_OLD_KEYS or PADRON_VAULT_OLD_KEY_FILES; nothing was changed",
            kek_ids=sorted(counts),
            rows=counts,
        )
    operator = {"requested_by": requested_by} if requested_by else {}
    pending = {kind: sum(n for k, n in by.items() if k != target) for kind, by in before.counts.items()}

    def started(session: Session) -> None:
        details = {"kek_id": target.hex(), "pending": pending, **operator}
        registry.audit.record(session, ctx, "vault.rotate", outcome="started", details=details)

    registry.transact(started)
    rewrapped = {kind.name: 0 for kind in SEALED}
    batches = 0
    target_literal = literal(target, LargeBinary)
    for kind in SEALED:
        last_id = 0
        while True:

            def batch(session: Session, kind: SealedKind = kind, after: int = last_id) -> list[int]:
                rows = list(
                    session.scalars(
                        select(kind.model)
                        .where(kind.model.id > after, _kek_column(kind) != target_literal)
                        .order_by(kind.model.id)
                        .limit(min(batch_size, kind.max_batch or batch_size))
                    )
                )
                ids = []
                for row in rows:
                    assert isinstance(row, TemplateRow | SampleImageRow | GallerySegmentRow)
                    row.sealed = vault.rewrap(row.sealed, kind.context(row))
                    ids.append(row.id)
                return ids

            ids = registry.transact(batch)
            if not ids:
                break
            last_id = ids[-1]
            rewrapped[kind.name] += len(ids)
            batches += 1
            if after_batch is not None:
                after_batch(kind.name, len(ids))

    def finished(session: Session) -> None:
        details = {"kek_id": target.hex(), "rewrapped": rewrapped, "batches": batches, **operator}
        registry.audit.record(session, ctx, "vault.rotate", outcome="completed", details=details)

    registry.transact(finished)
    return RotationReport(target, before, rewrapped, batches)
