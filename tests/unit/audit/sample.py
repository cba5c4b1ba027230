"""A small signed audit log to verify and tamper with, built the way the registry builds one."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from padron.audit.checkpoint import Signer, new_checkpoint, sign
from padron.audit.entry import AuditEntry, link_after
from padron.audit.merkle import leaf_hash, leaf_hashes

ORIGIN = "padron.example.mx/audit"
#: fixed seeds, so that failures reproduce (never keys of a real deployment)
LOG_KEY = Signer(ORIGIN, bytes(range(32)))
AUTHORITY_KEY = Signer("inai.example.mx/cosigner", bytes(range(32, 64)))
START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
ACTIONS = ("person.read", "person.update", "template.open", "case.decide")


def entry_fields(i: int) -> dict[str, Any]:
    """What access number ``i`` records (varied, so that no two entries are alike)."""
    return {
        "at": START + timedelta(seconds=7 * i, microseconds=i),
        "actor": f"clerk-{i % 7}",
        "role": "registrar" if i % 3 else "adjudicator",
        "purpose": "identity verification",
        "legal_basis": "LGPDPPSO art. 22" if i % 4 else None,
        "case_ref": f"case-{i // 10}" if i % 5 == 0 else None,
        "channel": "api" if i % 2 else "cli",
        "partner": "SAT" if i % 11 == 0 else None,
        "action": ACTIONS[i % len(ACTIONS)],
        "subject": f"person-{i % 37}",
        "outcome": "ok" if i % 13 else "refused:PAD-PERSON-002",
        "details": {"fields": ["given_names"]} if i % 4 == 1 else {},
    }


def append(log: list[bytes], **fields: Any) -> bytes:
    """Append one entry as the registry does: link it to the last stored entry."""
    link = link_after(log[-1] if log else None)
    data = AuditEntry(seq=link.seq, prev=link.prev, **fields).to_bytes()
    log.append(data)
    return data


def build_log(n: int) -> list[bytes]:
    log: list[bytes] = []
    for i in range(n):
        append(log, **entry_fields(i))
    return log


def checkpoints(log: Sequence[bytes], sizes: Sequence[int], signer: Signer = LOG_KEY) -> list[str]:
    """Signed checkpoints of the first ``size`` entries, for each size."""
    hashes = leaf_hashes(log)
    return [
        sign(new_checkpoint(ORIGIN, hashes[:size], START + timedelta(hours=1, seconds=size)), signer)
        for size in sizes
    ]


def edited(data: bytes, **changes: Any) -> bytes:
    """The entry with some fields changed, re-encoded canonically (a careful forger's edit)."""
    return dataclasses.replace(AuditEntry.from_bytes(data), **changes).to_bytes()


def forged_after(log: Sequence[bytes], position: int, **changes: Any) -> bytes:
    """A forged entry that claims to be entry ``position``, linked to the entry before it."""
    prev = leaf_hash(log[position - 1]) if position else bytes(32)
    fields = entry_fields(position) | {"actor": "intruder", "outcome": "ok"} | changes
    return AuditEntry(seq=fields.pop("seq", position), prev=fields.pop("prev", prev), **fields).to_bytes()
