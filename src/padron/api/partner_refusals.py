"""Refusals to partners are signed too: a problem answer (401, 404, 422 ...) of a partner endpoint
(``/v1/partner/...``) carries this registry's RFC 9421 signature over its status, content type
and body digest, so a partner can prove what it was told even when its request was refused before
it was decided. Pure ASGI: the problem body is small and buffered; answers are signed by their
routes (they also cover the request's digest and signature)."""

from __future__ import annotations

from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from padron.sharing.signing import Message as SignedMessage
from padron.sharing.signing import Reply, headers_of, sign_refusal

PREFIX: Final = "/v1/partner/"


class SignPartnerRefusals:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if message["status"] < 400:
                    start = None
                    await send(message)
                    return
                start = dict(message)
                return
            if message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                await _send_signed(scope, start, b"".join(chunks), send)
                return
            await send(message)

        await self.app(scope, receive, capture)


async def _send_signed(scope: Scope, start: dict[str, Any], body: bytes, send: Send) -> None:
    services = (scope.get("state") or {}).get("services")
    gateway = getattr(services, "gateway", None)
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start.get("headers", [])]
    if gateway is not None:
        request = SignedMessage(scope.get("method", "GET"), "http://partner/", headers_of([]))
        reply = Reply(start["status"], request, headers_of(headers))
        sign_refusal(reply, body, key_id=gateway.me.id, key=gateway.me.key)
        present = {name.lower() for name, _ in headers}
        for name, value in reply.headers.items():
            if name.lower() not in present:
                headers.append((name, value))
        headers = [(n, v) for n, v in headers if n.lower() != "content-length"]
        headers.append(("content-length", str(len(body))))
    start["headers"] = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in headers]
    await send(start)
    await send({"type": "http.response.body", "body": body})
