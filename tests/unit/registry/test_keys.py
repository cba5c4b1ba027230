"""API keys (on both backends): a token authenticates its key and role until it is revoked or
expires; each refusal has its own code and never repeats the secret; the database holds the
secret's hash and never the token; the rate limiter and require_role."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import event, make_url, select

from padron.domain.access import Role
from padron.domain.errors import ErrorCategory, PadronError, ReasonRequiredError
from padron.registry.keys import (
    ApiKey,
    ExpiredKeyError,
    ForbiddenError,
    KeyAlreadyRevokedError,
    KeyExpiryFormatError,
    KeyExpiryPastError,
    KeyNameError,
    KeyNameTakenError,
    KeyNotFoundError,
    KeyRoleError,
    KeyState,
    KeyStore,
    MalformedTokenError,
    RateLimitedError,
    RateLimiter,
    RateLimitValueError,
    RevokedKeyError,
    UnauthenticatedError,
    UnknownKeyError,
    parse_expiry,
    require_role,
)
from padron.registry.service import Registry
from padron.registry.storage.models import ApiKeyRow, Base

ADMIN = "test:admin"
T0 = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
TOKEN_SHAPE = re.compile(r"pdn_([a-z2-7]{12})_([a-z2-7]{52})")


class Clock:
    """A wall clock that moves only when told to."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(registry: Registry, clock: Clock) -> KeyStore:
    return KeyStore(registry, clock=clock)


def secret_of(token: str) -> str:
    match = TOKEN_SHAPE.fullmatch(token)
    assert match is not None, "a token has the documented form"
    return match.group(2)


def refused(
    error_type: type[PadronError], call: Callable[[], object], secret: str | None = None
) -> PadronError:
    """Call and expect ``error_type``; its message and details never hold ``secret``."""
    with pytest.raises(error_type) as caught:
        call()
    error = caught.value
    if secret is not None:
        shown = str(error) + json.dumps(error.to_dict(), default=str)
        assert secret not in shown
    return error


# --- create and authenticate --------------------------------------------------------------------


def test_a_new_token_authenticates_its_key_and_role(store: KeyStore) -> None:
    issued = store.create("kiosk CDMX 01", "verifier", created_by=ADMIN)
    key_id, _secret = TOKEN_SHAPE.fullmatch(issued.token).groups()  # type: ignore[union-attr]
    assert key_id == issued.key.key_id
    assert issued.key.role is Role.VERIFIER and issued.key.name == "kiosk CDMX 01"
    assert issued.key.created_by == ADMIN and issued.key.created_at == T0
    assert issued.key.expires_at is None and issued.key.revoked_at is None
    key = store.authenticate(issued.token)
    assert key == issued.key
    assert store.authenticate(f"  {issued.token}\n").key_id == key.key_id  # as pasted from a terminal
    assert issued.token not in repr(issued)  # a log line that prints the result shows no token


def test_every_role_can_hold_a_key(store: KeyStore) -> None:
    for role in Role:
        issued = store.create(f"key for {role.value}", role.value.upper(), created_by=ADMIN)
        assert store.authenticate(issued.token).role is role


def test_tokens_differ_per_key(store: KeyStore) -> None:
    tokens = [store.create(f"key {n}", Role.REGISTRAR, created_by=ADMIN).token for n in range(20)]
    assert len(set(tokens)) == 20
    assert len({secret_of(t) for t in tokens}) == 20
    assert len({TOKEN_SHAPE.fullmatch(t).group(1) for t in tokens}) == 20  # type: ignore[union-attr]


def test_a_wrong_secret_is_refused_like_an_unknown_key(store: KeyStore) -> None:
    issued = store.create("kiosk", Role.VERIFIER, created_by=ADMIN)
    secret = secret_of(issued.token)
    wrong = issued.token[:-1] + ("a" if issued.token[-1] != "a" else "b")
    error = refused(UnknownKeyError, lambda: store.authenticate(wrong), secret=secret)
    assert error.code == "PAD-AUTH-002" and error.category is ErrorCategory.UNAUTHENTICATED
    assert secret_of(wrong) not in str(error)
    assert issued.key.key_id in error.message  # the public id, to find the key in the list


