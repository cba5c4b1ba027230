"""Scale-out gallery: shards are Ray actors; search is scatter-gather top-k.

Each actor holds an in-process gallery (the same classes as the embedded default), made in the
actor's own process by ``make_shard``. A subject lives on exactly one shard, chosen by a stable
hash of its ref, so per-subject scores are those of the embedded backend and the merged top-k is
identical to a single gallery's.

Point padron at an existing cluster by starting the Ray head node there and setting
``PADRON_RAY_ADDRESS=ray://head:10001`` (or ``auto`` on a cluster node); without it a local Ray
instance is started.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from padron.domain.template import Modality, Template
from padron.matching.gallery import Candidate, Gallery, rank
from padron.matching.heap import release_free_memory
from padron.matching.segments import Assembler, PersistentGallery, SegmentError, encode_parts


class _Shard:
    """Body of a shard actor (wrapped with ray.remote at run time, not at import)."""

    def __init__(self, make_shard: Callable[[], Gallery]) -> None:
        self.make_shard = make_shard
        self.gallery = make_shard()
        #: the gallery journal position applied (None: never loaded)
        self.applied: int | None = None
        self._assembler = Assembler()

    def position(self) -> int | None:
        return self.applied

    def reset(self) -> None:
        self.gallery = self.make_shard()
        self.applied = None
        self._assembler = Assembler()

    def apply(
        self, upto: int, changes: Sequence[tuple[str, Mapping[str, Sequence[Template]] | None]]
    ) -> bool:
        if self.applied is not None and upto <= self.applied:
            return False  # another worker brought this shard as far or further
        for ref, samples in changes:
            if samples is None:
                self.gallery.remove(ref)
            else:
                self.gallery.add(ref, samples)
        self.applied = upto
        return True

    def add(self, ref: str, samples: Mapping[str, Sequence[Template]]) -> None:
        self.gallery.add(ref, samples)

    def add_many(self, items: Sequence[tuple[str, Mapping[str, Sequence[Template]]]]) -> None:
        bulk = getattr(self.gallery, "add_many", None)
        if bulk is not None:
            bulk(items)  # one sort of the index entries instead of one insertion per subject
        else:
            for ref, samples in items:
                self.gallery.add(ref, samples)
        release_free_memory()  # a bulk load's decoded templates, back to the system

    def remove(self, ref: str) -> None:
        self.gallery.remove(ref)

    def search(self, probe: Mapping[str, Template], k: int) -> list[Candidate]:
        return self.gallery.search(probe, k)

    def score(self, ref: str, probe: Mapping[str, Template]) -> dict[str, float]:
        return self.gallery.score(ref, probe)

    def size(self) -> int:
        return len(self.gallery)

    def memory(self) -> dict[str, Any]:
        """This shard's process: pid, resident set size now and at its peak (bytes; Linux), and
        its gallery's own accounting (``stats()``, when the gallery has it)."""
        out: dict[str, Any] = {"pid": os.getpid(), "subjects": len(self.gallery), **process_memory()}
        stats = getattr(self.gallery, "stats", None)
        if stats is not None:
            out["stats"] = stats()
        return out

    # --- segments: this shard's own saved state -----------------------------------------------------

    def export_parts(self, modality: str, shard: int, shards: int, max_bytes: int) -> Iterator[bytes]:
        """This shard's state as segment parts (plaintext: the caller seals them), at the journal
        position it has applied (a streaming generator: one part at a time to the caller)."""
        if self.applied is None:
            raise SegmentError("this shard was never loaded: it has no state to save")
        if not isinstance(self.gallery, PersistentGallery):
            raise SegmentError(f"a {type(self.gallery).__name__} cannot be saved as segments")
        state = self.gallery.export_state()
        yield from encode_parts(
            state, modality=modality, position=self.applied, shard=shard, shards=shards, max_bytes=max_bytes
        )

    def begin_load(self, modality: str, shard: int) -> None:
        self._assembler = Assembler(modality=modality, shard=shard)

    def load_part(self, part: bytes | bytearray, checked: bool = False) -> None:
        """One opened part of this shard's segment (any order; ``checked``: its checksum was
        verified by the sender)."""
        self._assembler.add(part, checked=checked)

    def finish_load(self) -> int:
        """Replace this shard's gallery with the assembled segment; its position becomes the
        segment's. Returns the subjects loaded."""
        assembler, self._assembler = self._assembler, Assembler()
        state, common = assembler.state()
        gallery = self.make_shard()
        if not isinstance(gallery, PersistentGallery):
            raise SegmentError(f"a {type(gallery).__name__} cannot load segments")
        gallery.load_state(state)
        self.gallery = gallery
        self.applied = int(common["position"])
        del assembler, state
        release_free_memory()  # the parts' buffers not kept in place, back to the system
        return len(gallery)

    def refs(self) -> set[str]:
        return self.gallery.refs()


