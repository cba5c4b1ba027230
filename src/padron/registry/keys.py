"""API keys of the HTTP service: created with a role, shown once, kept only as a hash, revocable,
with an optional expiry and an optional per-key rate limit; and the rate limiter that applies it.

A token is ``pdn_<key_id>_<secret>``: ``key_id`` is 12 lowercase base32 characters (a-z, 2-7;
public: it names the key in lists, logs and error messages), ``secret`` is 32 random bytes as 52
lowercase base32 characters without padding. The fixed prefix and shape make a leaked token
recognisable to secret scanners. Only the SHA-256 of the secret is stored (see
:class:`~padron.registry.storage.models.ApiKeyRow` for why a fast hash is right here); the token
is returned once, by :meth:`KeyStore.create`, and cannot be recovered afterwards.

Authentication reads only (:meth:`Database.read_session`): on SQLite it takes no write lock. The
one write it may make is ``last_used_at``, at most once a minute per key and process.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import hmac
import logging
import math
import re
import secrets
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from padron.domain.access import AccessContext, Role
from padron.domain.errors import (
    DatabaseUnavailableError,
    ErrorCategory,
    PadronError,
    ReasonRequiredError,
    RecordTextError,
)
from padron.domain.text import MAX_ACTOR_LENGTH, clean_line, require_actor_reason
from padron.registry.service import Registry
from padron.registry.sessions import end_sessions_of_key
from padron.registry.storage.models import ApiKeyRow

_log = logging.getLogger("padron.keys")

TOKEN_PREFIX = "pdn"
KEY_ID_LENGTH = 12  # 60 random bits: unique by the table's constraint, not a secret
SECRET_BYTES = 32  # 256 random bits
SECRET_LENGTH = 52  # 256 bits in base32, without padding
MAX_NAME_LENGTH = 100
MAX_RATE_LIMIT = 1_000_000
#: how stale ``last_used_at`` may get: one write per key and minute, not one per request
LAST_USED_INTERVAL = timedelta(minutes=1)

_BASE32 = "a-z2-7"
_TOKEN = re.compile(rf"{TOKEN_PREFIX}_([{_BASE32}]{{{KEY_ID_LENGTH}}})_([{_BASE32}]{{{SECRET_LENGTH}}})")
_KEY_ID = re.compile(rf"[{_BASE32}]{{{KEY_ID_LENGTH}}}")
TOKEN_FORM = f"{TOKEN_PREFIX}_<{KEY_ID_LENGTH} characters>_<{SECRET_LENGTH} characters> (a-z, 2-7)"
#: compared against when the key id is unknown, so that both cases take the same time
_NO_HASH = "0" * 64

_DURATION = re.compile(r"([0-9]{1,9}) ?([dh])")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def now_utc() -> datetime:
    return datetime.now(UTC)


# --- errors -------------------------------------------------------------------------------------


class UnauthenticatedError(PadronError):
    """No usable credential (the API answers 401). The codes tell the cases apart; none of the
    messages holds any part of a token's secret."""

    category = ErrorCategory.UNAUTHENTICATED


class MalformedTokenError(UnauthenticatedError):
    code = "PAD-AUTH-001"
    summary = "An API token is missing or not of the form pdn_<key id>_<secret>."


class UnknownKeyError(UnauthenticatedError):
    code = "PAD-AUTH-002"
    summary = "No API key has this key id and secret (an unknown key id or a wrong secret)."


class RevokedKeyError(UnauthenticatedError):
    code = "PAD-AUTH-003"
    summary = "The API key was revoked; ask an administrator for a new one."


class ExpiredKeyError(UnauthenticatedError):
    code = "PAD-AUTH-004"
    summary = "The API key has expired; ask an administrator for a new one."


class RateLimitedError(PadronError):
    code = "PAD-AUTH-005"
    category = ErrorCategory.RATE_LIMITED
    summary = "Too many requests with this API key; retry after `details.retry_after` seconds."


class ForbiddenError(PadronError):
    code = "PAD-AUTH-006"
    category = ErrorCategory.FORBIDDEN
    summary = "The API key's role may not do this; the message names the roles that may."


class KeyNameError(PadronError):
    code = "PAD-KEY-001"
    summary = "An API key's name is empty, longer than 100 characters, or not one line of printable text."


class KeyRoleError(PadronError):
    code = "PAD-KEY-002"
    summary = "Unknown role for an API key; the message lists the roles."


