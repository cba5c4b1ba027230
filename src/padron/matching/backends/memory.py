"""In-process galleries, the embedded default.

* :class:`VectorGallery` -- fixed-length, L2-normalized vectors (faces) compared by inner
  product. Exact numpy scan up to ``shortlist_threshold`` subjects. Above it, a quantized scan:
  each vector is also kept as a 256-bit SimHash code (signs of 256 fixed random projections; the
  Hamming distance of two codes estimates the angle between the vectors), FAISS's binary flat
  index scans the codes (32 bytes per template instead of 512) for a shortlist, and the shortlist
  is re-ranked exactly with the float32 vectors, so every returned score is exact. No index is
  trained or built: start-up and removal stay cheap. If removed templates crowd the shortlist,
  the search falls back to the exact scan.
* :class:`TemplateGallery` -- any :class:`~padron.matching.gallery.Matcher` (fingerprints):
  the probe is prepared once per slot and scored against every candidate of that slot in one
  vectorized call; subject score = sum of the best score per compared slot.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from padron.domain.template import Modality, Template
from padron.matching.gallery import FACE_SLOT, Candidate, GalleryError, Matcher, rank

F32 = npt.NDArray[np.float32]


def payload_vector(template: Template) -> F32:
    """A vector template's payload as float32 (little-endian), the face template layout."""
    return np.frombuffer(template.payload, dtype="<f4").astype(np.float32)


class VectorGallery:
    """Exact (and, when large, HNSW-accelerated) inner-product search over normalized vectors."""

    def __init__(
        self,
        *,
        modality: Modality = Modality.FACE,
        slot: str = FACE_SLOT,
        dim: int = 128,
        decode: Callable[[Template], F32] = payload_vector,
        shortlist_threshold: int = 20_000,
        shortlist: int = 1024,
        code_bits: int = 256,
    ) -> None:
        self.modality = modality
        self.slot = slot
        self.dim = dim
        self._decode = decode
        self.shortlist_threshold = shortlist_threshold
        self.shortlist = shortlist
        # fixed seed: every process and shard computes the same codes
        self._projection = np.random.default_rng(20261129).normal(size=(dim, code_bits)).astype(np.float32)
        self._vectors = np.zeros((1024, dim), dtype=np.float32)
        self._alive = np.zeros(1024, dtype=bool)
        self._row_ref: list[str] = []
        self._ref_rows: dict[str, list[int]] = {}
        self._dead = 0
        self._max_per_ref = 1
        self._codes: Any = None  # faiss.IndexBinaryFlat over every row, once above the threshold

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
        self._index_rows(vectors)

    def bulk_load(self, refs: Sequence[str], vectors: F32) -> None:
        """Load many subjects at once, one vector per entry of ``refs`` (start-up, benchmarks)."""
        vectors = np.asarray(vectors, dtype=np.float32)
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
        self._index_rows(vectors)

    def remove(self, ref: str) -> None:
        rows = self._ref_rows.pop(ref, None)
        if not rows:
            return
        self._alive[rows] = False
        self._dead += len(rows)
        if self._dead > 1024 and self._dead > len(self._row_ref) // 4:
            self._compact()

    # --- search ---------------------------------------------------------------------------------

    def search(self, probe: Mapping[str, Template], k: int) -> list[Candidate]:
        if self.slot not in probe:
            return []
        query = self._decode(probe[self.slot]).reshape(1, -1)
        return self.search_vectors(query, k)[0]

    def search_vectors(self, queries: F32, k: int) -> list[list[Candidate]]:
        """Search several decoded probes at once (batched identification, benchmarks)."""
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        if not self._ref_rows or k <= 0:
            return [[] for _ in queries]
        if self._codes is not None:
            results = self._search_shortlist(queries, k)
            if results is not None:
                return results
        return self._search_exact(queries, k)

    def _search_exact(self, queries: F32, k: int) -> list[list[Candidate]]:
        n = len(self._row_ref)
        scores = queries @ self._vectors[:n].T  # (q, n)
        scores[:, ~self._alive[:n]] = -np.inf
        # removed rows score -inf and sort last; k subjects need at most k * (templates per subject) rows
        rows_needed = min(n, k * self._max_per_ref)
        out = []
        for qi in range(len(queries)):
            row_scores = scores[qi]
            top = (
                np.argpartition(-row_scores, rows_needed - 1)[:rows_needed]
                if rows_needed < n
                else np.arange(n)
            )
            out.append(self._group(top, row_scores[top], k))
        return out

    def _search_shortlist(self, queries: F32, k: int) -> list[list[Candidate]] | None:
        n = len(self._row_ref)
        size = min(n, max(self.shortlist, k * self._max_per_ref * 4))
        import faiss

        # one probe: one thread (OpenMP workers cost more than they save on a 2 ms scan)
        threads = faiss.omp_get_max_threads()
        if len(queries) < 8:
            faiss.omp_set_num_threads(1)
        try:
            _, labels = self._codes.search(self._encode(queries), size)
        finally:
            faiss.omp_set_num_threads(threads)
        valid = labels >= 0
        labels = np.where(valid, labels, 0)
        valid &= self._alive[labels]
        take = min(size, k * self._max_per_ref)
        out: list[list[Candidate]] = []
        for start in range(0, len(queries), 64):  # 64 probes x 1,024 rows x 128 floats = 32 MiB
            rows = labels[start : start + 64]
            exact = np.einsum("qrd,qd->qr", self._vectors[rows], queries[start : start + 64])  # re-rank
            exact[~valid[start : start + 64]] = -np.inf
            top = np.argpartition(-exact, take - 1, axis=1)[:, :take] if take < size else None
            for qi in range(len(rows)):
                pick = top[qi] if top is not None else slice(None)
                candidates = self._group(rows[qi][pick], exact[qi][pick], k)
                if len(candidates) < min(k, len(self._ref_rows)):
                    return None  # the shortlist was crowded out by removed rows: answer exactly
                out.append(candidates)
        return out

    def _group(self, rows: npt.NDArray[np.int64], row_scores: F32, k: int) -> list[Candidate]:
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
        return {self.slot: float(np.max(self._vectors[rows] @ query))}

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
        self._codes = None
        self._index_rows(self._vectors[:0])

    def _encode(self, vectors: F32) -> npt.NDArray[np.uint8]:
        codes: npt.NDArray[np.uint8] = np.packbits(vectors @ self._projection > 0, axis=1)
        return codes

    def _index_rows(self, vectors: F32) -> None:
        """Keep the code index in step with the rows (labels = row numbers, dead rows included)."""
        if self._codes is not None:
            self._codes.add(self._encode(vectors))
        elif len(self._ref_rows) >= self.shortlist_threshold:
            import faiss

            self._codes = faiss.IndexBinaryFlat(self._projection.shape[1])
            n = len(self._row_ref)
            for start in range(0, n, 65536):
                self._codes.add(self._encode(self._vectors[start : min(n, start + 65536)]))


