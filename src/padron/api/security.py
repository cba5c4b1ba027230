"""From a request's API key to an :class:`AccessContext`: authenticate, rate-limit, check the role.

Every route's roles and purposes are declared in one table, :data:`padron.api.roles.ENDPOINT_ACCESS`;
a protected route takes ``ctx: Annotated[AccessContext, Depends(authenticated)]`` and the
dependency finds the route's entry there. :func:`check_endpoint_access` (run by ``create_app``)
refuses an application with a route missing from the table, a table entry without a route, a
protected route that does not depend on :func:`authenticated` or a public one that does. The web
console's pages (``console`` entries) depend on :func:`console_authenticated` instead: the
session cookie opened at /console/login with an API key, and on every form the session's CSRF
token.

The credential interface (``padron.registry.keys``: ``KeyStore.authenticate``,
``RateLimiter.check``) is described here as Protocols; the API never looks inside a key beyond
``key_id``, ``name`` and ``role``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Protocol, TypeVar

from fastapi import Depends, FastAPI, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute

from padron.api.problems import CredentialHeaderError
from padron.api.roles import ENDPOINT_ACCESS, EndpointAccess
from padron.api.state import services
from padron.domain.access import AccessContext, Channel, Role
from padron.domain.errors import InternalError
from padron.registry.keys import require_role
from padron.registry.sessions import ConsoleSession, check_csrf
from padron.sharing.signing import Message, SignatureError, Signed, headers_of, verify_request

# --- the credential interface -------------------------------------------------------------------


class ApiKey(Protocol):
    """What the API reads of an authenticated key (padron.registry.keys.ApiKey)."""

    @property
    def key_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def role(self) -> Role: ...


K = TypeVar("K", bound=ApiKey)
K_co = TypeVar("K_co", bound=ApiKey, covariant=True)
K_contra = TypeVar("K_contra", bound=ApiKey, contravariant=True)


class KeyStore(Protocol[K_co]):
    def authenticate(self, token: str) -> K_co:
        """The key ``token`` stands for; a PadronError of category UNAUTHENTICATED when it is
        malformed, unknown, revoked or expired."""
        ...


class RateLimiter(Protocol[K_contra]):
    def check(self, key: K_contra) -> None:
        """A PadronError of category RATE_LIMITED (``details["retry_after"]`` seconds) when
        ``key`` has used up its requests for now."""
        ...


class Unlimited:
    """A rate limiter that admits every request."""

    def check(self, key: ApiKey) -> None:
        return None


#: a role check: returns when ``key``'s role is one of the roles, raises (category FORBIDDEN) if not
RoleCheck = Callable[[K_contra, Collection[Role]], None]


@dataclass(frozen=True)
class Gatekeeper(Generic[K]):
    """A key store, the rate limiter for its keys and the role check, used together."""

    key_store: KeyStore[K]
    rate_limiter: RateLimiter[K]
    authorize: RoleCheck[Any] = require_role

    def admit(self, token: str, roles: Collection[Role]) -> K:
        """The key of ``token`` if it is valid, within its rate limit and of one of ``roles``.
        Every authenticated request counts against the key's limit, refused ones too."""
        key = self.key_store.authenticate(token)
        self.rate_limiter.check(key)
        self.authorize(key, roles)
        return key


# --- checking the table against the routes -------------------------------------------------------


class EndpointDeclarationError(InternalError):
    code = "PAD-API-010"
    summary = (
        "An endpoint is missing from padron.api.roles.ENDPOINT_ACCESS, or declared there but "
        "absent or wired wrongly (a bug; the server refuses to start)."
    )


def _route_keys(route: BaseRoute) -> list[tuple[str, str]]:
    methods = getattr(route, "methods", None) or ()
    path = getattr(route, "path", None)
    if path is None:
        return []
    return [(method, path) for method in sorted(methods) if method != "HEAD"]


def _depends_on(dependant: Dependant, call: Any) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