class KeyExpiryFormatError(PadronError):
    code = "PAD-KEY-003"
    summary = (
        "An expiry is malformed: --expires takes YYYY-MM-DD, --expires-in a number of days or hours "
        "(90d, 12h), and only one of them is given."
    )


class KeyExpiryPastError(PadronError):
    code = "PAD-KEY-004"
    summary = "An API key's expiry lies in the past (or is now); it would never be usable."


class RateLimitValueError(PadronError):
    code = "PAD-KEY-005"
    summary = "A rate limit must be a whole number of requests per minute from 1 to 1000000."


class KeyNameTakenError(PadronError):
    code = "PAD-KEY-006"
    category = ErrorCategory.CONFLICT
    summary = "A key that is not revoked already has this name; pick another or revoke that key first."


class KeyNotFoundError(PadronError):
    code = "PAD-KEY-007"
    category = ErrorCategory.NOT_FOUND
    summary = "No API key has this key id."


class KeyAlreadyRevokedError(PadronError):
    code = "PAD-KEY-008"
    category = ErrorCategory.CONFLICT
    summary = "The API key is revoked already."


# --- the public view of a key -------------------------------------------------------------------


class KeyState(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class ApiKey:
    """What may be shown of a key: never its secret, never its hash."""

    key_id: str
    name: str
    role: Role
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    #: requests per minute; None: the rate limiter's default
    rate_limit_per_minute: int | None
    revoked_by: str | None = None
    revoke_reason: str | None = None
    #: when the key last authenticated, to within LAST_USED_INTERVAL (None: never)
    last_used_at: datetime | None = None

    def state(self, at: datetime) -> KeyState:
        if self.revoked_at is not None:
            return KeyState.REVOKED
        if self.expires_at is not None and self.expires_at <= at:
            return KeyState.EXPIRED
        return KeyState.ACTIVE

    def to_dict(self, *, at: datetime | None = None) -> dict[str, Any]:
        """JSON-ready fields; with ``at`` also the key's state at that time."""
        data: dict[str, Any] = {
            "key_id": self.key_id,
            "name": self.name,
            "role": self.role.value,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "expires_at": _iso(self.expires_at),
            "revoked_at": _iso(self.revoked_at),
            "revoked_by": self.revoked_by,
            "revoke_reason": self.revoke_reason,
            "last_used_at": _iso(self.last_used_at),
            "rate_limit_per_minute": self.rate_limit_per_minute,
        }
        if at is not None:
            data["state"] = self.state(at).value
        return data


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key and its token: the only time the token exists outside its holder's hands."""

    key: ApiKey
    token: str = field(repr=False)  # never in a log line that prints the object


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _to_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        key_id=row.key_id,
        name=row.name,
        role=Role(row.role),
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        rate_limit_per_minute=row.rate_limit_per_minute,
        revoked_by=row.revoked_by,
        revoke_reason=row.revoke_reason,
        last_used_at=row.last_used_at,
    )


# --- tokens and validation ----------------------------------------------------------------------


def hash_secret(secret: str) -> str:
    """The stored form of a secret: SHA-256 of its text, hex (see ApiKeyRow for why a fast hash)."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _random_base32(nbytes: int, length: int) -> str:
    return base64.b32encode(secrets.token_bytes(nbytes)).decode("ascii").lower()[:length]


def parse_token(token: str) -> tuple[str, str]:
    """``(key_id, secret)`` of a token; MalformedTokenError (never echoing it) otherwise."""
    if not isinstance(token, str) or not token.strip():
        raise MalformedTokenError(f"no API token was given; a token has the form {TOKEN_FORM}")
    match = _TOKEN.fullmatch(token.strip())
    if match is None:
        raise MalformedTokenError(f"an API token has the form {TOKEN_FORM}")
    return match.group(1), match.group(2)


def parse_key_id(value: str) -> str:
    """A key id as given by an operator; a whole token is accepted too (e.g. to revoke a leaked
    one) and reduced to its key id. The messages never repeat a token."""
    text = value.strip() if isinstance(value, str) else ""
    if text.startswith(f"{TOKEN_PREFIX}_"):
        return parse_token(text)[0]
    if _KEY_ID.fullmatch(text) is None:
        raise KeyNotFoundError(
            f"a key id has {KEY_ID_LENGTH} characters a-z and 2-7 (as `padron keys list` shows it)"
        )
    return text


def check_name(name: str) -> str:
    """A key's name: one line of 1 to 100 printable characters (NFC, trimmed)."""
    try:
        text = clean_line(name, "key name", max_length=MAX_NAME_LENGTH)
    except RecordTextError as error:
        raise KeyNameError(error.message, **error.details) from None
    if not text:
        raise KeyNameError("an API key needs a name (who or what uses it, e.g. 'kiosk-cdmx-01')")
    return text