#: the /proc/self/status fields :func:`process_memory` reports, and the names it reports them under
_STATUS_FIELDS = {
    "VmRSS": "rss_bytes",
    "VmHWM": "peak_rss_bytes",
    "RssAnon": "rss_anonymous_bytes",  # the process's own heap
    "RssFile": "rss_file_bytes",  # mapped files: libraries
    "RssShmem": "rss_shared_bytes",  # shared memory: Ray's object store pages this process touched
}


def process_memory() -> dict[str, int]:
    """This process's resident set size now and at its peak, and the resident set's split into
    anonymous, file and shared-memory pages, bytes (Linux /proc; {} elsewhere)."""
    out: dict[str, int] = {}
    try:
        with Path("/proc/self/status").open(encoding="ascii") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in _STATUS_FIELDS:
                    out[_STATUS_FIELDS[key]] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return out


#: subjects sent to the shards per bulk-load round
LOAD_CHUNK = 20_000


def shard_of(ref: str, shards: int) -> int:
    """Stable shard number of a subject (the same in every process and run)."""
    return zlib.crc32(ref.encode("utf-8")) % shards


#: the Ray namespace of padron's named shards
NAMESPACE = "padron"


def shard_name(deployment: str, modality: Modality, shard: int, shards: int) -> str:
    """The name of a shared shard actor: one set per deployment, modality and shard count."""
    return f"{deployment}/{modality.value}/{shard + 1}-of-{shards}"


