"""Encrypted template vault: AES-256-GCM envelope encryption (``cryptography``).

Each stored template gets a fresh 256-bit data key (DEK). The template bytes are encrypted with
the DEK, the DEK is encrypted ("wrapped") with the key-encryption key (KEK). Rotating the KEK
re-wraps the DEKs only. The associated data binds a ciphertext to its place (e.g.
``person:17/slot:3``): a blob copied onto another record fails to open.

Sealed layout: ``b"PV1" | kek_id (8) | wrap_nonce (12) | wrapped_dek (48) | nonce (12) | ciphertext+tag``.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from padron.domain.errors import ConfigurationError, PadronError

MAGIC = b"PV1"
KEY_BYTES = 32


class VaultError(PadronError):
    code = "PAD-VAULT-001"
    summary = "A sealed template could not be opened (wrong key, tampered or misplaced ciphertext)."


class Vault:
    def __init__(self, kek: bytes) -> None:
        if len(kek) != KEY_BYTES:
            raise ConfigurationError(f"the vault key must be {KEY_BYTES} bytes, got {len(kek)}")
        self._kek = AESGCM(kek)
        self.kek_id = hashlib.sha256(b"padron-kek-id" + kek).digest()[:8]

    @classmethod
    def from_base64(cls, text: str) -> Vault:
        try:
            return cls(base64.b64decode(text.strip(), validate=True))
        except ValueError:
            raise ConfigurationError("PADRON_VAULT_KEY is not valid base64") from None

    @classmethod
    def from_key_file(cls, path: Path, *, create: bool) -> Vault:
        """Read the key file, or (``create``) make one with a fresh random key, mode 0600."""
        if not path.exists():
            if not create:
                raise ConfigurationError(
                    f"no vault key: set PADRON_VAULT_KEY or create {path} (refused outside development)"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(base64.b64encode(AESGCM.generate_key(bit_length=256)).decode() + "\n")
        return cls.from_base64(path.read_text())

    def seal(self, plaintext: bytes, context: str) -> bytes:
        aad = context.encode("utf-8")
        dek = AESGCM.generate_key(bit_length=256)
        wrap_nonce, nonce = os.urandom(12), os.urandom(12)
        wrapped = self._kek.encrypt(wrap_nonce, dek, self.kek_id + aad)
        return MAGIC + self.kek_id + wrap_nonce + wrapped + nonce + AESGCM(dek).encrypt(nonce, plaintext, aad)

    def open(self, sealed: bytes, context: str) -> bytes:
        aad = context.encode("utf-8")
        if sealed[:3] != MAGIC or len(sealed) < 3 + 8 + 12 + 48 + 12 + 16:
            raise VaultError("not a sealed padron template")
        kek_id = sealed[3:11]
        if kek_id != self.kek_id:
            raise VaultError("sealed with another key (kek id mismatch)")
        wrap_nonce, wrapped = sealed[11:23], sealed[23:71]
        nonce, ciphertext = sealed[71:83], sealed[83:]
        try:
            dek = self._kek.decrypt(wrap_nonce, wrapped, kek_id + aad)
            return AESGCM(dek).decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise VaultError(f"sealed template for {context} fails authentication") from None
