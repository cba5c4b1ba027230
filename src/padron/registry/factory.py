"""Build the registry from settings (the one place where configuration meets the use cases)."""

from __future__ import annotations

from padron.registry.service import Registry
from padron.settings import Settings, load_settings


def build_registry(settings: Settings | None = None, *, migrate: bool = False) -> Registry:
    """The registry the settings point at: PADRON_DATABASE_URL, or the SQLite file in
    PADRON_DATA_DIR. Without ``migrate`` a database whose schema is missing or old is refused."""
    settings = settings or load_settings()
    return Registry.open(settings.effective_database_url, migrate=migrate)
