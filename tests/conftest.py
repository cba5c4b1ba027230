"""Fixtures shared by the whole suite.

``database_url`` runs a test once on SQLite and once on PostgreSQL. PostgreSQL comes from
``make test`` (scripts/with-postgres.sh exports PADRON_TEST_POSTGRES_URL); each test gets a
database of its own, dropped afterwards. Outside ``make test`` the PostgreSQL half is skipped,
unless PADRON_REQUIRE_POSTGRES=1 (as ``make test`` sets), where a missing server is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from padron.registry.service import Registry

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def _postgres_admin_url() -> str | None:
    url = os.environ.get("PADRON_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("PADRON_REQUIRE_POSTGRES") == "1":
            pytest.fail("PADRON_REQUIRE_POSTGRES=1 but no PADRON_TEST_POSTGRES_URL: is the server up?")
        pytest.skip("no PostgreSQL server: `make test` starts one (scripts/with-postgres.sh)")
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    admin = _postgres_admin_url()
    assert admin is not None
    name = f"padron_{uuid.uuid4().hex[:16]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'padron.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def registry(database_url: str) -> Iterator[Registry]:
    """A migrated registry on each backend."""
    reg = Registry.open(database_url, migrate=True)
    try:
        yield reg
    finally:
        reg.close()


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or a skip with the reason when this checkout has none beside it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real biometric test data not found at {SHARED_DATA} (../shared/data beside the repo)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def ray_runtime() -> Iterator[None]:
    """One local Ray instance (2 CPUs) per test process, shared by every module that needs it
    (starting Ray costs ~15 s); the tests using it share the xdist group "ray"."""
    ray = pytest.importorskip("ray")
    from padron.matching.backends.ray import connect

    connect(num_cpus=2)
    yield
    ray.shutdown()
