"""Typed settings from the environment (``PADRON_*``) and an optional ``.env`` file.

Nothing is read at import time: call :func:`load_settings` where the settings are needed.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Literal

from pydantic import ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from padron.domain.errors import ConfigurationError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PADRON_", env_file=".env", extra="ignore")

    #: where the SQLite database, caches and keys live
    data_dir: Path = Path("padron-data")
    #: PostgreSQL for production: postgresql+psycopg://user:password@host/dbname;
    #: default: a SQLite file in data_dir
    database_url: str | None = None
    environment: Literal["development", "production"] = "development"
    #: who the command line records as the actor of a change when --actor is not given
    actor: str | None = None
    #: base64 of the 32-byte key that wraps the template data keys; in development a key file
    #: ``data_dir/vault.key`` is created on first use, in production the key must be given
    vault_key: str | None = None
    #: where the galleries live: in this process ("memory") or on Ray actors ("ray")
    gallery_backend: Literal["memory", "ray"] = "memory"
    #: an existing Ray cluster (``ray://head:10001`` or ``auto``); unset: a local Ray instance
    ray_address: str | None = None
    ray_shards: int = 4
    #: de-duplication operating points (see padron.registry.identity.DedupPolicy)
    dedup_fpir_sure: float = 1e-4
    dedup_fpir_grey: float = 0.01
    verify_fmr: float = 1e-4
    identify_fpir: float = 0.01

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'padron.db').resolve()}"

    @property
    def effective_actor(self) -> str:
        if self.actor:
            return self.actor
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return f"cli:{user}"

    @model_validator(mode="after")
    def _no_default_secrets_in_production(self) -> Settings:
        if self.environment == "production" and not self.vault_key:
            raise ValueError("vault_key must be set in production (a key file is a development convenience)")
        return self


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"PADRON_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors()
        )
        raise ConfigurationError(f"invalid settings: {problems}") from None