def test_an_unknown_key_id(store: KeyStore) -> None:
    store.create("kiosk", Role.VERIFIER, created_by=ADMIN)
    token = "pdn_" + "a" * 12 + "_" + "b" * 52
    error = refused(UnknownKeyError, lambda: store.authenticate(token), secret="b" * 52)
    assert error.code == "PAD-AUTH-002"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: "",
        lambda t: "   ",
        lambda t: "Bearer " + t,
        lambda t: t.upper(),
        lambda t: t[:-1],
        lambda t: t + "a",
        lambda t: t.replace("pdn_", "pdx_"),
        lambda t: t.replace("_", "-"),
        lambda t: t[:30] + " " + t[30:],
        lambda t: t[:-1] + "=",
        lambda t: t[:-1] + "\x00",
        lambda t: t[:-1] + "é",
    ],
)
def test_a_malformed_token(store: KeyStore, mangle: object) -> None:
    issued = store.create("kiosk", Role.VERIFIER, created_by=ADMIN)
    assert callable(mangle)
    bad = mangle(issued.token)
    error = refused(MalformedTokenError, lambda: store.authenticate(bad), secret=secret_of(issued.token))
    assert error.code == "PAD-AUTH-001" and error.category is ErrorCategory.UNAUTHENTICATED
    assert "pdn_" in error.message  # says what a token looks like


def test_a_revoked_key(store: KeyStore, clock: Clock) -> None:
    issued = store.create("kiosk", Role.VERIFIER, created_by=ADMIN)
    other = store.create("desk", Role.REGISTRAR, created_by=ADMIN)
    clock.advance(hours=1)
    revoked = store.revoke(issued.key.key_id, revoked_by="test:security", reason="tablet stolen")
    assert revoked.revoked_at == clock.now and revoked.revoked_by == "test:security"
    assert revoked.revoke_reason == "tablet stolen" and revoked.state(clock.now) is KeyState.REVOKED
    error = refused(RevokedKeyError, lambda: store.authenticate(issued.token), secret=secret_of(issued.token))
    assert error.code == "PAD-AUTH-003" and error.category is ErrorCategory.UNAUTHENTICATED
    # that it was revoked is told only to whoever holds the secret
    wrong = issued.token[:-2] + ("aa" if not issued.token.endswith("aa") else "bb")
    assert refused(UnknownKeyError, lambda: store.authenticate(wrong)).code == "PAD-AUTH-002"
    assert store.authenticate(other.token).key_id == other.key.key_id  # the other key still works
    again = refused(KeyAlreadyRevokedError, lambda: store.revoke(issued.key.key_id, revoked_by=ADMIN))
    assert again.code == "PAD-KEY-008" and again.category is ErrorCategory.CONFLICT


def test_revoke_takes_a_key_id_or_a_leaked_token(store: KeyStore) -> None:
    issued = store.create("kiosk", Role.VERIFIER, created_by=ADMIN)
    store.revoke(issued.token, revoked_by=ADMIN, reason="token posted in a chat")
    assert refused(RevokedKeyError, lambda: store.authenticate(issued.token)).code == "PAD-AUTH-003"
    missing = refused(KeyNotFoundError, lambda: store.revoke("a" * 12, revoked_by=ADMIN))
    assert missing.code == "PAD-KEY-007" and missing.category is ErrorCategory.NOT_FOUND
    # a mistyped token is not repeated in the message
    bad = issued.token[:-1]
    assert (
        refused(MalformedTokenError, lambda: store.revoke(bad, revoked_by=ADMIN), secret=bad[17:]).code
        == "PAD-AUTH-001"
    )
    assert (
        refused(KeyNotFoundError, lambda: store.revoke("not-a-key", revoked_by=ADMIN)).code == "PAD-KEY-007"
    )
    with pytest.raises(ReasonRequiredError):
        store.revoke(store.create("desk", Role.REGISTRAR, created_by=ADMIN).key.key_id, revoked_by=" ")


def test_an_expired_key(store: KeyStore, clock: Clock) -> None:
    issued = store.create("campaign", Role.REGISTRAR, created_by=ADMIN, expires_at=T0 + timedelta(days=30))
    clock.advance(days=30, seconds=-1)
    assert store.authenticate(issued.token).state(clock.now) is KeyState.ACTIVE
    clock.advance(seconds=1)
    error = refused(ExpiredKeyError, lambda: store.authenticate(issued.token), secret=secret_of(issued.token))
    assert error.code == "PAD-AUTH-004" and error.category is ErrorCategory.UNAUTHENTICATED
    assert issued.key.state(clock.now) is KeyState.EXPIRED
    assert [k.key_id for k in store.list()] == [issued.key.key_id]  # listed, as expired