class TemplateGallery:
    """Brute-force 1:N over any matcher, slot by slot (finger positions)."""

    def __init__(self, matcher: Matcher, *, slots: Sequence[str]) -> None:
        self.matcher = matcher
        self.modality = matcher.modality
        self.slots = tuple(slots)
        self._subjects: dict[str, dict[str, list[Any]]] = {}
        self._slot_refs: dict[str, list[str]] = defaultdict(list)
        self._slot_items: dict[str, list[Any]] = defaultdict(list)
        self._slot_batch: dict[str, Any] = {}
        self._stale: set[str] = set()

    def __len__(self) -> int:
        return len(self._subjects)

    def refs(self) -> set[str]:
        return set(self._subjects)

    def add(self, ref: str, samples: Mapping[str, Sequence[Template]]) -> None:
        unknown = set(samples) - set(self.slots)
        if unknown:
            raise GalleryError(f"unknown slot(s) {sorted(unknown)}; slots are {list(self.slots)}")
        decoded: dict[str, list[Any]] = {}
        for slot, templates in samples.items():
            for t in templates:
                if t.modality != self.modality:
                    raise GalleryError(
                        f"a {t.modality.value} template cannot enter a {self.modality.value} gallery"
                    )
            if templates:
                decoded[slot] = [self.matcher.decode(t) for t in templates]
        self.remove(ref)
        if not decoded:
            return
        self._subjects[ref] = decoded
        for slot, items in decoded.items():
            self._slot_batch.pop(slot, None)
            if slot in self._stale:
                continue  # rebuilt from _subjects on the next search
            self._slot_refs[slot].extend([ref] * len(items))
            self._slot_items[slot].extend(items)

    def remove(self, ref: str) -> None:
        old = self._subjects.pop(ref, None)
        if old:
            self._stale.update(old)
            for slot in old:
                self._slot_batch.pop(slot, None)

    def search(self, probe: Mapping[str, Template], k: int) -> list[Candidate]:
        per_slot: dict[str, dict[str, float]] = {}
        for slot, template in probe.items():
            if slot not in self.slots:
                raise GalleryError(f"unknown slot {slot!r}; slots are {list(self.slots)}")
            refs, batch = self._slot(slot)
            if not refs:
                continue
            scores = np.asarray(self.matcher.prepare(template).scores(batch), dtype=np.float64)
            best: dict[str, float] = {}
            for ref, score in zip(refs, scores.tolist(), strict=True):
                if score > best.get(ref, -np.inf):
                    best[ref] = score
            per_slot[slot] = best
        totals: dict[str, float] = defaultdict(float)
        for best in per_slot.values():
            for ref, score in best.items():
                totals[ref] += score
        return [
            Candidate(ref, totals[ref], {s: b[ref] for s, b in per_slot.items() if ref in b})
            for ref in rank(totals, k)
        ]

    def score(self, ref: str, probe: Mapping[str, Template]) -> dict[str, float]:
        subject = self._subjects.get(ref, {})
        out = {}
        for slot, template in probe.items():
            items = subject.get(slot)
            if items:
                scores = self.matcher.prepare(template).scores(self.matcher.batch(items))
                out[slot] = float(np.max(scores))
        return out

    def _slot(self, slot: str) -> tuple[list[str], Any]:
        """The slot's subject refs and its packed candidate batch (rebuilt after changes)."""
        if slot in self._stale:
            refs: list[str] = []
            items: list[Any] = []
            for ref, slots in self._subjects.items():
                for item in slots.get(slot, ()):
                    refs.append(ref)
                    items.append(item)
            self._slot_refs[slot], self._slot_items[slot] = refs, items
            self._stale.discard(slot)
        if slot not in self._slot_batch and self._slot_items[slot]:
            self._slot_batch[slot] = self.matcher.batch(self._slot_items[slot])
        return self._slot_refs[slot], self._slot_batch.get(slot)
