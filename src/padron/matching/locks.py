"""A readers-writer lock for galleries: many searches at once, one change at a time.

Searches of a gallery only read it, so the threads of one server process search side by side;
a change (a journal entry applied, a rebuild) waits for the searches under way and holds new ones
back until it is done (a waiting writer is served first, so a stream of searches cannot starve
the journal). Not reentrant: code holding the read side must not take it again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ReadWriteLock:
    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._changed:
            while self._writing or self._writers_waiting:
                self._changed.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._changed:
                self._readers -= 1
                if not self._readers:
                    self._changed.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._changed:
            self._writers_waiting += 1
            try:
                while self._writing or self._readers:
                    self._changed.wait()
            finally:
                self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._changed:
                self._writing = False
                self._changed.notify_all()

    @property
    def readers(self) -> int:
        """Searches holding the lock now (for tests and metrics)."""
        return self._readers
