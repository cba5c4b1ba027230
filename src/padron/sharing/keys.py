"""The gateway's own keys: who this registry is to its partners (its identifier and Ed25519
signing key) and the key of its per-partner references. Given in the settings, or in
development made once in the data directory (0600, atomically, never replaced)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from padron.domain.errors import PadronError
from padron.registry.secret_files import create_exclusive
from padron.settings import Settings
from padron.sharing.references import ReferenceKeyError, References, new_key
from padron.sharing.signing import (
    GatewayKeyError,
    private_key_from_b64,
    private_key_to_b64,
    public_key_b64,
)


@dataclass(frozen=True)
class GatewayIdentity:
    #: this registry's identifier at its partners (the ``keyid`` it signs with)
    id: str
    key: Ed25519PrivateKey
    references: References

    @property
    def public_key(self) -> str:
        return public_key_b64(self.key)


def _secret(
    settings: Settings,
    value: str | None,
    filename: str,
    make: Callable[[], str],
    error: type[PadronError],
    variable: str,
) -> str:
    if value:
        return value.strip()
    path: Path = settings.data_dir.absolute() / filename
    if not path.exists():
        if settings.environment == "production":
            raise error(f"no {filename}: set {variable} or provide {path}", path=str(path))
        settings.ensure_data_dir()
        create_exclusive(path, (make() + "\n").encode("ascii"))
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as problem:
        raise error(f"cannot read {path}: {problem}", path=str(path)) from None


def build_gateway_identity(settings: Settings) -> GatewayIdentity:
    """The settings' gateway identity (PADRON_GATEWAY_ID, _KEY, _REFERENCE_KEY or their files)."""
    key = _secret(
        settings,
        settings.gateway_key,
        "gateway.key",
        lambda: private_key_to_b64(Ed25519PrivateKey.generate()),
        GatewayKeyError,
        "PADRON_GATEWAY_KEY",
    )
    references = _secret(
        settings,
        settings.gateway_reference_key,
        "gateway-references.key",
        new_key,
        ReferenceKeyError,
        "PADRON_GATEWAY_REFERENCE_KEY",
    )
    return GatewayIdentity(settings.gateway_id, private_key_from_b64(key), References(references))
