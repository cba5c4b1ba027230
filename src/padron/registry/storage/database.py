"""Engine, sessions and schema migrations for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from padron.domain.errors import (
    ConfigurationError,
    DatabaseUnavailableError,
    ErrorCategory,
    PadronError,
    SchemaNotInitializedError,
)


class NotADatabaseError(PadronError):
    code = "PAD-STORE-004"
    category = ErrorCategory.UNAVAILABLE
    summary = "The SQLite database file is not an SQLite database (another kind of file), or is corrupt."


class DatabaseLocationError(PadronError):
    code = "PAD-STORE-005"
    category = ErrorCategory.UNAVAILABLE
    summary = (
        "The folder of the SQLite database file cannot be created (a file stands in its way, "
        "or no permission)."
    )


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` / ``postgres://`` URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _migrations_dir() -> str:
    return str(resources.files("padron.registry.storage").joinpath("migrations"))


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", _migrations_dir())
    config.attributes["engine"] = engine
    return config


class Database:
    """One database: an engine, a session factory, and its schema's migration state."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalize_url(url)
        try:
            parsed = make_url(self.url)
        except ArgumentError as error:
            raise ConfigurationError(f"database URL {url!r} is not valid: {error}") from None
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise ConfigurationError(f"padron supports SQLite and PostgreSQL, not {self.dialect}")
        kwargs: dict[str, Any] = {"echo": echo}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                _make_parent(Path(parsed.database))
            kwargs["connect_args"] = {"timeout": 60, "check_same_thread": False}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
        self.engine = create_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # the same pool; the option tells _configure_sqlite to begin a deferred transaction
        self.read_sessions = sessionmaker(self.engine.execution_options(**{_READ_ONLY: True}))

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back on any error."""
        with self._coded("database error on"), self.sessions.begin() as session:
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A unit of work that only reads (e.g. authenticating a request): rolled back when the
        block ends, so nothing done in it is kept. On SQLite its transaction is deferred (plain
        BEGIN), not BEGIN IMMEDIATE: it takes no write lock, so readers neither queue behind a
        writer nor make writers queue behind them (WAL gives them a consistent snapshot)."""
        with self._coded("database error on"), self.read_sessions() as session:
            yield session  # closing the session rolls its transaction back

    def has_table(self, name: str) -> bool:
        with self._coded("cannot open the database"):
            return inspect(self.engine).has_table(name)

    @contextmanager
    def _coded(self, doing: str) -> Iterator[None]:
        """The driver's errors as padron's: unreachable or locked (DatabaseUnavailableError, the
        message starting with ``doing``) and not an SQLite database (NotADatabaseError); others
        (e.g. an IntegrityError the use case retries) pass through unchanged."""
        try:
            yield
        except OperationalError as error:
            raise DatabaseUnavailableError(
                f"{doing} {self.safe_url}: {error.orig or error}".strip()
            ) from None
        except DatabaseError as error:
            self._not_a_database(error)
            raise

    def _not_a_database(self, error: DatabaseError) -> None:
        """Raise NotADatabaseError when SQLite says the file is not (or no longer) a database;
        other errors (e.g. an IntegrityError) are the caller's to raise."""
        if self.dialect != "sqlite" or not isinstance(error.orig, sqlite3.DatabaseError):
            return
        reason = str(error.orig)
        code = getattr(error.orig, "sqlite_errorcode", None)
        if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
            path = make_url(self.url).database
            raise NotADatabaseError(
                f"{path} is not an SQLite database ({reason}): check PADRON_DATABASE_URL / "
                "PADRON_DATA_DIR, or restore the file from a backup",
                path=path,
            ) from None

    @property
    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    # --- migrations -----------------------------------------------------------------------------

    def head_revision(self) -> str:
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert head is not None
        return head

    def current_revision(self) -> str | None:
        with self._coded("cannot open the database"), self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def migrate(self) -> str:
        """Bring the schema to the newest revision (idempotent); returns that revision."""
        with self._coded("cannot migrate"):
            command.upgrade(alembic_config(self.engine), "head")
        return self.head_revision()

    def require_current_schema(self) -> None:
        current, head = self.current_revision(), self.head_revision()
        if current != head:
            state = "has no padron schema" if current is None else f"is at schema {current}, not {head}"
            raise SchemaNotInitializedError(
                f"the database {self.safe_url} {state}; run `padron init`", current=current, head=head
            )

    def dispose(self) -> None:
        self.engine.dispose()


def _make_parent(database: Path) -> None:
    """Create the folder of an SQLite database file; a coded error naming it when that fails."""
    folder = database.absolute().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = error.strerror or str(error)
        if isinstance(error, FileExistsError | NotADirectoryError):
            reason = "a file stands where a folder is needed"
        raise DatabaseLocationError(
            f"cannot create the folder {folder} for the SQLite database {database}: {reason}",
            path=str(folder),
        ) from None


#: execution option of the connections of Database.read_session
_READ_ONLY = "padron_read_only"


def _configure_sqlite(engine: Engine) -> None:
    """WAL for concurrent readers, foreign keys on, and BEGIN IMMEDIATE so that concurrent writers
    (threads or processes) queue for the write lock instead of failing half-way (read sessions
    begin deferred: they never write)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(_READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


#: key of the PostgreSQL advisory lock that serializes de-duplication and gallery-journal writes
ENROLLMENT_LOCK_KEY = 7_201_126


def lock_enrollment(session: Session) -> None:
    """Serialize de-duplicating enrollments and every write to the gallery journal, across
    threads and processes, until the transaction ends. SQLite needs nothing more: its write
    transactions already start with BEGIN IMMEDIATE and exclude each other."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ENROLLMENT_LOCK_KEY})