def test_all_authentication_errors_are_one_family() -> None:
    for error in (MalformedTokenError, UnknownKeyError, RevokedKeyError, ExpiredKeyError):
        assert issubclass(error, UnauthenticatedError)
        assert error.category is ErrorCategory.UNAUTHENTICATED
    assert RateLimitedError.category is ErrorCategory.RATE_LIMITED
    assert ForbiddenError.category is ErrorCategory.FORBIDDEN


# --- what create refuses ------------------------------------------------------------------------


def test_create_refuses_bad_input_and_stores_nothing(store: KeyStore) -> None:
    def create(name: str = "kiosk", role: str = "verifier", **kw: object) -> object:
        return store.create(name, role, created_by=ADMIN, **kw)  # type: ignore[arg-type]

    for name in ("", "   ", "kiosk\x1b[31m", "kiosk\nsecond line", "a\u202eb", "x" * 101):
        assert refused(KeyNameError, partial(create, name)).code == "PAD-KEY-001"
    role_error = refused(KeyRoleError, lambda: create("kiosk", "superuser"))
    assert role_error.code == "PAD-KEY-002" and role_error.category is ErrorCategory.INVALID
    assert all(role.value in role_error.message for role in Role)
    for limit in (0, -5, 1_000_001, True, 2.5):
        error = refused(RateLimitValueError, partial(create, rate_limit_per_minute=limit))
        assert error.code == "PAD-KEY-005"
    for past in (T0, T0 - timedelta(days=1)):
        assert refused(KeyExpiryPastError, partial(create, expires_at=past)).code == "PAD-KEY-004"
    naive = datetime(2030, 1, 1)
    assert refused(KeyExpiryFormatError, lambda: create(expires_at=naive)).code == "PAD-KEY-003"
    with pytest.raises(ReasonRequiredError):
        store.create("kiosk", "verifier", created_by="")
    assert store.list(include_revoked=True) == []
    assert store.create("x" * 100, "verifier", created_by=ADMIN).key.name == "x" * 100


def test_a_name_belongs_to_one_usable_key(store: KeyStore) -> None:
    first = store.create("kiosk", Role.VERIFIER, created_by=ADMIN)
    taken = refused(KeyNameTakenError, lambda: store.create("kiosk", Role.ADMIN, created_by=ADMIN))
    assert taken.code == "PAD-KEY-006" and taken.category is ErrorCategory.CONFLICT
    assert first.key.key_id in taken.message
    store.revoke(first.key.key_id, revoked_by=ADMIN, reason="replaced")
    second = store.create("kiosk", Role.VERIFIER, created_by=ADMIN)
    assert [k.key_id for k in store.list()] == [second.key.key_id]
    assert [k.key_id for k in store.list(include_revoked=True)] == [first.key.key_id, second.key.key_id]


def test_listed_keys_show_no_secret(store: KeyStore, clock: Clock) -> None:
    issued = store.create("kiosk", Role.VERIFIER, created_by=ADMIN, rate_limit_per_minute=30)
    (listed,) = store.list()
    assert listed == issued.key and listed.rate_limit_per_minute == 30
    shown = json.dumps(listed.to_dict(at=clock.now))
    assert (
        secret_of(issued.token) not in shown
        and hashlib.sha256(secret_of(issued.token).encode()).hexdigest() not in shown
    )
    assert listed.to_dict(at=clock.now)["state"] == "active"
    assert not hasattr(listed, "secret_hash")


# --- storage ------------------------------------------------------------------------------------


def database_text(registry: Registry) -> str:
    """Every value of every table, as text (and the SQLite files' bytes)."""
    parts: list[str] = []
    with registry.db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                parts.extend(repr(value) for value in row)
    if registry.db.dialect == "sqlite":
        path = Path(make_url(registry.db.url).database or "")
        for suffix in ("", "-wal"):
            part = path.with_name(path.name + suffix)
            if part.exists():
                parts.append(part.read_bytes().decode("latin-1"))
    return "\n".join(parts)


