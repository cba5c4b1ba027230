"""What "nothing was written" means in a test: the database file's bytes, before and after."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path


def sqlite_state(path: Path) -> str:
    """A digest of an SQLite database as it is on disk (main file and any write-ahead log).

    Call it with no connection open. A command that wrote nothing leaves the main file
    byte-for-byte as it was and no write-ahead log content behind; a command that wrote anything
    changes one of them (SQLite moves the log into the main file when the last connection closes).
    """
    digest = hashlib.sha256()
    for suffix in ("", "-wal"):
        part = path.with_name(path.name + suffix)
        if part.exists() and part.stat().st_size:
            digest.update(suffix.encode() + b"\0" + part.read_bytes())
    return digest.hexdigest()


def sqlite_rows(path: Path) -> list[str]:
    """Every row of every table as SQL text (for a readable difference when the digests differ)."""
    with sqlite3.connect(path) as connection:
        return list(connection.iterdump())