def check_endpoint_access(
    routes: Iterable[BaseRoute], table: Mapping[tuple[str, str], EndpointAccess] = ENDPOINT_ACCESS
) -> None:
    """Refuse (EndpointDeclarationError) routes and ``table`` that do not match one to one."""
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    for route in routes:
        for key in _route_keys(route):
            seen.add(key)
            access = table.get(key)
            if access is None:
                problems.append(f"{key[0]} {key[1]} declares no roles")
                continue
            guarded = isinstance(route, APIRoute) and _depends_on(route.dependant, authenticated)
            signed = isinstance(route, APIRoute) and _depends_on(route.dependant, signed_partner)
            in_session = isinstance(route, APIRoute) and _depends_on(route.dependant, console_authenticated)
            if access.console:
                if guarded or signed:
                    problems.append(f"{key[0]} {key[1]} is a console page but depends on an API key")
                elif access.public and in_session:
                    problems.append(
                        f"{key[0]} {key[1]} is declared public but depends on console_authenticated"
                    )
                elif not access.public and not in_session:
                    problems.append(
                        f"{key[0]} {key[1]} has roles but does not depend on console_authenticated"
                    )
                continue
            if in_session:
                problems.append(
                    f"{key[0]} {key[1]} depends on console_authenticated but is not a console page"
                )
            if access.signed and (not signed or guarded):
                problems.append(
                    f"{key[0]} {key[1]} is a signed partner endpoint but does not depend on signed_partner"
                )
            elif not access.signed and signed:
                problems.append(f"{key[0]} {key[1]} depends on signed_partner but is not declared signed")
            elif not access.public and not access.signed and not guarded:
                problems.append(f"{key[0]} {key[1]} has roles but does not depend on authenticated")
            if access.public and guarded:
                problems.append(f"{key[0]} {key[1]} is declared public but depends on authenticated")
    problems.extend(f"{m} {p} is declared but no such route exists" for m, p in sorted(set(table) - seen))
    if problems:
        raise EndpointDeclarationError("endpoint access table mismatch: " + "; ".join(problems))


def document_roles(app: FastAPI, table: Mapping[tuple[str, str], EndpointAccess] = ENDPOINT_ACCESS) -> None:
    """Write each route's roles into its OpenAPI operation (``x-padron-roles``)."""
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        for method, path in _route_keys(route):
            access = table[(method, path)]
            extra = dict(route.openapi_extra or {})
            extra["x-padron-roles"] = sorted(r.value for r in access.roles)
            if access.signed:
                extra["security"] = [{PARTNER_SIGNATURE: []}]
            route.openapi_extra = extra


#: the OpenAPI security scheme of the partners' signed endpoints
PARTNER_SIGNATURE = "PartnerSignature"
PARTNER_SIGNATURE_SCHEME: dict[str, Any] = {
    "type": "apiKey",
    "in": "header",
    "name": "Signature",
    "description": "An RFC 9421 HTTP message signature (Ed25519) by the partner's registered gateway key: "
    "Signature-Input covers @method, @authority, @path, content-type and content-digest (RFC 9530), "
    "with created, expires (at most 300 s later), a fresh nonce, keyid (the partner's id here), "
    "alg ed25519 and tag padron-gateway. No API key.",
}

# --- the dependency ------------------------------------------------------------------------------

_bearer = HTTPBearer(
    auto_error=False, bearerFormat="pdn_<key_id>_<secret>", description="An API key as a bearer token."
)
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key.")


def _token(request: Request, bearer: HTTPAuthorizationCredentials | None, header_key: str | None) -> str:
    """The one API key a request presents (CredentialHeaderError when none, or two differ)."""
    authorization = request.headers.get("authorization")
    if authorization is not None and bearer is None:
        scheme = authorization.split(" ", 1)[0] or "(empty)"
        raise CredentialHeaderError(
            f"the Authorization header must be 'Bearer <key>', not scheme {scheme!r}", header="Authorization"
        )
    bearer_key = bearer.credentials.strip() if bearer is not None else None
    header_key = header_key.strip() if header_key is not None else None
    if bearer_key and header_key and bearer_key != header_key:
        raise CredentialHeaderError(
            "two different API keys were sent (Authorization and X-API-Key); send one", header="X-API-Key"
        )
    token = bearer_key or header_key
    if not token:
        raise CredentialHeaderError(
            "this endpoint needs an API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
        )
    return token


