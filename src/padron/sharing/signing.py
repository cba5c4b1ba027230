"""Signed requests and signed answers between peer registries: RFC 9421 HTTP message signatures
with Ed25519, over an RFC 9530 ``Content-Digest`` of the body.

A partner signs every request with its gateway key (``keyid`` = its partner id in our registry,
``alg`` ed25519, ``created``, ``expires``, a fresh ``nonce`` and the tag ``padron-gateway``),
covering the method, the authority, the path, the content type and the body's digest. The
registry verifies the signature with the partner's public key, refuses a stale or expired one,
and remembers the nonce until the signature expires (a replay is refused by
:mod:`padron.sharing.gateway`). Answers are signed the same way, covering the status, the
answer's digest and the request's digest and nonce (``;req``), so an answer cannot be moved
to another request.

The signature base and the Structured Fields are computed by ``http-message-signatures``
(pyauth); this module chooses what is covered and turns every failure into one error with a
stable reason.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    algorithms,
)
from http_message_signatures.structures import CaseInsensitiveDict

from padron.domain.errors import ErrorCategory, PadronError

#: the application tag every gateway signature carries (a signature made for something else
#: is not accepted here)
TAG: Final = "padron-gateway"
LABEL: Final = "padron"
#: how long a signature is valid after it was created
SIGNATURE_TTL: Final = timedelta(seconds=300)
#: the clock difference tolerated between peers
CLOCK_SKEW: Final = timedelta(seconds=30)
_KEYID: Final = re.compile(r'keyid="([^"\\]{1,100})"')
REQUEST_COMPONENTS: Final = ("@method", "@authority", "@path", "content-type", "content-digest")
RESPONSE_COMPONENTS: Final = (
    "@status",
    "content-type",
    "content-digest",
    '"content-digest";req',
    '"signature";req;key="padron"',
)


class SignatureError(PadronError):
    code = "PAD-SHARE-010"
    category = ErrorCategory.UNAUTHENTICATED
    summary = (
        "A partner request (or a partner's answer) is not validly signed: signature missing or "
        "malformed, unknown key, stale or expired, body digest wrong; details give the reason."
    )


class GatewayKeyError(PadronError):
    code = "PAD-SHARE-011"
    category = ErrorCategory.UNAVAILABLE
    summary = (
        "The gateway's signing key is missing or malformed (PADRON_GATEWAY_KEY or data_dir/gateway.key)."
    )


def public_key_b64(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def private_key_from_b64(text: str) -> Ed25519PrivateKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        if len(raw) != 32:
            raise ValueError("not 32 bytes")
        return Ed25519PrivateKey.from_private_bytes(raw)
    except ValueError:
        raise GatewayKeyError("the gateway key must be the base64 of a raw 32-byte Ed25519 seed") from None


def private_key_to_b64(key: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw).decode("ascii")


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))


# --- messages (what the library reads of a request or a response) ---------------------------


@dataclass
class Message:
    """A request: ``method``, absolute ``url`` and headers."""

    method: str
    url: str
    headers: CaseInsensitiveDict = field(default_factory=CaseInsensitiveDict)


@dataclass
class Reply:
    """A response and the request it answers."""

    status_code: int
    request: Message
    headers: CaseInsensitiveDict = field(default_factory=CaseInsensitiveDict)


def headers_of(pairs: Iterable[tuple[str, str]]) -> CaseInsensitiveDict:
    out = CaseInsensitiveDict()  # type: ignore[no-untyped-call]
    for name, value in pairs:
        out[name] = value if name.lower() not in out else f"{out[name.lower()]}, {value}"
    return out


class _Keys(HTTPSignatureKeyResolver):
    def __init__(
        self,
        private: Ed25519PrivateKey | None = None,
        public: Callable[[str], Ed25519PublicKey | None] | None = None,
    ) -> None:
        self._private, self._public = private, public

    def resolve_private_key(self, key_id: str) -> Ed25519PrivateKey:
        assert self._private is not None
        return self._private

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey | None:
        return self._public(key_id) if self._public is not None else None


def _refused(reason: str, message: str, **details: object) -> SignatureError:
    return SignatureError(message, reason=reason, **details)


@dataclass(frozen=True)
class Signed:
    """A verified signature: who signed (``keyid``), when, until when, with which nonce."""

    key_id: str
    nonce: str
    created: datetime
    expires: datetime


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def sign_request(
    message: Message, body: bytes, *, key_id: str, key: Ed25519PrivateKey, now: datetime | None = None
) -> str:
    """Sign ``message`` in place (Content-Digest, Signature-Input, Signature); returns the nonce."""
    created = _now(now).replace(microsecond=0)
    nonce = secrets.token_urlsafe(18)
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=_Keys(private=key))
    signer.sign(
        message,
        key_id=key_id,
        created=created,
        expires=created + SIGNATURE_TTL,
        nonce=nonce,
        label=LABEL,
        tag=TAG,
        covered_component_ids=REQUEST_COMPONENTS,
        body=body,
    )
    return nonce


def sign_reply(
    reply: Reply, body: bytes, *, key_id: str, key: Ed25519PrivateKey, now: datetime | None = None
) -> None:
    created = _now(now).replace(microsecond=0)
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=_Keys(private=key))
    signer.sign(
        reply,
        key_id=key_id,
        created=created,
        expires=created + SIGNATURE_TTL,
        nonce=secrets.token_urlsafe(18),
        label=LABEL,
        tag=TAG,
        covered_component_ids=RESPONSE_COMPONENTS,
        body=body,
    )


class _Verifier(HTTPMessageVerifier):
    max_clock_skew = CLOCK_SKEW


def _verify(
    message: Message | Reply,
    body: bytes,
    public_key: Callable[[str], Ed25519PublicKey | None],
    required: tuple[str, ...],
    now: datetime | None,
) -> Signed:
    """:func:`_check`, with the key id the signature claims in the details of a refusal."""
    claimed: list[str] = []

    def resolve(key_id: str) -> Ed25519PublicKey | None:
        claimed.append(key_id)
        return public_key(key_id)

    try:
        return _check(message, body, resolve, required, now)
    except SignatureError as error:
        if "keyid" not in error.details:
            named = _KEYID.search(str(message.headers.get("signature-input", "")))
            if claimed or named:
                error.details["keyid"] = (claimed[0] if claimed else named.group(1) if named else "")[:100]
        raise


def _check(
    message: Message | Reply,
    body: bytes,
    public_key: Callable[[str], Ed25519PublicKey | None],
    required: tuple[str, ...],
    now: datetime | None,
) -> Signed:
    headers = message.headers
    if "signature" not in headers or "signature-input" not in headers:
        raise _refused("unsigned", "the message carries no Signature and Signature-Input (RFC 9421) headers")
    if "content-digest" not in headers:
        raise _refused("no-digest", "the message carries no Content-Digest of its body (RFC 9530)")
    key_ids: list[str] = []

    def resolve(key_id: str) -> Ed25519PublicKey | None:
        key_ids.append(key_id)
        found = public_key(key_id)
        if found is None:
            raise _refused("unknown-key", f"no active partner {key_id!r} with a public key", keyid=key_id)
        return found

    verifier = _Verifier(signature_algorithm=algorithms.ED25519, key_resolver=_Keys(public=resolve))
    try:
        results = verifier.verify(
            message,
            max_age=SIGNATURE_TTL,
            expect_tag=TAG,
            require_components=required,
            body=body,
        )
    except SignatureError:
        raise
    except InvalidSignature as error:
        cause = error.__cause__ if isinstance(error.__cause__, SignatureError) else None
        if cause is not None:
            raise cause from None
        text = str(error) or "the signature does not match what it claims to cover"
        reason = "stale" if any(w in text for w in ("past", "age exceeds", "future")) else "invalid"
        if "Content-Digest" in text or "digest" in text.lower():
            reason = "digest-mismatch"
        raise _refused(reason, f"the signature does not verify: {text}") from None
    except (HTTPMessageSignaturesException, ValueError, TypeError) as error:
        raise _refused("malformed", f"the signature headers are malformed: {error}") from None
    if len(results) != 1:
        raise _refused("malformed", "exactly one padron-gateway signature is expected")
    params = results[0].parameters
    nonce = results[0].nonce
    created, expires = params.get("created"), params.get("expires")
    if (
        not isinstance(nonce, str)
        or not nonce
        or not isinstance(expires, int)
        or not isinstance(created, int)
    ):
        raise _refused("malformed", "the signature needs created, expires and a nonce")
    created_at = datetime.fromtimestamp(created, UTC)
    expires_at = datetime.fromtimestamp(expires, UTC)
    if expires_at - created_at > SIGNATURE_TTL:
        raise _refused(
            "too-long-lived",
            f"a signature may be valid for at most {int(SIGNATURE_TTL.total_seconds())} s",
        )
    if now is not None and not (created_at - CLOCK_SKEW <= now <= expires_at + CLOCK_SKEW):
        raise _refused("stale", "the signature is outside its validity at this time")
    return Signed(key_id=str(params["keyid"]), nonce=nonce, created=created_at, expires=expires_at)


def verify_request(
    message: Message,
    body: bytes,
    public_key: Callable[[str], Ed25519PublicKey | None],
    *,
    now: datetime | None = None,
) -> Signed:
    """The verified signature of a request (SignatureError with a reason if there is none)."""
    return _verify(message, body, public_key, REQUEST_COMPONENTS, now)


def verify_reply(
    reply: Reply,
    body: bytes,
    public_key: Callable[[str], Ed25519PublicKey | None],
    *,
    now: datetime | None = None,
) -> Signed:
    return _verify(reply, body, public_key, RESPONSE_COMPONENTS, now)


def header_items(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers as a plain dict (to send them)."""
    return {name: value for name, value in headers.items()}


#: what a refusal's signature covers (the request may carry no signature or digest to bind to)
REFUSAL_COMPONENTS: Final = ("@status", "content-type", "content-digest")


def sign_refusal(reply: Reply, body: bytes, *, key_id: str, key: Ed25519PrivateKey) -> None:
    """Sign a refusal (a problem answer to a partner endpoint) over its status and body."""
    created = datetime.now(UTC).replace(microsecond=0)
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=_Keys(private=key))
    signer.sign(
        reply,
        key_id=key_id,
        created=created,
        expires=created + SIGNATURE_TTL,
        nonce=secrets.token_urlsafe(18),
        label=LABEL,
        tag=TAG,
        covered_component_ids=REFUSAL_COMPONENTS,
        body=body,
    )


def verify_refusal(reply: Reply, body: bytes, public_key: Callable[[str], Ed25519PublicKey | None]) -> Signed:
    return _verify(reply, body, public_key, REFUSAL_COMPONENTS, None)