def parse_role(role: Role | str) -> Role:
    try:
        return Role(str(role).strip().lower())
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise KeyRoleError(
            f"unknown role {role!r}; one of {roles}", role=str(role), roles=[r.value for r in Role]
        ) from None


def check_rate_limit(limit: int | None) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_RATE_LIMIT:
        raise RateLimitValueError(
            f"a rate limit is a whole number of requests per minute from 1 to {MAX_RATE_LIMIT}, "
            f"not {limit!r}",
            value=repr(limit),
        )
    return limit


def check_expiry(expires_at: datetime | None, now: datetime) -> datetime | None:
    """``expires_at`` in UTC; refused when naive (KeyExpiryFormatError) or not after ``now``."""
    if expires_at is None:
        return None
    if expires_at.tzinfo is None or expires_at.utcoffset() is None:
        raise KeyExpiryFormatError("an expiry needs a time zone (e.g. UTC)")
    expires_at = expires_at.astimezone(UTC)
    if expires_at <= now:
        raise KeyExpiryPastError(
            f"the key would expire at {expires_at:%Y-%m-%d %H:%M:%S} UTC, which is not in the future "
            f"(now {now:%Y-%m-%d %H:%M:%S} UTC)",
            expires_at=expires_at.isoformat(),
        )
    return expires_at


def parse_expiry(expires: str | None, expires_in: str | None, *, now: datetime) -> datetime | None:
    """The expiry given on the command line: ``expires`` a date YYYY-MM-DD (the key stops working
    at the start of that day, 00:00 UTC), or ``expires_in`` a duration from ``now`` (``90d``,
    ``12h``); neither: no expiry. Not checked against ``now`` (KeyStore.create does)."""
    if expires is not None and expires_in is not None:
        raise KeyExpiryFormatError("give --expires or --expires-in, not both")
    if expires is not None:
        try:
            if _DATE.fullmatch(expires.strip()) is None:
                raise ValueError(expires)
            day = date.fromisoformat(expires.strip())
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        except ValueError:
            raise KeyExpiryFormatError(
                f"--expires {expires!r} is not a date YYYY-MM-DD", value=expires
            ) from None
    if expires_in is not None:
        match = _DURATION.fullmatch(expires_in.strip().lower())
        try:
            if match is None:
                raise ValueError(expires_in)
            amount = int(match.group(1))
            step = timedelta(days=1) if match.group(2) == "d" else timedelta(hours=1)
            return now + amount * step
        except (ValueError, OverflowError):
            raise KeyExpiryFormatError(
                f"--expires-in {expires_in!r} is not a number of days or hours such as 90d or 12h",
                value=expires_in,
            ) from None
    return None


def key_ref(key_id: str) -> str:
    """How an audit entry names the key it is about (its public key id, never the token)."""
    return f"key:{key_id}"


def _clean_actor(actor: str, field: str) -> str:
    text = clean_line(actor, field, max_length=MAX_ACTOR_LENGTH)
    if not text:
        raise ReasonRequiredError("every change to an API key needs an actor", field=field)
    return text


# --- the store ----------------------------------------------------------------------------------


