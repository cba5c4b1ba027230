"""Encrypted template vault: AES-256-GCM envelope encryption (``cryptography``).

Each stored template gets a fresh 256-bit data key (DEK). The template bytes are encrypted with
the DEK, the DEK is encrypted ("wrapped") with the key-encryption key (KEK). Rotating the KEK
re-wraps the DEKs only. The associated data binds a ciphertext to its place (e.g.
``person:17/slot:3``): a blob copied onto another record fails to open.

Sealed layout: ``b"PV1" | kek_id (8) | wrap_nonce (12) | wrapped_dek (48) | nonce (12) | ciphertext+tag``.

A vault holds a keyring: the current KEK, which seals, and any number of old KEKs, which only
open (each sealed blob names its KEK by ``kek_id``). :meth:`Vault.rewrap` re-wraps a blob's DEK
under the current KEK without touching its ciphertext; ``padron keys rotate`` does it for every
sealed row (:mod:`padron.registry.rotation`).

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
from collections.abc import Iterable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from padron.domain.errors import ConfigurationError, ErrorCategory, PadronError
from padron.registry.secret_files import create_exclusive

MAGIC = b"PV1"
KEY_BYTES = 32
#: magic + kek id + wrap nonce + wrapped DEK + nonce + tag: the shortest sealed blob
_HEADER = 3 + 8 + 12 + 48 + 12
_MIN_SEALED = _HEADER + 16
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


class VaultSameKeyError(PadronError):
    code = "PAD-VAULT-006"
    category = ErrorCategory.CONFLICT
    summary = (
        "Key rotation was asked to re-wrap under the key already in use: generate a new key "
        "(`openssl rand -base64 32`) and rotate to it."
    )


class VaultUnknownKeyError(VaultError):
    code = "PAD-VAULT-007"
    summary = (
        "Key rotation met a sealed row under a key that is neither the key in use nor one of the old "
        "keys configured (PADRON_VAULT_OLD_KEYS / PADRON_VAULT_OLD_KEY_FILES): add that key as an old "
        "key and rotate again (opening such a row is PAD-VAULT-001)."
    )


def file_source(path: Path) -> str:
    """How messages name a key that came from ``path``."""
    return f"key file {path}"


class Vault:
    """Seals with the current KEK; opens what any KEK of its keyring sealed."""

    def __init__(
        self,
        kek: bytes,
        *,
        source: str = "a key given in code",
        old: Iterable[tuple[bytes, str]] = (),
    ) -> None:
        #: where the key came from (PADRON_VAULT_KEY, or ``key file <path>``), for messages
        self.source = source
        _check_length(kek, source)
        self._kek = AESGCM(kek)
        self.kek_id = derive_kek_id(kek)
        #: kek id -> (cipher, where the key came from): the current key and every old one
        self._ring: dict[bytes, tuple[AESGCM, str]] = {self.kek_id: (self._kek, source)}
        self._old_sources: dict[bytes, str] = {}
        for old_kek, old_source in old:
            _check_length(old_kek, old_source)
            kek_id = derive_kek_id(old_kek)
            if kek_id not in self._ring:
                self._ring[kek_id] = (AESGCM(old_kek), old_source)
                self._old_sources[kek_id] = old_source

    @classmethod
    def from_base64(
        cls, text: str, *, source: str = KEY_VARIABLE, old: Iterable[tuple[bytes, str]] = ()
    ) -> Vault:
        return cls(decode_key(text, source), source=source, old=old)

    @classmethod
    def from_key_file(
        cls,
        path: Path,
        *,
        create: bool,
        strict_permissions: bool = False,
        old: Iterable[tuple[bytes, str]] = (),
    ) -> Vault:
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
        return cls.from_base64(text, source=source, old=old)

    # --- the keyring ------------------------------------------------------------------------------

    @property
    def old_kek_ids(self) -> list[bytes]:
        """The kek ids of the old keys (they open, never seal)."""
        return list(self._old_sources)

    def knows(self, kek_id: bytes) -> bool:
        return kek_id in self._ring

    def describe(self, kek_id: bytes) -> str:
        """ "current", "old (<source>)" or "unknown", for reports."""
        if kek_id == self.kek_id:
            return "current"
        if kek_id in self._old_sources:
            return f"old ({self._old_sources[kek_id]})"
        return "unknown"

    def rotated_to(self, kek: bytes, *, source: str) -> Vault:
        """A vault whose current key is ``kek`` and whose old keys are this vault's keys (all of
        them); VaultSameKeyError when ``kek`` is this vault's current key already."""
        _check_length(kek, source)
        if derive_kek_id(kek) == self.kek_id:
            raise VaultSameKeyError(
                f"the new vault key from {source} is the key already in use (from {self.source}); "
                "generate a new key (openssl rand -base64 32) and rotate to that",
                key_source=source,
            )
        vault = Vault(kek, source=source)
        for kek_id, (cipher, where) in self._ring.items():
            if kek_id != vault.kek_id:
                vault._ring[kek_id] = (cipher, where)
                vault._old_sources[kek_id] = where
        return vault

    # --- sealing ----------------------------------------------------------------------------------

    def seal(self, plaintext: bytes, context: str) -> bytes:
        aad = context.encode("utf-8")
        dek = AESGCM.generate_key(bit_length=256)
        wrap_nonce, nonce = os.urandom(12), os.urandom(12)
        wrapped = self._kek.encrypt(wrap_nonce, dek, self.kek_id + aad)
        return MAGIC + self.kek_id + wrap_nonce + wrapped + nonce + AESGCM(dek).encrypt(nonce, plaintext, aad)

    def open(self, sealed: bytes, context: str) -> bytes:
        """The plaintext; VaultError (PAD-VAULT-001) when no key of the keyring opens it, or it
        fails authentication (tampered, or moved to another record: ``context`` differs)."""
        dek = self._unwrap(sealed, context, unknown=VaultError)
        nonce, ciphertext = sealed[71:83], sealed[83:]
        try:
            return AESGCM(dek).decrypt(nonce, ciphertext, context.encode("utf-8"))
        except InvalidTag:
            raise self._tampered(sealed, context) from None

    def open_buffer(self, sealed: bytes, context: str) -> bytearray:
        """:meth:`open`, for large blobs (gallery segments): the plaintext is decrypted into a
        new writable buffer, and the ciphertext is not copied first."""
        dek = self._unwrap(sealed, context, unknown=VaultError)
        view = memoryview(sealed)
        out = bytearray(len(sealed) - _MIN_SEALED)
        try:
            AESGCM(dek).decrypt_into(view[71:83], view[83:], context.encode("utf-8"), out)
        except InvalidTag:
            raise self._tampered(sealed, context) from None
        return out

    def rewrap(self, sealed: bytes, context: str) -> bytes:
        """The same sealed blob with its data key wrapped under the current KEK: the payload's
        nonce and ciphertext are kept byte for byte. The payload is authenticated first, so a
        tampered or misplaced blob is never re-wrapped (VaultError); a blob under a key outside
        the keyring is VaultUnknownKeyError. A blob under the current key already is returned
        as it is."""
        dek = self._unwrap(sealed, context, unknown=VaultUnknownKeyError)
        aad = context.encode("utf-8")
        nonce, ciphertext = sealed[71:83], sealed[83:]
        try:
            AESGCM(dek).decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise self._tampered(sealed, context) from None
        if sealed[3:11] == self.kek_id:
            return sealed
        wrap_nonce = os.urandom(12)
        wrapped = self._kek.encrypt(wrap_nonce, dek, self.kek_id + aad)
        return MAGIC + self.kek_id + wrap_nonce + wrapped + sealed[71:]

    def _unwrap(self, sealed: bytes, context: str, *, unknown: type[VaultError]) -> bytes:
        aad = context.encode("utf-8")
        if sealed[:3] != MAGIC or len(sealed) < _MIN_SEALED:
            raise VaultError(f"not a sealed padron template ({context})", key_source=self.source)
        kek_id = sealed[3:11]
        entry = self._ring.get(kek_id)
        if entry is None:
            if not self._old_sources:
                raise unknown(
                    f"the template {context} was sealed with another key (kek id mismatch); the key in use "
                    f"comes from {self.source}: restore the key the templates were sealed with",
                    key_source=self.source,
                    kek_id=kek_id.hex(),
                )
            raise unknown(
                f"{context} was sealed with another key (kek id {kek_id.hex()}), neither the key in use "
                f"(from {self.source}) nor an old key ({', '.join(self._old_sources.values())}): add the "
                "key it was sealed with to PADRON_VAULT_OLD_KEYS or PADRON_VAULT_OLD_KEY_FILES",
                key_source=self.source,
                kek_id=kek_id.hex(),
            )
        cipher, _ = entry
        try:
            return cipher.decrypt(sealed[11:23], sealed[23:71], kek_id + aad)
        except InvalidTag:
            raise self._tampered(sealed, context) from None

    def _tampered(self, sealed: bytes, context: str) -> VaultError:
        where = self._ring[bytes(sealed[3:11])][1] if bytes(sealed[3:11]) in self._ring else self.source
        return VaultError(
            f"sealed template for {context} fails authentication (tampered or misplaced; key from {where})",
            key_source=where,
        )


