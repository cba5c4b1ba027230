"""A gallery's search form as segments: plain numpy arrays in a documented layout, never pickle.

A gallery that can be saved (:class:`PersistentGallery`) gives its state as a
:class:`GalleryState`: a kind, a small JSON-able ``meta`` and named numpy arrays (packed
cylinders, index keys and rows, per-row subject numbers, ...). :func:`encode_parts` cuts a state
into *parts* of at most about ``max_bytes`` each; the registry seals every part with the vault and
stores it (:mod:`padron.registry.segments`), and :class:`Assembler` puts the opened parts back
together. Nothing here encrypts: that is the registry's job.

Layout of one part (format 1), all integers little-endian::

    magic       4 bytes   b"PGS1"
    header_len  u32       length of the header
    header      UTF-8 JSON {"format": 1, "kind", "modality", "position", "shard", "shards",
                           "part", "parts", "meta", "counts", "chunks": [...], "crc32"}
    data        the chunks, one after the other, each an .npy record (numpy.lib.format version
                1.0, written with allow_pickle=False: only plain dtypes)

Each entry of ``chunks`` is ``{"name", "dtype", "shape", "start", "rows", "offset", "length"}``:
rows ``start .. start + rows`` (first axis) of the array ``name`` whose whole shape is ``shape``,
stored at ``offset`` (from the start of ``data``) over ``length`` bytes. An array larger than a
part is split over several parts along its first axis; every array appears in at least one chunk
(an empty one too), so the assembler learns every shape. ``crc32`` is zlib's CRC-32 of ``data``
(the sealing already authenticates the whole part; the checksum catches a writer's or reader's
bug). ``position`` is the gallery-journal position the state covers, ``shard``/``shards`` the
shard's place among the gallery's shards (an embedded gallery is shard 0 of 1).
"""

from __future__ import annotations

import io
import json
import struct
import threading
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from padron.domain.errors import PadronError

MAGIC = b"PGS1"
FORMAT = 1
_LEN = struct.Struct("<I")
#: the default size of a part (the registry's parts are sealed one by one)
PART_BYTES = 256 << 20
#: records (and the data after the header) start at multiples of this many bytes
_ALIGN = 64


class SegmentError(PadronError):
    code = "PAD-GAL-002"
    summary = (
        "A gallery segment cannot be used (unknown format, damaged, incomplete, or made by another "
        "gallery configuration): the gallery is rebuilt from the registry instead."
    )


@dataclass
class GalleryState:
    """What a gallery saves and loads: ``kind`` names the gallery class, ``meta`` holds small
    JSON-able values (its configuration signature among them), ``arrays`` the bulk."""

    kind: str
    meta: dict[str, Any]
    arrays: dict[str, npt.NDArray[Any]] = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in self.arrays.values()))


@runtime_checkable
class PersistentGallery(Protocol):
    """A gallery that gives its search form as a :class:`GalleryState` and loads one back.

    ``export_state`` is cheap (it is called while the gallery's writers wait): large arrays are
    returned as views of storage that the gallery only ever appends to or replaces, never changes
    in place, and only what changes in place (e.g. alive flags) is copied. ``load_state`` replaces
    the gallery's whole content; SegmentError when the state was made by another kind or
    configuration of gallery (``signature``)."""

    def export_state(self) -> GalleryState: ...

    def load_state(self, state: GalleryState) -> None: ...

    def signature(self) -> dict[str, Any]: ...