class KeyStore:
    """API keys in the registry's database."""

    def __init__(self, registry: Registry, *, clock: Callable[[], datetime] = now_utc) -> None:
        self.registry = registry
        self.clock = clock
        self._touch_lock = threading.Lock()
        #: when this process last wrote last_used_at of a key (so that concurrent requests with
        #: the same key do not all queue for that write)
        self._touched: dict[str, datetime] = {}

    def create(
        self,
        name: str,
        role: Role | str,
        *,
        created_by: str,
        expires_at: datetime | None = None,
        rate_limit_per_minute: int | None = None,
        ctx: AccessContext | None = None,
    ) -> IssuedKey:
        """A new key; its token is in the result and nowhere else (store it now). With ``ctx``
        the creation is recorded in the audit log ("key.create", subject ``key:<key_id>``; never
        the token) in the same transaction."""
        name = check_name(name)
        parsed_role = parse_role(role)
        actor = _clean_actor(created_by, "created_by")
        limit = check_rate_limit(rate_limit_per_minute)
        now = self.clock()
        expiry = check_expiry(expires_at, now)

        def work(session: Session) -> IssuedKey:
            holder = session.scalar(
                select(ApiKeyRow.key_id).where(ApiKeyRow.name == name, ApiKeyRow.revoked_at.is_(None))
            )
            if holder is not None:
                raise KeyNameTakenError(
                    f"the key {holder} is named {name!r} already; pick another name or revoke it first",
                    name=name,
                    key_id=holder,
                )
            # drawn inside the transaction: a key id that collides is drawn again on the retry
            key_id = _random_base32(10, KEY_ID_LENGTH)
            secret = _random_base32(SECRET_BYTES, SECRET_LENGTH)
            row = ApiKeyRow(
                key_id=key_id,
                name=name,
                role=parsed_role.value,
                secret_hash=hash_secret(secret),
                created_at=now,
                created_by=actor,
                expires_at=expiry,
                rate_limit_per_minute=limit,
            )
            session.add(row)
            session.flush()
            if ctx is not None:
                details = {
                    "name": name,
                    "role": parsed_role.value,
                    "expires_at": _iso(expiry),
                    "rate_limit_per_minute": limit,
                }
                self.registry.audit.record(
                    session, ctx, "key.create", subject=key_ref(key_id), details=details
                )
            return IssuedKey(key=_to_key(row), token=f"{TOKEN_PREFIX}_{key_id}_{secret}")

        return self.registry.transact(work)

    def list(self, include_revoked: bool = False) -> builtins.list[ApiKey]:
        """Keys in the order they were created; revoked ones only with ``include_revoked``
        (expired ones always: their state says so)."""
        query = select(ApiKeyRow).order_by(ApiKeyRow.id)
        if not include_revoked:
            query = query.where(ApiKeyRow.revoked_at.is_(None))
        with self.registry.db.read_session() as session:
            return [_to_key(row) for row in session.scalars(query)]

    def revoke(
        self, key_id: str, *, revoked_by: str, reason: str | None = None, ctx: AccessContext | None = None
    ) -> ApiKey:
        """Revoke a key for good (it stays listed with ``--all``); ``key_id`` may be a whole token.
        With ``ctx`` the revocation is recorded in the audit log ("key.revoke", subject
        ``key:<key_id>``) in the same transaction (the reason stays with the key)."""
        key_id = parse_key_id(key_id)
        if reason is None:
            actor = _clean_actor(revoked_by, "revoked_by")
        else:
            actor, reason = require_actor_reason(revoked_by, reason)
        now = self.clock()

        def work(session: Session) -> ApiKey:
            # conditional: of two concurrent revocations exactly one wins
            done = session.connection().execute(
                update(ApiKeyRow)
                .where(ApiKeyRow.key_id == key_id, ApiKeyRow.revoked_at.is_(None))
                .values(revoked_at=now, revoked_by=actor, revoke_reason=reason)
            )
            row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id))
            if row is None:
                raise KeyNotFoundError(f"no API key has the key id {key_id}", key_id=key_id)
            if done.rowcount == 0:
                assert row.revoked_at is not None
                raise KeyAlreadyRevokedError(
                    f"the API key {key_id} ({row.name}) was revoked on {row.revoked_at.isoformat()} "
                    f"by {row.revoked_by}",
                    key_id=key_id,
                    revoked_at=row.revoked_at.isoformat(),
                )
            end_sessions_of_key(session, key_id)  # its console sessions end with it
            if ctx is not None:
                details = {"name": row.name, "role": row.role}
                self.registry.audit.record(
                    session, ctx, "key.revoke", subject=key_ref(key_id), details=details
                )
            return _to_key(row)

        return self.registry.transact(work)

    def authenticate(self, token: str) -> ApiKey:
        """The key a token belongs to, if it is usable now. Raises MalformedTokenError,
        UnknownKeyError (unknown key id or wrong secret: not told apart), RevokedKeyError or
        ExpiredKeyError; the last two only to a caller that holds the right secret."""
        key_id, secret = parse_token(token)
        with self.registry.db.read_session() as session:
            row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id))
            key = _to_key(row) if row is not None else None
            stored = row.secret_hash if row is not None else _NO_HASH
        matches = hmac.compare_digest(hash_secret(secret), stored)
        if key is None or not matches:
            raise UnknownKeyError(f"no API key has the key id {key_id} and this secret", key_id=key_id)
        now = self.clock()
        if key.revoked_at is not None:
            raise RevokedKeyError(
                f"the API key {key_id} was revoked on {key.revoked_at.isoformat()}",
                key_id=key_id,
                revoked_at=key.revoked_at.isoformat(),
            )
        if key.expires_at is not None and key.expires_at <= now:
            raise ExpiredKeyError(
                f"the API key {key_id} expired on {key.expires_at.isoformat()}",
                key_id=key_id,
                expired_at=key.expires_at.isoformat(),
            )
        self._record_use(key, now)
        return key

    def _record_use(self, key: ApiKey, now: datetime) -> None:
        """Set last_used_at when it is older than LAST_USED_INTERVAL: one short write per key and
        minute. Best effort: a database too busy to take it does not fail the request."""
        with self._touch_lock:
            last = max(
                (t for t in (key.last_used_at, self._touched.get(key.key_id)) if t is not None),
                default=None,
            )
            if last is not None and now - last < LAST_USED_INTERVAL:
                return
            self._touched[key.key_id] = now
        try:
            with self.registry.db.session() as session:
                session.execute(
                    update(ApiKeyRow)
                    .where(
                        ApiKeyRow.key_id == key.key_id,
                        or_(
                            ApiKeyRow.last_used_at.is_(None),
                            ApiKeyRow.last_used_at <= now - LAST_USED_INTERVAL,
                        ),
                    )
                    .values(last_used_at=now)
                    .execution_options(synchronize_session=False)
                )
        except DatabaseUnavailableError as error:
            _log.warning("could not record the use of API key %s: %s", key.key_id, error.message)


