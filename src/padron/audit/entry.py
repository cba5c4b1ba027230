"""One audit entry: who read or changed whose record, why, under which legal basis, with what result.

An entry is stored as its canonical bytes (:meth:`AuditEntry.to_bytes`); the log is the ordered
list of those byte strings and the Merkle tree is built over them. The canonical form is a UTF-8
JSON object with

* every field present (absent optional values are ``null``), keys sorted by code point, no
  whitespace (``separators=(",", ":")``), non-ASCII characters written as themselves and only
  ``"``, ``\\`` and control characters escaped (as Python's :mod:`json` writes them);
* ``v`` the format version (1), ``seq`` the entry's index in the log, ``prev`` the lowercase hex
  of the RFC 6962 leaf hash of the previous entry's bytes (64 zeros for entry 0);
* ``at`` in RFC 3339 form in UTC with exactly six fractional digits and ``Z``
  (``2025-01-31T17:04:05.000123Z``);
* numbers only as integers within +/-(2**53 - 1) (every JSON reader reads those exactly); a
  decimal value belongs in a string.

``seq`` and ``prev`` are what let :mod:`padron.audit.verify` say exactly where the log was
changed; :func:`link_after` gives both for the next entry.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, TypeAlias

from padron.audit.errors import InvalidEntryError, MalformedEntryError
from padron.audit.merkle import HASH_SIZE, leaf_hash

FORMAT_VERSION: Final = 1
#: ``prev`` of entry 0
GENESIS_PREV: Final = bytes(HASH_SIZE)
#: limits that keep an entry a small record (they bound what a reader must accept)
MAX_ENTRY_BYTES: Final = 16_384
MAX_DETAILS_BYTES: Final = 4_096
MAX_DETAILS_DEPTH: Final = 4
MAX_TEXT_LENGTH: Final = 2_000
MAX_INT: Final = 2**53 - 1

#: a JSON value in ``details`` (frozen inside an entry: lists become tuples, objects read-only maps)
JsonValue: TypeAlias = "str | int | bool | Sequence[JsonValue] | Mapping[str, JsonValue] | None"

_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
_REQUIRED_TEXT = ("actor", "role", "purpose", "channel", "action", "outcome")
_OPTIONAL_TEXT = ("legal_basis", "case_ref", "partner", "subject")
_KEYS = frozenset({"v", "seq", "prev", "at", "details", *_REQUIRED_TEXT, *_OPTIONAL_TEXT})
_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z", re.ASCII)
_HEX_HASH = re.compile(r"[0-9a-f]{64}")


def to_utc(at: datetime) -> datetime:
    """``at`` (aware) as a UTC datetime; ValueError if it is naive or outside years 1-9999 in UTC."""
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at!r} is not a datetime with a time zone (an aware datetime)")
    if at.tzinfo is UTC:
        return at
    try:
        return at.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{at!r} lies outside the years 1-9999 in UTC") from None


def format_time(at: datetime) -> str:
    """``at`` (aware) in UTC as RFC 3339 with microseconds and ``Z``; ValueError if it is naive."""
    u = to_utc(at)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
        f".{u.microsecond:06d}Z"
    )


def parse_time(text: str) -> datetime:
    """The inverse of :func:`format_time`; anything else is refused (ValueError)."""
    match = _TIME.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a UTC time of the form YYYY-MM-DDTHH:MM:SS.ffffffZ")
    year, month, day, hour, minute, second, micro = (int(part) for part in match.groups())
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def _check_text(name: str, value: object, *, optional: bool) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise InvalidEntryError(f"the audit field {name} must be text", field=name)
    if not value:
        hint = "; leave it out (None) instead" if optional else ""
        raise InvalidEntryError(f"the audit field {name} is empty{hint}", field=name)
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidEntryError(
            f"the audit field {name} is {len(value)} characters long; at most {MAX_TEXT_LENGTH}",
            field=name,
        )
    if value.isascii() and value.isprintable():
        return  # the common case, checked at C speed
    for position, ch in enumerate(value):
        if unicodedata.category(ch) in _REFUSED_CATEGORIES:
            raise InvalidEntryError(
                f"the audit field {name} holds the control or formatting character U+{ord(ch):04X} "
                f"at position {position + 1}",
                field=name,
                character=f"U+{ord(ch):04X}",
            )


def _encodable(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8 (it holds no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _freeze(value: object, path: str, depth: int) -> JsonValue:
    """A deep, read-only copy of a JSON value; InvalidEntryError names what is not allowed."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -MAX_INT <= value <= MAX_INT:
            raise InvalidEntryError(f"details{path} is an integer beyond +/-(2**53 - 1)", field=path)
        return value
    if isinstance(value, str):
        if not _encodable(value):
            raise InvalidEntryError(f"details{path} holds text that is not valid Unicode", field=path)
        return value
    if depth >= MAX_DETAILS_DEPTH:
        raise InvalidEntryError(f"details{path} nests deeper than {MAX_DETAILS_DEPTH} levels", field=path)
    if isinstance(value, list | tuple):
        return tuple(_freeze(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
    if isinstance(value, Mapping):
        frozen: dict[str, JsonValue] = {}
        for key, item in value.items():
            if not isinstance(key, str) or not _encodable(key):
                raise InvalidEntryError(
                    f"details{path} has a key that is not valid text: {key!r}", field=path
                )
            frozen[key] = _freeze(item, f"{path}.{key}", depth + 1)
        return MappingProxyType(frozen)
    kind = "a float (write decimals as text)" if isinstance(value, float) else type(value).__name__
    raise InvalidEntryError(f"details{path} is {kind}, which an audit entry does not hold", field=path)


def _thaw(value: JsonValue) -> Any:
    if isinstance(value, tuple | list):
        return [_thaw(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _thaw(item) for key, item in value.items()}
    return value


def _dumps(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    """One access to personal data. ``seq`` and ``prev`` come from :func:`link_after`."""

    seq: int
    prev: bytes
    at: datetime
    actor: str
    role: str
    purpose: str
    channel: str
    action: str
    outcome: str
    legal_basis: str | None = None
    case_ref: str | None = None
    partner: str | None = None
    subject: str | None = None
    details: Mapping[str, JsonValue] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    def __post_init__(self) -> None:
        if isinstance(self.seq, bool) or not isinstance(self.seq, int) or not 0 <= self.seq <= MAX_INT:
            raise InvalidEntryError(f"an audit entry's seq must be an integer >= 0, not {self.seq!r}")
        if not isinstance(self.prev, bytes) or len(self.prev) != HASH_SIZE:
            raise InvalidEntryError(f"an audit entry's prev must be {HASH_SIZE} bytes (a SHA-256 hash)")
        try:
            object.__setattr__(self, "at", to_utc(self.at))
        except ValueError as exc:
            raise InvalidEntryError(f"an audit entry's time is not usable: {exc}") from None
        for name in _REQUIRED_TEXT:
            _check_text(name, getattr(self, name), optional=False)
        for name in _OPTIONAL_TEXT:
            _check_text(name, getattr(self, name), optional=True)
        if not isinstance(self.details, Mapping):
            raise InvalidEntryError("an audit entry's details must be a JSON object (a dict)")
        details = _freeze(self.details, "", 0)
        assert isinstance(details, Mapping)
        if details and len(_dumps(_thaw(details))) > MAX_DETAILS_BYTES:
            raise InvalidEntryError(f"an audit entry's details take more than {MAX_DETAILS_BYTES} bytes")
        object.__setattr__(self, "details", details)

    def to_dict(self) -> dict[str, Any]:
        """The entry as the JSON object of its canonical form."""
        return {
            "v": FORMAT_VERSION,
            "seq": self.seq,
            "prev": self.prev.hex(),
            "at": format_time(self.at),
            "actor": self.actor,
            "role": self.role,
            "purpose": self.purpose,
            "legal_basis": self.legal_basis,
            "case_ref": self.case_ref,
            "channel": self.channel,
            "partner": self.partner,
            "action": self.action,
            "subject": self.subject,
            "outcome": self.outcome,
            "details": _thaw(self.details),
        }

    def to_bytes(self) -> bytes:
        """The canonical encoding (see the module docstring); what the log stores and hashes."""
        data = _dumps(self.to_dict())
        if len(data) > MAX_ENTRY_BYTES:
            raise InvalidEntryError(f"the audit entry takes {len(data)} bytes; at most {MAX_ENTRY_BYTES}")
        return data

    def leaf_hash(self) -> bytes:
        """The RFC 6962 leaf hash of :meth:`to_bytes` (what the next entry's ``prev`` holds)."""
        return leaf_hash(self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes) -> AuditEntry:
        """Decode stored bytes; MalformedEntryError unless they are exactly a canonical entry."""
        if len(data) > MAX_ENTRY_BYTES:
            raise MalformedEntryError(f"the entry takes {len(data)} bytes; at most {MAX_ENTRY_BYTES}")
        try:
            # a repeated key survives neither the parse nor the canonical check below
            value = json.loads(data.decode("utf-8"), parse_float=_no_float, parse_constant=_no_float)
        except UnicodeDecodeError:
            raise MalformedEntryError("the entry is not UTF-8 text") from None
        except (ValueError, RecursionError) as exc:
            raise MalformedEntryError(f"the entry is not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise MalformedEntryError("the entry is not a JSON object")
        if set(value) != _KEYS:
            missing = sorted(_KEYS - set(value))
            unknown = sorted(set(value) - _KEYS)
            raise MalformedEntryError(
                f"the entry's fields are wrong (missing {missing}, unknown {unknown})",
                missing=missing,
                unknown=unknown,
            )
        if value["v"] != FORMAT_VERSION or isinstance(value["v"], bool):
            raise MalformedEntryError(f"unknown entry format version {value['v']!r}")
        prev, at = value["prev"], value["at"]
        if not isinstance(prev, str) or not _HEX_HASH.fullmatch(prev):
            raise MalformedEntryError("the entry's prev is not 64 lowercase hex digits")
        if not isinstance(at, str):
            raise MalformedEntryError("the entry's time is not text")
        try:
            entry = cls(
                seq=value["seq"],
                prev=bytes.fromhex(prev),
                at=parse_time(at),
                details=value["details"],
                **{name: value[name] for name in (*_REQUIRED_TEXT, *_OPTIONAL_TEXT)},
            )
        except ValueError as exc:
            raise MalformedEntryError(f"the entry's time is malformed: {exc}") from None
        except InvalidEntryError as exc:
            raise MalformedEntryError(f"the entry is invalid: {exc.message}", **exc.details) from None
        if entry.to_bytes() != data:
            raise MalformedEntryError("the entry is not in canonical form (key order, spacing or escapes)")
        return entry


def _no_float(text: str) -> Any:
    raise ValueError(f"the number {text} is not an integer")


@dataclass(frozen=True)
class Link:
    """Where the next entry goes: its ``seq`` and the ``prev`` it must carry."""

    seq: int
    prev: bytes


def link_after(previous: bytes | None) -> Link:
    """The link of the entry that follows ``previous`` (the last stored entry's bytes, or None)."""
    if previous is None:
        return Link(0, GENESIS_PREV)
    return Link(AuditEntry.from_bytes(previous).seq + 1, leaf_hash(previous))
