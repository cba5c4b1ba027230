"""Audit entries: the canonical bytes the log stores and hashes, and what an entry refuses to hold."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from padron.audit.entry import GENESIS_PREV, AuditEntry, link_after
from padron.audit.errors import InvalidEntryError, MalformedEntryError
from padron.audit.merkle import leaf_hash

MEXICO_CITY = timezone(timedelta(hours=-6))


def fixed_entry(**changes: Any) -> AuditEntry:
    fields: dict[str, Any] = {
        "seq": 41,
        "prev": bytes.fromhex("ab" * 32),
        "at": datetime(2025, 1, 31, 17, 4, 5, 123, tzinfo=MEXICO_CITY),
        "actor": "ana.lópez",
        "role": "registrar",
        "purpose": "identity verification",
        "legal_basis": "LGPDPPSO art. 22",
        "channel": "api",
        "action": "person.read",
        "subject": "GOHG560427MVZRRL04",
        "outcome": "ok",
        "details": {
            "fields": ["given_names", "curp"],
            "count": 2,
            "é": True,
            "nested": {"b": None, "a": 'x"y\n'},
        },
    }
    return AuditEntry(**(fields | changes))


# --- the canonical encoding ---------------------------------------------------------------------


def test_encoding_is_fixed() -> None:
    # Written once by hand from the rules in padron.audit.entry; if this changes, every stored
    # log stops verifying, so the format version must change instead.
    data = fixed_entry().to_bytes()
    assert data == (
        '{"action":"person.read","actor":"ana.lópez","at":"2025-01-31T23:04:05.000123Z",'
        '"case_ref":null,"channel":"api","details":{"count":2,"fields":["given_names","curp"],'
        '"nested":{"a":"x\\"y\\n","b":null},"é":true},"legal_basis":"LGPDPPSO art. 22",'
        '"outcome":"ok","partner":null,"prev":"' + "ab" * 32 + '","purpose":"identity verification",'
        '"role":"registrar","seq":41,"subject":"GOHG560427MVZRRL04","v":1}'
    ).encode("utf-8")
    assert (
        hashlib.sha256(data).hexdigest() == "9fbc89a65a198ee0e5fb4abdb396535f8eebae1a54c6446c425f2fcc7af9449d"
    )
    assert (
        fixed_entry().leaf_hash().hex() == "d30e9d628f7e9a5168142cbfa112ce4bf6f870631cb8b8d2ee022b4c7e2f6300"
    )


def test_time_is_stored_in_utc_with_microseconds() -> None:
    entry = fixed_entry(at=datetime(2025, 1, 31, 17, 4, 5, tzinfo=MEXICO_CITY))
    assert json.loads(entry.to_bytes())["at"] == "2025-01-31T23:04:05.000000Z"
    assert entry.at.tzinfo is UTC
    # the same instant written in another zone is the same entry
    same = fixed_entry(at=datetime(2025, 1, 31, 23, 4, 5, tzinfo=UTC))
    assert same.to_bytes() == entry.to_bytes()


def test_round_trip() -> None:
    entry = fixed_entry()
    assert AuditEntry.from_bytes(entry.to_bytes()) == entry


def test_details_cannot_be_changed_after_the_entry_is_made() -> None:
    details: dict[str, Any] = {"fields": ["curp"]}
    entry = fixed_entry(details=details)
    before = entry.to_bytes()
    details["fields"].append("photo")  # the caller's dict is copied, not kept
    assert entry.to_bytes() == before
    with pytest.raises(TypeError):
        entry.details["fields"] = ["photo"]  # type: ignore[index]


@st.composite
def entries(draw: st.DrawFn) -> AuditEntry:
    text = st.text(
        st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Co", "Zl", "Zp")), min_size=1, max_size=30
    )
    json_leaf = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=20)
    json_value = (
        json_leaf
        | st.lists(json_leaf | st.lists(json_leaf, max_size=3), max_size=3)
        | st.dictionaries(st.text(max_size=5), json_leaf, max_size=3)
    )
    details = st.dictionaries(st.text(max_size=10), json_value, max_size=5)
    return AuditEntry(
        seq=draw(st.integers(0, 2**40)),
        prev=draw(st.binary(min_size=32, max_size=32)),
        at=draw(st.datetimes(timezones=st.just(UTC))),
        actor=draw(text),
        role=draw(text),
        purpose=draw(text),
        channel=draw(text),
        action=draw(text),
        outcome=draw(text),
        legal_basis=draw(st.none() | text),
        case_ref=draw(st.none() | text),
        partner=draw(st.none() | text),
        subject=draw(st.none() | text),
        details=draw(details),
    )


@settings(max_examples=200, deadline=None)
@given(entries())
def test_every_entry_round_trips_through_its_bytes(entry: AuditEntry) -> None:
    data = entry.to_bytes()
    again = AuditEntry.from_bytes(data)
    assert again == entry
    assert again.to_bytes() == data


# --- decoding refuses anything but the canonical form -------------------------------------------


def canonical_dict() -> dict[str, Any]:
    return fixed_entry().to_dict()


def dumps(value: Any, **options: Any) -> bytes:
    settings: dict[str, Any] = {"sort_keys": True, "separators": (",", ":"), "ensure_ascii": False} | options
    return json.dumps(value, **settings).encode("utf-8")


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        (dumps(canonical_dict(), separators=(", ", ": ")), "canonical"),
        (dumps(canonical_dict(), sort_keys=False), "canonical"),
        (dumps(canonical_dict(), ensure_ascii=True), "canonical"),
        (dumps(canonical_dict() | {"extra": 1}), "unknown"),
        (dumps({k: v for k, v in canonical_dict().items() if k != "outcome"}), "missing"),
        (dumps(canonical_dict() | {"v": 2}), "version"),
        (dumps(canonical_dict() | {"seq": -1}), "seq"),
        (dumps(canonical_dict() | {"seq": "41"}), "seq"),
        (dumps(canonical_dict() | {"prev": "AB" * 32}), "prev"),
        (dumps(canonical_dict() | {"at": "2025-01-31T23:04:05Z"}), "time"),
        (dumps(canonical_dict() | {"at": "2025-01-31T17:04:05.000123-06:00"}), "time"),
        (dumps(canonical_dict() | {"at": "2025-02-30T23:04:05.000123Z"}), "time"),
        (dumps(canonical_dict() | {"at": "٢٠٢٥-01-31T23:04:05.000123Z"}), "time"),
        (dumps(canonical_dict() | {"details": {"score": 0.5}}), "not an integer"),
        (dumps(canonical_dict() | {"details": []}), "details"),
        (dumps(canonical_dict() | {"actor": ""}), "actor"),
        (dumps(canonical_dict() | {"actor": "ana\u202e"}), "actor"),
        (dumps(canonical_dict()).replace(b'"v":1}', b'"v":1,"v":1}'), "canonical"),
        (b"[1, 2]", "object"),
        (b"\xff\xfe{", "UTF-8"),
        (b'{"v": NaN}', "integer"),
        (b"[" * 5000 + b"]" * 5000, "JSON"),
    ],
)
def test_anything_but_a_canonical_entry_is_refused(data: bytes, complaint: str) -> None:
    with pytest.raises(MalformedEntryError, match=complaint):
        AuditEntry.from_bytes(data)


# --- what an entry refuses to hold --------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"at": datetime(2025, 1, 31, 17, 4, 5)}, "time zone"),
        ({"actor": ""}, "actor is empty"),
        ({"legal_basis": ""}, "None"),
        ({"actor": "ana\nroot"}, "U\\+000A"),
        ({"purpose": "x" * 2001}, "at most 2000"),
        ({"seq": -1}, "seq"),
        ({"seq": True}, "seq"),
        ({"prev": b"short"}, "32 bytes"),
        ({"details": {"score": 0.87}}, "float"),
        ({"details": {"when": datetime(2025, 1, 1, tzinfo=UTC)}}, "datetime"),
        ({"details": {1: "x"}}, "not valid text"),
        ({"details": {"\udc80": "x"}}, "not valid text"),
        ({"details": {"n": 2**53}}, "2\\*\\*53"),
        ({"details": {"a": [[[["deep"]]]]}}, "deeper"),
        ({"details": {"blob": "x" * 5000}}, "4096"),
        ({"details": {"text": "\ud800"}}, "Unicode"),
        ({"details": ["not", "an", "object"]}, "JSON object"),
    ],
)
def test_an_entry_refuses_values_it_cannot_store(changes: dict[str, Any], complaint: str) -> None:
    with pytest.raises(InvalidEntryError, match=complaint):
        fixed_entry(**changes)


# --- the chain ----------------------------------------------------------------------------------


def test_link_after_starts_the_chain_and_follows_the_last_entry() -> None:
    first = link_after(None)
    assert (first.seq, first.prev) == (0, GENESIS_PREV)
    data = dataclasses.replace(fixed_entry(), seq=0, prev=first.prev).to_bytes()
    second = link_after(data)
    assert (second.seq, second.prev) == (1, leaf_hash(data))


def test_link_after_refuses_a_malformed_last_entry() -> None:
    with pytest.raises(MalformedEntryError):
        link_after(b"not an entry")