# --- authorization and rate limits --------------------------------------------------------------


def require_role(key: ApiKey, allowed: Collection[Role]) -> None:
    """ForbiddenError unless the key's role is one of ``allowed`` (no role implies another:
    an admin manages keys and settings, it does not see scores or identify persons)."""
    if key.role in allowed:
        return
    names = [r.value for r in Role if r in allowed]
    if not names:
        needs = "no role may do this"
    elif len(names) == 1:
        needs = f"this needs the role {names[0]}"
    else:
        needs = f"this needs one of the roles {', '.join(names)}"
    raise ForbiddenError(
        f"the API key {key.key_id} has the role {key.role.value}; {needs}",
        key_id=key.key_id,
        role=key.role.value,
        allowed=names,
    )


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Requests per minute per key, as a token bucket: a key may send up to its limit at once,
    and earns back one request every 60/limit seconds. The limit is the key's
    ``rate_limit_per_minute``, else ``default_per_minute``.

    The buckets live in this process: with several worker processes each one limits on its own,
    so a key may make up to (workers x limit) requests a minute in all. A limit shared between
    processes (in the database or a cache) is future work. Thread-safe; ``clock`` is
    monotonic seconds (injectable for tests)."""

    #: slack for floating-point rounding when a bucket refills exactly to one token
    _EPSILON = 1e-9

    def __init__(self, default_per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        limit = check_rate_limit(default_per_minute)
        if limit is None:
            raise RateLimitValueError("the default rate limit is required")
        self.default_per_minute = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}

    def check(self, key: ApiKey) -> None:
        """Count one request of ``key``; RateLimitedError (``details["retry_after"]``: whole
        seconds until one is allowed again) when its bucket is empty."""
        limit = key.rate_limit_per_minute or self.default_per_minute
        per_second = limit / 60.0
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(key.key_id)
            if bucket is None:
                bucket = self._buckets[key.key_id] = _Bucket(tokens=float(limit), at=now)
            else:
                earned = max(0.0, now - bucket.at) * per_second
                bucket.tokens = min(float(limit), bucket.tokens + earned)
                bucket.at = max(bucket.at, now)
            if bucket.tokens >= 1.0 - self._EPSILON:
                bucket.tokens = max(0.0, bucket.tokens - 1.0)
                return
            wait = (1.0 - bucket.tokens) / per_second
        retry_after = max(1, math.ceil(wait - self._EPSILON))
        raise RateLimitedError(
            f"the API key {key.key_id} may make {limit} requests a minute; retry in {retry_after} s",
            key_id=key.key_id,
            limit_per_minute=limit,
            retry_after=retry_after,
        )
