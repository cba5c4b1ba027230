"""Signed checkpoints of the audit log, in the C2SP checkpoint and signed-note formats.

A checkpoint states the log's size and Merkle root at a time (c2sp.org/tlog-checkpoint)::

    padron.example.mx/audit
    200
    3FjoZ3o4x4nYxr5Y0rL1o0T6qvO8mZg8sQm7nTqvW0A=
    time 2025-01-31T17:04:05.000123Z

The first three lines are the origin, the tree size in decimal and the base64 root; the fourth,
an extension line, is the time it was made (UTC, as in the entries). A signed note
(c2sp.org/signed-note) is that text, a blank line and one line per signature::

    — padron.example.mx/audit <base64(key id (4 bytes) || Ed25519 signature (64 bytes))>

where the key id is the first four bytes of ``SHA-256(key name || 0x0A || 0x01 || public key)``
(0x01 is Ed25519's signature type). A note may carry several signature lines: the log signs it,
and an outside authority (the data-protection office) adds its cosignature over the same text
with :func:`add_cosignature` after checking the log's signature and that the checkpoint extends
the last one it cosigned. A verifier ignores lines from keys it does not know, refuses the note
if a known key's signature fails, and needs at least one known key's signature that verifies.

Keys travel in the forms of Go's ``golang.org/x/mod/sumdb/note``: a verifier key
``<name>+<hex key id>+<base64(0x01 || public key)>`` (what the authority is given) and a signer
key ``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || private seed)>``; both also load from the
raw 32 bytes or their base64.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from padron.audit.entry import format_time, parse_time
from padron.audit.errors import (
    InconsistentCheckpointError,
    KeyFormatError,
    MalformedNoteError,
    SignatureError,
    UnknownSignerError,
)
from padron.audit.merkle import HASH_SIZE, root, verify_consistency

ED25519: Final = 0x01
KEY_SIZE: Final = 32
SIGNATURE_SIZE: Final = 64
KEY_ID_SIZE: Final = 4
SIGNATURE_PREFIX: Final = "— "  # U+2014 EM DASH, then a space
MAX_SIGNATURES: Final = 100
MAX_NOTE_BYTES: Final = 65_536
TIME_PREFIX: Final = "time "
_PRIVATE_PREFIX: Final = "PRIVATE+KEY+"
_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")
_KEY_ID_HEX = re.compile(r"[0-9a-f]{8}")


def _b64decode(text: str) -> bytes:
    """Strict standard base64 (RFC 4648 section 4): padded, no stray characters, canonical."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise ValueError(f"not base64: {exc}") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("not in canonical base64 form")
    return raw


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a key name or origin (non-empty, no spaces, no '+', printable)."""
    if not name:
        return "it is empty"
    for ch in name:
        if ch == "+":
            return "it holds '+'"
        if ch.isspace() or unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Zs", "Zl", "Zp"}:
            return f"it holds the space or control character U+{ord(ch):04X}"
    return None


def check_key_name(name: str) -> str:
    """``name`` if it can name a signing key; KeyFormatError otherwise."""
    problem = _name_problem(name)
    if problem is not None:
        raise KeyFormatError(f"{name!r} cannot be a key name: {problem}", name=name)
    return name


def key_id(name: str, public_key: bytes) -> bytes:
    """The signed-note key id of an Ed25519 key: ``SHA-256(name || 0x0A || 0x01 || key)[:4]``."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ED25519]) + public_key).digest()[:KEY_ID_SIZE]


def _key_bytes(text: str, what: str) -> bytes:
    try:
        raw = _b64decode(text)
    except ValueError as exc:
        raise KeyFormatError(f"the {what} is not base64: {exc}") from None
    if len(raw) != KEY_SIZE:
        raise KeyFormatError(f"the {what} is {len(raw)} bytes; an Ed25519 key is {KEY_SIZE}")
    return raw


def _split_key_text(text: str, what: str) -> tuple[str, bytes, bytes]:
    """``name+hexid+base64(0x01 || key)`` -> (name, key id, key); KeyFormatError if malformed."""
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise KeyFormatError(f"the {what} is not of the form <name>+<key id>+<base64 key>")
    name, hex_id, encoded = parts
    check_key_name(name)
    if not _KEY_ID_HEX.fullmatch(hex_id):
        raise KeyFormatError(f"the {what}'s key id {hex_id!r} is not 8 lowercase hex digits")
    try:
        raw = _b64decode(encoded)
    except ValueError as exc:
        raise KeyFormatError(f"the {what}'s key is not base64: {exc}") from None
    if len(raw) != 1 + KEY_SIZE or raw[0] != ED25519:
        raise KeyFormatError(f"the {what} is not an Ed25519 key (type byte 0x01 and {KEY_SIZE} bytes)")
    return name, bytes.fromhex(hex_id), raw[1:]


