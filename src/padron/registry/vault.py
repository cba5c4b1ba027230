"""Encrypted template vault: AES-256-GCM envelope encryption (``cryptography``).

Each stored template gets a fresh 256-bit data key (DEK). The template bytes are encrypted with
the DEK, the DEK is encrypted ("wrapped") with the key-encryption key (KEK). Rotating the KEK
re-wraps the DEKs only. The associated data binds a ciphertext to its place (e.g.
``person:17/slot:3``): a blob copied onto another record fails to open.

Sealed layout: ``b"PV1" | kek_id (8) | wrap_nonce (12) | wrapped_dek (48) | nonce (12) | ciphertext+tag``.

The KEK comes from ``PADRON_VAULT_KEY`` (base64) or from a key file holding the same text. Without
the KEK no sealed template can ever be opened again, so a key file is only created when asked
(development, and only while no sealed template exists -- the caller decides that), atomically,
and every error says where the key in use came from (never the key itself).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from padron.domain.errors import ConfigurationError, ErrorCategory, PadronError
from padron.registry.secret_files import create_exclusive

MAGIC = b"PV1"
KEY_BYTES = 32
#: the environment variable a key given as text comes from
KEY_VARIABLE = "PADRON_VAULT_KEY"
#: a key file is ~45 bytes; anything much longer is not a key file
_KEY_FILE_LIMIT = 4096

log = logging.getLogger("padron.vault")


class VaultError(PadronError):
    code = "PAD-VAULT-001"
    category = ErrorCategory.UNAVAILABLE
    summary = "A sealed template could not be opened (wrong key, tampered or misplaced ciphertext)."


class VaultKeyMissingError(ConfigurationError):
    code = "PAD-VAULT-002"
    summary = (
        "The vault key file is missing and no new key is made: sealed templates exist that only the "
        "lost key opens, or it is a file padron never makes (PADRON_VAULT_KEY_FILE, production); "
        "restore it from its backup."
    )


class VaultKeyPermissionError(ConfigurationError):
    code = "PAD-VAULT-003"
    summary = (
        "The vault key file can be read or written by its group or by others (refused in production, "
        "a warning in development); `chmod 600` it."
    )


class VaultKeyMalformedError(ConfigurationError):
    code = "PAD-VAULT-004"
    summary = "The vault key (PADRON_VAULT_KEY or the key file) is not the base64 text of 32 bytes."


class VaultKeyFileError(ConfigurationError):
    code = "PAD-VAULT-005"
    summary = "The vault key file cannot be read or created (a directory, not a regular file, no permission)."


def file_source(path: Path) -> str:
    """How messages name a key that came from ``path``."""
    return f"key file {path}"


class Vault:
    def __init__(self, kek: bytes, *, source: str = "a key given in code") -> None:
        #: where the key came from (PADRON_VAULT_KEY, or ``key file <path>``), for messages
        self.source = source
        if len(kek) != KEY_BYTES:
            raise VaultKeyMalformedError(
                f"the vault key from {source} must be {KEY_BYTES} bytes, got {len(kek)}",
                key_source=source,
            )
        self._kek = AESGCM(kek)
        self.kek_id = hashlib.sha256(b"padron-kek-id" + kek).digest()[:8]

    @classmethod
    def from_base64(cls, text: str, *, source: str = KEY_VARIABLE) -> Vault:
        try:
            kek = base64.b64decode(text.strip(), validate=True)
        except (ValueError, binascii.Error):
            raise VaultKeyMalformedError(
                f"the vault key from {source} is not valid base64 (expected the base64 text of "
                f"{KEY_BYTES} random bytes)",
                key_source=source,
            ) from None
        return cls(kek, source=source)

    @classmethod
    def from_key_file(cls, path: Path, *, create: bool, strict_permissions: bool = False) -> Vault:
        """Read the key file, or (``create``) make one with a fresh random key, mode 0600.

        Creation is atomic: concurrent creators all end up with the one key that was linked into
        place first, and no reader ever sees a partly written file. A key file its group or others
        may read or write is refused with ``strict_permissions`` and logged as a warning otherwise.
        """
        path = path.absolute()
        source = file_source(path)
        try:
            text = _read_key_file(path, strict_permissions=strict_permissions)
        except FileNotFoundError:
            if not create:
                raise VaultKeyMissingError(
                    f"no vault key: {path} does not exist; restore it from its backup or set "
                    f"{KEY_VARIABLE} (padron makes a key only in development, as "
                    "PADRON_DATA_DIR/vault.key, while no template is sealed)",
                    path=str(path),
                ) from None
            _create_key_file(path)
            try:
                text = _read_key_file(path, strict_permissions=strict_permissions)
            except FileNotFoundError:
                what = "is a link to a missing file" if path.is_symlink() else "vanished as it was created"
                raise VaultKeyFileError(f"the vault key file {path} {what}", path=str(path)) from None
        return cls.from_base64(text, source=source)

    def seal(self, plaintext: bytes, context: str) -> bytes:
        aad = context.encode("utf-8")
        dek = AESGCM.generate_key(bit_length=256)
        wrap_nonce, nonce = os.urandom(12), os.urandom(12)
        wrapped = self._kek.encrypt(wrap_nonce, dek, self.kek_id + aad)
        return MAGIC + self.kek_id + wrap_nonce + wrapped + nonce + AESGCM(dek).encrypt(nonce, plaintext, aad)

    def open(self, sealed: bytes, context: str) -> bytes:
        aad = context.encode("utf-8")
        if sealed[:3] != MAGIC or len(sealed) < 3 + 8 + 12 + 48 + 12 + 16:
            raise VaultError(f"not a sealed padron template ({context})", key_source=self.source)
        kek_id = sealed[3:11]
        if kek_id != self.kek_id:
            raise VaultError(
                f"the template {context} was sealed with another key (kek id mismatch); the key in use "
                f"comes from {self.source}: restore the key the templates were sealed with",
                key_source=self.source,
            )
        wrap_nonce, wrapped = sealed[11:23], sealed[23:71]
        nonce, ciphertext = sealed[71:83], sealed[83:]
        try:
            dek = self._kek.decrypt(wrap_nonce, wrapped, kek_id + aad)
            return AESGCM(dek).decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise VaultError(
                f"sealed template for {context} fails authentication (tampered or misplaced; "
                f"key from {self.source})",
                key_source=self.source,
            ) from None


def key_file_exists(path: Path) -> bool:
    """Whether anything stands at ``path`` (a dangling link counts: it is not ours to replace)."""
    return os.path.lexists(path)


def _read_key_file(path: Path, *, strict_permissions: bool) -> str:
    """The key file's text; FileNotFoundError when there is none."""
    try:
        # O_NONBLOCK: a FIFO planted at the path must not hang the process
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as error:
        raise VaultKeyFileError(
            f"the vault key file {path} cannot be opened: {error.strerror or error}", path=str(path)
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise VaultKeyFileError(f"the vault key file {path} is {kind}", path=str(path))
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            _unsafe_permissions(path, mode, strict=strict_permissions)
        data = os.read(fd, _KEY_FILE_LIMIT + 1)
    except OSError as error:
        raise VaultKeyFileError(
            f"the vault key file {path} cannot be read: {error.strerror or error}", path=str(path)
        ) from None
    finally:
        os.close(fd)
    source = file_source(path)
    if not data.strip():
        raise VaultKeyMalformedError(f"the vault key file {path} is empty", key_source=source)
    if len(data) > _KEY_FILE_LIMIT:
        raise VaultKeyMalformedError(
            f"the vault key file {path} is not a key file (longer than {_KEY_FILE_LIMIT} bytes)",
            key_source=source,
        )
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise VaultKeyMalformedError(
            f"the vault key from {source} is not valid base64 (not ASCII text)", key_source=source
        ) from None


def _unsafe_permissions(path: Path, mode: int, *, strict: bool) -> None:
    who = " and ".join(name for name, bits in (("its group", 0o070), ("others", 0o007)) if mode & bits)
    message = (
        f"the vault key file {path} has mode {mode:04o}, open to {who}; only its owner may read it: "
        f"chmod 600 {path}"
    )
    if strict:
        raise VaultKeyPermissionError(
            message + " (refused in production)", path=str(path), mode=f"{mode:04o}"
        )
    log.warning("warning %s: %s (refused in production)", VaultKeyPermissionError.code, message)


def _create_key_file(path: Path) -> None:
    """Write a fresh key beside ``path`` and link it into place: when another process got there
    first, its key is the key."""
    key = base64.b64encode(AESGCM.generate_key(bit_length=256)) + b"\n"
    try:
        create_exclusive(path, key)
    except OSError as error:
        raise VaultKeyFileError(
            f"cannot create the vault key file {path}: {error.strerror or error}", path=str(path)
        ) from None
