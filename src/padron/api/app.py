"""The HTTP API's application factory.

``create_app()`` builds a new application and nothing else: the registry (its engine), the key
store and the rate limiter are made by the application's lifespan when the server starts and
closed when it stops; importing this module builds nothing. ``padron serve`` runs it with
uvicorn (``uvicorn.run("padron.api.app:create_app", factory=True)``), once per worker.

Layout: :mod:`~padron.api.problems` (errors as RFC 9457 problems, the status table),
:mod:`~padron.api.roles` (who may call what), :mod:`~padron.api.security` (key -> access
context), :mod:`~padron.api.bodies` (size limit, strict JSON), :mod:`~padron.api.metrics`,
:mod:`~padron.api.schemas` (public schemas), :mod:`~padron.api.routes` (thin routes).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from typing import Any, Final, TypeVar, cast

from fastapi import FastAPI
from starlette.middleware import Middleware

from padron import __version__
from padron.api.bodies import MAX_BODY_BYTES, BodyLimitMiddleware, StrictJsonRoute
from padron.api.checkpoints import Checkpointer
from padron.api.config import check_serving_settings
from padron.api.docs import add_docs_route
from padron.api.metrics import Metrics, MetricsMiddleware
from padron.api.partner_refusals import SignPartnerRefusals
from padron.api.problems import (
    PROBLEM_MEDIA_TYPE,
    PROBLEM_TYPE_PREFIX,
    PROTOCOL_STATUS,
    STATUS_BY_CATEGORY,
    install_problem_handlers,
)
from padron.api.routes import (
    adjudication,
    audit,
    biometrics,
    customs,
    gateway,
    keys,
    partners,
    persons,
    residents,
    system,
)
from padron.api.security import (
    PARTNER_SIGNATURE,
    PARTNER_SIGNATURE_SCHEME,
    ApiKey,
    Gatekeeper,
    KeyStore,
    RateLimiter,
    Unlimited,
    check_endpoint_access,
    document_roles,
)
from padron.api.state import (
    BiometricsUnavailableError,
    IdentityProvider,
    SampleReader,
    Services,
    read_samples,
)
from padron.api.uploads import MAX_UPLOAD_BYTES, Upload
from padron.audit.checkpoint import CheckpointPolicy
from padron.registry import keys as registry_keys
from padron.registry.audit import AuditLog
from padron.registry.identity import IdentityService
from padron.registry.service import Registry
from padron.registry.sessions import ConsoleSessions
from padron.registry.storage.database import Database
from padron.settings import Settings, load_settings
from padron.sharing.customs_import import MAX_IMPORT_BYTES
from padron.sharing.customs_push import Connect as PeerConnector
from padron.sharing.keys import GatewayIdentity
from padron.web.enrollment import UPLOAD_PATHS as CONSOLE_UPLOAD_PATHS

log = logging.getLogger("padron.api")

K = TypeVar("K", bound=ApiKey)

#: what create_app takes for the biometric use cases: a running service, or how to build one on
#: the application's registry
IdentitySource = IdentityService | Callable[[Registry], IdentityService]

#: the module of the real key store (merged from the keys branch)
#: requests a minute of a key without a limit of its own (per worker process)
DEFAULT_RATE_LIMIT_PER_MINUTE: Final = 120


def _description() -> str:
    by_category = "\n".join(f"| {c.value} | {s} |" for c, s in STATUS_BY_CATEGORY.items())
    protocol = ", ".join(f"{cls.code} {status}" for cls, status in PROTOCOL_STATUS.items())
    return (
        "padron's registry over HTTP. Every endpoint but /health, /ready, /openapi.json and /docs "
        "needs an API key: `Authorization: Bearer pdn_<key_id>_<secret>` (or `X-API-Key`); each "
        "operation lists the roles it admits (`x-padron-roles`).\n\n"
        "Every failure is an RFC 9457 problem (`application/problem+json`) with a stable PAD code: "
        f"`type` is `{PROBLEM_TYPE_PREFIX}<code>`, and `code`, `category`, `title`, `detail` and "
        "`details` say what went wrong (docs/errors.md lists every code). The status follows the "
        "error's category:\n\n"
        "| category | status |\n|---|---|\n"
        f"{by_category}\n\n"
        f"and the HTTP layer's own refusals: {protocol}. A body that cannot be parsed is 400; one "
        "that parses but breaks the schema is 422 PAD-API-001 naming the fields."
    )


class PadronAPI(FastAPI):
    """FastAPI whose OpenAPI document gives problem responses their media type."""

    def openapi(self) -> dict[str, Any]:
        fresh = self.openapi_schema is None
        schema = super().openapi()
        if fresh:
            schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
            schemes[PARTNER_SIGNATURE] = PARTNER_SIGNATURE_SCHEME
            for item in schema.get("paths", {}).values():
                for operation in item.values():
                    for status, response in operation.get("responses", {}).items():
                        content = response.get("content", {})
                        if str(status).isdigit() and int(status) >= 400 and "application/json" in content:
                            content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
        return schema


def _open_registry(settings: Settings) -> Registry:
    """The registry the settings name. Its schema is not required here: a server on a database
    that is missing its schema starts, and /ready says why it is not ready."""
    if not settings.database_url:
        settings.ensure_data_dir()
    return Registry(Database(settings.effective_database_url))


def _audit_log(settings: Settings | None, registry: Registry) -> AuditLog:
    """The settings' audit log with its signing key; without settings (an application given
    only a registry) one that cannot sign checkpoints."""
    if settings is None:
        return AuditLog(registry, origin=Settings.model_fields["audit_origin"].default)
    from padron.registry.factory import build_audit_log

    return build_audit_log(settings, registry)


def checkpoint_policy(settings: Settings) -> CheckpointPolicy:
    """When the server signs checkpoints: every PADRON_AUDIT_CHECKPOINT_EVERY entries or
    PADRON_AUDIT_CHECKPOINT_SECONDS seconds."""
    return CheckpointPolicy(
        every=settings.audit_checkpoint_every, interval=timedelta(seconds=settings.audit_checkpoint_seconds)
    )


def _start_checkpoints(audit_log: AuditLog, policy: CheckpointPolicy | None) -> Checkpointer | None:
    if policy is None:
        return None
    if audit_log.signer is None:
        log.warning("the audit log has no signing key: the server signs no checkpoints")
        return None
    checkpointer = Checkpointer(audit_log, policy)
    checkpointer.start()
    return checkpointer


def _gatekeeper(
    registry: Registry, key_store: KeyStore[K] | None, rate_limiter: RateLimiter[K] | None
) -> Gatekeeper[Any]:
    if key_store is not None:
        return Gatekeeper(key_store, rate_limiter if rate_limiter is not None else Unlimited())
    from padron.registry import keys

    store = cast(KeyStore[Any], keys.KeyStore(registry))
    limiter = (
        rate_limiter
        if rate_limiter is not None
        else cast(RateLimiter[Any], keys.RateLimiter(DEFAULT_RATE_LIMIT_PER_MINUTE))
    )
    return Gatekeeper(store, limiter)


def _identity_provider(
    settings: Settings | None, registry: Registry, identity: IdentitySource | None
) -> IdentityProvider:
    """The biometric use cases: as given, or built from the settings on ``registry`` (in the
    background from start-up: the galleries load while the server already answers)."""
    if isinstance(identity, IdentityService):
        return IdentityProvider.of(identity)
    if identity is not None:
        source = identity
        return IdentityProvider(lambda: source(registry))
    if settings is None:

        def unconfigured() -> IdentityService:
            raise BiometricsUnavailableError("this application was built without biometric settings")

        return IdentityProvider(unconfigured)
    from padron.registry.factory import build_identity_service

    configured = settings
    provider = IdentityProvider(lambda: build_identity_service(configured, registry=registry))
    provider.start()
    return provider


def _gateway(
    settings: Settings | None,
    registry: Registry,
    provider: IdentityProvider,
    samples: SampleReader,
    me: GatewayIdentity | None,
) -> Any:
    """The sharing gateway on ``registry`` (None without a gateway identity: no settings and
    none given)."""
    if me is None and settings is None:
        return None
    from padron.sharing.gateway import Gateway, Probe
    from padron.sharing.keys import build_gateway_identity
    from padron.sharing.store import Sharing

    identity = me if me is not None else build_gateway_identity(cast(Settings, settings))

    def extract(probe: Probe) -> Any:
        upload = Upload(
            text={}, face=probe.face, fingers=probe.fingers, finger_templates=probe.finger_templates
        )
        return samples(upload, False).templates

    return Gateway(Sharing(registry), provider.get, identity, extract)


def _lifespan(
    settings: Settings | None,
    registry: Registry | None,
    key_store: KeyStore[K] | None,
    rate_limiter: RateLimiter[K] | None,
    metrics: Metrics,
    audit_log: AuditLog | None,
    policy: CheckpointPolicy | None,
    identity: IdentitySource | None,
    samples: SampleReader,
    gateway_identity: GatewayIdentity | None,
    peer_http: PeerConnector | None = None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[dict[str, Any]]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        owned = registry is None
        if registry is not None:
            reg = registry
        else:
            assert settings is not None
            reg = _open_registry(settings)
        checkpointer: Checkpointer | None = None
        provider = _identity_provider(settings, reg, identity)
        try:
            gatekeeper = _gatekeeper(reg, key_store, rate_limiter)
            audit = audit_log if audit_log is not None else _audit_log(settings, reg)
            services = Services(
                registry=reg,
                gatekeeper=gatekeeper,
                metrics=metrics,
                audit=audit,
                keys=registry_keys.KeyStore(reg),
                identity=provider,
                samples=samples,
                sessions=ConsoleSessions(reg),
                gateway=_gateway(settings, reg, provider, samples, gateway_identity),
                peer_http=peer_http,
            )
            checkpointer = _start_checkpoints(audit, policy)
            yield {"services": services}
        finally:
            if checkpointer is not None:
                checkpointer.stop()
            provider.close()
            if owned:
                reg.close()

    return lifespan


def create_app(
    settings: Settings | None = None,
    *,
    registry: Registry | None = None,
    key_store: KeyStore[K] | None = None,
    rate_limiter: RateLimiter[K] | None = None,
    audit_log: AuditLog | None = None,
    checkpoints: CheckpointPolicy | None = None,
    identity: IdentitySource | None = None,
    samples: SampleReader = read_samples,
    gateway_identity: GatewayIdentity | None = None,
    peer_http: PeerConnector | None = None,
) -> FastAPI:
    """A new padron API application.

    ``settings`` default to :func:`padron.settings.load_settings` (unless a ``registry`` is
    given); the settings must allow serving (:func:`check_serving_settings`: no SQLite in
    production). ``registry`` is used as given and left open at shutdown; without it the
    lifespan opens the settings' database and closes it at shutdown. ``key_store`` and
    ``rate_limiter`` default to those of padron.registry.keys (pass both or neither: a key store
    given without a limiter is not rate-limited).

    ``audit_log`` defaults to the settings' (:func:`padron.registry.factory.build_audit_log`,
    with its signing key), or without settings to one that cannot sign. While the server runs,
    a thread signs a checkpoint whenever ``checkpoints`` says one is due (default: the
    settings' :func:`checkpoint_policy`; without settings none is signed unless a policy is
    given).

    ``identity`` (the biometric use cases) defaults to the settings' (
    :func:`padron.registry.factory.build_identity_service`, started in the background at
    start-up); ``samples`` turns uploads into templates (padron's extractors). The sharing
    gateway signs as ``gateway_identity`` (default: the settings', :func:`build_gateway_identity`;
    without settings and without one given, the gateway's endpoints answer 503). ``peer_http``
    gives the HTTP client to a partner's gateway (default: httpx to the partner's URL; tests give a
    TestClient of the partner's application)."""
    if settings is None and registry is None:
        settings = load_settings()
    if settings is not None:
        check_serving_settings(settings)
    if checkpoints is None and settings is not None:
        checkpoints = checkpoint_policy(settings)
    metrics = Metrics()
    app = PadronAPI(
        title="padron",
        version=__version__,
        description=_description(),
        openapi_url="/openapi.json",
        docs_url=None,  # FastAPI's Swagger UI loads from a CDN; padron.api.docs serves /docs instead
        redoc_url=None,
        lifespan=_lifespan(
            settings,
            registry,
            key_store,
            rate_limiter,
            metrics,
            audit_log,
            checkpoints,
            identity,
            samples,
            gateway_identity,
            peer_http,
        ),
        middleware=[
            Middleware(MetricsMiddleware, metrics=metrics),
            Middleware(SignPartnerRefusals),
            Middleware(
                BodyLimitMiddleware,
                max_bytes=MAX_BODY_BYTES,
                overrides={
                    **dict.fromkeys(
                        (*biometrics.UPLOAD_PATHS, *CONSOLE_UPLOAD_PATHS, "/v1/partner/requests"),
                        MAX_UPLOAD_BYTES,
                    ),
                    customs.IMPORTS_PATH: MAX_IMPORT_BYTES,
                },
            ),
        ],
    )
    install_problem_handlers(app)
    app.router.route_class = StrictJsonRoute
    system.add_routes(app)
    persons.add_routes(app)
    audit.add_routes(app)
    keys.add_routes(app)
    biometrics.add_routes(app)
    adjudication.add_routes(app)
    residents.add_routes(app)
    gateway.add_routes(app)
    customs.add_routes(app)
    partners.add_routes(app)
    add_docs_route(app)
    from padron.web import install_console

    install_console(app)
    check_endpoint_access(app.routes)
    document_roles(app)
    return app