def test_the_database_holds_the_hash_never_the_token(registry: Registry, store: KeyStore) -> None:
    issued = [store.create(f"key {n}", Role.PARTNER, created_by=ADMIN) for n in range(3)]
    for key in issued:
        store.authenticate(key.token)
    store.revoke(issued[0].key.key_id, revoked_by=ADMIN, reason="test")
    stored = database_text(registry)
    with registry.db.session() as session:
        hashes = {k: h for k, h in session.execute(select(ApiKeyRow.key_id, ApiKeyRow.secret_hash))}
    for key in issued:
        secret = secret_of(key.token)
        assert secret not in stored and secret.upper() not in stored
        assert hashes[key.key.key_id] == hashlib.sha256(secret.encode("ascii")).hexdigest()


def test_last_use_is_recorded_at_most_once_a_minute(
    registry: Registry, store: KeyStore, clock: Clock
) -> None:
    issued = store.create("kiosk", Role.VERIFIER, created_by=ADMIN)
    writes: list[str] = []

    @event.listens_for(registry.db.engine, "before_cursor_execute")
    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            writes.append(statement)

    store.authenticate(issued.token)
    assert store.list()[0].last_used_at == T0
    for _ in range(5):
        clock.advance(seconds=10)
        store.authenticate(issued.token)
    assert store.list()[0].last_used_at == T0 and len(writes) == 1
    clock.advance(seconds=11)  # a minute and a second after the first use
    store.authenticate(issued.token)
    assert store.list()[0].last_used_at == T0 + timedelta(seconds=61) and len(writes) == 2
    # another process (another store) sees the recorded use and does not write again
    KeyStore(registry, clock=clock).authenticate(issued.token)
    assert len(writes) == 2


def test_a_read_session_keeps_nothing(registry: Registry) -> None:
    with registry.db.read_session() as session:
        session.add(
            ApiKeyRow(
                key_id="a" * 12,
                name="written in a read session",
                role="admin",
                secret_hash="0" * 64,
                created_at=T0,
                created_by=ADMIN,
            )
        )
        session.flush()
        assert session.scalar(select(ApiKeyRow.name)) == "written in a read session"
    assert KeyStore(registry).list(include_revoked=True) == []


