"""Gallery segments: the part layout (JSON header + .npy records, no pickle) round-trips any mix of
arrays split over parts, refuses what is damaged, mixed or of another format; galleries save their
state and a gallery loading it searches exactly like the original, and like a gallery keeping the
serialized envelopes (the packed form scores the same)."""

from __future__ import annotations

import json
import random
from typing import Any

import numpy as np
import pytest

from padron.domain.template import Modality, Template
from padron.matching.backends.memory import TemplateGallery, VectorGallery
from padron.matching.finger_index import IndexParameters
from padron.matching.gallery import FINGER_SLOTS, Candidate
from padron.matching.modalities import FingerprintMatcher
from padron.matching.segments import (
    GalleryState,
    SegmentError,
    arrays_to_strings,
    decode_parts,
    encode_parts,
    read_header,
    strings_to_arrays,
)
from padron.synth.templates import master_minutiae, synthetic_template


def sample_state() -> GalleryState:
    rng = np.random.default_rng(3)
    return GalleryState(
        kind="test",
        meta={"signature": {"a": 1}, "note": "ñ"},
        arrays={
            "bits": rng.integers(0, 256, size=(1000, 48), dtype=np.uint8),
            "x": rng.normal(size=1000).astype("<f4"),
            "angle": rng.integers(0, 65536, size=777).astype("<u2"),
            "empty": np.zeros((0, 8), dtype=np.uint8),
            "flags": rng.random(50) < 0.5,
            "rows": np.arange(123, dtype=np.int64),
        },
    )


def test_a_state_split_over_parts_comes_back_whole_in_any_order() -> None:
    state = sample_state()
    parts = list(encode_parts(state, modality="fingerprint", position=42, shard=1, shards=3, max_bytes=5000))
    assert len(parts) > 10 and all(len(p) < 5000 + 2500 for p in parts)  # a header and one row over
    random.Random(1).shuffle(parts)
    loaded, common = decode_parts(parts, modality="fingerprint", shard=1)
    assert common["position"] == 42 and common["shards"] == 3 and common["kind"] == "test"
    assert loaded.meta == state.meta
    assert set(loaded.arrays) == set(state.arrays)
    for name, array in state.arrays.items():
        assert loaded.arrays[name].dtype == array.dtype and np.array_equal(loaded.arrays[name], array)
        assert loaded.arrays[name].flags.writeable


def test_the_layout_is_a_json_header_and_npy_records() -> None:
    [part] = encode_parts(sample_state(), modality="face", position=0)
    assert part[:4] == b"PGS1"
    header = read_header(part)
    assert header["format"] == 1 and header["parts"] == 1
    chunk = next(c for c in header["chunks"] if c["name"] == "x")
    at = header["_data_offset"] + chunk["offset"]
    assert part[at : at + 6] == b"\x93NUMPY"  # numpy.lib.format, version 1.0
    assert b"pickle" not in part and b"\x80\x04" not in part[: header["_data_offset"]]


def corrupt_header(part: bytes, **changes: Any) -> bytes:
    length = int.from_bytes(part[4:8], "little")
    header = json.loads(part[8 : 8 + length])
    header.update(changes)
    text = json.dumps(header).encode()
    return part[:4] + len(text).to_bytes(4, "little") + text + part[8 + length :]


def test_damaged_mixed_incomplete_or_foreign_parts_are_refused() -> None:
    parts = list(encode_parts(sample_state(), modality="face", position=5, max_bytes=20000))
    with pytest.raises(SegmentError, match="parts"):
        decode_parts(parts[:-1])  # one missing
    with pytest.raises(SegmentError, match="repeated"):
        decode_parts([parts[0], parts[0], *parts[1:]])
    flipped = bytearray(parts[1])
    flipped[-3] ^= 0xFF
    with pytest.raises(SegmentError, match="checksum"):
        decode_parts([parts[0], bytes(flipped), *parts[2:]])
    with pytest.raises(SegmentError, match="format 2"):
        decode_parts([corrupt_header(parts[0], format=2), *parts[1:]])
    with pytest.raises(SegmentError, match="different states"):
        decode_parts([corrupt_header(parts[0], position=6), *parts[1:]])
    with pytest.raises(SegmentError, match="magic"):
        decode_parts([b"PK\x03\x04" + parts[0][4:]])
    with pytest.raises(SegmentError, match="expected 'fingerprint'"):
        decode_parts(parts, modality="fingerprint")
    other = list(
        encode_parts(sample_state(), modality="face", position=5, shard=1, shards=2, max_bytes=20000)
    )
    with pytest.raises(SegmentError, match="different states"):
        decode_parts([parts[0], *other[1:]])
    # an object array cannot even be written (no pickle anywhere)
    with pytest.raises(ValueError):
        list(
            encode_parts(
                GalleryState("t", {}, {"o": np.array([{"a": 1}], dtype=object)}), modality="f", position=0
            )
        )