class Verifier:
    """A named Ed25519 public key that checks note signatures."""

    def __init__(self, name: str, public_key: bytes) -> None:
        self.name = check_key_name(name)
        if not isinstance(public_key, bytes) or len(public_key) != KEY_SIZE:
            raise KeyFormatError(f"an Ed25519 public key is {KEY_SIZE} bytes", name=name)
        try:
            self._key = Ed25519PublicKey.from_public_bytes(public_key)
        except ValueError as exc:
            raise KeyFormatError(f"not an Ed25519 public key: {exc}", name=name) from None
        self.public_key = public_key
        self.key_id = key_id(name, public_key)

    @classmethod
    def from_base64(cls, name: str, text: str) -> Verifier:
        return cls(name, _key_bytes(text, "public key"))

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        """Load ``<name>+<hex key id>+<base64(0x01 || public key)>``, checking the key id."""
        name, kid, public_key = _split_key_text(vkey, "verifier key")
        verifier = cls(name, public_key)
        if verifier.key_id != kid:
            raise KeyFormatError(f"the verifier key's id {kid.hex()} does not match its key", name=name)
        return verifier

    @property
    def vkey(self) -> str:
        """The text form to hand to whoever checks the signatures (e.g. the authority)."""
        return f"{self.name}+{self.key_id.hex()}+{_b64encode(bytes([ED25519]) + self.public_key)}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Verifier) and (other.name, other.public_key) == (self.name, self.public_key)

    def __hash__(self) -> int:
        return hash((self.name, self.public_key))

    def __repr__(self) -> str:
        return f"Verifier({self.vkey!r})"


class Signer:
    """A named Ed25519 private key that signs notes. Its repr never shows the key."""

    def __init__(self, name: str, private_key: bytes) -> None:
        self.name = check_key_name(name)
        if not isinstance(private_key, bytes) or len(private_key) != KEY_SIZE:
            raise KeyFormatError(f"an Ed25519 private key is {KEY_SIZE} bytes (the seed)", name=name)
        self._key = Ed25519PrivateKey.from_private_bytes(private_key)
        self._verifier = Verifier(name, self._key.public_key().public_bytes_raw())

    @classmethod
    def generate(cls, name: str) -> Signer:
        return cls(name, Ed25519PrivateKey.generate().private_bytes_raw())

    @classmethod
    def from_base64(cls, name: str, text: str) -> Signer:
        return cls(name, _key_bytes(text, "private key"))

    @classmethod
    def from_skey(cls, skey: str) -> Signer:
        """Load ``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>``, checking the key id."""
        if not skey.startswith(_PRIVATE_PREFIX):
            raise KeyFormatError(f"a signer key starts with {_PRIVATE_PREFIX!r}")
        name, kid, private_key = _split_key_text(skey[len(_PRIVATE_PREFIX) :], "signer key")
        signer = cls(name, private_key)
        if signer.key_id != kid:
            raise KeyFormatError(f"the signer key's id {kid.hex()} does not match its key", name=name)
        return signer

    @property
    def skey(self) -> str:
        """The private key as text, for a key file only the signing service reads."""
        seed = self._key.private_bytes_raw()
        return f"{_PRIVATE_PREFIX}{self.name}+{self.key_id.hex()}+{_b64encode(bytes([ED25519]) + seed)}"

    @property
    def key_id(self) -> bytes:
        return self._verifier.key_id

    def verifier(self) -> Verifier:
        return self._verifier

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def __repr__(self) -> str:
        return f"Signer(name={self.name!r}, key_id={self.key_id.hex()!r})"


# --- signed notes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the key's name and id, and the signature over the note text."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{SIGNATURE_PREFIX}{self.name} {_b64encode(self.key_id + self.signature)}\n"


