"""Web console sessions: an API key presented once at the login page, then a random session id
in an HttpOnly cookie.

The session stands for the key that opened it (its id, name and role) and is recorded under
the same actor as the key's API calls, with channel ``console``. Only the SHA-256 of the session
id is stored (the id is 256 random bits: a fast hash is enough, as for API keys); a session ends
at its absolute expiry (never later than the key's own), after ``idle`` without a request, at
logout, or when its key is revoked (:meth:`padron.registry.keys.KeyStore.revoke`). The CSRF
token of a session is derived from its id (:func:`csrf_token`), so it needs no column and
differs per session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import delete
from sqlalchemy.orm import Session

from padron.domain.access import AccessContext, Channel, Purpose, Role
from padron.domain.errors import ErrorCategory, PadronError
from padron.registry.service import Registry
from padron.registry.storage.models import ConsoleSessionRow

#: a session lasts at most this long from login
SESSION_LIFETIME: Final = timedelta(hours=8)
#: and ends after this long without a request
SESSION_IDLE: Final = timedelta(minutes=30)
#: last_seen_at is written at most this often per session
TOUCH_INTERVAL: Final = timedelta(minutes=1)
#: the length of a session id's text (32 random bytes, URL-safe base64)
SESSION_ID_LENGTH: Final = 43


class SessionError(PadronError):
    code = "PAD-CONSOLE-001"
    category = ErrorCategory.UNAUTHENTICATED
    summary = "The console session is missing, unknown, expired or ended (log in again with an API key)."


class CsrfError(PadronError):
    code = "PAD-CONSOLE-002"
    category = ErrorCategory.FORBIDDEN
    summary = "A console form was sent without this session's CSRF token (reload the page and send it again)."


def _now() -> datetime:
    return datetime.now(UTC)


def hash_session_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def csrf_token(session_id: str) -> str:
    """The CSRF token of a session: bound to its id, unguessable without it."""
    return hmac.new(session_id.encode("utf-8"), b"padron-console-csrf", hashlib.sha256).hexdigest()


def check_csrf(session_id: str, token: str | None) -> None:
    if not token or not hmac.compare_digest(csrf_token(session_id), token.strip()):
        raise CsrfError("the form's CSRF token is missing or is not this session's")


@dataclass(frozen=True)
class ConsoleSession:
    """An open session: the key it stands for (the shape of an API key: key_id, name, role)."""

    key_id: str
    name: str
    role: Role
    created_at: datetime
    expires_at: datetime
    #: the session id (only in memory: from the cookie, or just created)
    session_id: str

    @property
    def actor(self) -> str:
        return f"key:{self.key_id}:{self.name}"

    @property
    def csrf(self) -> str:
        return csrf_token(self.session_id)

    def context(self, purpose: Purpose) -> AccessContext:
        return AccessContext(actor=self.actor, role=self.role, channel=Channel.CONSOLE, purpose=purpose)


class ConsoleSessions:
    """Opening, resolving and ending console sessions (one short transaction each)."""

    def __init__(
        self,
        registry: Registry,
        *,
        lifetime: timedelta = SESSION_LIFETIME,
        idle: timedelta = SESSION_IDLE,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.registry = registry
        self.lifetime = lifetime
        self.idle = idle
        self.clock = clock

    def open(
        self, key_id: str, name: str, role: Role, *, key_expires_at: datetime | None = None
    ) -> ConsoleSession:
        """A new session for the key (already authenticated by the caller); the login is audited
        and expired sessions are deleted."""
        now = self.clock()
        session_id = secrets.token_urlsafe(32)
        expires = now + self.lifetime
        if key_expires_at is not None:
            expires = min(expires, key_expires_at)
        opened = ConsoleSession(key_id, name, Role(role), now, expires, session_id)

        def work(session: Session) -> None:
            session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.expires_at <= now))
            session.add(
                ConsoleSessionRow(
                    id_hash=hash_session_id(session_id),
                    key_id=key_id,
                    key_name=name,
                    role=opened.role.value,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=expires,
                )
            )
            ctx = opened.context(Purpose.ADMINISTRATION)
            self.registry.audit.record(
                session,
                ctx,
                "console.login",
                subject=f"key:{key_id}",
                details={"expires_at": expires.isoformat()},
            )

        self.registry.transact(work)
        return opened

    def resolve(self, session_id: str | None) -> ConsoleSession:
        """The open session of ``session_id`` (SessionError if none, expired or idle too long)."""
        if not session_id or len(session_id) != SESSION_ID_LENGTH:
            raise SessionError("no console session: log in")
        now = self.clock()
        id_hash = hash_session_id(session_id)

        def work(session: Session) -> ConsoleSession:
            row = session.get(ConsoleSessionRow, id_hash)
            if row is None:
                raise SessionError("the console session is unknown or was ended: log in again")
            if row.expires_at <= now or row.last_seen_at + self.idle <= now:
                raise SessionError("the console session expired: log in again")
            if now - row.last_seen_at >= TOUCH_INTERVAL:
                row.last_seen_at = now
            return ConsoleSession(
                row.key_id, row.key_name, Role(row.role), row.created_at, row.expires_at, session_id
            )

        return self.registry.transact(work)

    def end(self, opened: ConsoleSession) -> None:
        """Logout: the session is deleted (audited)."""

        def work(session: Session) -> None:
            session.execute(
                delete(ConsoleSessionRow).where(
                    ConsoleSessionRow.id_hash == hash_session_id(opened.session_id)
                )
            )
            ctx = opened.context(Purpose.ADMINISTRATION)
            self.registry.audit.record(session, ctx, "console.logout", subject=f"key:{opened.key_id}")

        self.registry.transact(work)


def end_sessions_of_key(session: Session, key_id: str) -> int:
    """End every console session of a key (its revocation), in the caller's transaction."""
    done = session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.key_id == key_id))
    return int(getattr(done, "rowcount", 0) or 0)