def kek_id_of(sealed: bytes) -> bytes | None:
    """The kek id a sealed blob names (None when the bytes are not a sealed blob)."""
    if sealed[:3] != MAGIC or len(sealed) < _MIN_SEALED:
        return None
    return bytes(sealed[3:11])


def derive_kek_id(kek: bytes) -> bytes:
    return hashlib.sha256(b"padron-kek-id" + kek).digest()[:8]


def decode_key(text: str, source: str) -> bytes:
    """The 32 key bytes from base64 text (VaultKeyMalformedError naming ``source``, never the text)."""
    try:
        kek = base64.b64decode(text.strip(), validate=True)
    except (ValueError, binascii.Error):
        raise VaultKeyMalformedError(
            f"the vault key from {source} is not valid base64 (expected the base64 text of "
            f"{KEY_BYTES} random bytes)",
            key_source=source,
        ) from None
    _check_length(kek, source)
    return kek


def read_key_file(path: Path, *, strict_permissions: bool = False) -> bytes:
    """The key in an existing key file (an old key, or the new key of a rotation)."""
    path = path.absolute()
    try:
        text = _read_key_file(path, strict_permissions=strict_permissions)
    except FileNotFoundError:
        raise VaultKeyMissingError(f"the vault key file {path} does not exist", path=str(path)) from None
    return decode_key(text, file_source(path))


def _check_length(kek: bytes, source: str) -> None:
    if len(kek) != KEY_BYTES:
        raise VaultKeyMalformedError(
            f"the vault key from {source} must be {KEY_BYTES} bytes, got {len(kek)}",
            key_source=source,
        )


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
