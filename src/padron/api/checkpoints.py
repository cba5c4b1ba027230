"""Automatic checkpoints of the audit log: every N entries or T seconds (issue 12, part 6).

The server's lifespan starts one :class:`Checkpointer` per worker process. Its thread wakes every
few seconds and asks the log to sign a checkpoint if one is due
(:meth:`padron.registry.audit.AuditLog.checkpoint_if_due`, which decides and signs under the
lock appends take, so several workers sign each checkpoint once). A failure -- the database
down for a moment -- is logged (once while it lasts) and tried again at the next wake-up; it
never reaches a request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final, Protocol

from padron.audit.checkpoint import CheckpointPolicy
from padron.domain.errors import PadronError

log = logging.getLogger("padron.api")

#: the thread's name (as ``threading.enumerate()`` and log lines show it)
THREAD_NAME: Final = "padron-audit-checkpoints"
#: how often the thread looks whether a checkpoint is due (at most; a shorter interval is used
#: when the policy's own interval is shorter)
POLL_SECONDS: Final = 5.0
#: how long stopping waits for a checkpoint being signed to finish
STOP_TIMEOUT_SECONDS: Final = 30.0


class CheckpointingLog(Protocol):
    """What the checkpointer needs of the audit log."""

    def checkpoint_if_due(self, policy: CheckpointPolicy, now: datetime) -> str | None: ...


def _now() -> datetime:
    return datetime.now(UTC)


class Checkpointer:
    """A daemon thread that signs a checkpoint of ``audit`` whenever ``policy`` says one is due,
    looking every ``poll_seconds`` (default: :data:`POLL_SECONDS`, or the policy's interval if
    shorter). ``clock`` gives the time checkpoints are judged and dated by."""

    def __init__(
        self,
        audit: CheckpointingLog,
        policy: CheckpointPolicy,
        *,
        poll_seconds: float | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.audit = audit
        self.policy = policy
        self.poll_seconds = (
            poll_seconds if poll_seconds is not None else min(POLL_SECONDS, policy.interval.total_seconds())
        )
        if not self.poll_seconds > 0:
            raise ValueError("a checkpointer needs a positive poll interval")
        self.clock = clock
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        #: the message of the coded failure logged last (not repeated while it persists)
        self._failing: str | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run_once(self) -> str | None:
        """Sign a checkpoint if one is due now: its note, or None (none due, or it failed). A
        failure is logged, not raised: a coded one (the database unreachable for a while) as one
        line while it lasts, anything else (a bug) with its traceback."""
        try:
            note = self.audit.checkpoint_if_due(self.policy, self.clock())
        except PadronError as error:
            if error.message != self._failing:
                log.warning("cannot sign a checkpoint of the audit log (retrying): %s", error)
            self._failing = error.message
            return None
        except Exception:
            log.exception(
                "could not sign a checkpoint of the audit log; trying again in %.0f s", self.poll_seconds
            )
            self._failing = None
            return None
        if self._failing is not None:
            log.info("checkpoints of the audit log are signed again")
            self._failing = None
        if note is not None:
            # a checkpoint's second line is its size (padron.audit.checkpoint)
            log.info("signed a checkpoint of the audit log (%s entries)", note.split("\n")[1])
        return note

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.run_once()
            self._stopping.wait(self.poll_seconds)

    def start(self) -> None:
        """Start the thread (once); it checks at once, then every ``poll_seconds``."""
        if self._thread is not None:
            raise RuntimeError("the checkpointer was started already")
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Stop the thread: it finishes a checkpoint it is signing and ends (waiting at most
        ``timeout`` seconds; it is a daemon thread, so it never keeps the process alive)."""
        self._stopping.set()
        thread = self._thread
        if thread is None:
            return
        thread.join(timeout)
        if thread.is_alive():
            log.warning("the audit checkpoint thread did not stop within %.0f s", timeout)