def encode_parts(
    state: GalleryState,
    *,
    modality: str,
    position: int,
    shard: int = 0,
    shards: int = 1,
    max_bytes: int = PART_BYTES,
) -> Iterator[bytes]:
    """The state as parts of about ``max_bytes`` (a single row larger than that is a part of its
    own), each a self-describing byte string of the layout above. An array of more than a quarter
    of ``max_bytes`` gets parts of its own (one part when it fits: the loader then uses the
    opened part's memory as the array, without a copy, and frees it with the array); smaller
    ones share parts. Records start at multiples of 64 bytes (aligned views)."""
    if max_bytes < 1:
        raise ValueError("max_bytes must be positive")
    plans: list[list[tuple[str, int, int]]] = [[]]  # per part: (array name, start row, rows)
    room = max_bytes
    for name, array in state.arrays.items():
        if array.ndim == 0:
            raise ValueError(f"array {name!r} is 0-d: put scalars in meta")
        total = int(array.shape[0])
        row_bytes = max(1, array.nbytes // total) if total else 1
        big = array.nbytes > max_bytes // 4
        if big and plans[-1]:
            plans.append([])
            room = max_bytes
        if total == 0:
            plans[-1].append((name, 0, 0))
            continue
        start = 0
        while start < total:
            if room < row_bytes and plans[-1]:
                plans.append([])
                room = max_bytes
            rows = min(total - start, max(1, room // row_bytes))
            plans[-1].append((name, start, rows))
            room -= rows * row_bytes
            start += rows
        if big:
            plans.append([])
            room = max_bytes
    plans = [plan for plan in plans if plan]
    counts = {name: int(a.shape[0]) for name, a in state.arrays.items()}
    for number, plan in enumerate(plans):
        data = io.BytesIO()
        chunks = []
        for name, start, rows in plan:
            array = state.arrays[name]
            data.write(b"\0" * (-data.tell() % _ALIGN))
            offset = data.tell()
            np.lib.format.write_array(
                data, np.ascontiguousarray(array[start : start + rows]), version=(1, 0), allow_pickle=False
            )
            chunks.append(
                {
                    "name": name,
                    "dtype": array.dtype.str,
                    "shape": list(array.shape),
                    "start": start,
                    "rows": rows,
                    "offset": offset,
                    "length": data.tell() - offset,
                }
            )
        body = data.getbuffer()
        header = {
            "format": FORMAT,
            "kind": state.kind,
            "modality": modality,
            "position": int(position),
            "shard": int(shard),
            "shards": int(shards),
            "part": number,
            "parts": len(plans),
            "meta": state.meta,
            "counts": counts,
            "chunks": chunks,
            "crc32": zlib.crc32(body),
        }
        text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode("utf-8")
        text += b" " * (-(8 + len(text)) % _ALIGN)  # the data starts aligned too
        yield b"".join([MAGIC, _LEN.pack(len(text)), text, body])
        del body
        data.close()


#: an .npy version 1.0 header is at most this long (magic, length, up to 65,535 bytes of text)
_NPY_HEADER_MAX = 10 + 65535


def check_part(part: bytes | bytearray | memoryview, *, crc: bool = True) -> dict[str, Any]:
    """A part's header, its data's checksum verified (``crc``); SegmentError otherwise."""
    header = read_header(part)
    if crc and zlib.crc32(memoryview(part)[header["_data_offset"] :]) != header.get("crc32"):
        raise SegmentError("gallery segment checksum mismatch")
    return header


def read_header(part: bytes | bytearray | memoryview) -> dict[str, Any]:
    """A part's header (SegmentError when the bytes are not a part of a known format)."""
    view = memoryview(part)
    if bytes(view[:4]) != MAGIC or len(view) < 8:
        raise SegmentError("not a gallery segment (bad magic)")
    (length,) = _LEN.unpack_from(view, 4)
    if 8 + length > len(view):
        raise SegmentError("gallery segment truncated (header)")
    try:
        header = json.loads(bytes(view[8 : 8 + length]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise SegmentError("gallery segment header is not JSON") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else None
        raise SegmentError(f"gallery segment format {found!r} is not {FORMAT}", format=str(found))
    header["_data_offset"] = 8 + length
    return header


class Assembler:
    """Puts the parts of one gallery shard's state back together (in any order, from several
    threads at once: the copies run outside its lock, numpy releasing the GIL), checking that they
    belong together and that every row of every array arrives exactly once."""

    def __init__(self, *, modality: str | None = None, shard: int | None = None) -> None:
        self.modality = modality
        self.shard = shard
        self._arrays: dict[str, npt.NDArray[Any]] = {}
        self._filled: dict[str, int] = {}
        self._seen: set[int] = set()
        self._common: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def add(self, part: bytes | bytearray | memoryview, *, checked: bool = False) -> dict[str, Any]:
        """Take one part in (``checked``: its checksum was verified already, by
        :func:`check_part`); returns its header. An array held whole by a writable part (a
        ``bytearray``) becomes a view of it: the part must not be changed afterwards."""
        header = check_part(part, crc=not checked)
        view = memoryview(part)[header["_data_offset"] :]
        common = {k: header.get(k) for k in ("kind", "modality", "position", "shard", "shards", "parts")}
        common["meta"] = header.get("meta")
        common["counts"] = header.get("counts")
        number = header.get("part")
        targets = []
        with self._lock:
            if self._common is None:
                if self.modality is not None and common["modality"] != self.modality:
                    raise SegmentError(f"segment of {common['modality']!r}, expected {self.modality!r}")
                if self.shard is not None and common["shard"] != self.shard:
                    raise SegmentError(f"segment of shard {common['shard']}, expected {self.shard}")
                self._common = common
            elif common != self._common:
                raise SegmentError("gallery segment parts of different states were mixed")
            parts = int(common["parts"] or 0)
            if not isinstance(number, int) or not 0 <= number < parts or number in self._seen:
                raise SegmentError(f"gallery segment part {number!r} is out of place or repeated")
            self._seen.add(number)
            for chunk in header.get("chunks", []):
                targets.append(self._place(view, chunk))
        for destination, values in targets:  # outside the lock: other parts are copied meanwhile
            destination[...] = values
        return header

    def _place(self, data: memoryview, chunk: Mapping[str, Any]) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        """Where a chunk goes (the destination rows) and its values (a view of the part)."""
        name = chunk["name"]
        try:
            dtype = np.dtype(chunk["dtype"])
            shape = tuple(int(v) for v in chunk["shape"])
            start, rows, offset, length = (int(chunk[k]) for k in ("start", "rows", "offset", "length"))
        except (KeyError, TypeError, ValueError):
            raise SegmentError(f"gallery segment chunk {name!r} is malformed") from None
        if dtype.hasobject or not shape:
            raise SegmentError(f"gallery segment array {name!r} has an unsupported dtype or shape")
        if start < 0 or rows < 0 or start + rows > shape[0] or offset < 0 or offset + length > len(data):
            raise SegmentError(f"gallery segment chunk {name!r} lies outside its array or part")
        array = self._arrays.get(name)
        whole = start == 0 and rows == shape[0] and not data.readonly
        if array is None and not whole:
            array = self._arrays[name] = np.empty(shape, dtype=dtype)
            self._filled[name] = 0
        elif array is not None and (array.shape != shape or array.dtype != dtype or whole):
            raise SegmentError(f"gallery segment array {name!r} changes shape between parts")
        # the .npy header is short: parse it from its first bytes only (no copy of the data)
        record = io.BytesIO(bytes(data[offset : offset + min(length, _NPY_HEADER_MAX)]))
        try:
            version = np.lib.format.read_magic(record)
            if version != (1, 0):
                raise ValueError(f"npy version {version}")
            rshape, fortran, rdtype = np.lib.format.read_array_header_1_0(record)
        except ValueError as error:
            raise SegmentError(f"gallery segment chunk {name!r} is not an npy record: {error}") from None
        if fortran or rdtype != dtype or tuple(rshape) != (rows, *shape[1:]):
            raise SegmentError(f"gallery segment chunk {name!r} does not match its description")
        at = record.tell()
        count = int(np.prod(rshape, dtype=np.int64))
        if at + count * dtype.itemsize != length:
            raise SegmentError(f"gallery segment chunk {name!r} has the wrong length")
        values = np.frombuffer(data, dtype=dtype, count=count, offset=offset + at).reshape(rshape)
        if whole:  # the whole array in a writable part: the part's memory becomes the array
            if name in self._arrays:
                raise SegmentError(f"gallery segment array {name!r} arrives twice")
            self._arrays[name] = values
            self._filled[name] = rows
            return values[:0], values[:0]
        assert array is not None
        self._filled[name] += rows
        return array[start : start + rows], values

    def state(self) -> tuple[GalleryState, dict[str, Any]]:
        """The assembled state and the parts' common header (kind, modality, position, shard,
        shards, meta, counts); SegmentError when a part or a row is missing."""
        if self._common is None:
            raise SegmentError("no gallery segment part was given")
        if len(self._seen) != int(self._common["parts"]):
            raise SegmentError(f"gallery segment has {len(self._seen)} of {self._common['parts']} parts")
        counts = self._common.get("counts") or {}
        if set(counts) != set(self._arrays):
            raise SegmentError("gallery segment arrays are missing")
        for name, array in self._arrays.items():
            if self._filled[name] != array.shape[0] or counts[name] != array.shape[0]:
                raise SegmentError(f"gallery segment array {name!r} is incomplete")
        meta = self._common["meta"]
        state = GalleryState(kind=str(self._common["kind"]), meta=dict(meta or {}), arrays=self._arrays)
        return state, dict(self._common)


def decode_parts(parts: list[bytes], **expect: Any) -> tuple[GalleryState, dict[str, Any]]:
    """:class:`Assembler` over a list of parts (tests, small galleries)."""
    assembler = Assembler(**expect)
    for part in parts:
        assembler.add(part)
    return assembler.state()


def strings_to_arrays(values: list[str | None]) -> dict[str, npt.NDArray[Any]]:
    """A list of strings (None allowed) as three arrays: UTF-8 ``blob``, ``offsets`` (len + 1)
    and ``present`` (False where the value is None)."""
    encoded = [b"" if v is None else v.encode("utf-8") for v in values]
    lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return {
        "blob": np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(),
        "offsets": offsets,
        "present": np.fromiter((v is not None for v in values), dtype=bool, count=len(values)),
    }


def arrays_to_strings(
    blob: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], present: npt.NDArray[np.bool_]
) -> list[str | None]:
    """The inverse of :func:`strings_to_arrays` (SegmentError when the arrays disagree)."""
    n = len(present)
    if len(offsets) != n + 1 or (n and (offsets[0] != 0 or offsets[-1] != len(blob))):
        raise SegmentError("gallery segment strings are malformed")
    if n and np.any(np.diff(offsets) < 0):
        raise SegmentError("gallery segment strings are malformed")
    data = blob.tobytes()
    bounds = offsets.tolist()
    flags = present.tolist()
    try:
        return [data[bounds[i] : bounds[i + 1]].decode("utf-8") if flags[i] else None for i in range(n)]
    except UnicodeDecodeError:
        raise SegmentError("gallery segment strings are not UTF-8") from None
