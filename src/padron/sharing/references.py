"""Per-partner pseudonymous references (rung 1 of a disclosure).

A reference names a person to one partner: the same person always gives that partner the same
reference, two partners' references to one person cannot be linked, and nobody without the
registry's reference key can tell whom a reference names. It is the person's internal number
sealed with AES-SIV (RFC 5297: deterministic authenticated encryption) under the registry's
reference key, with the partner's identifier as associated data: deterministic per (partner,
person), different for every partner, reversible only with the key, and a reference altered
or presented by another partner fails authentication instead of naming someone else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from padron.domain.errors import ErrorCategory, PadronError

PREFIX: Final = "ref-"
KEY_BYTES: Final = 64  # AES-256-SIV


class UnknownReferenceError(PadronError):
    code = "PAD-SHARE-012"
    category = ErrorCategory.NOT_FOUND
    summary = "The reference was not issued to this partner by this registry (or it was altered)."


class ReferenceKeyError(PadronError):
    code = "PAD-SHARE-013"
    category = ErrorCategory.UNAVAILABLE
    summary = (
        "The gateway's reference key is missing or malformed (PADRON_GATEWAY_REFERENCE_KEY or its file)."
    )


def new_key() -> str:
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


class References:
    def __init__(self, key_b64: str) -> None:
        try:
            key = base64.b64decode(key_b64.strip(), validate=True)
        except binascii.Error:
            key = b""
        if len(key) != KEY_BYTES:
            raise ReferenceKeyError(f"the reference key must be the base64 of {KEY_BYTES} random bytes")
        self._siv = AESSIV(key)
        self._mac = hashlib.sha256(b"padron-probe-digest-v1\x00" + key).digest()

    def digest(self, partner: str, data: bytes) -> str:
        """A keyed digest of ``data`` for ``partner`` (HMAC-SHA256 under a key derived from the
        reference key): the same probe gives the same digest, which reveals nothing of it."""
        return hmac.new(self._mac, partner.encode() + b"\x00" + data, hashlib.sha256).hexdigest()

    def issue(self, partner: str, person_id: int) -> str:
        sealed = self._siv.encrypt(person_id.to_bytes(8, "big"), [b"padron-reference-v1", partner.encode()])
        return PREFIX + base64.b32encode(sealed).decode("ascii").rstrip("=").lower()

    def resolve(self, partner: str, reference: str) -> int:
        """The person a reference issued to ``partner`` names."""
        unknown = UnknownReferenceError(
            f"reference {reference[:40]!r} was not issued to {partner} by this registry", partner=partner
        )
        if not isinstance(reference, str) or not reference.startswith(PREFIX) or len(reference) > 80:
            raise unknown
        text = reference[len(PREFIX) :].upper()
        try:
            sealed = base64.b32decode(text + "=" * (-len(text) % 8))
            plain = self._siv.decrypt(sealed, [b"padron-reference-v1", partner.encode()])
        except (binascii.Error, ValueError, InvalidTag):
            raise unknown from None
        return int.from_bytes(plain, "big")
