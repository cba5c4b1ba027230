"""The asking side of the gateway: this registry's signed request to a partner registry (a peer
running padron), and the partner's signed answer, verified before anything is read from it.

Each exchange lands in this registry's own audit log too (``gateway.sent`` with the request's
digest, ``gateway.received`` with the answer's digest and status), so both sides keep a record
of what was asked and answered; no personal data of the answer is written to the log.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx

from padron.domain.access import AccessContext
from padron.domain.errors import ErrorCategory, PadronError
from padron.registry.service import Registry
from padron.sharing.agreements import Partner
from padron.sharing.exchange import ExchangeLog, check_block
from padron.sharing.keys import GatewayIdentity
from padron.sharing.signing import (
    Message,
    Reply,
    SignatureError,
    Signed,
    headers_of,
    public_key_from_b64,
    sign_request,
    verify_refusal,
    verify_reply,
)
from padron.sharing.store import partner_ref

REQUESTS_PATH: Final = "/v1/partner/requests"
CHECKPOINTS_PATH: Final = "/v1/partner/checkpoints"
#: the partner's customs push endpoint (padron.sharing.customs_push)
CUSTOMS_PUSH_PATH: Final = "/v1/partner/customs/inspections"
#: seconds to wait for a partner's answer (its first request may load its extraction models)
DEFAULT_TIMEOUT: Final = 120.0


class PeerError(PadronError):
    code = "PAD-SHARE-018"
    category = ErrorCategory.UNAVAILABLE
    summary = (
        "The partner registry could not be reached, refused the request (its problem code is in "
        "the details) or answered something that is not a gateway answer."
    )


@dataclass(frozen=True)
class Received:
    """A partner's verified answer."""

    status_code: int
    answer: Mapping[str, Any]
    signed: Signed
    sha256: str


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class PeerClient:
    """Requests from this registry (``me``) to one partner registry."""

    def __init__(
        self,
        me: GatewayIdentity,
        partner: Partner,
        *,
        http: httpx.Client | None = None,
        registry: Registry | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if partner.url is None and http is None:
            raise PeerError(f"partner {partner.id} has no URL (padron partner add --url)", partner=partner.id)
        self.me, self.partner, self.registry = me, partner, registry
        #: a client given is the caller's to close (e.g. a test's TestClient of the partner)
        self._owns_http = http is None
        self._http = http or httpx.Client(base_url=partner.url or "", timeout=timeout)
        self._public = public_key_from_b64(partner.public_key)
        #: the partner's exchange-log checkpoints this registry keeps (None: keeps none)
        self._log = ExchangeLog(registry, me) if registry is not None else None
        #: checkpoints cosigned by this registry, to return to the partner
        self.cosigned: list[str] = []

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def _exchange(self, method: str, path: str, body: bytes, ctx: AccessContext | None) -> Received:
        url = str(self._http.base_url.join(path))
        message = Message(method, url, headers_of([("Content-Type", "application/json")]))
        sign_request(message, body, key_id=self.me.id, key=self.me.key)
        digest = hashlib.sha256(body).hexdigest()
        logged = path.startswith(REQUESTS_PATH) or path == CUSTOMS_PUSH_PATH  # answered with a log block
        if logged:
            self._record(
                ctx, "gateway.sent", {"method": method, "path": path[:200], "request_sha256": digest}
            )
        try:
            response = self._http.request(method, url, content=body, headers=dict(message.headers.items()))
        except httpx.HTTPError as error:
            raise PeerError(
                f"partner {self.partner.id} did not answer: {error}", partner=self.partner.id
            ) from None
        if response.status_code >= 400:
            problem = _problem(response)
            reply = Reply(response.status_code, message, headers_of(response.headers.items()))
            try:  # a refusal is signed by the partner too: say whether it verified
                verify_refusal(reply, response.content, lambda key_id: self._key(key_id))
                signed_refusal = True
            except SignatureError:
                signed_refusal = False
            raise PeerError(
                f"partner {self.partner.id} refused: {response.status_code} "
                f"{problem.get('code', '')} {str(problem.get('detail', ''))[:300]}".strip(),
                partner=self.partner.id,
                status=response.status_code,
                partner_code=problem.get("code"),
                signed=signed_refusal,
            )
        reply = Reply(response.status_code, message, headers_of(response.headers.items()))
        signed = verify_reply(reply, response.content, lambda key_id: self._key(key_id))
        try:
            answer = json.loads(response.content)
        except ValueError:
            raise PeerError("the partner's answer is not JSON", partner=self.partner.id) from None
        if not isinstance(answer, dict) or answer.get("partner") != self.me.id:
            raise PeerError("the partner's answer is not addressed to this registry", partner=self.partner.id)
        if path == CHECKPOINTS_PATH:
            return Received(
                response.status_code, answer, signed, hashlib.sha256(response.content).hexdigest()
            )
        sha = hashlib.sha256(response.content).hexdigest()
        if logged:
            if method == "POST" and answer.get("request_sha256") != digest:
                raise PeerError("the partner's answer is for another request", partner=self.partner.id)
            cosigned = check_block(
                self._log,
                self.partner.id,
                self.partner.public_key,
                answer,
                ctx,
                me=self.me,
                registry=self.registry,
            )
            self.cosigned.append(cosigned)
        if path.startswith(REQUESTS_PATH):  # a push's receipt is recorded by its sender (customs.push)
            self._record(
                ctx,
                "gateway.received",
                {
                    "request": str(answer.get("request_id"))[:40],
                    "operation": str(answer.get("operation"))[:16],
                    "status": str(answer.get("status"))[:20],
                    "rung": answer.get("rung") if isinstance(answer.get("rung"), int) else None,
                    "answer_sha256": sha,
                },
            )
        return Received(response.status_code, answer, signed, sha)

    def _key(self, key_id: str) -> Any:
        if key_id != self.partner.id:
            raise SignatureError(
                f"the answer is signed by {key_id!r}, not by partner {self.partner.id}", reason="unknown-key"
            )
        return self._public

    def _record(self, ctx: AccessContext | None, action: str, details: dict[str, Any]) -> None:
        if self.registry is None or ctx is None:
            return
        registry = self.registry

        def work(session: Any) -> None:
            registry.audit.record(session, ctx, action, subject=partner_ref(self.partner.id), details=details)

        registry.transact(work)

    def ask(self, request: Mapping[str, Any], ctx: AccessContext | None = None) -> Received:
        """Send a request (the JSON of :func:`padron.sharing.gateway.parse_ask`); the answer's
        exchange-log checkpoint is checked, kept and cosigned back."""
        value = dict(request)
        known = self._log.known_size(self.partner.id) if self._log is not None else None
        if known is not None:
            value.setdefault("log_size", known)
        body = json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")
        received = self._exchange("POST", REQUESTS_PATH, body, ctx)
        self.return_cosignature(ctx)
        return received

    def push_customs(self, push: Mapping[str, Any], ctx: AccessContext | None = None) -> Received:
        """Push inspections to the partner (padron.sharing.customs_push); its signed receipt is
        an entry of its exchange log with us, checked, kept and cosigned back like an answer."""
        value = dict(push)
        known = self._log.known_size(self.partner.id) if self._log is not None else None
        if known is not None:
            value.setdefault("log_size", known)
        body = json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")
        received = self._exchange("POST", CUSTOMS_PUSH_PATH, body, ctx)
        self.return_cosignature(ctx)
        return received

    def fetch(self, request_id: str, ctx: AccessContext | None = None) -> Received:
        """The answer to an earlier request (e.g. once an officer approved it)."""
        received = self._exchange("GET", f"{REQUESTS_PATH}/{request_id}", b"", ctx)
        self.return_cosignature(ctx)
        return received

    def return_cosignature(self, ctx: AccessContext | None = None) -> None:
        """Send the partner its latest checkpoint cosigned by this registry."""
        if not self.cosigned:
            return
        note = self.cosigned.pop()
        self.cosigned.clear()
        body = json.dumps({"checkpoint": note}).encode("utf-8")
        self._exchange("POST", CHECKPOINTS_PATH, body, ctx)