@dataclass(frozen=True)
class Note:
    """A signed note: its text (ending in a newline) and its signature lines."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def render(self) -> str:
        return self.text + "\n" + "".join(signature.line() for signature in self.signatures)


def _check_text(text: str) -> None:
    for ch in text:
        if ch < " " and ch != "\n":
            raise MalformedNoteError(f"the note holds the control character U+{ord(ch):04X}")


def parse_note(note: str | bytes) -> Note:
    """Split a signed note into text and signature lines; MalformedNoteError names the fault.

    Nothing is verified here: use :func:`open_note` or :func:`open_checkpoint`.
    """
    if isinstance(note, bytes):
        if len(note) > MAX_NOTE_BYTES:
            raise MalformedNoteError(f"the note takes {len(note)} bytes; at most {MAX_NOTE_BYTES}")
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedNoteError("the note is not UTF-8 text") from None
    else:
        try:
            size = len(note.encode("utf-8"))
        except UnicodeEncodeError:
            raise MalformedNoteError(
                "the note is not valid Unicode text (it holds a lone surrogate)"
            ) from None
        if size > MAX_NOTE_BYTES:
            raise MalformedNoteError(f"the note takes {size} bytes; at most {MAX_NOTE_BYTES}")
    _check_text(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise MalformedNoteError("the note has no blank line before its signature lines")
    text, block = note[: split + 1], note[split + 2 :]
    if text == "\n":
        raise MalformedNoteError("the note's text is empty")
    if not block.endswith("\n"):
        raise MalformedNoteError("the note's last signature line does not end in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedNoteError(f"the note has {len(lines)} signature lines; at most {MAX_SIGNATURES}")
    signatures: list[NoteSignature] = []
    for number, line in enumerate(lines, start=1):
        if not line.startswith(SIGNATURE_PREFIX):
            raise MalformedNoteError(f"signature line {number} does not start with an em dash and a space")
        parts = line[len(SIGNATURE_PREFIX) :].split(" ")
        if len(parts) != 2 or _name_problem(parts[0]) is not None:
            raise MalformedNoteError(f"signature line {number} is not '— <key name> <base64 signature>'")
        try:
            raw = _b64decode(parts[1])
        except ValueError as exc:
            raise MalformedNoteError(f"signature line {number}'s signature is not base64: {exc}") from None
        if len(raw) <= KEY_ID_SIZE:
            raise MalformedNoteError(f"signature line {number}'s signature is too short")
        signatures.append(NoteSignature(parts[0], raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:]))
    return Note(text, tuple(signatures))


def sign_note(text: str, signer: Signer) -> str:
    """``text`` (non-empty, ending in a newline, no blank line) as a note signed by ``signer``."""
    if not text.endswith("\n") or text == "\n" or "\n\n" in text:
        raise MalformedNoteError("a note's text is non-empty lines, each ending in a newline")
    _check_text(text)
    signature = NoteSignature(signer.name, signer.key_id, signer.sign(text.encode("utf-8")))
    return Note(text, (signature,)).render()


def open_note(note: str | bytes, verifiers: Sequence[Verifier]) -> tuple[Note, tuple[str, ...]]:
    """The note and the names of the known keys whose signatures verify.

    Lines of unknown keys are ignored; a known key's signature that fails is SignatureError; a
    note without any known key's signature is UnknownSignerError.
    """
    parsed = parse_note(note)
    known = {(verifier.name, verifier.key_id): verifier for verifier in verifiers}
    message = parsed.text.encode("utf-8")
    signers: list[str] = []
    for signature in parsed.signatures:
        verifier = known.get((signature.name, signature.key_id))
        if verifier is None:
            continue
        if not verifier.verify(message, signature.signature):
            raise SignatureError(
                f"the signature of {signature.name} (key {signature.key_id.hex()}) does not verify: "
                "the note was altered or the signature forged",
                signer=signature.name,
                key_id=signature.key_id.hex(),
            )
        if verifier.name not in signers:
            signers.append(verifier.name)
    if not signers:
        present = ", ".join(f"{s.name} (key {s.key_id.hex()})" for s in parsed.signatures)
        trusted = ", ".join(f"{v.name} (key {v.key_id.hex()})" for v in verifiers) or "none"
        raise UnknownSignerError(
            f"the note is signed by {present}, none of them a known key (known: {trusted})",
            signers=[s.name for s in parsed.signatures],
        )
    return parsed, tuple(signers)


# --- checkpoints --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """The log's size and Merkle root at a time, under the log's name (its origin)."""

    origin: str
    size: int
    root: bytes
    time: datetime

    def __post_init__(self) -> None:
        problem = _name_problem(self.origin)
        if problem is not None:
            raise MalformedNoteError(f"the checkpoint origin {self.origin!r} is not usable: {problem}")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not 0 <= self.size < 2**63:
            raise MalformedNoteError(f"the checkpoint size {self.size!r} is not an integer >= 0")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise MalformedNoteError(f"the checkpoint root must be {HASH_SIZE} bytes")
        try:
            object.__setattr__(self, "time", parse_time(format_time(self.time)))
        except ValueError as exc:
            raise MalformedNoteError(f"the checkpoint time is not usable: {exc}") from None

    def body(self) -> str:
        """The note text that is signed."""
        return f"{self.origin}\n{self.size}\n{_b64encode(self.root)}\n{TIME_PREFIX}{format_time(self.time)}\n"

    @classmethod
    def from_body(cls, text: str) -> Checkpoint:
        """Parse the note text of a checkpoint; MalformedNoteError names the faulty line."""
        lines = text.split("\n")
        if len(lines) != 5 or lines[-1] != "":
            raise MalformedNoteError(
                "a checkpoint is four lines: origin, size, base64 root hash and 'time <UTC time>'"
            )
        origin, size, encoded_root, stamp = lines[:4]
        if _name_problem(origin) is not None:
            raise MalformedNoteError(f"the checkpoint origin {origin!r} is not usable")
        if not _SIZE.fullmatch(size):
            raise MalformedNoteError(f"the checkpoint size {size!r} is not a decimal number")
        try:
            raw_root = _b64decode(encoded_root)
        except ValueError as exc:
            raise MalformedNoteError(f"the checkpoint root is not base64: {exc}") from None
        if not stamp.startswith(TIME_PREFIX):
            raise MalformedNoteError("the checkpoint's fourth line is not 'time <UTC time>'")
        try:
            time = parse_time(stamp[len(TIME_PREFIX) :])
        except ValueError as exc:
            raise MalformedNoteError(f"the checkpoint time is malformed: {exc}") from None
        return cls(origin, int(size), raw_root, time)


def new_checkpoint(origin: str, hashes: Sequence[bytes], time: datetime) -> Checkpoint:
    """The checkpoint of a log whose entries have the leaf hashes ``hashes``."""
    return Checkpoint(origin, len(hashes), root(hashes), time)


def sign(checkpoint: Checkpoint, signer: Signer) -> str:
    """The checkpoint as a signed note, signed by the log's key (name it like the origin)."""
    return sign_note(checkpoint.body(), signer)


