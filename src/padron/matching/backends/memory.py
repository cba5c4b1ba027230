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
from typing import Any, Protocol, cast, runtime_checkable

import numpy as np
import numpy.typing as npt

from padron.domain.template import Modality, Template
from padron.matching.finger_index import CylinderHasher, CylinderIndex, IndexParameters
from padron.matching.gallery import FACE_SLOT, Candidate, GalleryError, Matcher, rank

F32 = npt.NDArray[np.float32]


def payload_vector(template: Template) -> F32:
    """A vector template's payload as float32 (little-endian), the face template layout."""
    return np.frombuffer(template.payload, dtype="<f4").astype(np.float32)


class VectorGallery:
    """Exact (and, when large, HNSW-accelerated) inner-product search over normalized vectors."""

    #: searches only read the arrays and the code index: threads may search at once
    parallel_reads = True

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


@runtime_checkable
class IndexableMatcher(Protocol):
    """A matcher whose decoded templates expose MCC cylinder bits (the fingerprint matcher)."""

    cylinder_size: int

    def cylinder_bits(self, decoded: Any) -> npt.NDArray[np.bool_]: ...


class _Slot:
    """One finger position: enrolled templates by row, with the pre-selection index."""

    def __init__(self, index: CylinderIndex | None) -> None:
        self.templates: list[Template | None] = []
        self.subject = np.zeros(1024, dtype=np.int64)  # row -> subject number
        self.alive = np.zeros(1024, dtype=bool)
        self.index = index
        self.dead = 0
        # exhaustive search: the alive rows and their packed batch, built from the rows before
        # ``covered``; appended rows are added to it on the next search (kills rebuild it)
        self.batch: tuple[npt.NDArray[np.int64], Any] | None = None
        self.covered = 0

    @property
    def rows(self) -> int:
        return len(self.templates)

    def append(self, template: Template, subject: int) -> int:
        row = len(self.templates)
        if row >= len(self.alive):
            grow = len(self.alive)
            self.subject = np.concatenate([self.subject, np.zeros(grow, dtype=np.int64)])
            self.alive = np.concatenate([self.alive, np.zeros(grow, dtype=bool)])
        self.templates.append(template)
        self.subject[row] = subject
        self.alive[row] = True
        return row

    def kill(self, rows: Sequence[int]) -> None:
        self.alive[list(rows)] = False
        for row in rows:
            self.templates[row] = None
        self.dead += len(rows)
        self.batch = None


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
    plus the ``slot_shortlist`` best of each finger go through the full matcher on every probe
    finger. Returned scores are always the full matcher's,
    so a subject found both ways has the same score.

    Templates are kept as their serialized envelopes (compact bytes) and decoded for scoring:
    the whole gallery below the threshold (cached batch), only the shortlist above it.
    """

    def __init__(
        self,
        matcher: Matcher,
        *,
        slots: Sequence[str],
        shortlist_threshold: int = 2_000,
        shortlist: int = 64,
        penetration: float = 0.01,
        slot_shortlist: int = 4,
        index: IndexParameters | None = None,
    ) -> None:
        self.matcher = matcher
        self.modality = matcher.modality
        self.slots = tuple(slots)
        self.shortlist_threshold = shortlist_threshold
        self.shortlist = shortlist
        self.penetration = penetration
        self.slot_shortlist = slot_shortlist
        self._hasher: CylinderHasher | None = None
        self._index_params = index or IndexParameters()
        if isinstance(matcher, IndexableMatcher):
            self._hasher = CylinderHasher(matcher.cylinder_size, self._index_params)
        self._slots: dict[str, _Slot] = {}
        self._subject_id: dict[str, int] = {}
        self._subject_ref: list[str | None] = []
        self._subject_rows: dict[str, dict[str, list[int]]] = {}
        self._free_ids: list[int] = []
        #: the last search's pre-selection: subjects sent to the full matcher (None = exhaustive)
        self.last_shortlist: int | None = None

    @property
    def indexed(self) -> bool:
        return self._hasher is not None

    def __len__(self) -> int:
        return len(self._subject_rows)

    def refs(self) -> set[str]:
        return set(self._subject_rows)

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

    def _add_checked(self, checked: dict[str, dict[str, list[tuple[Template, Any]]]]) -> None:
        for ref in checked:
            self.remove(ref)  # may compact rows: new rows are numbered only after this
        pending: dict[str, tuple[list[npt.NDArray[np.int64]], list[npt.NDArray[np.uint32]]]] = {}
        for ref, decoded in checked.items():
            if not decoded:
                continue
            sid = self._free_ids.pop() if self._free_ids else len(self._subject_ref)
            if sid == len(self._subject_ref):
                self._subject_ref.append(ref)
            else:
                self._subject_ref[sid] = ref
            self._subject_id[ref] = sid
            rows: dict[str, list[int]] = {}
            for slot, pairs in decoded.items():
                state = self._slot_state(slot)
                for template, keys in pairs:
                    row = state.append(template, sid)
                    rows.setdefault(slot, []).append(row)
                    if keys is not None and len(keys):
                        rows_part, keys_part = pending.setdefault(slot, ([], []))
                        rows_part.append(np.full(len(keys), row, dtype=np.int64))
                        keys_part.append(keys)
            self._subject_rows[ref] = rows
        for slot, (rows_parts, keys_parts) in pending.items():
            index = self._slots[slot].index
            if index is None:
                continue
            if len(rows_parts) == 1:
                index.add(int(rows_parts[0][0]), keys_parts[0])
            else:
                index.add_bulk(np.concatenate(rows_parts), np.concatenate(keys_parts))

    def remove(self, ref: str) -> None:
        rows = self._subject_rows.pop(ref, None)
        if rows is None:
            return
        sid = self._subject_id.pop(ref)
        self._subject_ref[sid] = None
        self._free_ids.append(sid)
        for slot, slot_rows in rows.items():
            state = self._slots[slot]
            state.kill(slot_rows)
            if state.dead > 1024 and state.dead > state.rows // 4:
                self._compact(slot)

    # --- search ---------------------------------------------------------------------------------

    def search(self, probe: Mapping[str, Template], k: int) -> list[Candidate]:
        for slot in probe:
            if slot not in self.slots:
                raise GalleryError(f"unknown slot {slot!r}; slots are {list(self.slots)}")
        if k <= 0 or not self._subject_rows:
            return []
        if self._hasher is None or len(self._subject_rows) < self.shortlist_threshold:
            self.last_shortlist = None
            return self._search_exhaustive(probe, k)
        # the full matcher's work per probe stays ~penetration x (one finger against everyone):
        # a probe with more fingers votes more sharply and shortlists fewer subjects
        share = self.penetration * len(self._subject_rows) / max(1, len(probe))
        size = max(self.shortlist, k, int(np.ceil(share)))
        subjects = self._preselect(probe, size)
        self.last_shortlist = len(subjects)
        return self._score_subjects(probe, subjects, k)

    def _search_exhaustive(self, probe: Mapping[str, Template], k: int) -> list[Candidate]:
        per_slot: dict[str, dict[str, float]] = {}
        for slot, template in probe.items():
            state = self._slots.get(slot)
            if state is None or not state.alive.any():
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
        extend = getattr(self.matcher, "extend", None)
        old = state.batch if extend is not None else None
        start = state.covered if old is not None else 0
        new = np.flatnonzero(state.alive[start : state.rows]) + start
        decoded = self._decoded(state, new.tolist())
        if old is not None and extend is not None:
            state.batch = (np.concatenate([old[0], new]), extend(old[1], decoded))
        else:
            state.batch = (new, self.matcher.batch(decoded))
        state.covered = state.rows

    def preselect(self, probe: Mapping[str, Template], size: int) -> list[str]:
        """The pre-selection alone: the ``size`` best-voted subjects, best first (benchmarks)."""
        return [cast(str, self._subject_ref[sid]) for sid in self._preselect(probe, size, extra=False)]

    def _preselect(self, probe: Mapping[str, Template], size: int, *, extra: bool = True) -> list[int]:
        """Subject numbers to score fully: the ``size`` best-voted over all probe fingers (votes
        summed over fingers, each finger's vote being the subject's best row), then, with
        ``extra``, each finger's ``slot_shortlist`` best-voted not already chosen."""
        if self._hasher is None:
            raise GalleryError("this gallery's matcher has no cylinder bits to index")
        fused = np.zeros(len(self._subject_ref), dtype=np.float64)
        per_finger: list[list[int]] = []
        for slot, template in probe.items():
            state = self._slots.get(slot)
            if state is None or state.index is None or not state.rows:
                continue
            bits = cast(IndexableMatcher, self.matcher).cylinder_bits(self.matcher.decode(template))
            votes = state.index.votes(self._hasher.keys(bits), state.rows)
            votes[~state.alive[: state.rows]] = 0.0
            best = np.zeros(len(self._subject_ref), dtype=np.float64)
            np.maximum.at(best, state.subject[: state.rows], votes)
            fused += best
            if extra:
                per_finger.append(_top(best, self.slot_shortlist))
        chosen = _top(fused, size)
        seen = set(chosen)
        for top in per_finger:
            for sid in top:
                if sid not in seen:
                    seen.add(sid)
                    chosen.append(sid)
        return [sid for sid in chosen if self._subject_ref[sid] is not None]

    def _score_subjects(self, probe: Mapping[str, Template], subjects: list[int], k: int) -> list[Candidate]:
        per_slot: dict[str, dict[str, float]] = {}
        for slot, template in probe.items():
            state = self._slots.get(slot)
            if state is None:
                continue
            rows = [
                row
                for sid in subjects
                for row in self._subject_rows[cast(str, self._subject_ref[sid])].get(slot, ())
            ]
            if not rows:
                continue
            live = np.asarray(rows, dtype=np.int64)
            batch_once = getattr(self.matcher, "batch_once", self.matcher.batch)
            batch = batch_once(self._decoded(state, rows))
            scores = np.asarray(self.matcher.prepare(template).scores(batch), dtype=np.float64)
            per_slot[slot] = self._best(state, live, scores)
        return self._ranked(per_slot, k)

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
        subject = self._subject_rows.get(ref, {})
        out = {}
        for slot, template in probe.items():
            rows = subject.get(slot)
            if rows:
                state = self._slots[slot]
                batch = self.matcher.batch(self._decoded(state, rows))
                out[slot] = float(np.max(self.matcher.prepare(template).scores(batch)))
        return out

    def stats(self) -> dict[str, Any]:
        """Subjects, live templates and bytes held (templates + index entries)."""
        templates = sum(int(s.alive[: s.rows].sum()) for s in self._slots.values())
        template_bytes = sum(
            len(t.payload) for s in self._slots.values() for t in s.templates if t is not None
        )
        index_bytes = sum(s.index.nbytes() for s in self._slots.values() if s.index is not None)
        return {
            "subjects": len(self),
            "templates": templates,
            "template_bytes": template_bytes,
            "index_bytes": index_bytes,
            "indexed_search": self.indexed and len(self) >= self.shortlist_threshold,
        }

    # --- internals ------------------------------------------------------------------------------

    def _check(self, samples: Mapping[str, Sequence[Template]]) -> dict[str, list[tuple[Template, Any]]]:
        unknown = set(samples) - set(self.slots)
        if unknown:
            raise GalleryError(f"unknown slot(s) {sorted(unknown)}; slots are {list(self.slots)}")
        out: dict[str, list[tuple[Template, Any]]] = {}
        for slot, templates in samples.items():
            for t in templates:
                if t.modality != self.modality:
                    raise GalleryError(
                        f"a {t.modality.value} template cannot enter a {self.modality.value} gallery"
                    )
            pairs = []
            for t in templates:
                decoded = self.matcher.decode(t)  # validates the template
                keys = None
                if self._hasher is not None:
                    keys = self._hasher.keys(cast(IndexableMatcher, self.matcher).cylinder_bits(decoded))
                pairs.append((t, keys))
            if pairs:
                out[slot] = pairs
        return out

    def _slot_state(self, slot: str) -> _Slot:
        state = self._slots.get(slot)
        if state is None:
            index = CylinderIndex(self._index_params) if self._hasher is not None else None
            state = self._slots[slot] = _Slot(index)
        return state

    def _decoded(self, state: _Slot, rows: Sequence[int]) -> list[Any]:
        """The stored templates of these rows, decoded for the matcher."""
        return [self.matcher.decode(self._template(state, r)) for r in rows]

    @staticmethod
    def _template(state: _Slot, row: int) -> Template:
        t = state.templates[row]
        assert t is not None
        return t

    def _compact(self, slot: str) -> None:
        state = self._slots[slot]
        n = state.rows
        keep = np.flatnonzero(state.alive[:n])
        mapping = np.full(n, -1, dtype=np.int64)
        mapping[keep] = np.arange(len(keep))
        fresh = _Slot(state.index)
        for row in keep.tolist():
            fresh.append(self._template(state, row), int(state.subject[row]))
        if fresh.index is not None:
            fresh.index.renumber(mapping)
        self._slots[slot] = fresh
        for rows in self._subject_rows.values():
            if slot in rows:
                rows[slot] = [int(mapping[r]) for r in rows[slot]]


def _top(values: npt.NDArray[np.float64], count: int) -> list[int]:
    """Indices of the ``count`` largest positive values, largest first (ties: lower index)."""
    positive = np.flatnonzero(values > 0)
    if len(positive) > count:
        positive = positive[np.argpartition(-values[positive], count - 1)[:count]]
    order = np.lexsort((positive, -values[positive]))
    out: list[int] = positive[order].tolist()
    return out