def endpoint_access(request: Request) -> EndpointAccess:
    """The ENDPOINT_ACCESS entry of the route that matched ``request``."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    access = ENDPOINT_ACCESS.get((request.method, path)) if path is not None else None
    if access is None or access.public:
        raise EndpointDeclarationError(f"{request.method} {path} has no roles in ENDPOINT_ACCESS")
    return access


def authenticated(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header_key: Annotated[str | None, Security(_api_key_header)],
    access: Annotated[EndpointAccess, Depends(endpoint_access)],
) -> AccessContext:
    """The access context of a request to a protected endpoint: the key authenticated, within
    its rate limit, of a role the endpoint admits; the purpose is the endpoint's for that role.
    (A ``def``: the key store reads the database, so FastAPI runs this in its thread pool.)"""
    token = _token(request, bearer, header_key)
    key = services(request).gatekeeper.admit(token, access.roles)
    return AccessContext(
        actor=f"key:{key.key_id}:{key.name}",
        role=key.role,
        channel=Channel.API,
        purpose=access.purposes[key.role],
    )


# --- partners: authenticated by their signature ------------------------------------------------


@dataclass(frozen=True)
class PartnerCall:
    """A partner's verified request: its access context, the signature, the body signed and the
    request as signed (an answer's signature covers the request's digest and signature)."""

    ctx: AccessContext
    signed: Signed
    body: bytes
    message: Message


async def signed_partner(
    request: Request, access: Annotated[EndpointAccess, Depends(endpoint_access)]
) -> PartnerCall:
    """The verified signature of a partner's request (RFC 9421, the partner's registered
    Ed25519 key; SignatureError 401 with the reason otherwise)."""
    gateway = services(request).require_gateway()
    body = await request.body()
    message = Message(request.method, str(request.url), headers_of(request.headers.items()))
    try:
        signed = await run_in_threadpool(verify_request, message, body, gateway.public_key)
    except SignatureError as error:  # refused, and on the record
        await run_in_threadpool(gateway.refused, error.details.get("keyid"), error)
        raise
    ctx = AccessContext(
        actor=f"partner:{signed.key_id}",
        role=Role.PARTNER,
        channel=Channel.PARTNER,
        purpose=access.purposes[Role.PARTNER],
        partner=signed.key_id,
    )
    return PartnerCall(ctx=ctx, signed=signed, body=body, message=message)


# --- the web console: a session cookie ---------------------------------------------------------

#: the console's session cookie (HttpOnly, SameSite=Strict, path /console): a random session id
SESSION_COOKIE = "padron_session"
#: where a console script sends the session's CSRF token (forms send it as the field ``csrf``)
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_session_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="A console session.")


@dataclass(frozen=True)
class ConsoleCall:
    """A console request: its session and the access context of the page (channel console)."""

    session: ConsoleSession
    ctx: AccessContext


async def console_authenticated(
    request: Request,
    session_id: Annotated[str | None, Security(_session_cookie)],
    access: Annotated[EndpointAccess, Depends(endpoint_access)],
) -> ConsoleCall:
    """The session of a console request (SessionError 401 without one), of a role the page
    admits (ForbiddenError 403), and on a POST the session's CSRF token, from the header
    ``X-CSRF-Token`` or a form's ``csrf`` field (CsrfError 403). The purpose is the page's for
    the role; the actor is the key's, as over the API."""
    svc = services(request)
    session = await run_in_threadpool(svc.sessions.resolve, session_id)
    svc.gatekeeper.authorize(session, access.roles)
    if request.method not in _SAFE_METHODS:
        token = request.headers.get(CSRF_HEADER)
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if token is None and content_type == "application/x-www-form-urlencoded":
            value = (await request.form()).get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
        assert session_id is not None
        check_csrf(session_id, token)
    return ConsoleCall(session=session, ctx=session.context(access.purposes[session.role]))
