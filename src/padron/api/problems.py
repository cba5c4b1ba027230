"""Every failure over HTTP is an RFC 9457 problem (``application/problem+json``) with its PAD code.

The status of an error comes from one table, :data:`STATUS_BY_CATEGORY`, keyed by the error's
:class:`~padron.domain.errors.ErrorCategory`; the HTTP layer's own refusals whose status no
category expresses (400, 405, 413, 415) are listed beside it in :data:`PROTOCOL_STATUS`. Nothing
else chooses a status.

A problem body::

    {"type": "urn:padron:error:PAD-PERSON-001", "title": "No person holds (or ever held) this CURP.",
     "status": 404, "detail": "no person holds or held the CURP ...", "code": "PAD-PERSON-001",
     "category": "not-found", "details": {"curp": "..."}}

- ``type`` is ``urn:padron:error:<code>``: a URN, so it is stable across deployments and host
  names; the code's meaning is in docs/errors.md.
- ``title`` is the code's one-line summary, ``detail`` the message about this occurrence,
  ``details`` the error's machine-readable context (omitted when empty).
- A server-side failure (5xx) carries no message and no details, only the code, its summary and
  an ``instance`` (``urn:uuid:...``) under which the full message (and for a bug, the traceback)
  is logged: nothing about the installation's internals reaches the caller.
- 401 carries ``WWW-Authenticate: Bearer realm="padron"`` (RFC 6750), 429 ``Retry-After`` (whole
  seconds), 405 ``Allow``.

Malformed versus invalid: a body that cannot be parsed at all (not UTF-8 JSON, NaN, a repeated
key) is 400 ``PAD-API-003``; a parsed body whose fields break the schema (missing, unknown, wrong
type) is 422 ``PAD-API-001`` naming the fields; a value that breaks a registry rule (a bad CURP, a
future birth date) is 422 with that rule's own code.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from padron.domain.errors import ErrorCategory, InternalError, PadronError

log = logging.getLogger("padron.api")

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
PROBLEM_TYPE_PREFIX: Final = "urn:padron:error:"

#: the one mapping of an error category to its HTTP status
STATUS_BY_CATEGORY: Final[Mapping[ErrorCategory, int]] = MappingProxyType(
    {
        ErrorCategory.INVALID: 422,
        ErrorCategory.NOT_FOUND: 404,
        ErrorCategory.CONFLICT: 409,
        ErrorCategory.UNAUTHENTICATED: 401,
        ErrorCategory.FORBIDDEN: 403,
        ErrorCategory.RATE_LIMITED: 429,
        ErrorCategory.UNAVAILABLE: 503,
        ErrorCategory.INTERNAL: 500,
    }
)


# --- the HTTP layer's own refusals ----------------------------------------------------------------


class RequestFieldError(PadronError):
    code = "PAD-API-001"
    summary = (
        "A request's field is missing, unknown, of the wrong type or too long "
        "(HTTP 422); details name each field."
    )


class RequestTooLargeError(PadronError):
    code = "PAD-API-002"
    summary = "The request body is larger than the server accepts (HTTP 413); it was not read further."


class MalformedRequestError(PadronError):
    code = "PAD-API-003"
    summary = (
        "The request body cannot be parsed (HTTP 400): not UTF-8 JSON, NaN or Infinity, "
        "a repeated key, or nested too deeply."
    )


class RouteNotFoundError(PadronError):
    code = "PAD-API-004"
    category = ErrorCategory.NOT_FOUND
    summary = "No endpoint has this path (HTTP 404); the endpoints are listed at /docs."


class MethodNotAllowedError(PadronError):
    code = "PAD-API-005"
    summary = (
        "The endpoint exists but not for this HTTP method (HTTP 405); the Allow header lists its methods."
    )


class UnsupportedMediaTypeError(PadronError):
    code = "PAD-API-006"
    summary = (
        "The request body is not sent in the endpoint's media type (HTTP 415): application/json, "
        "or multipart/form-data for the biometric uploads."
    )


class CredentialHeaderError(PadronError):
    code = "PAD-API-007"
    category = ErrorCategory.UNAUTHENTICATED
    summary = (
        "No API key was sent (HTTP 401): send `Authorization: Bearer <key>` or `X-API-Key: <key>`, "
        "one key per request."
    )


#: statuses of the refusals above that no category expresses (each also has a category, INVALID)
PROTOCOL_STATUS: Final[Mapping[type[PadronError], int]] = MappingProxyType(
    {
        MalformedRequestError: 400,
        MethodNotAllowedError: 405,
        RequestTooLargeError: 413,
        UnsupportedMediaTypeError: 415,
    }
)


def http_status(error: PadronError) -> int:
    """The HTTP status of ``error``: its protocol status, else its category's."""
    for cls, status in PROTOCOL_STATUS.items():
        if isinstance(error, cls):
            return status
    return STATUS_BY_CATEGORY[error.category]


class ProblemException(HTTPException):
    """Carries a PadronError through code that only lets HTTPExceptions pass (FastAPI's body
    parsing turns any other exception into a bare 400); the handler renders the error."""

    def __init__(self, error: PadronError) -> None:
        super().__init__(status_code=http_status(error), detail=error.message)
        self.error = error