def test_authentication_waits_for_no_writer_on_sqlite(
    registry: Registry, store: KeyStore, clock: Clock
) -> None:
    if registry.db.dialect != "sqlite":
        pytest.skip("SQLite's write lock")
    issued = store.create("kiosk", Role.VERIFIER, created_by=ADMIN)
    store.authenticate(issued.token)  # records the first use

    # padron's connections give up on a held lock after 0.2 s instead of 60 (fails fast if broken)
    @event.listens_for(registry.db.engine, "connect")
    def impatient(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=200")

    registry.db.engine.dispose()
    path = make_url(registry.db.url).database
    assert path is not None
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another process in the middle of a long write
        clock.advance(seconds=30)
        assert store.authenticate(issued.token).key_id == issued.key.key_id
        assert [k.key_id for k in store.list()] == [issued.key.key_id]
        clock.advance(minutes=2)  # the use is due for recording, but the writer holds the lock
        assert store.authenticate(issued.token).key_id == issued.key.key_id
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert store.list()[0].last_used_at == T0  # that use went unrecorded, the request did not fail
    clock.advance(minutes=2)
    store.authenticate(issued.token)
    assert store.list()[0].last_used_at == clock.now


# --- expiry on the command line -----------------------------------------------------------------


def test_parse_expiry() -> None:
    assert parse_expiry(None, None, now=T0) is None
    # a date: the key stops working as that day begins (UTC)
    assert parse_expiry("2027-01-31", None, now=T0) == datetime(2027, 1, 31, tzinfo=UTC)
    assert parse_expiry("9999-12-31", None, now=T0) == datetime(9999, 12, 31, tzinfo=UTC)
    assert parse_expiry(None, "90d", now=T0) == T0 + timedelta(days=90)
    assert parse_expiry(None, "12h", now=T0) == T0 + timedelta(hours=12)
    assert parse_expiry(None, "0d", now=T0) == T0  # then refused by create, as not in the future
    with pytest.raises(KeyExpiryFormatError, match="not both"):
        parse_expiry("2027-01-31", "90d", now=T0)
    for bad in ("2027-13-01", "2027-02-30", "20270131", "2027-W05-1", "31/01/2027", "tomorrow", "0000-01-01"):
        with pytest.raises(KeyExpiryFormatError):
            parse_expiry(bad, None, now=T0)
    for bad in ("90", "d", "-1d", "1.5d", "3w", "\u0661\u0662d", "999999999d", "1 day"):
        with pytest.raises(KeyExpiryFormatError):
            parse_expiry(None, bad, now=T0)


# --- require_role -------------------------------------------------------------------------------


def a_key(key_id: str = "a" * 12, role: Role = Role.VERIFIER, limit: int | None = None) -> ApiKey:
    return ApiKey(
        key_id=key_id,
        name=f"key {key_id}",
        role=role,
        created_at=T0,
        created_by=ADMIN,
        expires_at=None,
        revoked_at=None,
        rate_limit_per_minute=limit,
    )


def test_require_role() -> None:
    require_role(a_key(role=Role.ADJUDICATOR), {Role.ADJUDICATOR, Role.INVESTIGATOR})
    with pytest.raises(ForbiddenError) as caught:
        require_role(a_key(role=Role.VERIFIER), [Role.INVESTIGATOR, Role.ADJUDICATOR])
    error = caught.value
    assert error.code == "PAD-AUTH-006" and error.category is ErrorCategory.FORBIDDEN
    assert "verifier" in error.message and "investigator" in error.message and "adjudicator" in error.message
    assert error.details["allowed"] == ["investigator", "adjudicator"]
    with pytest.raises(ForbiddenError, match="the role admin"):
        require_role(a_key(role=Role.PARTNER), {Role.ADMIN})  # an admin is not implied by anything


# --- rate limits --------------------------------------------------------------------------------


class Ticks:
    """A monotonic clock in seconds that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def passes(limiter: RateLimiter, key: ApiKey) -> bool:
    try:
        limiter.check(key)
    except RateLimitedError:
        return False
    return True


def test_the_limit_then_a_retry_after() -> None:
    ticks = Ticks()
    limiter = RateLimiter(6, clock=ticks)  # one request every 10 s, bursts of 6
    key = a_key()
    for _ in range(6):
        limiter.check(key)
    with pytest.raises(RateLimitedError) as caught:
        limiter.check(key)
    error = caught.value
    assert error.code == "PAD-AUTH-005" and error.category is ErrorCategory.RATE_LIMITED
    assert error.details["retry_after"] == 10
    ticks.now += 4
    with pytest.raises(RateLimitedError) as caught:
        limiter.check(key)
    assert caught.value.details["retry_after"] == 6
    ticks.now += 6
    assert passes(limiter, key)
    assert not passes(limiter, key)
    ticks.now += 60  # a quiet minute refills the whole burst, no more
    assert [passes(limiter, key) for _ in range(7)] == [True] * 6 + [False]


def test_retry_after_is_whole_seconds_and_enough() -> None:
    ticks = Ticks()
    limiter = RateLimiter(7, clock=ticks)  # one request every 8.57 s
    key = a_key()
    for _ in range(7):
        limiter.check(key)
    with pytest.raises(RateLimitedError) as caught:
        limiter.check(key)
    retry_after = caught.value.details["retry_after"]
    assert retry_after == 9
    ticks.now += retry_after
    assert passes(limiter, key)


def test_a_key_limit_overrides_the_default_and_keys_are_independent() -> None:
    ticks = Ticks()
    limiter = RateLimiter(3, clock=ticks)
    generous, default = a_key("b" * 12, limit=5), a_key("c" * 12)
    assert [passes(limiter, generous) for _ in range(6)] == [True] * 5 + [False]
    assert [passes(limiter, default) for _ in range(4)] == [True] * 3 + [False]
    with pytest.raises(RateLimitValueError):
        RateLimiter(0)


def test_many_threads_get_exactly_the_limit() -> None:
    limiter = RateLimiter(50, clock=Ticks())
    key = a_key()
    passed: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def hammer() -> None:
        start.wait()
        mine = [passes(limiter, key) for _ in range(25)]
        with lock:
            passed.extend(mine)

    threads = [threading.Thread(target=hammer) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(passed) == 400 and sum(passed) == 50
