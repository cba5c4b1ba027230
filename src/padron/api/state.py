"""What a running application holds: built by the lifespan of ``create_app``, closed at shutdown,
and handed to routes through the request (never a module-level global)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from fastapi import Request

from padron.domain.errors import ErrorCategory, InternalError, PadronError
from padron.domain.template import Template
from padron.registry.audit import AuditLog
from padron.registry.keys import KeyStore
from padron.registry.service import Registry

if TYPE_CHECKING:
    import httpx

    from padron.api.metrics import Metrics
    from padron.api.security import Gatekeeper
    from padron.api.uploads import Upload
    from padron.registry.identity import IdentityService
    from padron.registry.sessions import ConsoleSessions
    from padron.sharing.agreements import Partner
    from padron.sharing.gateway import Gateway

log = logging.getLogger("padron.api")


@dataclass(frozen=True)
class Samples:
    """What an upload yields: the templates by slot, and the images to keep sealed for the
    adjudicator (the images the templates came from, by slot)."""

    templates: dict[str, Template]
    images: dict[str, bytes]


#: turns an upload's images and templates into templates by slot; ``enroll`` applies the
#: enrollment quality floors (:func:`read_samples`: padron's extractors)
SampleReader = Callable[["Upload", bool], Samples]


class GatewayUnavailableError(PadronError):
    code = "PAD-API-011"
    category = ErrorCategory.UNAVAILABLE
    summary = "The sharing gateway is not configured on this server (HTTP 503)."


class BiometricsUnavailableError(PadronError):
    code = "PAD-API-008"
    category = ErrorCategory.UNAVAILABLE
    summary = (
        "The biometric service is not available (HTTP 503): its galleries are still loading, "
        "or they failed to load (the server's log says why)."
    )


def read_samples(upload: Upload, enroll: bool) -> Samples:
    """The production sample reader: padron's face and fingerprint extractors; the uploaded
    images are kept (an ISO record has no image)."""
    from padron.biometrics.samples import extract_samples

    templates = extract_samples(
        face=upload.face, fingers=upload.fingers, finger_templates=upload.finger_templates, enroll=enroll
    )
    return Samples(templates=templates, images=upload.images)


class IdentityProvider:
    """The biometric use cases of this process, built once (loading the galleries can take
    minutes at national scale, so a server starts it in the background at start-up and
    answers /ready with the gallery's state meanwhile). Built on first use when not started."""

    def __init__(self, build: Callable[[], IdentityService]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._service: IdentityService | None = None
        self._failure: BaseException | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def of(cls, service: IdentityService) -> IdentityProvider:
        provider = cls(lambda: service)
        provider._service = service
        return provider

    @property
    def state(self) -> Literal["idle", "loading", "ready", "failed"]:
        if self._service is not None:
            return "ready"
        if self._failure is not None:
            return "failed"
        return "loading" if self._thread is not None else "idle"

    def start(self) -> None:
        """Build in a background thread (the server's start-up), or build again after a
        failure (a database that was not migrated yet, a server that was down)."""
        with self._lock:
            if self._service is not None or (self._thread is not None and self._thread.is_alive()):
                return
            self._failure = None
            self._thread = threading.Thread(target=self._load, name="padron-gallery-load", daemon=True)
            self._thread.start()

    def _load(self) -> IdentityService | None:
        with self._lock:
            if self._service is None and self._failure is None:
                try:
                    self._service = self._build()
                except PadronError as error:  # kept and reported: the server stays up, /ready says why
                    log.warning("the biometric service cannot start yet: %s", error.message)
                    self._failure = error
                except Exception as error:
                    log.exception("the biometric service failed to start")
                    self._failure = error
            return self._service

    def get(self) -> IdentityService:
        """The service (waiting while it loads; after a failure it is built again, once per
        call); BiometricsUnavailableError if it cannot be built."""
        if self._service is None and self._failure is not None:
            with self._lock:
                self._failure = None
        service = self._service or self._load()
        if service is None:
            failure = self._failure
            if isinstance(failure, PadronError) and failure.category is ErrorCategory.UNAVAILABLE:
                raise failure
            raise BiometricsUnavailableError("the biometric service failed to start; see the server's log")
        return service

    def close(self) -> None:
        if self._thread is not None:
            self._thread.join(timeout=60)


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
    #: enrollment, verification, identification, adjudication (their galleries load once)
    identity: IdentityProvider
    #: images and ISO templates of an upload -> templates
    samples: SampleReader
    #: the web console's sessions (padron.web)
    sessions: ConsoleSessions
    #: the sharing gateway (None: this application was built without a gateway identity)
    gateway: Gateway | None = None
    #: how this server reaches a partner's gateway (None: over HTTP at the partner's URL)
    peer_http: Callable[[Partner], httpx.Client] | None = None

    def require_gateway(self) -> Gateway:
        if self.gateway is None:
            raise GatewayUnavailableError("this server has no sharing gateway configured")
        return self.gateway


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


def identity(request: Request) -> IdentityService:
    """The biometric use cases (a dependency of the biometric routes)."""
    return services(request).identity.get()
