"""Check a stored audit log against its signed checkpoints and say exactly what was changed.

Design: two independent protections.

1. **Each entry names its place and its predecessor.** An entry's canonical bytes hold ``seq``
   (its index) and ``prev`` (the RFC 6962 leaf hash of entry ``seq - 1``; zeros for entry 0), so
   the log is a hash chain inside the entries themselves. Changing a stored row without
   rewriting every later one leaves a trace that points at the row:

   * **edited** entry ``i``: entry ``i + 1``'s ``prev`` no longer matches entry ``i``'s hash (an
     edit that also changed ``i``'s own ``prev`` breaks both of its links; one that made it
     unreadable leaves a row that does not decode where entry ``i`` belongs);
   * **deleted** entry ``i``: no row carries ``seq`` ``i`` (and entry ``i + 1``'s ``prev`` still
     holds the deleted entry's hash);
   * **inserted** row at position ``p``: a row whose ``seq`` is already taken by an entry that the
     next entry's ``prev`` vouches for, or whose ``seq`` nothing links to, or that does not decode;
   * **reordered** entries ``i`` and ``j``: the rows are in the wrong order by ``seq``.

2. **Signed checkpoints fix the whole log.** Every N entries or T seconds the log signs a
   checkpoint (size, RFC 6962 Merkle root, time) as a C2SP signed note, and the data-protection
   authority cosigns and keeps a copy. The verifier checks each checkpoint's signature, that the
   first ``size`` entries hash to its root, and that successive checkpoints only ever grew: a log
   with fewer entries than a checkpoint signed was **truncated**; a checkpoint that does not
   extend an earlier one is a fork. The root check does not take the diagnosis of (1) on trust:
   it runs over the leaf hashes as the entries' links say they were (an edited or deleted
   entry's original hash is the ``prev`` of the entry after it; inserted rows are left out;
   reordered rows are put back by ``seq``), so a diagnosis is confirmed by the signed root. A
   change that (1) cannot see, such as a rewrite of the chain from some entry on, shows as a
   **root mismatch** narrowed to the entries between the last checkpoint that still matches and
   the first that does not.

What this cannot see: a change to entries after the latest checkpoint made by someone who also
rewrites the links after it (those entries are only chained, not yet signed), or the removal of
entries after the latest checkpoint. Checkpoints are therefore written often and exported.

What the registry stores per entry: ``seq`` (the order, unique), the canonical bytes, and
optionally the leaf hash (:func:`padron.audit.merkle.leaf_hash` of the bytes) to build proofs
without hashing every entry again; it appends with :func:`padron.audit.entry.link_after` inside
the transaction that holds the last row. Per checkpoint: the signed note text (with the
authority's cosignature added when it comes back), in the order they were signed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from typing import Any

from padron.audit.checkpoint import Checkpoint, Verifier, open_checkpoint
from padron.audit.entry import GENESIS_PREV, AuditEntry
from padron.audit.errors import (
    InclusionProofError,
    LogMismatchError,
    MalformedEntryError,
    MalformedNoteError,
    NotCheckpointedError,
    SignatureError,
    UnknownSignerError,
)
from padron.audit.merkle import (
    TreeBuilder,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    leaf_hashes,
    verify_consistency,
    verify_inclusion,
)


class FindingKind(StrEnum):
    EDITED = "edited"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"
    TRUNCATED = "truncated"
    ROOT_MISMATCH = "root-mismatch"
    MALFORMED_CHECKPOINT = "malformed-checkpoint"
    BAD_SIGNATURE = "bad-signature"
    UNKNOWN_KEY = "unknown-key"
    WRONG_ORIGIN = "wrong-origin"
    INCONSISTENT = "inconsistent"


@dataclass(frozen=True)
class Finding:
    """One fault. ``index`` is an entry index (its ``seq``; for ``inserted``, the position of the
    row in the stored log), None for a fault of a checkpoint alone; ``related`` lists the other
    entry indices involved (the partner of a swap, the rest of a run of deleted entries);
    ``checkpoint`` is the position in the checkpoint list of the checkpoint involved."""

    kind: FindingKind
    index: int | None
    message: str
    related: tuple[int, ...] = ()
    checkpoint: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "index": self.index,
            "related": list(self.related),
            "checkpoint": self.checkpoint,
            "message": self.message,
        }


@dataclass(frozen=True)
class LogReport:
    """What :func:`verify_log` found; ``ok`` only when it found nothing."""

    entries: int
    checkpoints: int
    #: checkpoints whose signature verified and whose root the log matches
    verified_checkpoints: int
    #: the newest of those (what proofs are given against), None if there is none
    latest: Checkpoint | None
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "verified_checkpoints": self.verified_checkpoints,
            "latest_size": None if self.latest is None else self.latest.size,
            "findings": [finding.to_dict() for finding in self.findings],
        }


@dataclass(frozen=True)
class _Row:
    position: int
    hash: bytes
    entry: AuditEntry | None
    problem: str | None = None


def _runs(numbers: Sequence[int]) -> list[list[int]]:
    """Sorted integers grouped into runs of consecutive ones."""
    runs: list[list[int]] = []
    for n in sorted(numbers):
        if runs and runs[-1][-1] == n - 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return runs


def _span(run: Sequence[int]) -> str:
    return f"entry {run[0]}" if len(run) == 1 else f"entries {run[0]} to {run[-1]}"


class _EntryAnalysis:
    """Reads the rows, decides which row is entry ``s`` for each ``s``, and diagnoses the rest."""

    def __init__(self, entries: Sequence[bytes], signed: int) -> None:
        """``signed``: the largest size a trusted checkpoint signed."""
        self.findings: list[Finding] = []
        rows: list[_Row] = []
        for position, data in enumerate(entries):
            try:
                rows.append(_Row(position, leaf_hash(data), AuditEntry.from_bytes(data)))
            except MalformedEntryError as exc:
                rows.append(_Row(position, leaf_hash(data), None, exc.message))
        by_seq: dict[int, list[_Row]] = {}
        for row in rows:
            if row.entry is not None:
                by_seq.setdefault(row.entry.seq, []).append(row)
        self._hashes = {s: {row.hash for row in group} for s, group in by_seq.items()}
        self._prevs = {s: {row.entry.prev for row in group if row.entry} for s, group in by_seq.items()}

        # Which row is entry s: the one entry s + 1's prev vouches for, else one that links back
        # to entry s - 1, else the first stored. Every seq a checkpoint signed or some entry
        # links to belongs to the log. Beyond those, a row nothing links to is a stray, except
        # the last stored row if it can be the log's last entry (with its own prev edited, or
        # after its predecessor was deleted).
        linked = [s for s, group in by_seq.items() if any(self._back(r) or self._forward(r) for r in group)]
        top = max(linked, default=-1)
        limit = max(top + 1, signed)
        self.genuine: dict[int, _Row] = {}
        extra = [row for row in rows if row.entry is None]
        for s, group in by_seq.items():
            if s >= limit:
                continue
            best = max(group, key=lambda r: (self._forward(r), self._back(r), -r.position))
            self.genuine[s] = best
            extra.extend(row for row in group if row is not best)
        last = max((row.position for row in self.genuine.values()), default=-1)
        tail = rows[-1] if rows and rows[-1].entry is not None and rows[-1].position > last else None
        for s, group in by_seq.items():
            if s < limit:
                continue
            if tail is not None and tail.entry is not None and tail.entry.seq == s and s <= top + 2:
                self.genuine[s] = tail
                extra.extend(row for row in group if row is not tail)
            else:
                extra.extend(group)
        extra.sort(key=lambda row: row.position)
        self.length = max(self.genuine, default=-1) + 1
        self.lost: set[int] = set()  # entries whose row is gone or replaced: hash known from the next
        #: the last entry, when it no longer links to the one before it (which of the two changed?)
        self.unsure_tail: int | None = None
        self._gaps(extra)
        self._links()
        self._order()

    def _back(self, row: _Row) -> bool:
        assert row.entry is not None
        s = row.entry.seq
        return row.entry.prev == GENESIS_PREV if s == 0 else row.entry.prev in self._hashes.get(s - 1, ())

    def _forward(self, row: _Row) -> bool:
        assert row.entry is not None
        return row.hash in self._prevs.get(row.entry.seq + 1, ())

    def _gaps(self, extra: list[_Row]) -> None:
        """Missing entries: replaced (edited) when a stray row stands in their place, else deleted;
        stray rows left over are inserted."""
        missing = [s for s in range(self.length) if s not in self.genuine]
        unused = list(extra)
        for run in _runs(missing):
            before = self.genuine[run[0] - 1].position if run[0] > 0 else -1
            after = self.genuine[run[-1] + 1].position
            lo, hi = min(before, after), max(before, after)
            stand_ins = [row for row in unused if lo < row.position < hi]
            deleted: list[int] = []
            for i, s in enumerate(run):
                if i < len(stand_ins):
                    row = stand_ins[i]
                    unused.remove(row)
                    what = (
                        f"it no longer decodes ({row.problem})"
                        if row.entry is None
                        else f"its row now claims seq {row.entry.seq}"
                    )
                    self._add(FindingKind.EDITED, s, f"entry {s} was altered: {what}")
                else:
                    deleted.append(s)
            for gone in _runs(deleted):
                self._add(
                    FindingKind.DELETED,
                    gone[0],
                    f"{_span(gone)} {'was' if len(gone) == 1 else 'were'} deleted: no stored row "
                    f"holds {'it' if len(gone) == 1 else 'them'}, and entry {gone[-1] + 1} still "
                    f"links to {'it' if len(gone) == 1 else f'entry {gone[-1]}'}",
                    tuple(gone[1:]),
                )
            self.lost.update(run)
        for row in unused:
            if row.entry is None:
                why = f"a row that is not an audit entry ({row.problem})"
            elif row.entry.seq in self.genuine:
                why = f"a row claiming seq {row.entry.seq}, which entry {row.entry.seq} holds"
            else:
                why = f"a row claiming seq {row.entry.seq}, which no entry of the log links to"
            self._add(FindingKind.INSERTED, row.position, f"inserted at position {row.position}: {why}")

    def _links(self) -> None:
        """Broken ``prev`` links: a break before entry s alone means entry s - 1 was edited; breaks
        before s and s + 1 mean entry s was edited (its own ``prev`` with it)."""
        breaks: list[int] = []
        for s in sorted(self.genuine):
            row = self.genuine[s]
            assert row.entry is not None
            if s == 0:
                expected = GENESIS_PREV
            elif s - 1 in self.genuine:
                expected = self.genuine[s - 1].hash
            else:
                continue  # the predecessor is lost; its hash is known only from this link
            if row.entry.prev != expected:
                breaks.append(s)
        broken = set(breaks)
        done: set[int] = set()
        for s in breaks:
            if s in done:
                continue
            if s + 1 in broken:
                done.update((s, s + 1))
                edited = s
                start = f"it no longer links to entry {s - 1}" if s else "it no longer starts the chain"
                message = f"entry {s} was edited: {start}, and entry {s + 1} no longer links to it"
            elif s == 0:
                done.add(s)
                edited, message = 0, "entry 0 was edited: it no longer starts the chain"
            else:
                done.add(s)
                edited = s - 1
                message = f"entry {edited} was edited: its hash is no longer the one entry {s} recorded"
                if s == self.length - 1:
                    # nothing after the last entry vouches for it: it may be the one changed
                    self.unsure_tail = s
            self._add(FindingKind.EDITED, edited, message)
            self.lost.add(edited)

    def _order(self) -> None:
        """Rows out of ``seq`` order: each cycle of the permutation is one reordering."""
        stored = [
            row.entry.seq for row in sorted(self.genuine.values(), key=lambda r: r.position) if row.entry
        ]
        ordered = sorted(stored)
        rank = {s: i for i, s in enumerate(ordered)}
        seen: set[int] = set()
        for start in range(len(stored)):
            if start in seen or rank[stored[start]] == start:
                continue
            cycle: list[int] = []
            slot = start
            while slot not in seen:
                seen.add(slot)
                cycle.append(slot)
                slot = rank[stored[slot]]
            self._reordering(sorted(cycle), stored, ordered)

    def _reordering(self, slots: list[int], stored: list[int], ordered: list[int]) -> None:
        seqs = sorted(stored[slot] for slot in slots)
        lo, hi = slots[0], slots[-1]
        if len(slots) == 2:
            a, b = seqs
            self._add(FindingKind.REORDERED, a, f"entries {a} and {b} were swapped", (b,))
        elif (
            slots == list(range(lo, hi + 1))
            and stored[lo] == ordered[hi]
            and stored[lo + 1 : hi + 1] == (ordered[lo:hi])
        ):
            moved, before = ordered[hi], ordered[lo]
            self._add(
                FindingKind.REORDERED,
                moved,
                f"entry {moved} was moved: it is stored before entry {before}",
                (before,),
            )
        elif (
            slots == list(range(lo, hi + 1))
            and stored[hi] == ordered[lo]
            and stored[lo:hi] == (ordered[lo + 1 : hi + 1])
        ):
            moved, after = ordered[lo], ordered[hi]
            self._add(
                FindingKind.REORDERED,
                moved,
                f"entry {moved} was moved: it is stored after entry {after}",
                (after,),
            )
        else:
            listed = ", ".join(str(s) for s in seqs)
            self._add(
                FindingKind.REORDERED, seqs[0], f"entries {listed} are stored out of order", tuple(seqs[1:])
            )

    def _add(self, kind: FindingKind, index: int, message: str, related: tuple[int, ...] = ()) -> None:
        self.findings.append(Finding(kind, index, message, related))

    def original_hashes(self) -> list[bytes | None]:
        """The leaf hash of each entry as written, where the log still shows it (None: unknown)."""
        hashes: list[bytes | None] = [None] * self.length
        for s, row in self.genuine.items():
            hashes[s] = row.hash
        for s in self.lost:
            successor = self.genuine.get(s + 1)
            hashes[s] = successor.entry.prev if successor is not None and successor.entry else None
        return hashes


def _known_prefix(hashes: Sequence[bytes | None]) -> list[bytes]:
    """The hashes up to the first unknown one."""
    known: list[bytes] = []
    for value in hashes:
        if value is None:
            break
        known.append(value)
    return known


def _prefix_roots(known: Sequence[bytes], sizes: set[int]) -> dict[int, bytes]:
    """The root of the first ``size`` hashes for each wanted size, in one pass (O(n + k log n))."""
    roots: dict[int, bytes] = {}
    builder = TreeBuilder()
    if 0 in sizes:
        roots[0] = builder.root()
    for value in known[: max(sizes, default=0)]:
        builder.append(value)
        if builder.size in sizes:
            roots[builder.size] = builder.root()
    return roots


def _open_all(
    notes: Sequence[str], keys: Sequence[Verifier], origin: str | None
) -> tuple[list[tuple[int, Checkpoint]], list[Finding]]:
    """The checkpoints that verify and are of the log (with their positions), and findings."""
    findings: list[Finding] = []
    trusted: list[tuple[int, Checkpoint]] = []
    for k, note in enumerate(notes):
        try:
            checkpoint = open_checkpoint(note, keys).checkpoint
        except MalformedNoteError as exc:
            kind, message = FindingKind.MALFORMED_CHECKPOINT, f"checkpoint {k} is malformed: {exc.message}"
        except SignatureError as exc:
            kind, message = FindingKind.BAD_SIGNATURE, f"checkpoint {k} was altered or forged: {exc.message}"
        except UnknownSignerError as exc:
            kind, message = FindingKind.UNKNOWN_KEY, f"checkpoint {k} cannot be trusted: {exc.message}"
        else:
            expected = origin if origin is not None else (trusted[0][1] if trusted else checkpoint).origin
            if checkpoint.origin == expected:
                trusted.append((k, checkpoint))
                continue
            kind = FindingKind.WRONG_ORIGIN
            message = f"checkpoint {k} is of the log {checkpoint.origin!r}, not {expected!r}"
        findings.append(Finding(kind, None, message, checkpoint=k))
    return trusted, findings


def _order_of(trusted: Sequence[tuple[int, Checkpoint]]) -> list[Finding]:
    """Successive checkpoints that shrink, fork at one size, or go back in time."""
    findings: list[Finding] = []
    for (j, older), (k, newer) in pairwise(trusted):
        if newer.size < older.size:
            problem = (
                f"checkpoint {k} signs {newer.size} entries, fewer than the {older.size} of checkpoint "
                f"{j} before it: the log was rolled back"
            )
        elif newer.size == older.size and newer.root != older.root:
            problem = f"checkpoints {j} and {k} sign different logs of the same size {newer.size} (a fork)"
        elif newer.time < older.time:
            problem = f"checkpoint {k} is dated before checkpoint {j}, which precedes it"
        else:
            continue
        findings.append(Finding(FindingKind.INCONSISTENT, None, problem, checkpoint=k))
    return findings


def verify_log(
    entries: Sequence[bytes],
    checkpoints: Sequence[str],
    keys: Sequence[Verifier],
    *,
    origin: str | None = None,
) -> LogReport:
    """Check the stored entries (in stored order) against the signed checkpoints (in the order
    they were written) with the known public keys; every fault found is a :class:`Finding`.

    ``origin`` is the log's name; without it every checkpoint must name the first one's origin.
    """
    trusted, checkpoint_findings = _open_all(checkpoints, keys, origin)
    checkpoint_findings.extend(_order_of(trusted))
    analysis = _EntryAnalysis(entries, max((c.size for _, c in trusted), default=0))
    entry_findings = list(analysis.findings)
    length = analysis.length
    known = _known_prefix(analysis.original_hashes())
    roots = _prefix_roots(known, {c.size for _, c in trusted if c.size <= length})
    matches: dict[int, bool] = {}
    for k, checkpoint in trusted:
        if checkpoint.size in roots:
            matches[k] = roots[checkpoint.size] == checkpoint.root

    beyond = [(k, c) for k, c in trusted if c.size > length]
    if beyond:
        k, longest = max(beyond, key=lambda item: item[1].size)
        entry_findings.append(
            Finding(
                FindingKind.TRUNCATED,
                length,
                f"the log was truncated: it holds {length} entries but checkpoint {k} signed "
                f"{longest.size}; {_span(list(range(length, longest.size)))} are gone",
                checkpoint=k,
            )
        )

    mismatched = [(k, c) for k, c in trusted if matches.get(k) is False]
    if mismatched:
        k, first = min(mismatched, key=lambda item: item[1].size)
        below = [c.size for j, c in trusted if matches.get(j) and c.size < first.size]
        start = max(below, default=0)
        entry_findings.append(
            Finding(
                FindingKind.ROOT_MISMATCH,
                start,
                f"entries {start} to {first.size - 1} are not what checkpoint {k} signed "
                f"(size {first.size})"
                + (f"; the entries before {start} match earlier checkpoints" if below else ""),
                checkpoint=k,
            )
        )

    for (j, older), (k, newer) in pairwise(trusted):
        if matches.get(j) is False and matches.get(k) and older.size <= newer.size:
            proof = consistency_proof(older.size, known[: newer.size])  # newer matched: all known
            if not verify_consistency(older.size, newer.size, older.root, newer.root, proof):
                checkpoint_findings.append(
                    Finding(
                        FindingKind.INCONSISTENT,
                        None,
                        f"checkpoint {k} (size {newer.size}) does not extend checkpoint {j} (size "
                        f"{older.size}): the log was rewritten before entry {older.size} and signed again",
                        checkpoint=k,
                    )
                )

    matched = [(k, c) for k, c in trusted if matches.get(k)]
    tail = analysis.unsure_tail
    if tail is not None and not any(c.size > tail for _, c in matched):
        # no signed root shows the last entry intact, so the blame may lie with it instead
        entry_findings = [
            Finding(
                FindingKind.EDITED,
                tail - 1,
                f"entry {tail} no longer links to entry {tail - 1}: entry {tail - 1} was edited, or "
                f"the last entry, {tail}, was",
                (tail,),
            )
            if f.kind is FindingKind.EDITED and f.index == tail - 1
            else f
            for f in entry_findings
        ]
    entry_findings.sort(key=lambda f: (f.index if f.index is not None else -1, f.kind.value))
    checkpoint_findings.sort(key=lambda f: f.checkpoint if f.checkpoint is not None else -1)
    return LogReport(
        entries=len(entries),
        checkpoints=len(checkpoints),
        verified_checkpoints=len(matched),
        latest=matched[-1][1] if matched else None,
        findings=(*entry_findings, *checkpoint_findings),
    )


# --- proofs for one entry -----------------------------------------------------------------------


@dataclass(frozen=True)
class InclusionReceipt:
    """What shows one entry is in the log as signed: the entry, its index, the audit path and the
    signed checkpoint (note text) the path leads to."""

    index: int
    entry: bytes
    proof: tuple[bytes, ...]
    checkpoint: str


def prove(
    index: int, entries: Sequence[bytes], checkpoints: Sequence[str], keys: Sequence[Verifier]
) -> InclusionReceipt:
    """An inclusion proof of entry ``index`` against the latest checkpoint that verifies.

    NotCheckpointedError when no checkpoint verifies or the latest does not cover ``index`` yet;
    LogMismatchError when the stored entries no longer hash to that checkpoint's root.
    """
    for note in reversed(checkpoints):
        try:
            checkpoint = open_checkpoint(note, keys).checkpoint
        except (MalformedNoteError, SignatureError, UnknownSignerError):
            continue
        break
    else:
        raise NotCheckpointedError("no checkpoint of the audit log verifies; nothing can be proved")
    if not 0 <= index < checkpoint.size:
        raise NotCheckpointedError(
            f"entry {index} is not covered by the latest checkpoint ({checkpoint.size} entries)",
            index=index,
            size=checkpoint.size,
        )
    if len(entries) < checkpoint.size:
        raise LogMismatchError(
            f"the log holds {len(entries)} entries but its checkpoint signed {checkpoint.size}",
            size=checkpoint.size,
        )
    hashes = leaf_hashes(entries[: checkpoint.size])
    path = inclusion_proof(index, hashes)
    if not verify_inclusion(index, checkpoint.size, hashes[index], path, checkpoint.root):
        raise LogMismatchError(
            f"the first {checkpoint.size} stored entries do not hash to the signed checkpoint",
            size=checkpoint.size,
        )
    return InclusionReceipt(index, entries[index], tuple(path), note)


def verify_receipt(receipt: InclusionReceipt, keys: Sequence[Verifier]) -> AuditEntry:
    """The entry of a receipt once its checkpoint verifies and its path leads to that root."""
    checkpoint = open_checkpoint(receipt.checkpoint, keys).checkpoint
    if not verify_inclusion(
        receipt.index, checkpoint.size, leaf_hash(receipt.entry), receipt.proof, checkpoint.root
    ):
        raise InclusionProofError(
            f"the proof does not lead from entry {receipt.index} to the root of the checkpoint "
            f"of {checkpoint.size} entries",
            index=receipt.index,
        )
    entry = AuditEntry.from_bytes(receipt.entry)
    if entry.seq != receipt.index:
        raise InclusionProofError(
            f"the entry says it is entry {entry.seq}, not {receipt.index}", index=receipt.index
        )
    return entry