class RayGallery:
    """A gallery spread over ``shards`` Ray actors.

    With ``deployment`` the shards are named, detached actors (:func:`shard_name` in the
    :data:`NAMESPACE` namespace): every worker process of the deployment that connects to the
    cluster uses the same shards (the first one creates them), so the national gallery exists
    once, not once per worker; they hold the journal position they have applied (the
    SharedGallery protocol). Without it the shards are this process's own (tests, benchmarks).
    """

    def __init__(
        self,
        make_shard: Callable[[], Gallery],
        *,
        modality: Modality,
        shards: int = 4,
        num_cpus_per_shard: float = 0.5,
        deployment: str | None = None,
    ) -> None:
        import ray

        if not ray.is_initialized():
            raise RuntimeError("call padron.matching.backends.ray.connect() (ray.init) first")
        actor = ray.remote(num_cpus=num_cpus_per_shard)(_Shard)
        self.modality = modality
        self.deployment = deployment
        self._ray = ray
        if deployment is None:
            self._shards: list[Any] = [actor.remote(make_shard) for _ in range(shards)]
        else:
            self._shards = [
                actor.options(
                    name=shard_name(deployment, modality, i, shards),
                    namespace=NAMESPACE,
                    lifetime="detached",
                    get_if_exists=True,
                ).remote(make_shard)
                for i in range(shards)
            ]

    def position(self) -> int | None:
        """The journal position every shard has applied (None unless all have one)."""
        positions = self._ray.get([s.position.remote() for s in self._shards])
        if any(p is None for p in positions):
            return None
        return int(min(positions))

    def reset(self) -> None:
        self._ray.get([s.reset.remote() for s in self._shards])

    def apply(
        self, upto: int, changes: Sequence[tuple[str, Mapping[str, Sequence[Template]] | None]]
    ) -> bool:
        """Send each shard its part of the changes, every shard the position ``upto``."""
        parts: list[list[tuple[str, Mapping[str, Sequence[Template]] | None]]] = [[] for _ in self._shards]
        for ref, samples in changes:
            parts[shard_of(ref, len(self._shards))].append((ref, samples))
        done = self._ray.get([s.apply.remote(upto, p) for s, p in zip(self._shards, parts, strict=True)])
        return any(done)

    def __len__(self) -> int:
        return int(sum(self._ray.get([s.size.remote() for s in self._shards])))

    def refs(self) -> set[str]:
        out: set[str] = set()
        for part in self._ray.get([s.refs.remote() for s in self._shards]):
            out |= part
        return out

    def add(self, ref: str, samples: Mapping[str, Sequence[Template]]) -> None:
        self._ray.get(self._shards[shard_of(ref, len(self._shards))].add.remote(ref, samples))

    def add_many(self, items: Sequence[tuple[str, Mapping[str, Sequence[Template]]]]) -> None:
        """Bulk load (start-up rebuild): one call per shard for every :data:`LOAD_CHUNK`
        subjects, so no message carries a whole national gallery."""
        for start in range(0, len(items), LOAD_CHUNK):
            parts: list[list[tuple[str, Mapping[str, Sequence[Template]]]]] = [[] for _ in self._shards]
            for ref, samples in items[start : start + LOAD_CHUNK]:
                parts[shard_of(ref, len(self._shards))].append((ref, samples))
            self._ray.get([s.add_many.remote(p) for s, p in zip(self._shards, parts, strict=True) if p])

    def remove(self, ref: str) -> None:
        self._ray.get(self._shards[shard_of(ref, len(self._shards))].remove.remote(ref))

    def search(self, probe: Mapping[str, Template], k: int) -> list[Candidate]:
        parts = self._ray.get([s.search.remote(probe, k) for s in self._shards])
        by_ref = {c.ref: c for part in parts for c in part}
        return [by_ref[ref] for ref in rank({ref: c.score for ref, c in by_ref.items()}, k)]

    def memory(self) -> list[dict[str, Any]]:
        """Each shard's process memory and gallery accounting (see ``_Shard.memory``)."""
        return list(self._ray.get([s.memory.remote() for s in self._shards]))

    def score(self, ref: str, probe: Mapping[str, Template]) -> dict[str, float]:
        result: dict[str, float] = self._ray.get(
            self._shards[shard_of(ref, len(self._shards))].score.remote(ref, probe)
        )
        return result

    # --- segments ---------------------------------------------------------------------------------

    @property
    def segment_layout(self) -> str:
        """Which segments fit these shards: one set per shard count (a subject's shard depends
        on it)."""
        return f"ray/{len(self._shards)}"

    def export_parts(self, max_bytes: int) -> Iterator[bytes]:
        """Every shard's segment parts (plaintext), shard after shard, each shard's at the journal
        position it has applied; each shard encodes its own state in its own process."""
        n = len(self._shards)
        for i, shard in enumerate(self._shards):
            try:
                stream = shard.export_parts.options(num_returns="streaming").remote(
                    self.modality.value, i, n, max_bytes
                )
                for ref in stream:
                    yield self._ray.get(ref)
            except SegmentError:
                raise
            except Exception as error:  # a shard's failure, as Ray reports it
                raise SegmentError(f"shard {i + 1} of {n} could not save its segment: {error}") from None

    def load_parts(
        self, parts: Iterable[tuple[int, bytes | bytearray]], *, window: int = 4, checked: bool = True
    ) -> int:
        """Load every shard from its segment: ``parts`` gives (shard, opened part) in any order;
        each part goes to its shard as it comes (at most ``window`` parts in flight), so the
        shards assemble their segments in parallel while the caller opens the next parts
        (``checked``: the caller verified each part's checksum). On any failure the shards are
        reset and SegmentError is raised. Returns the subjects."""
        n = len(self._shards)
        try:
            self._ray.get([s.begin_load.remote(self.modality.value, i) for i, s in enumerate(self._shards)])
            pending: list[Any] = []
            for shard, part in parts:
                if not 0 <= shard < n:
                    raise SegmentError(f"a segment of shard {shard + 1} does not fit {n} shards")
                pending.append(self._shards[shard].load_part.remote(part, checked))
                if len(pending) >= window:
                    done, pending = self._ray.wait(pending, num_returns=len(pending) - window + 1)
                    self._ray.get(done)
            self._ray.get(pending)
            return int(sum(self._ray.get([s.finish_load.remote() for s in self._shards])))
        except Exception as error:
            self.reset()
            if isinstance(error, SegmentError):
                raise
            raise SegmentError(f"the shards could not load their segments: {error}") from None

    def close(self) -> None:
        """Let go of the shards; this process's own shards are stopped, shared ones stay for
        the other workers (:meth:`destroy` stops them)."""
        if self.deployment is None:
            self.destroy()
        self._shards = []

    def destroy(self) -> None:
        """Stop the shards, shared ones included (a deployment taken down, a test's end)."""
        for shard in self._shards:
            self._ray.kill(shard)
        self._shards = []


def connect(address: str | None = None, *, num_cpus: int | None = None) -> None:
    """Join the Ray cluster at ``address`` (e.g. ``ray://head:10001`` or ``auto``), or start a
    local instance with ``num_cpus`` CPUs when ``address`` is None."""
    import ray

    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
