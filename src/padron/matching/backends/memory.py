"""In-process galleries, the embedded default.

* :class:`VectorGallery` -- fixed-length, L2-normalized vectors (faces) compared by inner
  product, exactly at every size: one BLAS product of the probes with every row (in blocks of
  probes), a top-k selection that partitions only the rows at or above the k-th best group
  maximum, and the chosen rows' scores recomputed the same way whatever the gallery's history.
  Nothing is trained or built: start-up and removal stay cheap. (A SimHash shortlist was used
  before; on real face templates, which share a dominant direction, its rank 1 disagreed with
  exact search for a quarter of the probes -- see the README's face search figures.)
* :class:`TemplateGallery` -- any :class:`~padron.matching.gallery.Matcher` (fingerprints):
  the probe is prepared once per slot and scored against every candidate of that slot in one
  vectorized call; subject score = sum of the best score per compared slot.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any, Protocol, cast, runtime_checkable

import numpy as np
import numpy.typing as npt

from padron.domain.template import Modality, Template
from padron.matching.backends.bf16 import Bf16Scan, hardware_bf16
from padron.matching.finger_index import CylinderHasher, CylinderIndex, IndexParameters, _ranges
from padron.matching.gallery import FACE_SLOT, Candidate, GalleryError, Matcher, PackingMatcher, rank
from padron.matching.segments import GalleryState, SegmentError, arrays_to_strings, strings_to_arrays

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


def _dots(rows: F32, query: F32) -> F32:
    """Inner products of each row with ``query``, computed the same way wherever the rows lie in
    memory and however many there are (elementwise products, then numpy's pairwise sum per row):
    a BLAS product's last bits depend on the matrix's size and alignment, so the scores a gallery
    returns would depend on its history (rows added, removed, reloaded, sharded). BLAS still
    chooses the candidates; their returned scores come from here."""
    out: F32 = np.add.reduce(
        np.asarray(rows, dtype=np.float32) * np.asarray(query, dtype=np.float32), axis=-1
    )
    return out


def payload_vector(template: Template) -> F32:
    """A vector template's payload as float32 (little-endian), the face template layout."""
    return np.frombuffer(template.payload, dtype="<f4").astype(np.float32)


#: the most removed rows FAISS's scan steps over (it fetches this many more rows); beyond, numpy scans
_FAISS_DEAD_MARGIN = 256

#: the layout of a saved face gallery (2: rows only; 1 also kept SimHash codes, refused now)
_STATE_LAYOUT = 2


class VectorGallery:
    """Exact inner-product search over normalized vectors: a BLAS scan of every row, a grouped top-k
    selection, and the candidates' scores recomputed by :func:`_dots`."""

    #: searches only read the arrays: threads may search at once
    parallel_reads = True

    def __init__(
        self,
        *,
        modality: Modality = Modality.FACE,
        slot: str = FACE_SLOT,
        dim: int = 128,
        decode: Callable[[Template], F32] = payload_vector,
        faiss_threshold: int = 20_000,
        scan_block: int = 1 << 25,
        groups: int = 1024,
        bf16: bool | None = None,
    ) -> None:
        """``faiss_threshold``: from this many rows on, FAISS's exhaustive inner-product scan
        (``faiss.knn``: tiled BLAS with a heap per probe, reading the rows in place) finds the top
        rows; below it, numpy does. ``scan_block``: the most scores numpy holds at once (probes x
        rows; 2**25 float32 = 128 MiB); ``groups``: numpy's rows are cut into this many groups for
        the top-k selection. ``bf16``: from ``faiss_threshold`` rows on, scan a centred bfloat16
        copy of the rows on the CPU's matrix units and re-score a certified shortlist exactly
        (:mod:`padron.matching.backends.bf16`; None: where the CPU multiplies bfloat16 natively,
        AMX or AVX512-BF16; a probe whose certificate fails is answered by FAISS)."""
        if scan_block < 1 or groups < 1 or faiss_threshold < 0:
            raise GalleryError("faiss_threshold, scan_block and groups must be positive")
        self.faiss_threshold = faiss_threshold
        self.modality = modality
        self.slot = slot
        self.dim = dim
        self._decode = decode
        self.scan_block = scan_block
        self.groups = groups
        self._vectors = np.zeros((1024, dim), dtype=np.float32)
        self._alive = np.zeros(1024, dtype=bool)
        self._row_ref: list[str] = []
        self._ref_rows: dict[str, list[int]] = {}
        self._dead = 0
        self._dead_rows: npt.NDArray[np.intp] | None = None  # cached np.flatnonzero(~alive)
        self._max_per_ref = 1
        self._bf16_wanted = bf16
        self._bf16: Bf16Scan | None = None  # built by a large bulk load, reload or search
        self._bf16_lock = threading.Lock()
        self.bf16_fallbacks = 0  # probes whose bfloat16 certificate failed (answered by FAISS)

    # --- content --------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._ref_rows)

    def refs(self) -> set[str]:
        return set(self._ref_rows)

    def add(self, ref: str, samples: Mapping[str, Sequence[Template]]) -> None:
        vectors = self._vectors_of(samples)
        self.remove(ref)
        if len(vectors) == 0:
            return
        self.add_vectors(ref, vectors)

    def add_vectors(self, ref: str, vectors: F32) -> None:
        """Add already-decoded vectors (bulk loading, benchmarks)."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if vectors.shape[1] != self.dim:
            raise GalleryError(f"expected {self.dim}-d vectors, got {vectors.shape[1]}-d")
        start = len(self._row_ref)
        self._grow(start + len(vectors))
        self._vectors[start : start + len(vectors)] = vectors
        self._alive[start : start + len(vectors)] = True
        self._row_ref.extend([ref] * len(vectors))
        self._ref_rows.setdefault(ref, []).extend(range(start, start + len(vectors)))
        self._max_per_ref = max(self._max_per_ref, len(self._ref_rows[ref]))

    def bulk_load(self, refs: Sequence[str], vectors: F32) -> None:
        """Load many subjects at once, one vector per entry of ``refs`` (start-up, benchmarks)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim or len(vectors) != len(refs):
            raise GalleryError(f"expected {len(refs)} {self.dim}-d vectors, got shape {vectors.shape}")
        for ref in set(refs) & self._ref_rows.keys():
            self.remove(ref)  # may compact: rows are numbered only after this
        start = len(self._row_ref)
        self._grow(start + len(vectors))
        self._vectors[start : start + len(vectors)] = vectors
        self._alive[start : start + len(vectors)] = True
        for i, ref in enumerate(refs):
            rows = self._ref_rows.setdefault(ref, [])
            rows.append(start + i)
            self._max_per_ref = max(self._max_per_ref, len(rows))
        self._row_ref.extend(refs)
        self._prepare_large()

    def remove(self, ref: str) -> None:
        rows = self._ref_rows.pop(ref, None)
        if not rows:
            return
        self._alive[rows] = False
        self._dead += len(rows)
        self._dead_rows = None
        if self._dead > 1024 and self._dead > len(self._row_ref) // 4:
            self._compact()

    # --- search ---------------------------------------------------------------------------------

    def search(self, probe: Mapping[str, Template], k: int) -> list[Candidate]:
        if self.slot not in probe:
            return []
        query = self._decode(probe[self.slot]).reshape(1, -1)
        return self.search_vectors(query, k)[0]

    def search_vectors(self, queries: F32, k: int) -> list[list[Candidate]]:
        """Search several decoded probes at once (batched identification, benchmarks). Exact: the
        answer is exhaustive search's, whatever the gallery's size."""
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        if not self._ref_rows or k <= 0:
            return [[] for _ in queries]
        n = len(self._row_ref)
        # removed rows score -inf and sort last; k subjects need at most k * (templates per subject) rows
        needed = min(n, k * self._max_per_ref)
        if n >= self.faiss_threshold:
            if self._uses_bf16():
                return self._search_bf16(queries, k, needed)
            return self._search_faiss(queries, k, needed)
        return self._search_numpy(queries, k, needed)

    def _uses_bf16(self) -> bool:
        if self._bf16_wanted is None:
            self._bf16_wanted = hardware_bf16()
        return self._bf16_wanted

    def _prepare_large(self) -> None:
        """After a bulk load or a reload: build (or extend) the bfloat16 copy now, as part of the
        start-up, rather than in the first search's time."""
        if len(self._row_ref) >= self.faiss_threshold and self._uses_bf16():
            self._bf16_scan()

    def _bf16_scan(self) -> Bf16Scan:
        """The bfloat16 copy, built at the first use and extended by the rows added since; a
        compaction or reload drops it."""
        n = len(self._row_ref)
        with self._bf16_lock:
            scan = self._bf16
            if scan is None or scan.count > n:  # a copy longer than the gallery is stale
                # any fixed centre keeps the ranking; the live rows' mean makes the rows shortest
                # (estimated from up to 65,536 of them, spread over the gallery)
                live = np.flatnonzero(self._alive[:n])
                sample = live[:: max(1, len(live) // 65_536)]
                mu = (
                    self._vectors[sample].mean(axis=0, dtype=np.float64)
                    if len(sample)
                    else np.zeros(self.dim)
                )
                scan = self._bf16 = Bf16Scan(self.dim, mu.astype(np.float32))
            if scan.count < n:
                scan.extend(self._vectors[scan.count : n])
            return scan

    def _search_bf16(self, queries: F32, k: int, needed: int) -> list[list[Candidate]]:
        """The certified bfloat16 scan: each probe's shortlist holds its ``needed`` best live rows
        (checked with the exact scores), which are re-scored by :func:`_dots` and grouped; a probe
        whose check fails is answered by FAISS's exact scan."""
        scan = self._bf16_scan()
        n = scan.count
        rows = self._vectors[:n]
        block = 8192 if len(queries) >= 64 else 65_536  # few probes: fewer, larger products
        shortlists, theta, e, qmu = scan.scan(queries, needed, self._alive[:n], block=block)
        counts = np.asarray([len(c) for c in shortlists], dtype=np.int64)
        probe_of = np.repeat(np.arange(len(queries)), counts)
        cand = np.concatenate(shortlists) if len(shortlists) else np.zeros(0, np.int64)
        exact = _dots(rows[cand], queries[probe_of])
        order = np.lexsort((-exact, probe_of))  # by probe, best first
        cand, exact = cand[order], exact[order]
        starts = np.cumsum(counts) - counts
        full = counts >= needed
        kth = np.full(len(queries), -np.inf)
        kth[full] = exact[starts[full] + needed - 1]
        ok = scan.certified(theta, e, qmu, kth)
        out: list[list[Candidate]] = []
        for qi, (start, good) in enumerate(zip(starts.tolist(), ok.tolist(), strict=True)):
            top = slice(start, start + min(needed, int(counts[qi])))
            out.append(self._group(cand[top], exact[top], k) if good else [])
        failed = np.flatnonzero(~ok)
        if len(failed):
            self.bf16_fallbacks += len(failed)
            for qi, result in zip(
                failed.tolist(), self._search_faiss(queries[failed], k, needed), strict=True
            ):
                out[qi] = result
        return out

    def _search_faiss(self, queries: F32, k: int, needed: int) -> list[list[Candidate]]:
        """FAISS's exact scan over every row, removed ones too: the live rows among the best
        ``needed`` + (up to 256 removed) rows are the best live rows; a probe for which removed
        rows crowd out some of the ``needed`` is answered again by numpy's scan."""
        import faiss

        n = len(self._row_ref)
        rows = self._vectors[:n]
        live = n - self._dead
        fetch = min(n, needed + min(self._dead, _FAISS_DEAD_MARGIN))
        threads = faiss.omp_get_max_threads()
        if len(queries) < 8:  # a few probes: one thread (OpenMP workers cost more than they save)
            faiss.omp_set_num_threads(1)
        try:
            _, labels = faiss.knn(
                np.ascontiguousarray(queries), rows, fetch, metric=faiss.METRIC_INNER_PRODUCT
            )
        finally:
            faiss.omp_set_num_threads(threads)
        out: list[list[Candidate]] = []
        for qi, top in enumerate(labels):
            top = top[top >= 0]
            top = top[self._alive[top]][:needed]
            if len(top) < min(needed, live):  # crowded out by removed rows
                out.extend(self._search_numpy(queries[qi : qi + 1], k, needed))
            else:
                out.append(self._group(top, _dots(rows[top], queries[qi]), k))
        return out

    def _search_numpy(self, queries: F32, k: int, needed: int) -> list[list[Candidate]]:
        n = len(self._row_ref)
        dead = self._dead_index()
        block = max(1, min(len(queries), self.scan_block // n))
        rows = self._vectors[:n]
        out: list[list[Candidate]] = []
        for start in range(0, len(queries), block):
            chunk = queries[start : start + block]
            scores = chunk @ rows.T  # (probes, rows): BLAS
            if len(dead):
                scores[:, dead] = -np.inf
            for qi, top in enumerate(self._top_rows(scores, needed)):
                chosen = scores[qi, top]
                exact = np.where(chosen == -np.inf, -np.inf, _dots(rows[top], chunk[qi]))
                out.append(self._group(top, exact, k))
        return out

    def describe(self) -> dict[str, Any]:
        """How the gallery searches (benchmarks print it)."""
        n = len(self._row_ref)
        if n < self.faiss_threshold:
            scan = "numpy"
        elif self._uses_bf16():
            scan = "certified bfloat16 matmul (torch/oneDNN) + exact float32 re-score"
        else:
            scan = "faiss.knn inner product"
        out: dict[str, Any] = {
            "scan": scan,
            "exact": True,
            "rows": n,
            "removed_rows": self._dead,
            "faiss_threshold": self.faiss_threshold,
            "float32_bytes": int(n * self.dim * 4),
        }
        if self._bf16 is not None:
            out["bfloat16_bytes"] = self._bf16.count * self.dim * 2
            out["bfloat16_fallback_probes"] = self.bf16_fallbacks
        return out

    def _top_rows(self, scores: F32, needed: int) -> list[npt.NDArray[np.intp]]:
        """Each probe's ``needed`` highest-scoring rows (any order). With the rows cut into groups,
        the ``needed``-th highest group maximum is a score at least ``needed`` rows reach, so every
        one of the top rows scores at least that much: only the rows at or above it (a few times
        ``needed``) are partitioned, not all of them."""
        b, n = scores.shape
        if needed >= n:
            return [np.arange(n) for _ in range(b)]
        groups = self.groups
        width = n // groups
        if groups < 4 * needed or width < 4:  # grouping would not pay: one partition of every row
            return list(np.argpartition(-scores, needed - 1, axis=1)[:, :needed])
        maxima = scores[:, : groups * width].reshape(b, groups, width).max(axis=2)
        floor = np.partition(maxima, groups - needed, axis=1)[:, groups - needed]
        probe_of, rows = np.nonzero(scores >= floor[:, None])
        bounds = np.searchsorted(probe_of, np.arange(b + 1))
        out = []
        for qi in range(b):
            candidates = rows[bounds[qi] : bounds[qi + 1]]
            if len(candidates) > needed:
                candidates = candidates[np.argpartition(-scores[qi, candidates], needed - 1)[:needed]]
            out.append(candidates)
        return out

    def _group(self, rows: npt.NDArray[np.intp], row_scores: F32, k: int) -> list[Candidate]:
        best: dict[str, float] = {}
        for row, score in zip(rows.tolist(), row_scores.tolist(), strict=True):
            if score == -np.inf:
                continue
            ref = self._row_ref[row]
            if score > best.get(ref, -np.inf):
                best[ref] = score
        return [Candidate(ref, best[ref], {self.slot: best[ref]}) for ref in rank(best, k)]

    def score(self, ref: str, probe: Mapping[str, Template]) -> dict[str, float]:
        rows = self._ref_rows.get(ref)
        if not rows or self.slot not in probe:
            return {}
        query = self._decode(probe[self.slot])
        return {self.slot: float(np.max(_dots(self._vectors[rows], query)))}

    # --- saved state (segments) -------------------------------------------------------------------

    def signature(self) -> dict[str, Any]:
        """What a saved state depends on: the vectors' size and the state's layout (a layout-1 state,
        which also held SimHash codes, is refused)."""
        return {
            "kind": "vector-gallery",
            "modality": self.modality.value,
            "slot": self.slot,
            "dim": self.dim,
            "layout": _STATE_LAYOUT,
        }

    def export_state(self) -> GalleryState:
        """The rows' vectors, alive flags and refs."""
        n = len(self._row_ref)
        arrays: dict[str, npt.NDArray[Any]] = {
            "vectors": self._vectors[:n],  # rows below n are never written again
            "alive": self._alive[:n].copy(),
            **{f"refs/{k}": v for k, v in strings_to_arrays(list(self._row_ref)).items()},
        }
        meta = {"signature": self.signature(), "max_per_ref": self._max_per_ref}
        return GalleryState(kind="vector-gallery", meta=meta, arrays=arrays)

    def load_state(self, state: GalleryState) -> None:
        if state.kind != "vector-gallery" or state.meta.get("signature") != self.signature():
            raise SegmentError(
                "the saved face gallery was made with another configuration",
                saved=state.meta.get("signature"),
                expected=self.signature(),
            )
        a = state.arrays
        try:
            vectors, alive = a["vectors"], a["alive"]
            refs = arrays_to_strings(a["refs/blob"], a["refs/offsets"], a["refs/present"])
        except KeyError as missing:
            raise SegmentError(f"saved face gallery lacks the array {missing}") from None
        n = len(refs)
        if vectors.dtype != np.float32 or vectors.shape != (n, self.dim) or alive.shape != (n,):
            raise SegmentError("saved face gallery's arrays do not match its rows")
        if any(r is None for r in refs):
            raise SegmentError("saved face gallery has rows without a ref")
        ref_rows: dict[str, list[int]] = {}
        for row in np.flatnonzero(alive).tolist():
            ref_rows.setdefault(cast(str, refs[row]), []).append(row)
        capacity = max(1024, n + n // 16)
        self._vectors = _grown(vectors, capacity, 1024)
        self._alive = _grown(alive, capacity, 1024)
        self._row_ref = cast(list[str], refs)
        self._ref_rows = ref_rows
        self._dead = int(n - alive.sum())
        self._dead_rows = None
        self._max_per_ref = int(state.meta.get("max_per_ref", 1))
        self._bf16 = None
        self._prepare_large()

    # --- internals ------------------------------------------------------------------------------

    def _vectors_of(self, samples: Mapping[str, Sequence[Template]]) -> F32:
        unknown = set(samples) - {self.slot}
        if unknown:
            raise GalleryError(f"a {self.modality.value} gallery has no slot(s) {sorted(unknown)}")
        templates = samples.get(self.slot, ())
        for t in templates:
            if t.modality != self.modality:
                raise GalleryError(
                    f"a {t.modality.value} template cannot enter a {self.modality.value} gallery"
                )
        if not templates:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._decode(t) for t in templates]).astype(np.float32)

    def _dead_index(self) -> npt.NDArray[np.intp]:
        n = len(self._row_ref)
        if self._dead_rows is None or (len(self._dead_rows) and self._dead_rows[-1] >= n):
            self._dead_rows = np.flatnonzero(~self._alive[:n]) if self._dead else np.zeros(0, np.intp)
        return self._dead_rows

    def _grow(self, needed: int) -> None:
        capacity = len(self._vectors)
        if needed <= capacity:
            return
        while capacity < needed:
            capacity *= 2
        vectors = np.zeros((capacity, self.dim), dtype=np.float32)
        vectors[: len(self._vectors)] = self._vectors
        alive = np.zeros(capacity, dtype=bool)
        alive[: len(self._alive)] = self._alive
        self._vectors, self._alive = vectors, alive

    def _compact(self) -> None:
        n = len(self._row_ref)
        keep = np.flatnonzero(self._alive[:n])
        vectors = self._vectors[keep].copy()
        refs = [self._row_ref[i] for i in keep.tolist()]
        self._vectors = np.zeros((max(1024, len(keep) * 2), self.dim), dtype=np.float32)
        self._alive = np.zeros(len(self._vectors), dtype=bool)
        self._vectors[: len(keep)] = vectors
        self._alive[: len(keep)] = True
        self._row_ref = refs
        self._ref_rows = {}
        for row, ref in enumerate(refs):
            self._ref_rows.setdefault(ref, []).append(row)
        self._dead = 0
        self._dead_rows = None
        self._bf16 = None  # rows renumbered


@runtime_checkable
class IndexableMatcher(Protocol):
    """A matcher whose decoded templates expose MCC cylinder bits (the fingerprint matcher)."""

    cylinder_size: int

    def cylinder_bits(self, decoded: Any) -> npt.NDArray[np.bool_]: ...


Fields = dict[str, npt.NDArray[Any]]


class _PackedCodec:
    """A :class:`~padron.matching.gallery.PackingMatcher`'s own fields (fingerprints: the valid
    cylinders' packed bits and masks, the minutiae's x, y and angle code)."""

    extends = True

    def __init__(self, matcher: PackingMatcher) -> None:
        self.matcher = matcher
        self.fields: dict[str, tuple[np.dtype[Any], tuple[int, ...]]] = {
            name: (np.dtype(d), tuple(s)) for name, (d, s) in matcher.packed_fields.items()
        }

    def pack(self, template: Template, decoded: Any) -> Fields:
        return self.matcher.pack(decoded)

    def batch(self, fields: Fields, counts: npt.NDArray[np.int64], *, once: bool) -> Any:
        return self.matcher.batch_packed(fields, counts, once=once)

    def extend(self, batch: Any, fields: Fields, counts: npt.NDArray[np.int64]) -> Any:
        return self.matcher.extend_packed(batch, fields, counts)

    def signature(self) -> dict[str, Any]:
        return {"codec": "packed", "matcher": self.matcher.packed_signature()}


class _EnvelopeCodec:
    """Any other matcher: the template's serialized envelope, one item per byte, decoded when
    scored."""

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher
        self.fields: dict[str, tuple[np.dtype[Any], tuple[int, ...]]] = {"envelope": (np.dtype(np.uint8), ())}
        self.extends = getattr(matcher, "extend", None) is not None

    def pack(self, template: Template, decoded: Any) -> Fields:
        return {"envelope": np.frombuffer(template.to_bytes(), dtype=np.uint8)}

    def _decoded(self, fields: Fields, counts: npt.NDArray[np.int64]) -> list[Any]:
        data = fields["envelope"]
        ends = np.cumsum(counts).tolist()
        starts = [0, *ends[:-1]]
        return [
            self.matcher.decode(Template.from_bytes(data[s:e].tobytes()))
            for s, e in zip(starts, ends, strict=True)
        ]

    def batch(self, fields: Fields, counts: npt.NDArray[np.int64], *, once: bool) -> Any:
        make = getattr(self.matcher, "batch_once", self.matcher.batch) if once else self.matcher.batch
        return make(self._decoded(fields, counts))

    def extend(self, batch: Any, fields: Fields, counts: npt.NDArray[np.int64]) -> Any:
        return cast(Any, self.matcher).extend(batch, self._decoded(fields, counts))

    def signature(self) -> dict[str, Any]:
        kind = type(self.matcher)
        return {"codec": "envelope", "matcher": f"{kind.__module__}.{kind.__qualname__}"}


def _capacity(needed: int, current: int, floor: int) -> int:
    """Room for ``needed``: a quarter more than now (not double: the big arrays are most of the
    gallery's memory), at least ``floor``."""
    return max(needed, current + current // 4, floor)


def _grown(array: npt.NDArray[Any], needed: int, floor: int) -> npt.NDArray[Any]:
    """``array`` with room for ``needed`` entries along its first axis: itself, or a new array
    holding its entries (never changed in place: saved states may still refer to the old one)."""
    if needed <= len(array):
        return array
    out = np.zeros((_capacity(needed, len(array), floor), *array.shape[1:]), dtype=array.dtype)
    out[: len(array)] = array
    return out


class _Slot:
    """One finger position: its enrolled templates as rows, each row a run of items (valid
    cylinders) in column arrays, and the pre-selection index over the rows.

    Rows and items are only ever appended (``rows``/``items`` count them; the arrays have room
    beyond); a removed row is marked dead (``alive``) and dropped by compaction, which builds new
    arrays. So every array except ``alive``, ``first`` and ``nrows`` stays as it was below
    ``rows``/``items`` once written, which lets a saved state refer to them without copying."""

    def __init__(self, index: CylinderIndex | None, fields: dict[str, tuple[np.dtype[Any], tuple[int, ...]]]):
        self.index = index
        self.fields = fields
        self.rows = 0
        self.items = 0
        self.subject = np.zeros(0, dtype=np.int32)  # row -> subject number
        self.alive = np.zeros(0, dtype=bool)
        self.start = np.zeros(0, dtype=np.int64)  # row -> its first item
        self.count = np.zeros(0, dtype=np.int32)  # row -> its items
        #: row -> what its pre-selection votes are divided by: the square root of its items
        #: (cylinders), inf once the row is dead (its votes then count for nothing)
        self.divisor = np.zeros(0, dtype=np.float64)
        self.columns: Fields = {
            name: np.zeros((0, *shape), dtype=dtype) for name, (dtype, shape) in fields.items()
        }
        # subject number -> its first row here (-1: none) and how many rows (its templates of
        # this position: contiguous, appended together)
        self.first = np.full(0, -1, dtype=np.int64)
        self.nrows = np.zeros(0, dtype=np.int32)
        #: no subject has more than one live row here (votes scatter to subjects directly)
        self.single = True
        self.dead = 0
        # exhaustive search: the alive rows and their batch, built from the rows before
        # ``covered``; appended rows are added to it on the next search (kills rebuild it)
        self.batch: tuple[npt.NDArray[np.int64], Any] | None = None
        self.covered = 0

    def subjects(self, count: int) -> None:
        """Room for subject numbers below ``count``."""
        if count > len(self.first):
            size = _capacity(count, len(self.first), 1024)
            first = np.full(size, -1, dtype=np.int64)
            first[: len(self.first)] = self.first
            nrows = np.zeros(size, dtype=np.int32)
            nrows[: len(self.nrows)] = self.nrows
            self.first, self.nrows = first, nrows

    def append(self, sids: list[int], parts: list[Fields]) -> int:
        """Append one row per part (subject ``sids[i]``, its fields ``parts[i]``); returns the
        first new row's number. A subject's rows must come together."""
        n = len(parts)
        if not n:
            return self.rows
        counts = np.fromiter(
            (len(next(iter(p.values()))) if p else 0 for p in parts), dtype=np.int64, count=n
        )
        total = int(counts.sum())
        row0, item0 = self.rows, self.items
        self.subject = _grown(self.subject, row0 + n, 1024)
        self.alive = _grown(self.alive, row0 + n, 1024)
        self.start = _grown(self.start, row0 + n, 1024)
        self.count = _grown(self.count, row0 + n, 1024)
        self.divisor = _grown(self.divisor, row0 + n, 1024)
        self.subject[row0 : row0 + n] = sids
        self.alive[row0 : row0 + n] = True
        self.start[row0 : row0 + n] = item0 + np.cumsum(counts) - counts
        self.count[row0 : row0 + n] = counts
        self.divisor[row0 : row0 + n] = _vote_divisor(counts)
        for name, (dtype, shape) in self.fields.items():
            column = _grown(self.columns[name], item0 + total, 4096)
            if total:
                values = np.concatenate([np.asarray(p[name], dtype=dtype).reshape(-1, *shape) for p in parts])
                if len(values) != total:
                    raise GalleryError(f"packed field {name!r} has a different item count than the others")
                column[item0 : item0 + total] = values
            self.columns[name] = column
        self.rows, self.items = row0 + n, item0 + total
        sid_array = np.asarray(sids, dtype=np.int64)
        self.subjects(int(sid_array.max()) + 1)
        rows = np.arange(row0, row0 + n, dtype=np.int64)
        # first row of each subject: the first of its run (subjects come together)
        new_first = np.r_[True, sid_array[1:] != sid_array[:-1]]
        self.first[sid_array[new_first]] = rows[new_first]
        np.add.at(self.nrows, sid_array, 1)
        if self.single and int(self.nrows[sid_array].max()) > 1:
            self.single = False
        return row0

    def rows_of(self, sid: int) -> range:
        if sid >= len(self.first) or self.first[sid] < 0:
            return range(0)
        first = int(self.first[sid])
        return range(first, first + int(self.nrows[sid]))

    def rows_of_many(self, sids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The rows of these subjects, subject after subject (each subject's rows in order)."""
        sids = sids[sids < len(self.first)]
        first = self.first[sids]
        have = first >= 0
        return _ranges(first[have], self.nrows[sids][have].astype(np.int64))

    def kill(self, sid: int) -> None:
        rows = self.rows_of(sid)
        if not rows:
            return
        self.alive[rows.start : rows.stop] = False
        self.divisor[rows.start : rows.stop] = np.inf
        self.first[sid] = -1
        self.nrows[sid] = 0
        self.dead += len(rows)
        self.batch = None

    def gather(self, rows: npt.NDArray[np.int64]) -> tuple[Fields, npt.NDArray[np.int64]]:
        """These rows' fields (items one row after the other) and their item counts."""
        counts = self.count[rows].astype(np.int64)
        items = _ranges(self.start[rows], counts)
        return {name: column[items] for name, column in self.columns.items()}, counts

    def item_bytes(self) -> int:
        return int(
            sum(np.dtype(d).itemsize * int(np.prod(s, dtype=np.int64)) for d, s in self.fields.values())
        )


#: the fingers of a ten-print probe, which ``shortlist_scale`` is stated for
_TEN = 10

#: subjects decoded at a time by :meth:`TemplateGallery.add_many`
_LOAD_CHUNK = 10_000


class TemplateGallery:
    """1:N over any matcher, slot by slot (finger positions).

    Up to ``shortlist_threshold`` subjects the search is exhaustive: the probe is scored against
    every enrolled template of its slot. Above it, when the matcher exposes cylinder bits, a
    pre-selection (:mod:`padron.matching.finger_index`) votes for subjects first: per probe finger
    the rows of that finger position collect weighted hash collisions, a subject's vote is the sum
    over the probe's fingers of its best row, and only the best-voted subjects -- at least
    ``shortlist``, at least ``penetration`` of the gallery divided by the probe's finger count --
    plus as many best by relative votes (``relative_shortlist`` of that number; each finger's
    votes over its best vote, summed) and the ``slot_shortlist`` best of each finger go through
    the full matcher (a cascade: see ``_score_subjects``). Returned scores are always the full
    matcher's, so a subject found both ways has the same score.

    Templates are kept packed, column by column: with a
    :class:`~padron.matching.gallery.PackingMatcher` (fingerprints) only what the matcher reads
    of a candidate -- per valid cylinder its packed bits (48 bytes) and mask (8), the minutia's x,
    y (float32) and angle code (16 bits) -- and for any other matcher the serialized envelope.
    Candidates are unpacked for scoring: the whole gallery below the threshold (cached batch),
    only the shortlist above it. The state saves and loads as numpy arrays
    (:mod:`padron.matching.segments`).
    """

    def __init__(
        self,
        matcher: Matcher,
        *,
        slots: Sequence[str],
        shortlist_threshold: int = 2_000,
        shortlist: int = 16,
        shortlist_scale: float = 0.1,
        shortlist_growth: float = 0.5,
        penetration: float = 0.01,
        slot_shortlist: int = 4,
        relative_shortlist: float = 1.0,
        cascade_fingers: int = 3,
        cascade_keep: int = 8,
        index: IndexParameters | None = None,
    ) -> None:
        if not 0 <= shortlist_growth <= 1 or shortlist_scale < 0 or not 0 <= penetration <= 1:
            raise ValueError("shortlist_growth and penetration must be in [0, 1], shortlist_scale >= 0")
        if relative_shortlist < 0:
            raise ValueError("relative_shortlist must be >= 0 (0: none)")
        if cascade_fingers < 0 or cascade_keep < 1:
            raise ValueError("cascade_fingers must be >= 0 (0: no cascade) and cascade_keep >= 1")
        self.matcher = matcher
        self.modality = matcher.modality
        self.slots = tuple(slots)
        self.shortlist_threshold = shortlist_threshold
        self.shortlist = shortlist
        self.shortlist_scale = shortlist_scale
        self.shortlist_growth = shortlist_growth
        self.penetration = penetration
        self.slot_shortlist = slot_shortlist
        self.relative_shortlist = relative_shortlist
        self.cascade_fingers = cascade_fingers
        self.cascade_keep = cascade_keep
        self._hasher: CylinderHasher | None = None
        self._index_params = index or IndexParameters()
        if isinstance(matcher, IndexableMatcher):
            self._hasher = CylinderHasher(matcher.cylinder_size, self._index_params)
        self._codec: _PackedCodec | _EnvelopeCodec = (
            _PackedCodec(matcher) if isinstance(matcher, PackingMatcher) else _EnvelopeCodec(matcher)
        )
        self._slots: dict[str, _Slot] = {}
        self._subject_id: dict[str, int] = {}
        self._subject_ref: list[str | None] = []
        self._free_ids: list[int] = []
        #: the last search's pre-selection: subjects sent to the full matcher (None = exhaustive)
        self.last_shortlist: int | None = None
        #: subjects of the last search scored on every probe finger (None: no cascade)
        self.last_cascade: int | None = None
        #: the last indexed search's probe templates, packed and hashed: an enrollment adds the
        #: templates it has just searched with, which then are not decoded and hashed again
        self._probe_forms: dict[tuple[str, int, bytes], tuple[Fields, Any]] = {}
        self._last_sids: list[int] = []

    @property
    def indexed(self) -> bool:
        return self._hasher is not None

    @property
    def last_preselection(self) -> list[str] | None:
        """The subjects the last search sent to the full matcher (None: it was exhaustive)."""
        if self.last_shortlist is None:
            return None
        return [ref for sid in self._last_sids if (ref := self._subject_ref[sid]) is not None]

    def __len__(self) -> int:
        return len(self._subject_id)

    def refs(self) -> set[str]:
        return set(self._subject_id)

    def add(self, ref: str, samples: Mapping[str, Sequence[Template]]) -> None:
        self.add_many([(ref, samples)])

    def add_many(self, items: Sequence[tuple[str, Mapping[str, Sequence[Template]]]]) -> None:
        """Add (or replace) many subjects (start-up rebuild): templates are decoded and hashed
        :data:`_LOAD_CHUNK` subjects at a time, each chunk's index entries sorted once and merged
        into the index in linear time (not inserted one subject at a time), so a national
        gallery's load never holds more than that many decoded at once. A template that cannot
        be decoded stops the load with every subject of this call taken out again."""
        last = dict(items)  # the last of a ref wins
        refs = list(last)
        try:
            for chunk_start in range(0, len(refs), _LOAD_CHUNK):
                chunk = refs[chunk_start : chunk_start + _LOAD_CHUNK]
                self._add_checked({ref: self._check(last[ref]) for ref in chunk})
        except Exception:
            for ref in refs:
                self.remove(ref)
            raise

    def _add_checked(self, checked: dict[str, dict[str, list[tuple[Fields, Any]]]]) -> None:
        for ref in checked:
            self.remove(ref)  # may compact rows: new rows are numbered only after this
        per_slot: dict[str, tuple[list[int], list[Fields], list[Any]]] = {}
        for ref, decoded in checked.items():
            if not decoded:
                continue
            sid = self._free_ids.pop() if self._free_ids else len(self._subject_ref)
            if sid == len(self._subject_ref):
                self._subject_ref.append(ref)
            else:
                self._subject_ref[sid] = ref
            self._subject_id[ref] = sid
            for slot, pairs in decoded.items():
                sids, parts, keys = per_slot.setdefault(slot, ([], [], []))
                for fields, template_keys in pairs:
                    sids.append(sid)
                    parts.append(fields)
                    keys.append(template_keys)
        for slot, (sids, parts, keys) in per_slot.items():
            state = self._slot_state(slot)
            row0 = state.append(sids, parts)
            if state.index is None:
                continue
            rows_parts: list[npt.NDArray[np.int64]] = []
            keys_parts: list[npt.NDArray[np.uint32]] = []
            for i, template_keys in enumerate(keys):
                if template_keys is not None and len(template_keys):
                    rows_parts.append(np.full(len(template_keys), row0 + i, dtype=np.int64))
                    keys_parts.append(template_keys)
            if len(rows_parts) == 1:
                state.index.add(int(rows_parts[0][0]), keys_parts[0])
            elif rows_parts:
                state.index.add_bulk(np.concatenate(rows_parts), np.concatenate(keys_parts))

    def remove(self, ref: str) -> None:
        sid = self._subject_id.pop(ref, None)
        if sid is None:
            return
        self._subject_ref[sid] = None
        self._free_ids.append(sid)
        for slot, state in self._slots.items():
            if sid < len(state.first) and state.first[sid] >= 0:
                state.kill(sid)
                if state.dead > 1024 and state.dead > state.rows // 4:
                    self._compact(slot)

    # --- search ---------------------------------------------------------------------------------

    def search(self, probe: Mapping[str, Template], k: int) -> list[Candidate]:
        for slot in probe:
            if slot not in self.slots:
                raise GalleryError(f"unknown slot {slot!r}; slots are {list(self.slots)}")
        if k <= 0 or not self._subject_id:
            return []
        if self._hasher is None or len(self._subject_id) < self.shortlist_threshold:
            self.last_shortlist = None
            return self._search_exhaustive(probe, k)
        subjects, keys = self._preselect(probe, self.shortlist_size(len(probe), k))
        self.last_shortlist = len(subjects)
        self._last_sids = subjects
        return self._score_subjects(probe, subjects, k, keys)

    def shortlist_size(self, fingers: int, k: int) -> int:
        """Subjects chosen by fused votes for the full matcher, before each finger's extras:
        ``shortlist_scale * N ** shortlist_growth`` for a ten-finger probe (N the gallery's
        subjects), as many more for fewer fingers as keeps the full matcher's comparisons the
        same (a one-finger probe's votes are far less sharp than ten fingers'), at least
        ``shortlist`` and ``k``, at most ``penetration`` of the comparisons of a ten-finger
        exhaustive search (``penetration`` of the gallery for ten fingers). With the default growth
        of 0.5 the full matcher's work per search grows as the square root of the gallery: the
        mate of a ten-finger probe ranked within the first 18 by fused votes among 99,000
        persons (README, "Pre-selection that shrinks with the gallery")."""
        n = len(self._subject_id)
        per_finger = _TEN / max(1, min(fingers, _TEN))
        grown = int(np.ceil(self.shortlist_scale * n**self.shortlist_growth * per_finger))
        return max(k, self.shortlist, min(grown, int(np.ceil(self.penetration * n * per_finger))))

    def _search_exhaustive(self, probe: Mapping[str, Template], k: int) -> list[Candidate]:
        per_slot: dict[str, dict[str, float]] = {}
        for slot, template in probe.items():
            state = self._slots.get(slot)
            if state is None or not state.alive[: state.rows].any():
                continue
            if state.batch is None or state.covered < state.rows:
                self._refresh_batch(state)
            assert state.batch is not None
            live, batch = state.batch
            scores = np.asarray(self.matcher.prepare(template).scores(batch), dtype=np.float64)
            per_slot[slot] = self._best(state, live, scores)
        return self._ranked(per_slot, k)

    def _refresh_batch(self, state: _Slot) -> None:
        """Bring the slot's exhaustive batch up to date: rows appended since it was built are added
        to it when the matcher can extend a batch (the old candidates are not unpacked again),
        otherwise, and after removals, it is rebuilt from every alive row."""
        old = state.batch if self._codec.extends else None
        start = state.covered if old is not None else 0
        new = np.flatnonzero(state.alive[start : state.rows]) + start
        fields, counts = state.gather(new)
        if old is not None:
            state.batch = (np.concatenate([old[0], new]), self._codec.extend(old[1], fields, counts))
        else:
            state.batch = (new, self._codec.batch(fields, counts, once=False))
        state.covered = state.rows

    def preselect(self, probe: Mapping[str, Template], size: int) -> list[str]:
        """The pre-selection alone: the ``size`` best-voted subjects, best first (benchmarks)."""
        return [cast(str, self._subject_ref[sid]) for sid in self._preselect(probe, size, extra=False)[0]]

    def _preselect(
        self, probe: Mapping[str, Template], size: int, *, extra: bool = True
    ) -> tuple[list[int], dict[str, int]]:
        """Subject numbers to score fully: the ``size`` best-voted over all probe fingers (votes
        summed over fingers, each finger's vote being the subject's best row), then, with
        ``extra``, each finger's best-voted not already chosen: ``slot_shortlist`` split over the
        probe's fingers (a one-finger probe's own best matter more than one of ten's). Also the
        number of index keys of each probe finger (its indexable cylinders times the bands).
        With ``extra`` and ``relative_shortlist``, also that share of ``size`` best by relative
        votes (each finger's votes over its best vote, summed): a second ordering of the same
        votes, in which a finger that collides with everyone's prints weighs no more than one
        that collides with few (README, "Pre-selection that shrinks with the gallery"). Both
        orderings agree for a one-finger probe; for more fingers the shortlist may hold up to
        ``(1 + relative_shortlist) * size`` persons plus the fingers' own best."""
        relative = int(np.ceil(self.relative_shortlist * size)) if extra else 0
        fused, per_finger, keys = self._votes(probe, extra=extra, relative=relative)
        chosen = _top(fused, size)
        seen = set(chosen)
        for top in per_finger:
            for sid in top:
                if sid not in seen:
                    seen.add(sid)
                    chosen.append(sid)
        return [sid for sid in chosen if self._subject_ref[sid] is not None], keys

    def _votes(
        self, probe: Mapping[str, Template], *, extra: bool, relative: int = 0
    ) -> tuple[F64, list[list[int]], dict[str, int]]:
        """Every subject's fused vote (summed over the probe's fingers, each finger's vote the
        subject's best row of that position), with ``extra`` each finger's best-voted (and, last,
        the ``relative`` best by relative votes), and each probe finger's number of keys."""
        if self._hasher is None:
            raise GalleryError("this gallery's matcher has no cylinder bits to index")
        fused = np.zeros(len(self._subject_ref), dtype=np.float64)
        shares = np.zeros(len(self._subject_ref), dtype=np.float64) if relative else None
        per_finger: list[list[int]] = []
        key_counts: dict[str, int] = {}
        forms: dict[tuple[str, int, bytes], tuple[Fields, Any]] = {}
        self._probe_forms = forms
        each = -(-self.slot_shortlist // max(1, len(probe)))
        for slot, template in probe.items():
            state = self._slots.get(slot)
            if state is None or state.index is None or not state.rows:
                continue
            decoded = self.matcher.decode(template)
            keys = self._hasher.keys(cast(IndexableMatcher, self.matcher).cylinder_bits(decoded))
            forms[_form_key(template)] = (self._codec.pack(template, decoded), keys)
            key_counts[slot] = len(keys)
            # a row's votes over the square root of its cylinders: prints with many minutiae
            # collect chance collisions in proportion (README, "Pre-selection that shrinks ...")
            if state.single:  # at most one live row per subject (the usual case): votes per subject
                best = state.index.divided_group_votes(
                    keys, state.rows, state.subject, state.divisor, len(self._subject_ref)
                )
            else:
                votes = state.index.votes(keys, state.rows) / state.divisor[: state.rows]
                best = np.zeros(len(self._subject_ref), dtype=np.float64)
                np.maximum.at(best, state.subject[: state.rows], votes)
            fused += best
            if extra and each:
                per_finger.append(_top(best, each))
            if shares is not None and (top := float(best.max(initial=0.0))) > 0:
                shares += best / top
        if shares is not None:
            per_finger.append(_top(shares, relative))
        return fused, per_finger, key_counts

    def _score_subjects(
        self, probe: Mapping[str, Template], subjects: list[int], k: int, keys: Mapping[str, int]
    ) -> list[Candidate]:
        """The full matcher on the shortlist, as a cascade when the probe has more fingers than
        ``cascade_fingers`` and the shortlist more subjects than ``max(k, cascade_keep)``: every
        subject is first scored on the ``cascade_fingers`` probe fingers with the most index keys
        (the most indexable cylinders), and only the ``max(k, cascade_keep)`` best by that partial
        sum are scored on the other fingers. A mate's few fingers already outscore the best-voted
        impostors' (README, "Pre-selection that shrinks with the gallery"); the impostors are
        not scored on the rest. Only subjects scored on every finger are returned, with the
        scores an exhaustive search gives them."""
        slots = [slot for slot in probe if slot in self._slots]
        prepared = {slot: self.matcher.prepare(probe[slot]) for slot in slots}
        keep = max(k, self.cascade_keep)
        sids = np.asarray(subjects, dtype=np.int64)
        if not 0 < self.cascade_fingers < len(slots) or len(subjects) <= keep:
            self.last_cascade = None
            return self._ranked({s: self._scored(s, prepared[s], sids) for s in slots}, k)
        ordered = sorted(slots, key=lambda slot: -keys.get(slot, 0))  # stable: probe order on ties
        first, rest = ordered[: self.cascade_fingers], ordered[self.cascade_fingers :]
        per_slot = {slot: self._scored(slot, prepared[slot], sids) for slot in first}
        partial = np.zeros(len(subjects), dtype=np.float64)
        for best in per_slot.values():
            partial += [best.get(cast(str, self._subject_ref[sid]), 0.0) for sid in subjects]
        kept = sids[_top(partial, keep)]
        self.last_cascade = len(kept)
        refs = {cast(str, self._subject_ref[sid]) for sid in kept.tolist()}
        per_slot = {slot: {r: v for r, v in best.items() if r in refs} for slot, best in per_slot.items()}
        for slot in rest:
            per_slot[slot] = self._scored(slot, prepared[slot], kept)
        return self._ranked(per_slot, k)

    def _scored(self, slot: str, prepared: Any, sids: npt.NDArray[np.int64]) -> dict[str, float]:
        """Full-matcher scores of the subjects ``sids`` (best row of each) at one finger position."""
        state = self._slots[slot]
        live = state.rows_of_many(sids)
        if not len(live):
            return {}
        fields, counts = state.gather(live)
        batch = self._codec.batch(fields, counts, once=True)
        scores = np.asarray(prepared.scores(batch), dtype=np.float64)
        return self._best(state, live, scores)

    def _best(
        self, state: _Slot, rows: npt.NDArray[np.int64], scores: npt.NDArray[np.float64]
    ) -> dict[str, float]:
        best: dict[str, float] = {}
        for sid, score in zip(state.subject[rows].tolist(), scores.tolist(), strict=True):
            ref = cast(str, self._subject_ref[sid])
            if score > best.get(ref, -np.inf):
                best[ref] = score
        return best

    @staticmethod
    def _ranked(per_slot: dict[str, dict[str, float]], k: int) -> list[Candidate]:
        totals: dict[str, float] = defaultdict(float)
        for best in per_slot.values():
            for ref, score in best.items():
                totals[ref] += score
        return [
            Candidate(ref, totals[ref], {s: b[ref] for s, b in per_slot.items() if ref in b})
            for ref in rank(totals, k)
        ]

    def score(self, ref: str, probe: Mapping[str, Template]) -> dict[str, float]:
        sid = self._subject_id.get(ref)
        if sid is None:
            return {}
        out = {}
        for slot, template in probe.items():
            state = self._slots.get(slot)
            rows = state.rows_of(sid) if state is not None else range(0)
            if state is not None and rows:
                fields, counts = state.gather(np.arange(rows.start, rows.stop, dtype=np.int64))
                batch = self._codec.batch(fields, counts, once=False)
                out[slot] = float(np.max(self.matcher.prepare(template).scores(batch)))
        return out

    def stats(self) -> dict[str, Any]:
        """Subjects, live templates and the bytes held: ``template_bytes`` the packed templates
        (live rows' items), ``index_bytes`` the pre-selection entries, ``row_bytes`` the per-row
        and per-subject arrays, ``capacity_bytes`` everything allocated (room to grow included)."""
        templates = template_bytes = row_bytes = capacity = 0
        for s in self._slots.values():
            alive = s.alive[: s.rows]
            templates += int(alive.sum())
            template_bytes += int(s.count[: s.rows][alive].sum()) * s.item_bytes()
            row_bytes += s.rows * (4 + 1 + 8 + 4 + 8) + len(s.first) * 12
            capacity += sum(int(c.nbytes) for c in s.columns.values())
            capacity += int(s.subject.nbytes + s.alive.nbytes + s.start.nbytes + s.count.nbytes)
            capacity += int(s.divisor.nbytes)
            capacity += int(s.first.nbytes + s.nrows.nbytes)
        index_bytes = sum(s.index.nbytes() for s in self._slots.values() if s.index is not None)
        return {
            "subjects": len(self),
            "templates": templates,
            "template_bytes": template_bytes,
            "index_bytes": index_bytes,
            "row_bytes": row_bytes,
            "capacity_bytes": capacity + index_bytes,
            "indexed_search": self.indexed and len(self) >= self.shortlist_threshold,
        }

    # --- saved state (segments) -------------------------------------------------------------------

    def signature(self) -> dict[str, Any]:
        """What a saved state depends on: the codec (the matcher's packed form), the slots and
        the pre-selection's hashing."""
        return {
            "kind": "template-gallery",
            "modality": self.modality.value,
            "slots": list(self.slots),
            "codec": self._codec.signature(),
            "index": asdict(self._index_params) if self._hasher is not None else None,
        }

    def export_state(self) -> GalleryState:
        """The gallery as arrays (see :class:`~padron.matching.segments.PersistentGallery`): per
        slot the rows' subject numbers, alive flags and item counts, the item columns and the
        index entries; the subjects' refs and the free subject numbers."""
        arrays: dict[str, npt.NDArray[Any]] = {
            f"subjects/{k}": v for k, v in strings_to_arrays(self._subject_ref).items()
        }
        arrays["subjects/free"] = np.asarray(self._free_ids, dtype=np.int64)
        for slot, state in self._slots.items():
            pre = f"slot/{slot}/"
            arrays[pre + "subject"] = state.subject[: state.rows]
            arrays[pre + "alive"] = state.alive[: state.rows].copy()  # the one array changed in place
            arrays[pre + "count"] = state.count[: state.rows]
            for name, column in state.columns.items():
                arrays[pre + "column/" + name] = column[: state.items]
            if state.index is not None:
                for name, values in state.index.export_arrays().items():
                    arrays[pre + "index/" + name] = values
        meta = {"signature": self.signature(), "slots": list(self._slots), "subjects": len(self)}
        return GalleryState(kind="template-gallery", meta=meta, arrays=arrays)

    def load_state(self, state: GalleryState) -> None:
        """Replace the content with a saved state (SegmentError when it is not one of this
        gallery's configuration, or does not hold together)."""
        if state.kind != "template-gallery" or state.meta.get("signature") != self.signature():
            raise SegmentError(
                "the saved fingerprint gallery was made with another configuration",
                saved=state.meta.get("signature"),
                expected=self.signature(),
            )
        a = state.arrays
        try:
            refs = arrays_to_strings(a["subjects/blob"], a["subjects/offsets"], a["subjects/present"])
            free = [int(v) for v in a["subjects/free"].tolist()]
            slots = {}
            for slot in state.meta["slots"]:
                if slot not in self.slots:
                    raise SegmentError(f"saved gallery has an unknown slot {slot!r}")
                slots[slot] = self._loaded_slot(slot, a, len(refs))
        except KeyError as missing:
            raise SegmentError(f"saved gallery lacks the array {missing}") from None
        subject_id = {ref: sid for sid, ref in enumerate(refs) if ref is not None}
        holes = {sid for sid, ref in enumerate(refs) if ref is None}
        if (
            len(subject_id) != sum(r is not None for r in refs)
            or set(free) != holes
            or len(free) != len(holes)
        ):
            raise SegmentError("saved gallery's subjects do not hold together")
        for slot_state in slots.values():
            live = slot_state.subject[: slot_state.rows][slot_state.alive[: slot_state.rows]]
            if len(live) and any(refs[sid] is None for sid in np.unique(live).tolist()):
                raise SegmentError("saved gallery has rows of subjects it does not hold")
        self._slots = slots
        self._subject_ref = refs
        self._subject_id = subject_id
        self._free_ids = free
        self.last_shortlist = None

    def _loaded_slot(self, slot: str, a: Mapping[str, npt.NDArray[Any]], subjects: int) -> _Slot:
        """A slot from saved arrays, which it takes over as they are (no copy: they were made for
        it; the first append after the load makes room)."""
        pre = f"slot/{slot}/"
        state = _Slot(None, self._codec.fields)
        subject, alive, count = a[pre + "subject"], a[pre + "alive"], a[pre + "count"]
        rows = len(subject)
        if (
            subject.dtype != np.int32
            or alive.dtype != bool
            or count.dtype != np.int32
            or len(alive) != rows
            or len(count) != rows
        ):
            raise SegmentError(f"saved slot {slot} has malformed row arrays")
        if rows and (int(subject.min()) < 0 or int(subject.max()) >= subjects or int(count.min()) < 0):
            raise SegmentError(f"saved slot {slot} has rows outside its subjects")
        items = int(count.sum(dtype=np.int64))
        state.subject, state.alive, state.count = subject, alive, count
        state.divisor = np.where(alive, _vote_divisor(count), np.inf)
        state.start = np.cumsum(count, dtype=np.int64) - count
        for name, (dtype, shape) in self._codec.fields.items():
            column = a[pre + "column/" + name]
            if column.dtype != dtype or column.shape[1:] != shape or len(column) != items:
                raise SegmentError(f"saved slot {slot} column {name!r} does not match its rows")
            state.columns[name] = column
        state.rows, state.items = rows, items
        state.dead = int(rows - alive.sum())
        state.subjects(subjects)
        live_rows = np.flatnonzero(alive)
        if len(live_rows):
            # a subject's rows are contiguous: the first of each run, and the run's length
            live_sids = subject[live_rows].astype(np.int64)
            order = np.lexsort((live_rows, live_sids))
            sorted_sids, sorted_rows = live_sids[order], live_rows[order]
            head = np.r_[True, sorted_sids[1:] != sorted_sids[:-1]]
            state.first[sorted_sids[head]] = sorted_rows[head]
            np.add.at(state.nrows, sorted_sids, 1)
            if np.any(sorted_rows - state.first[sorted_sids] >= state.nrows[sorted_sids]):
                raise SegmentError(f"saved slot {slot} has a subject whose rows are not together")
            state.single = int(state.nrows.max()) <= 1
        if self._hasher is not None:
            index_arrays = {
                k: a[pre + "index/" + k] for k in ("dir", "low", "rows", "tail_keys", "tail_rows")
            }
            try:
                state.index = CylinderIndex.from_arrays(self._index_params, index_arrays, rows)
            except ValueError as error:
                raise SegmentError(f"saved slot {slot} index: {error}") from None
        return state

    # --- internals ------------------------------------------------------------------------------

    def _check(self, samples: Mapping[str, Sequence[Template]]) -> dict[str, list[tuple[Fields, Any]]]:
        unknown = set(samples) - set(self.slots)
        if unknown:
            raise GalleryError(f"unknown slot(s) {sorted(unknown)}; slots are {list(self.slots)}")
        out: dict[str, list[tuple[Fields, Any]]] = {}
        for slot, templates in samples.items():
            for t in templates:
                if t.modality != self.modality:
                    raise GalleryError(
                        f"a {t.modality.value} template cannot enter a {self.modality.value} gallery"
                    )
            pairs = []
            for t in templates:
                known = self._probe_forms.pop(_form_key(t), None) if t.modality == self.modality else None
                if known is not None:  # searched with just before (and decoded then)
                    pairs.append(known)
                    continue
                decoded = self.matcher.decode(t)  # validates the template
                keys = None
                if self._hasher is not None:
                    keys = self._hasher.keys(cast(IndexableMatcher, self.matcher).cylinder_bits(decoded))
                pairs.append((self._codec.pack(t, decoded), keys))
            if pairs:
                out[slot] = pairs
        return out

    def _slot_state(self, slot: str) -> _Slot:
        state = self._slots.get(slot)
        if state is None:
            index = CylinderIndex(self._index_params) if self._hasher is not None else None
            state = self._slots[slot] = _Slot(index, self._codec.fields)
        return state

    def _compact(self, slot: str) -> None:
        state = self._slots[slot]
        n = state.rows
        keep = np.flatnonzero(state.alive[:n])
        mapping = np.full(n, -1, dtype=np.int64)
        mapping[keep] = np.arange(len(keep))
        fields, counts = state.gather(keep)
        fresh = _Slot(state.index, state.fields)
        sids = state.subject[keep]
        fresh.subject = np.array(sids, dtype=np.int32)
        fresh.alive = np.ones(len(keep), dtype=bool)
        fresh.count = counts.astype(np.int32)
        fresh.divisor = _vote_divisor(counts)
        fresh.start = np.cumsum(counts) - counts
        fresh.columns = {name: np.ascontiguousarray(values) for name, values in fields.items()}
        fresh.rows, fresh.items = len(keep), int(counts.sum())
        fresh.first = np.where(state.first >= 0, mapping[np.maximum(state.first, 0)], -1)
        fresh.nrows = state.nrows.copy()
        fresh.single = not len(fresh.nrows) or int(fresh.nrows.max()) <= 1
        if fresh.index is not None:
            fresh.index.renumber(mapping)
        self._slots[slot] = fresh


def _vote_divisor(counts: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.float64]:
    """What rows with these item counts divide their pre-selection votes by."""
    out: npt.NDArray[np.float64] = np.sqrt(np.maximum(counts, 1).astype(np.float64))
    return out


def _form_key(template: Template) -> tuple[str, int, bytes]:
    return (template.algorithm, template.version, template.payload)


def _top(values: npt.NDArray[np.float64], count: int) -> list[int]:
    """Indices of the ``count`` largest positive values, largest first (ties: lower index)."""
    positive = np.flatnonzero(values > 0)
    if len(positive) > count:
        positive = positive[np.argpartition(-values[positive], count - 1)[:count]]
    order = np.lexsort((positive, -values[positive]))
    out: list[int] = positive[order].tolist()
    return out
