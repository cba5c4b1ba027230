#!/usr/bin/env python3
"""Gallery start-up from sealed segments vs a rebuild from every template, and memory per finger:
one JSON object.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/gallery_startup.py --people 10000 --json

The registry is the one ``benchmarks/dedup_scale.py`` loads as its existing registry: synthetic
persons with ten fingers each (template-level synthesis, cached), written with the registry's own
storage steps (persons, templates sealed in the vault, gallery journal) into a SQLite file, kept
beside the template cache. Each measurement runs in a fresh process on a copy of it, one after the
other, the fingerprint gallery with padron's matcher and pre-selection:

* ``before`` (with ``--before-src``, e.g. /work/main/src): the code before segments, rebuilding
  from every template (the memory baseline: envelopes, per-subject dicts, 8-byte index entries);
* ``rebuild``: this code without a snapshot: every template opened, decoded and hashed; then a
  snapshot written (timed apart);
* ``segments``: this code started again: the snapshot loaded, the journal after it replayed;
* ``ray-rebuild`` / ``ray-segments`` (``--ray-workers N``): the same on N local Ray shards, each
  shard assembling its own segment (Ray's shards pre-select among their own subjects, so their
  answers are compared with each other, not with the embedded gallery's).

Each reports its start-up seconds (``IdentityService.start``), the process's resident set size
before and after (and the shards' with Ray), the gallery's own accounting (``stats()``), and the
answers to the same probes (impression 1 of ``--probes`` persons, ten fingers, top 10 with
per-finger scores) as a digest: equal digests mean identical candidates and scores. Shard memory
is each shard process's RSS after the start-up less its RSS before (started, empty). Set
OMP_NUM_THREADS=1 for comparable figures.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import dedup_scale  # noqa: E402  (the template cache and the seeded registry)
from padron.synth.population import plan_records  # noqa: E402

SEED = 1
POSITIONS = tuple(range(1, 11))


def rss() -> dict[str, int]:
    """This process's resident set size now and at its peak, and its anonymous and shared-memory
    parts (bytes; shared memory is Ray's object store pages this process touched)."""
    try:
        from padron.matching.backends.ray import process_memory
    except ImportError:  # --before-src: code older than this helper
        out = {}
        with Path("/proc/self/status").open(encoding="ascii") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out["rss_bytes" if key == "VmRSS" else "peak_rss_bytes"] = int(value.split()[0]) * 1024
        return out
    return process_memory()


# --- the child: one start-up in its own process -----------------------------------------------------


def child(
    mode: str, folder: Path, probes_file: Path, ray_workers: int, seeded: Path | None = None
) -> dict[str, Any]:
    from padron.domain.template import Modality
    from padron.matching.backends.memory import TemplateGallery
    from padron.matching.gallery import FINGER_SLOTS
    from padron.matching.modalities import FingerprintMatcher, packaged_llr
    from padron.registry.factory import build_vault
    from padron.registry.identity import BiometricIndex, DedupPolicy, IdentityService
    from padron.registry.service import Registry
    from padron.settings import load_settings

    url = f"sqlite:///{folder / 'padron.db'}"
    settings = load_settings().model_copy(update={"data_dir": folder, "database_url": url})
    from padron.registry.storage.database import Database

    registry = Registry(Database(url))  # migrated by the parent (the code before ignores 0008's tables)
    if mode in ("rebuild", "ray-rebuild"):  # a rebuild even when the copied registry holds snapshots
        from sqlalchemy import delete

        from padron.registry.storage.models import GallerySegmentRow, GallerySnapshotRow

        with registry.db.session() as session:
            session.execute(delete(GallerySegmentRow))
            session.execute(delete(GallerySnapshotRow))
    vault = build_vault(settings, registry)
    ray = mode.startswith("ray")
    if ray:
        from padron.matching.backends.ray import RayGallery, connect

        connect(None, num_cpus=ray_workers)
        gallery: Any = RayGallery(
            lambda: TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS),
            modality=Modality.FINGERPRINT,
            shards=ray_workers,
        )
    else:
        gallery = TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS)
    if mode == "before":
        index = BiometricIndex({Modality.FINGERPRINT: gallery}, vault)
    else:
        from padron.registry.segments import SegmentStore

        store = SegmentStore(registry.db, vault, part_bytes=settings.gallery_segment_mib << 20)
        index = BiometricIndex({Modality.FINGERPRINT: gallery}, vault, segments=store)
    service = IdentityService(
        registry,
        index,
        matchers={Modality.FINGERPRINT: FingerprintMatcher()},
        llr_models={Modality.FINGERPRINT: packaged_llr(Modality.FINGERPRINT)},
        policy=DedupPolicy(),
    )
    with np.load(probes_file, allow_pickle=False) as z:
        blob, offsets = z["blob"].tobytes(), z["offsets"]
    payloads = [blob[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
    probes = [
        {str(p): dedup_scale._envelope(payloads[j * len(POSITIONS) + k]) for k, p in enumerate(POSITIONS)}
        for j in range(len(payloads) // len(POSITIONS))
    ]
    shards_before = gallery.memory() if ray else None  # the shard processes, started and empty
    gc.collect()
    before = rss()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    # the start-up proper, as a server runs it (the snapshot after a rebuild is timed apart)
    if mode in ("rebuild", "ray-rebuild"):
        original = service._snapshot_quietly
        service._snapshot_quietly = lambda: None  # type: ignore[method-assign]
    loaded = service.start()
    startup = time.perf_counter() - wall0
    startup_cpu = time.process_time() - cpu0
    gc.collect()
    after = rss()
    out: dict[str, Any] = {
        "mode": mode,
        "subjects": loaded,
        "startup_seconds": round(startup, 2),
        "startup_cpu_seconds_this_process": round(startup_cpu, 2),
        "rss_before_bytes": before["rss_bytes"],
        "rss_after_bytes": after["rss_bytes"],
        "peak_rss_bytes": after["peak_rss_bytes"],
        "gallery_rss_bytes": after["rss_bytes"] - before["rss_bytes"],
        "rss_anonymous_grown_bytes": after.get("rss_anonymous_bytes", 0)
        - before.get("rss_anonymous_bytes", 0),
        "rss_shared_grown_bytes": after.get("rss_shared_bytes", 0) - before.get("rss_shared_bytes", 0),
        "startup": getattr(index, "startup", None),
    }
    if ray:
        out["shards"] = gallery.memory()
        out["shards_before"] = shards_before
    else:
        out["stats"] = gallery.stats()
    answers, times = [], []
    for probe in probes:
        t0 = time.perf_counter()
        found = index.search(probe, 10)
        times.append(time.perf_counter() - t0)
        answers.append(sorted((ref, sorted(scores.items())) for ref, scores in found.items()))
    text = json.dumps(answers, separators=(",", ":"))
    out["search"] = {
        "probes": len(probes),
        "digest": hashlib.sha256(text.encode()).hexdigest()[:16],
        "p50_ms": round(1000 * float(np.median(times)), 1) if times else None,
        "top1": [max(a, key=lambda item: sum(s for _, s in item[1]))[0] if a else None for a in answers][:5],
    }
    if mode in ("rebuild", "ray-rebuild"):
        service._snapshot_quietly = original  # type: ignore[method-assign]
        t0 = time.perf_counter()
        info = index.snapshot()
        out["snapshot_seconds"] = round(time.perf_counter() - t0, 2)
        assert info is not None
        out["snapshot"] = {
            "parts": len(info.segments),
            "sealed_bytes": info.sealed_bytes,
            "position": info.position,
            "layout": info.layout,
        }
        if seeded is not None:  # the seeded registry starts from segments too (dedup_scale.py reuses it)
            part_bytes = settings.gallery_segment_mib << 20
            out["written_back"] = dedup_scale.write_back_snapshot(index, seeded, vault, part_bytes)
    if ray:
        gallery.close()
    registry.close()
    return out


# --- the parent -------------------------------------------------------------------------------------


def templates(people: int, cache_people: int, workers: int) -> list[list[bytes]]:
    """The first ``people`` persons' ten-finger payloads, from the cache of a ``cache_people``
    population (synthesized when missing)."""
    records = plan_records(cache_people, 0, SEED)
    jobs = [(SEED, r.identity, r.finger_scale, r.impression_set, POSITIONS) for r in records]
    key = dedup_scale.cache_key(cache_people, 0, SEED, POSITIONS)
    folder = dedup_scale.CACHE / key
    parts = -(-people // dedup_scale.PART)
    if all((folder / f"part-{i:05d}.npz").exists() for i in range(parts)):
        out: list[list[bytes]] = []
        for i in range(parts):
            out.extend(dedup_scale._load_part(folder / f"part-{i:05d}.npz"))
        return out[:people]
    if people != cache_people:
        raise SystemExit(f"the template cache of {cache_people} persons lacks parts: synthesize it first")
    payloads, _, _ = dedup_scale.synthesize(jobs, key, workers, progress=True)
    return payloads


def population_of_dedup_scale(
    args: argparse.Namespace, cache_people: int
) -> tuple[list[Any], list[Any], Path]:
    """The existing registry of ``dedup_scale.py --people P --duplicates D --searched S`` (its
    unique persons loaded without search, the same folder, so either benchmark reuses the other's),
    or with ``--people N`` below ``--cache-people P`` (no ``--searched``) the first N unique persons
    of that population (only the template parts they need are read; nothing is synthesized)."""
    records = plan_records(cache_people, args.duplicates, SEED)
    key = dedup_scale.cache_key(cache_people, args.duplicates, SEED, POSITIONS)
    folder = dedup_scale.CACHE / key
    if args.searched is not None:
        if args.people != cache_people:
            raise SystemExit(
                "--searched measures dedup_scale's registry of --people persons (no --cache-people)"
            )
        existing, searched = dedup_scale.split_records(records, args.searched)
        seeded = folder / f"registry-{len(searched)}"
    else:
        existing = [i for i, r in enumerate(records) if r.duplicate_of is None][: args.people]
        seeded = folder / f"registry-startup-{args.people}"
    if len(existing) < args.people and args.searched is None:
        raise SystemExit(f"the population of {cache_people} has only {len(existing)} unique persons")
    payloads: list[Any] = []
    if not (seeded / "seeded.json").exists():  # the templates are needed to seed it
        parts = max(existing) // dedup_scale.PART + 1
        missing = [i for i in range(parts) if not (folder / f"part-{i:05d}.npz").exists()]
        if missing:
            raise SystemExit(f"{folder} lacks template parts {missing}: synthesize them with dedup_scale.py")
        flat: list[list[bytes]] = []
        for i in range(parts):
            flat.extend(dedup_scale._load_part(folder / f"part-{i:05d}.npz"))
        payloads = [flat[i] for i in existing]
        del flat
    chosen = [records[i] for i in existing]
    return chosen, payloads, seeded


def _saved_state(folder: Path) -> Any:
    """The embedded fingerprint gallery's state in the newest snapshot of a kept registry."""
    from sqlalchemy import func, select

    from padron.matching.segments import Assembler
    from padron.registry.segments import SegmentStore, check_complete
    from padron.registry.storage.database import Database
    from padron.registry.storage.models import GalleryJournalRow
    from padron.registry.vault import Vault

    db = Database(f"sqlite:///{folder / 'padron.db'}")
    store = SegmentStore(db, Vault.from_key_file(folder / "vault.key", create=False))
    with db.read_session() as session:
        last = session.scalar(select(func.max(GalleryJournalRow.seq))) or 0
        snapshot = store.latest(session, "fingerprint=memory", last)
    if snapshot is None:
        raise SystemExit(f"{folder} holds no embedded gallery snapshot (run with --keep first)")
    assembler = Assembler(modality="fingerprint")
    store.read(
        check_complete(snapshot, "fingerprint", "memory"), lambda _, plain: assembler.add(plain, checked=True)
    )
    db.dispose()
    return assembler.state()[0]


def replicate_state(state: Any, people: int) -> Any:
    """A gallery state of ``people`` subjects ``p:1``..: the saved subjects repeated in order
    (templates, packed cylinders and index entries copied, rows and subjects renumbered)."""
    from padron.matching.finger_index import _DIR_BITS, CylinderIndex
    from padron.matching.segments import GalleryState, arrays_to_strings, strings_to_arrays

    a = state.arrays
    base = len(arrays_to_strings(a["subjects/blob"], a["subjects/offsets"], a["subjects/present"]))
    copies = [(j, min(base, people - j * base)) for j in range(-(-people // base))]
    out: dict[str, Any] = {
        f"subjects/{k}": v for k, v in strings_to_arrays([f"p:{i + 1}" for i in range(people)]).items()
    }
    out["subjects/free"] = np.zeros(0, dtype=np.int64)
    for slot in state.meta["slots"]:
        pre = f"slot/{slot}/"
        subject, count = a[pre + "subject"], a[pre + "count"].astype(np.int64)
        starts = np.cumsum(count) - count
        index = CylinderIndex()
        index._dir, index._low, index._rows = (
            a[pre + "index/dir"],
            a[pre + "index/low"],
            a[pre + "index/rows"],
        )
        keys = np.concatenate([index._main_keys(), a[pre + "index/tail_keys"]])
        owners = np.concatenate([index._rows, a[pre + "index/tail_rows"]]).astype(np.int64)
        subjects, alive, counts, all_keys, all_rows = [], [], [], [], []
        columns: dict[str, list[Any]] = {}
        row_offset = 0
        for j, limit in copies:
            keep = subject < limit
            mapping = np.cumsum(keep) - 1 + row_offset
            subjects.append((subject[keep] + j * base).astype(np.int32))
            alive.append(a[pre + "alive"][keep])
            counts.append(count[keep].astype(np.int32))
            items = np.concatenate(
                [np.arange(s, s + c) for s, c in zip(starts[keep], count[keep], strict=True)]
            )
            for name in [k for k in a if k.startswith(pre + "column/")]:
                columns.setdefault(name, []).append(a[name][items])
            entry = keep[owners]
            all_keys.append(keys[entry])
            all_rows.append(mapping[owners[entry]])
            row_offset += int(keep.sum())
        out[pre + "subject"] = np.concatenate(subjects)
        out[pre + "alive"] = np.concatenate(alive)
        out[pre + "count"] = np.concatenate(counts)
        for name, parts in columns.items():
            out[name] = np.concatenate(parts)
        keys = np.concatenate(all_keys)
        order = np.argsort(keys, kind="stable")
        merged = CylinderIndex()
        merged._set_main(keys[order], np.concatenate(all_rows)[order].astype(np.uint32))
        arrays = merged.export_arrays()
        for name, values in arrays.items():
            out[pre + "index/" + name] = values
        assert len(out[pre + "index/dir"]) in (0, (1 << _DIR_BITS) + 1)
    meta = dict(state.meta, subjects=people)
    return GalleryState(kind=state.kind, meta=meta, arrays=out)


def replicated(args: argparse.Namespace, started: float) -> int:
    """Start-up from segments of a gallery of ``--people`` made by repeating a kept registry's
    snapshot (see --replicate-from)."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from padron.matching.segments import encode_parts
    from padron.registry.segments import SegmentStore
    from padron.registry.service import Registry
    from padron.registry.storage.models import GalleryJournalRow
    from padron.registry.vault import Vault

    t0 = time.perf_counter()
    state = replicate_state(_saved_state(args.replicate_from), args.people)
    build_seconds = time.perf_counter() - t0
    fingers = int(sum(len(v) for k, v in state.arrays.items() if k.endswith("/subject")))
    runs = []
    with tempfile.TemporaryDirectory(prefix="padron-gallery-startup-") as tmp:
        folder = Path(tmp)
        registry = Registry.open(f"sqlite:///{folder / 'padron.db'}", migrate=True)
        shutil.copyfile(args.replicate_from / "vault.key", folder / "vault.key")
        (folder / "vault.key").chmod(0o600)
        vault = Vault.from_key_file(folder / "vault.key", create=False)
        now = datetime.now(UTC)
        with registry.db.session() as session:  # the journal the snapshot covers
            for begin in range(0, args.people, 50_000):
                rows = [
                    {"ref": f"p:{i + 1}", "op": "add", "at": now}
                    for i in range(begin, min(args.people, begin + 50_000))
                ]
                session.execute(insert(GalleryJournalRow), rows)
        t0 = time.perf_counter()
        store = SegmentStore(registry.db, vault)
        info = store.write(
            "fingerprint=memory",
            {"fingerprint": "memory"},
            encode_parts(state, modality="fingerprint", position=args.people, max_bytes=store.part_bytes),
        )
        write_seconds = time.perf_counter() - t0
        registry.close()
        del state
        probes_file = folder / "probes.npz"
        np.savez(probes_file, blob=np.zeros(0, dtype=np.uint8), offsets=np.zeros(1, dtype=np.int64))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent / "src"), str(HERE.parent)])}
        for _ in range(args.repeat):
            command = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--child",
                "segments",
                "--folder",
                str(folder),
            ]
            command += ["--probes-file", str(probes_file)]
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"segments failed:\n{done.stderr[-4000:]}")
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    r = runs[-1]
    stats = r["stats"]
    out = {
        "people": args.people,
        "fingers": fingers,
        "replicated_from": str(args.replicate_from),
        "state_build_seconds": round(build_seconds, 2),
        "snapshot_write_seconds": round(write_seconds, 2),
        "snapshot": {"parts": len(info.segments), "sealed_bytes": info.sealed_bytes},
        "startup_seconds": [x["startup_seconds"] for x in runs],
        "gallery_rss_bytes_per_finger": round(r["gallery_rss_bytes"] / fingers, 1),
        "accounted_bytes_per_finger": round(
            (stats["template_bytes"] + stats["index_bytes"] + stats["row_bytes"]) / fingers, 1
        ),
        "peak_rss_bytes": r["peak_rss_bytes"],
        "runs": runs,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "seconds": round(time.perf_counter() - started, 2),
    }
    print(json.dumps(out, indent=None if args.json else 2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument(
        "--cache-people", type=int, default=None, help="use the first --people of this cached population"
    )
    parser.add_argument(
        "--duplicates",
        type=int,
        default=0,
        help="measure a registry of dedup_scale.py's population with this many planted duplicates "
        "(its unique persons; with --searched, the very registry dedup_scale.py seeds)",
    )
    parser.add_argument(
        "--searched", type=int, default=None, help="with --duplicates: dedup_scale.py's --searched"
    )
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=2, help="start-ups measured with --replicate-from")
    parser.add_argument("--workers", type=int, default=2, help="processes synthesizing missing templates")
    parser.add_argument("--ray-workers", type=int, default=0, help="also measure N local Ray shards (0: no)")
    parser.add_argument("--before-src", type=Path, default=None, help="src/ of the code before segments")
    parser.add_argument("--modes", default=None, help="comma-separated subset of the modes")
    parser.add_argument(
        "--keep", type=Path, default=None, help="copy the measured registry (with its snapshots) here"
    )
    parser.add_argument(
        "--replicate-from",
        type=Path,
        default=None,
        help="a registry kept by --keep: its embedded snapshot's persons repeated up to --people make "
        "the gallery, and only its start-up from segments is measured (no rebuild at that size)",
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--probes-file", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--seeded", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.folder, args.probes_file, args.ray_workers, args.seeded)))
        return 0

    started = time.perf_counter()
    if args.replicate_from is not None:
        return replicated(args, started)
    cache_people = args.cache_people or args.people
    if args.duplicates:
        records, payloads, seeded = population_of_dedup_scale(args, cache_people)
    else:
        payloads = templates(args.people, cache_people, args.workers)
        records = plan_records(cache_people, 0, SEED)[: args.people]
        key = dedup_scale.cache_key(cache_people, 0, SEED, POSITIONS)
        seeded = dedup_scale.CACHE / key / f"registry-startup-{args.people}"
    seeding = dedup_scale.seed_registry(seeded, records, payloads, POSITIONS)
    seeded_snapshot = dedup_scale.seeded_snapshot(seeded)
    rng = np.random.default_rng(7)
    people = len(records)
    chosen = rng.choice(people, size=min(args.probes, people), replace=False)
    probe_payloads = [
        p
        for i in chosen.tolist()
        for p in dedup_scale._person_templates(
            (SEED, records[i].identity, records[i].finger_scale, 1, POSITIONS)
        )
    ]
    del payloads
    modes = ["before"] if args.before_src else []
    modes += ["rebuild", "segments"]
    if args.ray_workers:
        modes += ["ray-rebuild", "ray-segments"]
    if args.modes:
        modes = [m for m in modes if m in args.modes.split(",")]
    runs = []
    with tempfile.TemporaryDirectory(prefix="padron-gallery-startup-") as tmp:
        folder = Path(tmp)
        shutil.copyfile(seeded / "padron.db", folder / "padron.db")
        shutil.copyfile(seeded / "vault.key", folder / "vault.key")
        (folder / "vault.key").chmod(0o600)
        probes_file = folder / "probes.npz"
        offsets = np.cumsum([0] + [len(p) for p in probe_payloads]).astype(np.int64)
        np.savez(probes_file, blob=np.frombuffer(b"".join(probe_payloads), dtype=np.uint8), offsets=offsets)
        for mode in modes:
            src = args.before_src if mode == "before" else HERE.parent / "src"
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(HERE.parent)])}
            command = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--child",
                mode,
                "--folder",
                str(folder),
            ]
            command += ["--probes-file", str(probes_file), "--ray-workers", str(args.ray_workers or 2)]
            if mode == "rebuild" and not seeded_snapshot:
                command += ["--seeded", str(seeded)]
            if not args.json:
                print(f"{mode} ...", file=sys.stderr, flush=True)
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SystemExit(f"{mode} failed:\n{done.stderr[-4000:]}")
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
            if not args.json:
                print(json.dumps(runs[-1], indent=2), file=sys.stderr, flush=True)
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            for name in ("padron.db", "vault.key"):
                shutil.copyfile(folder / name, args.keep / name)
            (args.keep / "vault.key").chmod(0o600)
    fingers = people * len(POSITIONS)
    by_mode = {r["mode"]: r for r in runs}
    summary: dict[str, Any] = {}
    for mode, r in by_mode.items():
        entry: dict[str, Any] = {
            "startup_seconds": r["startup_seconds"],
            "gallery_rss_bytes_per_finger": round(r["gallery_rss_bytes"] / fingers, 1),
            "digest": r["search"]["digest"],
        }
        stats = r.get("stats")
        if stats:
            held = stats["template_bytes"] + stats["index_bytes"] + stats.get("row_bytes", 0)
            entry["accounted_bytes_per_finger"] = round(held / fingers, 1)
            entry["template_bytes_per_finger"] = round(stats["template_bytes"] / fingers, 1)
            entry["index_bytes_per_finger"] = round(stats["index_bytes"] / fingers, 1)
            if "capacity_bytes" in stats:
                entry["allocated_bytes_per_finger"] = round(stats["capacity_bytes"] / fingers, 1)
        shards = r.get("shards")
        if shards:
            grown = sum(s.get("rss_bytes", 0) for s in shards) - sum(
                s.get("rss_bytes", 0) for s in r.get("shards_before") or []
            )
            entry["shard_rss_bytes_per_finger"] = round(grown / fingers, 1)
            for part in ("anonymous", "shared"):
                key = f"rss_{part}_bytes"
                grown = sum(s.get(key, 0) for s in shards) - sum(
                    s.get(key, 0) for s in r.get("shards_before") or []
                )
                entry[f"shard_rss_{part}_bytes_per_finger"] = round(grown / fingers, 1)
                entry[f"coordinator_rss_{part}_bytes_per_finger"] = round(
                    r.get(f"rss_{part}_grown_bytes", 0) / fingers, 1
                )
            accounted = sum(
                s["stats"]["template_bytes"] + s["stats"]["index_bytes"] + s["stats"].get("row_bytes", 0)
                for s in shards
                if "stats" in s
            )
            entry["accounted_bytes_per_finger"] = round(accounted / fingers, 1)
        summary[mode] = entry
    # identical answers within a backend: embedded (the code before, a rebuild, segments) and
    # Ray (rebuild, segments); Ray's shards pre-select per shard, so the two backends may differ
    groups: dict[str, set[str]] = {}
    for r in runs:
        group = "ray" if r["mode"].startswith("ray") else "embedded"
        groups.setdefault(group, set()).add(r["search"]["digest"])
    out = {
        "people": people,
        "duplicates": args.duplicates,
        "registry": str(seeded),
        "fingers": fingers,
        "cache_people": cache_people,
        "existing_registry": seeding,
        "seeded_snapshot_before": seeded_snapshot,
        "seeded_snapshot_after": dedup_scale.seeded_snapshot(seeded),
        "probes": len(chosen),
        "identical_search_results": {group: len(d) == 1 for group, d in groups.items()},
        "summary": summary,
        "runs": runs,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "cpu_count": os.cpu_count(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "seconds": round(time.perf_counter() - started, 2),
    }
    print(json.dumps(out, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
