"""Secret files padron makes for itself in development (the vault key, the audit log's signing
key): created atomically and privately, never replaced."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def create_exclusive(path: Path, content: bytes) -> bool:
    """Write ``content`` to a private (0600) temporary file beside ``path``, fsync it, then link it
    into place. Returns False when the file exists already -- another process got there first,
    and its content stands. No reader ever sees a partly written file. Raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")  # 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        _fsync_directory(path.parent)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            Path(temporary).unlink()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
