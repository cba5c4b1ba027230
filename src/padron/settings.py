"""Typed settings from the environment (``PADRON_*``) and an optional ``.env`` file.

Nothing is read at import time: call :func:`load_settings` where the settings are needed.
"""

from __future__ import annotations

import getpass
import math
import os
import stat
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from padron.domain.errors import ConfigurationError


class DataDirectoryError(ConfigurationError):
    code = "PAD-CONF-002"
    summary = (
        "PADRON_DATA_DIR is not a usable folder: a file stands there (or at a parent), "
        "or it cannot be created or written."
    )


#: the operating points, each a rate in the open interval (0, 1)
RATE_FIELDS = ("dedup_fpir_sure", "dedup_fpir_grey", "verify_fmr", "identify_fpir")


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
    #: ``data_dir/vault.key`` is created on first use (while no sealed template exists), in
    #: production the key (or ``vault_key_file``) must be given
    vault_key: str | None = None
    #: a file holding that base64 text (e.g. a mounted secret, mode 0600), never created by
    #: padron; unset: ``data_dir/vault.key``
    vault_key_file: Path | None = None
    #: old vault keys (base64, comma-separated) that still open what they sealed but never seal:
    #: the keys being rotated away from (``padron keys rotate``)
    vault_old_keys: str | None = None
    #: files holding old vault keys, comma-separated paths (same meaning as vault_old_keys)
    vault_old_key_files: str | None = None
    #: the audit log's name in its signed checkpoints (C2SP origin: a host-like name and path)
    audit_origin: str = "padron.local/audit"
    #: the audit log's Ed25519 signing key (``PRIVATE+KEY+<origin>+...``); in development a key
    #: file ``data_dir/audit.key`` is created on first use, in production the key must be given
    audit_key: str | None = None
    #: public keys (``<name>+<hex id>+<base64>``, comma-separated) of authorities that cosign
    #: checkpoints (a data-protection office); their signatures are verified too
    audit_cosigners: str | None = None
    #: the server signs a checkpoint of the audit log once this many entries were added since
    #: the last one ...
    audit_checkpoint_every: int = Field(default=1000, ge=1)
    #: ... or once this many seconds passed since it, if any entry was added
    audit_checkpoint_seconds: int = Field(default=300, ge=1)
    #: this registry's name to its partners: the ``keyid`` of every request and answer it signs
    #: (each partner registers this registry under this identifier)
    gateway_id: str = Field(default="padron", pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")
    #: the gateway's Ed25519 signing key (base64 of the 32-byte seed); in development a key file
    #: ``data_dir/gateway.key`` is created on first use, in production the key must be given
    gateway_key: str | None = None
    #: the key of the per-partner pseudonymous references (base64 of 64 random bytes); in
    #: development ``data_dir/gateway-references.key`` is created on first use. Never rotate it
    #: casually: references issued under it stop resolving.
    gateway_reference_key: str | None = None
    #: where the galleries live: in this process ("memory") or on Ray actors ("ray")
    gallery_backend: Literal["memory", "ray"] = "memory"
    #: an existing Ray cluster (``ray://head:10001`` or ``auto``); unset: a local Ray instance
    ray_address: str | None = None
    ray_shards: int = Field(default=4, ge=1)
    #: the name of this deployment's shared Ray shards (every worker and server of the
    #: deployment that joins the cluster uses the shards of this name)
    ray_deployment: str = Field(default="padron", min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
    #: keep sealed snapshots of the galleries' search form in the registry, so a start-up loads
    #: them and replays only the journal after them instead of opening every template
    gallery_segments: bool = True
    #: write a snapshot (in the background) once this many gallery-journal entries were applied
    #: since the newest one; 0: only after a rebuild and by `padron gallery snapshot`
    gallery_snapshot_every: int = Field(default=5000, ge=0)
    #: the size of one sealed segment part, MiB
    gallery_segment_mib: int = Field(default=64, ge=1, le=1024)
    #: de-duplication operating points (see padron.matching.dedup.DedupPolicy)
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
    def effective_vault_key_file(self) -> Path:
        return self.vault_key_file if self.vault_key_file is not None else self.data_dir / "vault.key"

    def ensure_data_dir(self) -> Path:
        """The data folder, created if missing; DataDirectoryError when it cannot serve as one."""
        folder = self.data_dir.absolute()
        problem = data_dir_problem(folder)
        if problem is None:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                problem = f"cannot be created: {error.strerror or error}"
            else:
                if not os.access(folder, os.W_OK | os.X_OK):
                    problem = "is not writable"
        if problem is not None:
            raise DataDirectoryError(f"PADRON_DATA_DIR {folder} {problem}", path=str(folder))
        return folder

    @property
    def vault_old_key_paths(self) -> list[Path]:
        return [Path(p.strip()) for p in (self.vault_old_key_files or "").split(",") if p.strip()]

    @property
    def vault_old_key_texts(self) -> list[str]:
        return [k.strip() for k in (self.vault_old_keys or "").split(",") if k.strip()]

    @property
    def effective_actor(self) -> str:
        if self.actor:
            return self.actor
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        return f"cli:{user}"

    @field_validator(*RATE_FIELDS)
    @classmethod
    def _a_rate(cls, value: float) -> float:
        if not (math.isfinite(value) and 0 < value < 1):
            raise ValueError(f"must be a rate strictly between 0 and 1 (e.g. 0.0001), got {value}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if not self.dedup_fpir_sure < self.dedup_fpir_grey:
            raise ValueError(
                f"PADRON_DEDUP_FPIR_SURE ({self.dedup_fpir_sure}) must be below PADRON_DEDUP_FPIR_GREY "
                f"({self.dedup_fpir_grey}): a sure duplicate is refused without a human, so its rate "
                "is the stricter one"
            )
        if self.vault_key and self.vault_key_file is not None:
            raise ValueError("set PADRON_VAULT_KEY or PADRON_VAULT_KEY_FILE, not both")
        if self.environment == "production" and not self.vault_key and self.vault_key_file is None:
            raise ValueError(
                "PADRON_VAULT_KEY or PADRON_VAULT_KEY_FILE must be set in production "
                "(the key file in PADRON_DATA_DIR is a development convenience)"
            )
        return self


def data_dir_problem(folder: Path) -> str | None:
    """Why ``folder`` can never be the data folder (a file stands at it or at a parent), or None."""
    for candidate in (folder, *folder.parents):
        try:
            info = candidate.stat()
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError:
            return None  # e.g. no permission to look: creating it will say what is wrong
        if stat.S_ISDIR(info.st_mode):
            return None
        if candidate == folder:
            return "is a file, not a folder"
        return f"lies inside {candidate}, which is a file"
    return None


def _problem(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if not error["loc"]:  # a rule across settings: its message names them
        return message
    return f"PADRON_{'_'.join(map(str, error['loc'])).upper()}: {message}"


def load_settings() -> Settings:
    """The settings, validated; ConfigurationError names every setting that is wrong, and
    DataDirectoryError a data folder that a file stands in the way of."""
    try:
        settings = Settings()
    except ValidationError as error:
        problems = "; ".join(_problem(e) for e in error.errors())
        raise ConfigurationError(f"invalid settings: {problems}") from None
    folder = settings.data_dir.absolute()
    problem = data_dir_problem(folder)
    if problem is not None:
        raise DataDirectoryError(f"PADRON_DATA_DIR {folder} {problem}", path=str(folder))
    return settings