@dataclass(frozen=True)
class OpenedCheckpoint:
    """A checkpoint whose note verified, with the names of the known keys that signed it."""

    checkpoint: Checkpoint
    note: Note
    signers: tuple[str, ...]


def open_checkpoint(note: str | bytes, verifiers: Sequence[Verifier]) -> OpenedCheckpoint:
    """Verify a signed checkpoint against known keys and parse it.

    MalformedNoteError, SignatureError or UnknownSignerError when it cannot be trusted.
    """
    parsed, signers = open_note(note, verifiers)
    return OpenedCheckpoint(Checkpoint.from_body(parsed.text), parsed, signers)


def check_extends(old: Checkpoint, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """InconsistentCheckpointError unless ``new`` is ``old``'s log grown by appending only."""
    if new.origin != old.origin:
        raise InconsistentCheckpointError(
            f"the checkpoints are of different logs ({old.origin} and {new.origin})",
            old_origin=old.origin,
            new_origin=new.origin,
        )
    if new.size < old.size:
        raise InconsistentCheckpointError(
            f"the new checkpoint has {new.size} entries, fewer than the {old.size} of the old one: "
            "the log was truncated or rolled back",
            old_size=old.size,
            new_size=new.size,
        )
    if not verify_consistency(old.size, new.size, old.root, new.root, proof):
        raise InconsistentCheckpointError(
            f"the checkpoint of {new.size} entries does not extend the one of {old.size}: the "
            f"consistency proof fails, so entries before {old.size} were changed (a fork of the log)",
            old_size=old.size,
            new_size=new.size,
        )


def add_cosignature(
    note: str,
    signer: Signer,
    *,
    trusted: Sequence[Verifier],
    previous: Checkpoint | None = None,
    proof: Sequence[bytes] = (),
) -> str:
    """``note`` with ``signer``'s signature line added (the authority's cosignature).

    Before signing it checks that the note verifies against ``trusted`` (the log's key) and, when
    ``previous`` (the last checkpoint this signer cosigned) is given, that ``proof`` shows the new
    checkpoint extends it. A note this key has signed already is returned unchanged.
    """
    opened = open_checkpoint(note, trusted)
    if previous is not None:
        check_extends(previous, opened.checkpoint, proof)
    own = [s for s in opened.note.signatures if (s.name, s.key_id) == (signer.name, signer.key_id)]
    message = opened.note.text.encode("utf-8")
    if own:
        if all(signer.verifier().verify(message, s.signature) for s in own):
            return opened.note.render()
        raise SignatureError(
            f"the note carries a signature line of {signer.name} that does not verify",
            signer=signer.name,
        )
    cosignature = NoteSignature(signer.name, signer.key_id, signer.sign(message))
    return Note(opened.note.text, (*opened.note.signatures, cosignature)).render()


@dataclass(frozen=True)
class CheckpointPolicy:
    """When the registry writes the next checkpoint: every ``every`` entries or ``interval``."""

    every: int = 1000
    interval: timedelta = timedelta(minutes=5)

    def __post_init__(self) -> None:
        if self.every < 1 or self.interval <= timedelta(0):
            raise ValueError("a checkpoint policy needs every >= 1 and a positive interval")

    def due(self, last: Checkpoint | None, size: int, now: datetime) -> bool:
        """Whether a log of ``size`` entries, last checkpointed by ``last``, needs one at ``now``."""
        signed = 0 if last is None else last.size
        if size <= signed:
            return False
        if last is None or size - signed >= self.every:
            return True
        return now - last.time >= self.interval