# --- rendering --------------------------------------------------------------------------------------


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def _json_safe(details: Mapping[str, Any]) -> dict[str, Any]:
    try:
        encoded = jsonable_encoder(dict(details))
    except (TypeError, ValueError):
        encoded = {key: str(value) for key, value in details.items()}
    return dict(encoded)


def _retry_after(error: PadronError) -> str | None:
    value = error.details.get("retry_after")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return str(max(1, math.ceil(value)))


def problem_response(
    error: PadronError, *, headers: Mapping[str, str] | None = None, cause: BaseException | None = None
) -> ProblemResponse:
    """The problem+json response for ``error``. A server-side failure is logged under the
    response's ``instance`` id (with the traceback of ``cause``, the exception behind a bug) and
    the body says no more than its code's summary."""
    status = http_status(error)
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + error.code,
        "title": error.summary,
        "status": status,
        "code": error.code,
        "category": error.category.value,
    }
    if status >= 500:
        incident = f"urn:uuid:{uuid.uuid4()}"
        body["detail"] = error.summary
        body["instance"] = incident
        if cause is not None:
            log.error("%s %s %s: %s", status, error.code, incident, error.message, exc_info=cause)
        else:
            log.warning("%s %s %s: %s", status, error.code, incident, error.message)
    else:
        body["detail"] = error.message
        if error.details:
            body["details"] = _json_safe(error.details)
    out = dict(headers or {})
    if error.category is ErrorCategory.UNAUTHENTICATED:
        # RFC 6750: error="invalid_token" when a credential was presented and refused
        challenge = 'Bearer realm="padron"'
        if not isinstance(error, CredentialHeaderError):
            challenge += ', error="invalid_token"'
        out["WWW-Authenticate"] = challenge
    if error.category is ErrorCategory.RATE_LIMITED:
        retry_after = _retry_after(error)
        if retry_after is not None:
            out["Retry-After"] = retry_after
    return ProblemResponse(body, status_code=status, headers=out)


def _field_name(loc: Sequence[Any]) -> tuple[str, str]:
    """(location, dotted field) of a pydantic error location such as ("body", "given_names")."""
    if not loc:
        return "request", "(request)"
    where, *rest = loc
    return str(where), ".".join(str(part) for part in rest) or f"({where})"


_PROBLEM_WORDS = {
    "missing": "is missing",
    "extra_forbidden": "is not a known field",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "string_too_long": "is too long",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
}


def validation_error(errors: Sequence[Mapping[str, Any]]) -> PadronError:
    """FastAPI's request validation errors as one coded error naming every field."""
    if any(e.get("type") == "json_invalid" for e in errors):
        first = next(e for e in errors if e.get("type") == "json_invalid")
        reason = (first.get("ctx") or {}).get("error", "not valid JSON")
        return MalformedRequestError(f"the request body is not valid JSON: {reason}")
    fields = []
    phrases = []
    for e in errors:
        location, field = _field_name(e.get("loc", ()))
        kind = str(e.get("type", "invalid"))
        message = str(e.get("msg", "is invalid")).removeprefix("Value error, ")
        fields.append({"location": location, "field": field, "problem": kind, "message": message})
        phrases.append(f"{field} {_PROBLEM_WORDS.get(kind, f'is invalid ({message})')}")
    names = sorted({f["field"] for f in fields})
    return RequestFieldError("the request was refused: " + "; ".join(phrases), fields=names, errors=fields)


def allowed_methods(request: Request) -> list[str]:
    """Every method of every route on the request's path (Starlette's 405 names only the first
    route's methods; RFC 9110 wants those of the resource)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(dict(request.scope))
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


def _http_error(request: Request, exc: HTTPException) -> PadronError:
    """An HTTPException from Starlette or FastAPI (routing, body parsing) as a coded error."""
    if isinstance(exc, ProblemException):
        return exc.error
    path = request.url.path
    if exc.status_code == 404:
        return RouteNotFoundError(f"no endpoint {path}", path=path)
    if exc.status_code == 405:
        allowed = allowed_methods(request)
        return MethodNotAllowedError(
            f"{request.method} is not allowed on {path}; allowed: {', '.join(allowed) or 'none'}",
            method=request.method,
            allowed=allowed,
        )
    if exc.status_code == 413:
        return RequestTooLargeError("the request body is too large")
    if exc.status_code < 500:
        return MalformedRequestError(f"the request could not be read: {exc.detail}")
    return InternalError(f"HTTP {exc.status_code}: {exc.detail}")


async def _on_padron_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, PadronError)
    return problem_response(exc)


async def _on_validation_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(validation_error(exc.errors()))


async def _on_http_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, HTTPException)
    error = _http_error(request, exc)
    headers = None
    if isinstance(error, MethodNotAllowedError):
        headers = {"Allow": ", ".join(error.details["allowed"])}
    return problem_response(error, headers=headers)


async def _on_unexpected(request: Request, exc: Exception) -> ProblemResponse:
    """A bug: logged with its traceback under an incident id; the caller gets PAD-GEN-001."""
    error = InternalError(f"unexpected {type(exc).__name__} on {request.method} {request.url.path}")
    return problem_response(error, cause=exc)


def install_problem_handlers(app: FastAPI) -> None:
    """Render every exception of ``app`` as problem+json (the only exception handlers)."""
    app.add_exception_handler(PadronError, _on_padron_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
