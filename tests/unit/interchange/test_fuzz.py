"""Mutated files (cut, bit-flipped, with bytes inserted or deleted) are read or refused with a
PAD-NIST error, never another exception; whatever is read writes back and reads back equal."""

from __future__ import annotations

import contextlib
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from padron.interchange import ansinist as an
from padron.interchange.errors import NistError
from tests.unit.interchange import builders as b

SEPARATORS = bytes([0x1C, 0x1D, 0x1E, 0x1F, ord(":"), ord("."), ord("0"), ord("9"), 0x00, 0xFF, 0x80])
#: the replacements tried at every byte (the separators, the tag's colon, a byte no ASCII has)
EDGES = bytes([0x1C, 0x1D, 0x1E, 0x1F, ord(":"), 0xFF])
SMALL_WSQ = b"\xff\xa0" + bytes(range(8)) + b"\xff\xa1"


@cache
def seeds() -> tuple[bytes, ...]:
    """Small files of every record kind the codec reads (the real NIST files are in test_real_data)."""
    raw14 = an.TaggedRecord(
        14, 4, tuple(f for f in b.type14(4, image=b.png(8, 8)).fields if f.number not in (11, 999))
    )
    raw14 = an.TaggedRecord(14, 4, (*raw14.fields, an.Field(11, "NONE"), an.Field(999, b.grey_pixels(8, 8))))
    small = b.transaction(
        b.type2(0),
        b.type4(1, width=6, height=5),
        raw14,
        b.type10(3, image=b.png(4, 4)),
        # a slap (position 13): skipped by sample_inputs, which would refuse its WSQ
        an.BinaryImageRecord(idc=5, positions=(13,), width=64, height=64, data=SMALL_WSQ, compression=1),
        an.BinaryRecord(8, 6, bytes(7) + b"signature"),
        an.TaggedRecord(13, 7, (an.Field(3, "4"), an.Field(999, b"latent"))),
        priority=3,
    )
    utf8 = b.transaction(an.text_record({18: "Núñez"}), other_fields=(an.Field.of(15, ("3", "UTF-8")),))
    face = b.transaction(b.type10(1, image=b.jpeg(8, 8)), b.type4(2, position=3, width=4, height=4))
    return (an.encode(small), an.encode(utf8), an.encode(face))


def check(data: bytes) -> None:
    """Only the codec's errors escape; an accepted file writes back and reads back equal, and its
    samples are taken or refused with the codec's errors."""
    try:
        tx = an.decode(data)
    except NistError:
        return
    again = an.encode(tx)
    assert an.decode(again) == tx
    with contextlib.suppress(NistError):
        an.sample_inputs(tx, require=False)


def test_every_truncation() -> None:
    for data in seeds():
        for end in range(len(data)):
            check(data[:end])


def test_every_byte_replaced_by_a_separator_or_an_edge_value() -> None:
    data = seeds()[0]
    assert an.sample_inputs(an.decode(data)).fingers.keys() == {"2", "7"}  # the samples path is fuzzed too
    for pos in range(len(data)):
        for value in EDGES:
            if data[pos] != value:
                check(data[:pos] + bytes([value]) + data[pos + 1 :])


def test_every_single_byte_deleted_or_doubled() -> None:
    for data in seeds()[:2]:
        for pos in range(len(data)):
            check(data[:pos] + data[pos + 1 :])
            check(data[:pos] + data[pos : pos + 1] + data[pos:])


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 20), st.integers(0, 7)),
    st.tuples(st.just("insert"), st.integers(0, 1 << 20), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("insert"), st.integers(0, 1 << 20), st.sampled_from([bytes([s]) for s in SEPARATORS])),
    st.tuples(st.just("delete"), st.integers(0, 1 << 20), st.integers(1, 16)),
    st.tuples(st.just("cut"), st.integers(0, 1 << 20), st.just(0)),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2), mutations=st.lists(mutation, min_size=1, max_size=6))
def test_random_mutations(seed: int, mutations: list[tuple[str, int, object]]) -> None:
    data = bytearray(seeds()[seed])
    for kind, where, arg in mutations:
        if not data:
            break
        pos = where % len(data)
        if kind == "flip":
            assert isinstance(arg, int)
            data[pos] ^= 1 << arg
        elif kind == "insert":
            assert isinstance(arg, bytes)
            data[pos:pos] = arg
        elif kind == "delete":
            assert isinstance(arg, int)
            del data[pos : pos + arg]
        else:
            del data[pos:]
    check(bytes(data))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes(data: bytes) -> None:
    check(b"1.001:" + data)
    check(data)


# --- the writer: any model is written or refused with a PAD-NIST error; what is written reads back


some_text = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["", "00", "19.69", "\x1e", "\x1f"]
)
field = st.builds(
    an.Field,
    st.integers(-1, 1000) | st.sampled_from([3, 4, 999]),
    some_text | st.binary(max_size=12),
)
tagged = st.builds(
    an.TaggedRecord,
    st.sampled_from([0, 1, 2, 3, 9, 10, 13, 14, 17, 23, 99]),
    st.integers(-1, 300),
    st.lists(field, max_size=5).map(tuple),
)
binary_image = st.builds(
    an.BinaryImageRecord,
    idc=st.integers(-1, 300),
    positions=st.lists(st.integers(-1, 300) | st.sampled_from([2, 255]), max_size=7).map(tuple),
    width=st.integers(-1, 70_000) | st.integers(1, 4),
    height=st.integers(-1, 70_000) | st.integers(1, 4),
    data=st.binary(max_size=20),
    compression=st.integers(-1, 300) | st.integers(0, 6),
    impression=st.integers(-1, 300),
    resolution=st.integers(-1, 2),
    type=st.sampled_from([2, 3, 4, 5, 6, 7]),
)
opaque = st.builds(an.BinaryRecord, st.sampled_from([4, 7, 8]), st.integers(-1, 300), st.binary(max_size=16))


@settings(max_examples=300, deadline=None)
@given(
    records=st.lists(tagged | binary_image | opaque, max_size=4),
    tot=some_text,
    tcn=some_text,
    version=st.sampled_from(["0500", "0400", "500", "05x0"]),
    priority=st.none() | st.integers(-1, 11),
    resolution=st.sampled_from(["19.69", "00.00", "1", "x"]),
    other=st.lists(field, max_size=3).map(tuple) | st.just((an.Field.of(15, ("3", "UTF-8")),)),
)
def test_any_model_is_written_or_refused(
    records: list[an.Record],
    tot: str,
    tcn: str,
    version: str,
    priority: int | None,
    resolution: str,
    other: tuple[an.Field, ...],
) -> None:
    tx = b.transaction(
        *records,
        type_of_transaction=tot,
        control_number=tcn,
        version=version,
        priority=priority,
        native_scanning_resolution=resolution,
        other_fields=other,
    )
    try:
        data = an.encode(tx)
    except NistError:
        return
    assert an.decode(data) == tx
    assert an.encode(an.decode(data)) == data
