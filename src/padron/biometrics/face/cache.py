"""A template cache for evaluations: SQLite, keyed by the file's SHA-256 and the pipeline id.

The pipeline id carries the model weights' digest, the template version and every parameter that
changes the vector, so a cached row can never be read by a pipeline that would compute otherwise.
Failures to acquire are cached too (with their error code). No pickle: vectors are float32 bytes,
quality measures JSON.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

SCHEMA = """
CREATE TABLE IF NOT EXISTS extraction (
    file_sha256 TEXT NOT NULL,
    pipeline    TEXT NOT NULL,
    vector      BLOB,            -- float32 little-endian, NULL on failure
    measures    TEXT,            -- quality measures (JSON), NULL when none
    error_code  TEXT,            -- PAD-FACE-... on failure
    detector    TEXT,
    extract_ms  REAL NOT NULL,
    PRIMARY KEY (file_sha256, pipeline)
)
"""


def default_cache_dir() -> Path:
    """``$PADRON_CACHE_DIR`` or ``~/.cache/padron``; face templates go in ``face/`` inside it."""
    root = os.environ.get("PADRON_CACHE_DIR")
    return (Path(root) if root else Path.home() / ".cache" / "padron") / "face"


@dataclass(frozen=True, slots=True)
class Extraction:
    """One pipeline's outcome on one image."""

    vector: npt.NDArray[np.float32] | None
    measures: dict[str, object] | None
    error_code: str | None
    detector: str | None
    extract_ms: float

    @property
    def ok(self) -> bool:
        return self.vector is not None


class TemplateCache:
    def __init__(self, folder: Path | None) -> None:
        """``folder=None``: an in-memory cache (nothing written)."""
        if folder is None:
            self._db = sqlite3.connect(":memory:")
        else:
            folder.mkdir(parents=True, exist_ok=True)
            # several evaluations may share the cache: WAL lets readers in while one writes, and a
            # writer waits up to a minute for another's (short) transaction
            self._db = sqlite3.connect(folder / "templates.sqlite3", timeout=60.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(SCHEMA)
        self._db.commit()
        self._pending = 0

    def get(self, file_sha256: str, pipeline: str) -> Extraction | None:
        row = self._db.execute(
            "SELECT vector, measures, error_code, detector, extract_ms FROM extraction"
            " WHERE file_sha256 = ? AND pipeline = ?",
            (file_sha256, pipeline),
        ).fetchone()
        if row is None:
            return None
        vector, measures, error_code, detector, ms = row
        return Extraction(
            vector=None if vector is None else np.frombuffer(vector, dtype="<f4").astype(np.float32),
            measures=None if measures is None else json.loads(measures),
            error_code=error_code,
            detector=detector,
            extract_ms=float(ms),
        )

    def put(self, file_sha256: str, pipeline: str, e: Extraction) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO extraction VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                file_sha256,
                pipeline,
                None if e.vector is None else np.asarray(e.vector, dtype="<f4").tobytes(),
                None if e.measures is None else json.dumps(e.measures),
                e.error_code,
                e.detector,
                e.extract_ms,
            ),
        )
        self._pending += 1
        if self._pending >= 20:
            self.commit()

    def commit(self) -> None:
        self._db.commit()
        self._pending = 0

    def close(self) -> None:
        self.commit()
        self._db.close()
