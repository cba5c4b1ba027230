"""What a running application holds: built by the lifespan of ``create_app``, closed at shutdown,
and handed to routes through the request (never a module-level global)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request

from padron.domain.errors import InternalError
from padron.registry.audit import AuditLog
from padron.registry.keys import KeyStore
from padron.registry.service import Registry

if TYPE_CHECKING:
    from padron.api.metrics import Metrics
    from padron.api.security import Gatekeeper


@dataclass(frozen=True)
class Services:
    registry: Registry
    gatekeeper: Gatekeeper[Any]
    metrics: Metrics
    #: the audit log with its signing key (/v1/audit)
    audit: AuditLog
    #: the API keys in the registry's database, to manage them (/v1/keys); requests are
    #: authenticated by the gatekeeper's key store
    keys: KeyStore


def services(request: Request) -> Services:
    """The running application's services (InternalError when its lifespan has not run)."""
    value = getattr(request.state, "services", None)
    if not isinstance(value, Services):
        raise InternalError("the application's services are not started (its lifespan did not run)")
    return value


def registry(request: Request) -> Registry:
    """The registry (a dependency of routes that call its use cases)."""
    return services(request).registry


def audit_log(request: Request) -> AuditLog:
    """The audit log (a dependency of /v1/audit)."""
    return services(request).audit


def key_store(request: Request) -> KeyStore:
    """The registry's API keys (a dependency of /v1/keys)."""
    return services(request).keys