def test_strings_round_trip_with_holes() -> None:
    values = ["p:1", None, "a:77", "ñandú", "", None]
    arrays = strings_to_arrays(values)
    assert arrays_to_strings(arrays["blob"], arrays["offsets"], arrays["present"]) == values
    with pytest.raises(SegmentError):
        arrays_to_strings(arrays["blob"][:-1], arrays["offsets"], arrays["present"])


# --- galleries --------------------------------------------------------------------------------


def finger(person: int, position: int, impression: int) -> Template:
    return synthetic_template(master_minutiae(person, position), impression)


class EnvelopeOnly:
    """padron's fingerprint matcher without its packed form: the gallery keeps envelopes."""

    modality = Modality.FINGERPRINT
    cylinder_size = 384

    def __init__(self) -> None:
        self.inner = FingerprintMatcher()

    def decode(self, t: Template) -> Any:
        return self.inner.decode(t)

    def batch(self, decoded: Any) -> Any:
        return self.inner.batch(decoded)

    def batch_once(self, decoded: Any) -> Any:
        return self.inner.batch_once(decoded)

    def extend(self, batch: Any, decoded: Any) -> Any:
        return self.inner.extend(batch, decoded)

    def prepare(self, probe: Template) -> Any:
        return self.inner.prepare(probe)

    def cylinder_bits(self, decoded: Any) -> Any:
        return self.inner.cylinder_bits(decoded)


def as_tuples(found: list[Candidate]) -> list[tuple[str, float, dict[str, float]]]:
    return [(c.ref, c.score, c.slot_scores) for c in found]


@pytest.fixture(scope="module")
def people() -> dict[str, dict[str, list[Template]]]:
    out = {f"p:{i}": {s: [finger(i, int(s), 0)] for s in ("2", "7")} for i in range(40)}
    out["p:40"] = {"2": [finger(40, 2, 0), finger(40, 2, 2)]}  # two templates in one slot
    return out


@pytest.mark.parametrize("threshold", [10**9, 10])  # exhaustive; pre-selection above 10 subjects
def test_a_loaded_fingerprint_gallery_searches_exactly_like_the_saved_one(
    people: dict[str, dict[str, list[Template]]], threshold: int
) -> None:
    probes = [{s: finger(i, int(s), 1) for s in ("2", "7")} for i in (3, 17, 33)] + [{"2": finger(40, 2, 1)}]
    packed = TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS, shortlist_threshold=threshold)
    envelopes = TemplateGallery(EnvelopeOnly(), slots=FINGER_SLOTS, shortlist_threshold=threshold)
    for gallery in (packed, envelopes):
        gallery.add_many(list(people.items()))
        gallery.remove("p:5")
        gallery.add("p:99", people["p:6"])
        for probe in probes:
            gallery.search(probe, 3)  # builds (and grows) the exhaustive batches
        gallery.add("p:98", people["p:8"])
    parts = list(encode_parts(packed.export_state(), modality="fingerprint", position=9, max_bytes=30_000))
    loaded = TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS, shortlist_threshold=threshold)
    loaded.load_state(decode_parts(parts)[0])
    assert loaded.refs() == packed.refs()
    held = {k: v for k, v in packed.stats().items() if k != "capacity_bytes"}  # loaded: no spare room
    assert {k: v for k, v in loaded.stats().items() if k != "capacity_bytes"} == held
    for probe in probes:
        want = as_tuples(packed.search(probe, 6))
        assert as_tuples(envelopes.search(probe, 6)) == want  # packed cylinders score as envelopes
        assert as_tuples(loaded.search(probe, 6)) == want
        assert loaded.last_shortlist == packed.last_shortlist
        # the same votes, bit for bit (dead rows' included: removed before the save)
        assert np.array_equal(loaded._votes(probe, extra=False)[0], packed._votes(probe, extra=False)[0])
        assert loaded.score("p:40", probe) == packed.score("p:40", probe)
    # and they stay in step with more changes
    for gallery in (packed, loaded):
        gallery.remove("p:99")
        gallery.add("p:97", people["p:9"])
    for probe in probes:
        assert as_tuples(loaded.search(probe, 6)) == as_tuples(packed.search(probe, 6))


