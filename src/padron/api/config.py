"""What serving requires of the settings (light: the CLI imports it without FastAPI)."""

from __future__ import annotations

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from padron.domain.errors import ConfigurationError
from padron.registry.storage.database import normalize_url
from padron.settings import Settings


class ServingDatabaseError(ConfigurationError):
    code = "PAD-SERVE-001"
    summary = (
        "In production (PADRON_ENVIRONMENT=production) the server needs PostgreSQL "
        "(PADRON_DATABASE_URL); it does not serve from SQLite."
    )


def check_serving_settings(settings: Settings) -> None:
    """Refuse settings the HTTP server must not run with: SQLite in production (one file, one
    writer at a time, no network access for a second server)."""
    url = settings.effective_database_url
    try:
        backend = make_url(normalize_url(url)).get_backend_name()
    except ArgumentError as error:
        raise ConfigurationError(f"PADRON_DATABASE_URL is not a valid database URL: {error}") from None
    if settings.environment == "production" and backend == "sqlite":
        raise ServingDatabaseError(
            "PADRON_ENVIRONMENT=production needs PADRON_DATABASE_URL=postgresql+psycopg://...; "
            f"the settings name the SQLite database {make_url(url).database}",
            database="sqlite",
        )
