"""Request bodies: one size limit for the whole application, and JSON parsed strictly.

:class:`BodyLimitMiddleware` refuses a body over the limit with 413 ``PAD-API-002``: at once when
the declared Content-Length is over it (nothing is read), and as soon as a streamed (chunked)
body passes it. :class:`StrictJsonRoute` parses JSON bodies the way the command line parses a
person file: UTF-8 only, no NaN or Infinity, no repeated key, bounded nesting (400
``PAD-API-003``), and refuses a body that is not sent as JSON (415 ``PAD-API-006``).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Final

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from padron.api.problems import (
    MalformedRequestError,
    ProblemException,
    RequestTooLargeError,
    UnsupportedMediaTypeError,
    problem_response,
)
from padron.domain.jsontext import loads_strict

#: the largest request body accepted (JSON bodies are small; image uploads have their own limit,
#: padron.api.uploads.MAX_UPLOAD_BYTES)
MAX_BODY_BYTES: Final = 1024 * 1024
#: deepest nesting of a JSON body
MAX_JSON_DEPTH: Final = 32


def _too_large(limit: int) -> RequestTooLargeError:
    return RequestTooLargeError(f"the request body is larger than {limit} bytes", max_bytes=limit)


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` (pure ASGI, so streaming bodies are counted as
    they arrive and never buffered beyond the limit)."""

    def __init__(
        self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, overrides: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        #: paths with a limit of their own (the biometric uploads)
        self.overrides = dict(overrides or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.overrides.get(scope.get("path", ""), self.max_bytes)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await problem_response(_too_large(limit))(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # an HTTPException: FastAPI's body reading lets only those through unchanged
                    raise ProblemException(_too_large(limit))
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except ProblemException as refusal:
            if started or not isinstance(refusal.error, RequestTooLargeError):
                raise
            await problem_response(refusal.error)(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


# --- strict JSON ------------------------------------------------------------------------------------


def parse_json_body(data: bytes) -> Any:
    """A request body as JSON, strictly (MalformedRequestError says what is wrong): UTF-8, then
    padron.domain.jsontext, the parser of the command line's person files too."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise MalformedRequestError(
            f"the request body is not UTF-8 (byte {error.start + 1} is 0x{data[error.start]:02X})",
            position=error.start + 1,
        ) from None
    return loads_strict(text, what="the request body", max_depth=MAX_JSON_DEPTH, error=MalformedRequestError)


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = parse_json_body(await self.body())
            except MalformedRequestError as error:
                raise ProblemException(error) from None
        return self._json


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class StrictJsonRoute(APIRoute):
    """A route whose JSON body is parsed by :func:`parse_json_body` and must be sent as JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_body = self.body_field is not None

        async def strict_handler(request: Request) -> Response:
            if takes_body:
                content_type = request.headers.get("content-type")
                has_body = request.headers.get("content-length", "0") != "0" or (
                    "transfer-encoding" in request.headers
                )
                untyped = content_type is None and has_body
                if untyped or (content_type is not None and not _is_json(content_type)):
                    raise UnsupportedMediaTypeError(
                        f"send the body as Content-Type: application/json, not {content_type or 'untyped'}",
                        content_type=content_type,
                    )
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict_handler