def test_memory_per_finger_is_the_packed_cylinders_and_six_bytes_per_index_entry(
    people: dict[str, dict[str, list[Template]]],
) -> None:
    gallery = TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS, shortlist_threshold=10)
    gallery.add_many(list(people.items()))
    stats = gallery.stats()
    matcher = FingerprintMatcher()
    cylinders = sum(
        int(matcher.decode(t).valid.sum())
        for samples in people.values()
        for ts in samples.values()
        for t in ts
    )
    assert stats["template_bytes"] == cylinders * (48 + 8 + 4 + 4 + 2)
    entries = sum(s.index.entries for s in gallery._slots.values() if s.index is not None)
    assert stats["index_bytes"] == 6 * entries + len(gallery._slots) * 8 * 65537
    envelopes = sum(len(t.payload) for samples in people.values() for ts in samples.values() for t in ts)
    assert stats["template_bytes"] < envelopes


def test_a_gallery_of_another_configuration_refuses_the_state(
    people: dict[str, dict[str, list[Template]]],
) -> None:
    gallery = TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS)
    gallery.add_many(list(people.items())[:5])
    state = decode_parts(list(encode_parts(gallery.export_state(), modality="fingerprint", position=1)))[0]
    other = TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS, index=IndexParameters(bands=16))
    with pytest.raises(SegmentError, match="another configuration"):
        other.load_state(state)
    with pytest.raises(SegmentError):
        VectorGallery().load_state(state)
    broken = GalleryState(state.kind, state.meta, dict(state.arrays))
    broken.arrays["slot/2/count"] = broken.arrays["slot/2/count"][:-1]
    with pytest.raises(SegmentError):
        TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS).load_state(broken)


@pytest.mark.parametrize(
    ("threshold", "bf16", "scan"),
    [
        (10**9, None, "numpy"),
        (50, False, "faiss.knn inner product"),
        (50, True, "certified bfloat16 matmul (torch/oneDNN) + exact float32 re-score"),
    ],
)
def test_a_loaded_face_gallery_searches_exactly_like_the_saved_one(
    threshold: int, bf16: bool | None, scan: str
) -> None:
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(120, 128)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    saved = VectorGallery(faiss_threshold=threshold, bf16=bf16)
    saved.bulk_load([f"p:{i}" for i in range(100)], vectors[:100])
    for i in range(100, 120):
        saved.add_vectors(f"p:{i % 105}", vectors[i : i + 1])
    saved.remove("p:7")
    parts = list(encode_parts(saved.export_state(), modality="face", position=3, max_bytes=10_000))
    loaded = VectorGallery(faiss_threshold=threshold, bf16=bf16)
    loaded.load_state(decode_parts(parts)[0])
    queries = vectors[[1, 7, 50, 103]] + rng.normal(scale=0.05, size=(4, 128)).astype(np.float32)
    assert [as_tuples(r) for r in loaded.search_vectors(queries, 5)] == [
        as_tuples(r) for r in saved.search_vectors(queries, 5)
    ]
    assert loaded.refs() == saved.refs() and len(loaded) == len(saved)
    assert loaded.describe()["scan"] == saved.describe()["scan"] == scan


def test_a_face_state_of_the_simhash_layout_is_refused() -> None:
    """A state saved when the gallery also kept SimHash codes (layout 1: its signature named the
    codes' bits and projection seed) is not read as one of rows only."""
    gallery = VectorGallery()
    gallery.bulk_load(["a", "b"], np.eye(2, 128, dtype=np.float32))
    state = gallery.export_state()
    old = {k: v for k, v in gallery.signature().items() if k != "layout"}
    old |= {"code_bits": 256, "projection_seed": 20261129}
    with pytest.raises(SegmentError):
        VectorGallery().load_state(GalleryState(state.kind, {**state.meta, "signature": old}, state.arrays))


def test_an_array_whole_in_an_opened_part_is_the_part_s_memory_not_a_copy() -> None:
    state = sample_state()
    parts = [bytearray(p) for p in encode_parts(state, modality="face", position=1, max_bytes=100_000)]
    loaded, _ = decode_parts(parts)  # type: ignore[arg-type]
    bits = loaded.arrays["bits"]  # 48,000 bytes: more than a quarter of a part, so a part of its own
    assert any(np.shares_memory(bits, np.frombuffer(p, dtype=np.uint8)) for p in parts)
    assert (
        bits.flags.writeable and bits.ctypes.data % 64 == np.frombuffer(parts[0], np.uint8).ctypes.data % 64
    )
    assert all(np.array_equal(loaded.arrays[n], a) for n, a in state.arrays.items())
    bits[0, 0] ^= 1  # a gallery may change its arrays (alive flags): they are writable views
