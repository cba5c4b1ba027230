#!/usr/bin/env python3
"""Enrollment de-duplication at scale on synthetic persons with ten fingers: one JSON object.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dedup_scale.py --people 1000 --duplicates 50 --json

Persons and planted duplicates come from padron's population planner (Faker es_MX demographics,
a duplicate = the same person again under another name, later, with other impressions). Their
fingerprints are synthesized at template level (:mod:`padron.synth.templates`: master minutiae ->
impression by partial contact, missed/spurious minutiae, skin distortion, pose and noise ->
padron's own cylinder builder), cached on disk as ``.npz`` (no pickle) between runs.

Every record goes through padron's real enrollment path, ``IdentityService.enroll`` (SQLite
registry, encrypted template vault, BiometricIndex, the fingerprint gallery, LLR fusion and the
dedup policy), once per backend: the embedded (in-process) gallery and Ray with ``--ray-workers``
local workers (``ray.init(num_cpus=...)``, one gallery shard per worker). Fingerprint scores become
LLRs with padron's packaged FVC calibration: template-level impostor and genuine scores fall in
FVC's range (reported under ``synthetic_scores``, measured on 40 other synthetic persons captured
twice). ``--calibration site`` fits the LLR on those instead, as `padron demo` does for its
image-level prints; with ten fingers' perfectly separated scores that fit is very steep and one
child's finger scoring a little above the adults' impostors becomes a false alarm.

At national scale, searching every record costs hours of processor time, so ``--searched M``
enrolls through de-duplication only M records, every planted duplicate and the last unique
persons, after the other unique persons have been loaded as the existing registry (the same
storage steps as an issued enrollment, without the search: as a migration from a de-duplicated
legacy registry would load them; built once and kept beside the template cache). Each backend
starts on a copy of that registry: its start-up (gallery rebuilt from the vault) is timed, then the
M searched enrollments meet the full gallery, the hardest case for both speed and FPIR.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/dedup_scale.py --people 100000 --duplicates 500 \
        --searched 3000 --json

Reported per backend: enrollments per second (wall clock, and processor time of this process --
Ray's workers run in other processes), FNIR = planted duplicates neither refused nor sent to
adjudication / planted duplicates, FPIR = unique persons refused or sent to adjudication / unique
persons, with their counts, and per enrollment its milliseconds (``enrollment_ms``: the whole
``IdentityService.enroll``) and those of its 1:N gallery search alone (``search_ms``: pre-selection
and full matcher; the rest is the registry's transaction). Set OMP_NUM_THREADS=1 (and
MKL/OPENBLAS) for comparable figures.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from padron.domain.access import AccessContext, Purpose
from padron.domain.template import Modality, Template
from padron.synth.population import Record, finger_seed, plan_records
from padron.synth.templates import TEMPLATE_GENERATOR_VERSION, master_minutiae, synthetic_template

CACHE = Path(os.environ.get("PADRON_CACHE_DIR", Path.home() / ".cache" / "padron")) / "synth-templates"
ACTOR = "bench:dedup-scale"
#: persons (never enrolled) captured twice to calibrate the fingerprint LLR
SITE_PEOPLE = 40
SITE_OFFSET = 50_000_000


def _person_templates(job: tuple[int, int, float, int, tuple[int, ...]]) -> list[bytes]:
    seed, identity, scale, impression, positions = job
    individual = finger_seed(seed, identity)
    return [
        synthetic_template(master_minutiae(individual, p, scale=scale), impression).payload for p in positions
    ]


#: jobs (persons) per cache file: a long synthesis resumes where it stopped, and no step holds
#: more than one part's bytes twice
PART = 5_000


def cache_key(people: int, duplicates: int, seed: int, positions: tuple[int, ...]) -> str:
    """The template cache folder's name for a population (and the generator that made it)."""
    return hashlib.sha256(
        repr((TEMPLATE_GENERATOR_VERSION, people, duplicates, seed, positions)).encode()
    ).hexdigest()[:16]


def _load_part(path: Path) -> list[list[bytes]]:
    with np.load(path, allow_pickle=False) as z:
        blob, offsets, per = z["blob"].tobytes(), z["offsets"], int(z["per_job"])
    flat = [blob[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
    return [flat[i * per : (i + 1) * per] for i in range(len(flat) // per)]


def _save_part(path: Path, result: list[list[bytes]]) -> None:
    flat = [p for person in result for p in person]
    offsets = np.cumsum([0] + [len(p) for p in flat]).astype(np.int64)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, blob=np.frombuffer(b"".join(flat), dtype=np.uint8), offsets=offsets, per_job=len(result[0]))
    tmp.replace(path)


def synthesize(
    jobs: list[tuple[int, int, float, int, tuple[int, ...]]],
    key: str,
    workers: int,
    cache: Path = CACHE,
    progress: bool = False,
) -> tuple[list[list[bytes]], float, bool]:
    """Template payloads per job, from the cache or synthesized (and cached, in parts of
    :data:`PART` jobs written as they complete); seconds; whether everything came from the cache."""
    folder = cache / key
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    out: list[list[bytes]] = []
    hit = True
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
    try:
        for start in range(0, len(jobs), PART):
            path = folder / f"part-{start // PART:05d}.npz"
            if path.exists():
                out.extend(_load_part(path))
                continue
            hit = False
            chunk = jobs[start : start + PART]
            if pool is not None:
                result = list(pool.map(_person_templates, chunk, chunksize=32))
            else:
                result = [_person_templates(j) for j in chunk]
            _save_part(path, result)
            out.extend(result)
            if progress:
                print(
                    f"synthesized {start + len(chunk)}/{len(jobs)} persons' templates "
                    f"({time.perf_counter() - t0:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        if pool is not None:
            pool.shutdown()
    return out, time.perf_counter() - t0, hit


def _envelope(payload: bytes) -> Template:
    from padron.biometrics.fingerprint.template import ALGORITHM, TEMPLATE_VERSION

    return Template(Modality.FINGERPRINT, ALGORITHM, TEMPLATE_VERSION, payload)


def site_calibration(payloads: list[list[bytes]], positions: tuple[int, ...]) -> tuple[Any, dict[str, Any]]:
    """Fingerprint LLR fitted on genuine (same person, finger; two impressions) and impostor (same
    position, other persons) scores of the production matcher."""
    from padron.matching.fusion import fit_llr
    from padron.matching.modalities import FingerprintMatcher

    matcher = FingerprintMatcher()
    genuine: list[float] = []
    impostor: list[float] = []
    # payloads: person i impression 0 at 2i, impression 1 at 2i+1
    for f in range(len(positions)):
        probes = [payloads[2 * i][f] for i in range(len(payloads) // 2)]
        gallery = matcher.batch(
            [matcher.decode(_envelope(payloads[2 * i + 1][f])) for i in range(len(probes))]
        )
        for i, probe in enumerate(probes):
            scores = matcher.prepare(_envelope(probe)).scores(gallery)
            for j, s in enumerate(scores):
                (genuine if i == j else impostor).append(float(s))
    model = fit_llr(genuine, impostor)
    g, im = np.array(genuine), np.array(impostor)
    return model, {
        "genuine_pairs": len(genuine),
        "impostor_pairs": len(impostor),
        "genuine_score_median": round(float(np.median(g)), 4),
        "impostor_score_p99": round(float(np.quantile(im, 0.99)), 4),
        "impostor_score_max": round(float(im.max()), 4),
        "llr": model.to_dict(),
    }


#: TemplateGallery settings --gallery may change (experiments; the default is the product's)
GALLERY_SETTINGS = {
    "shortlist_scale": float,
    "shortlist": int,
    "slot_shortlist": int,
    "relative_shortlist": float,
    "cascade_fingers": int,
    "cascade_keep": int,
}


def gallery_settings(items: list[str]) -> dict[str, Any]:
    """``NAME=VALUE`` items of --gallery, checked against :data:`GALLERY_SETTINGS`."""
    out: dict[str, Any] = {}
    for item in items:
        name, _, value = item.partition("=")
        if name not in GALLERY_SETTINGS or not value:
            raise SystemExit(
                f"--gallery {item!r}: expected NAME=VALUE, NAME one of {sorted(GALLERY_SETTINGS)}"
            )
        out[name] = GALLERY_SETTINGS[name](value)
    return out


def finger_gallery(shortlist_threshold: int | None, settings: dict[str, Any] | None = None) -> Any:
    """padron's fingerprint gallery (registry.factory.finger_gallery), with the subject count above
    which the pre-selection runs and other settings when given (also the body of each Ray shard)."""
    from padron.matching.backends.memory import TemplateGallery
    from padron.matching.gallery import FINGER_SLOTS
    from padron.matching.modalities import FingerprintMatcher

    extra = dict(settings or {})
    if shortlist_threshold is not None:
        extra["shortlist_threshold"] = shortlist_threshold
    return TemplateGallery(FingerprintMatcher(), slots=FINGER_SLOTS, **extra)


def split_records(records: list[Record], searched: int | None) -> tuple[list[int], list[int]]:
    """Indices of the records loaded as the existing registry (unique persons only) and of those
    enrolled through de-duplication (every planted duplicate and the last unique persons, in
    planned order); ``searched`` None: every record is searched."""
    if searched is None or searched >= len(records):
        return [], list(range(len(records)))
    planted = [i for i, r in enumerate(records) if r.duplicate_of is not None]
    if searched < len(planted):
        raise SystemExit(f"--searched {searched} must cover the {len(planted)} planted duplicates")
    unique = [i for i, r in enumerate(records) if r.duplicate_of is None]
    tail = unique[len(unique) - (searched - len(planted)) :] if searched > len(planted) else []
    chosen = set(planted) | set(tail)
    return [i for i in range(len(records)) if i not in chosen], sorted(chosen)


def seed_registry(
    folder: Path, records: list[Record], payloads: list[list[bytes]], positions: tuple[int, ...]
) -> dict[str, Any]:
    """The existing registry the searched enrollments meet: these unique persons written with
    the registry's own storage steps (CURP allocation, person and history rows, templates sealed
    in the vault, gallery journal), as a migration from a de-duplicated legacy registry would
    load them, without searching. Kept in ``folder`` (a SQLite file and its vault key) and reused
    by later runs."""
    from sqlalchemy import insert

    from padron.domain.person import PersonDraft
    from padron.registry.factory import build_vault
    from padron.registry.identity import seal_template
    from padron.registry.service import Registry
    from padron.registry.storage.models import GalleryJournalRow, TemplateRow
    from padron.settings import load_settings

    done = folder / "seeded.json"
    if done.exists():
        return dict(json.loads(done.read_text()), cache_hit=True)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "padron.db").unlink(missing_ok=True)
    url = f"sqlite:///{folder / 'padron.db'}"
    settings = load_settings().model_copy(update={"data_dir": folder, "database_url": url})
    vault = build_vault(settings)
    registry = Registry.open(url, migrate=True)
    t0 = time.perf_counter()
    columns = [c.key for c in TemplateRow.__table__.columns if c.key != "id"]
    try:
        for start in range(0, len(records), 2000):
            with registry.db.session() as session:
                templates: list[dict[str, Any]] = []
                journal: list[dict[str, Any]] = []
                for record, payloads_of in zip(
                    records[start : start + 2000], payloads[start : start + 2000], strict=True
                ):
                    person = registry.create_person(
                        session,
                        PersonDraft(record.data, record.nationality),
                        record.nationality,
                        ACTOR,
                        "scale benchmark: existing registry",
                    )
                    for position, payload in zip(positions, payloads_of, strict=True):
                        row = seal_template(
                            vault, _envelope(payload), str(position), person_id=person.id, attempt_id=None
                        )
                        templates.append({c: getattr(row, c) for c in columns})
                    journal.append({"ref": f"p:{person.id}", "op": "add", "at": person.created_at})
                # the many template rows in one executemany each (the ORM's per-row work was
                # most of the time)
                session.execute(insert(TemplateRow), templates)
                session.execute(insert(GalleryJournalRow), journal)
            print(
                f"registry: {min(start + 2000, len(records))}/{len(records)} persons written "
                f"({time.perf_counter() - t0:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    finally:
        registry.close()
    info = {"persons": len(records), "seconds": round(time.perf_counter() - t0, 2)}
    done.write_text(json.dumps(info))
    return dict(info, cache_hit=False)


def _rss_bytes() -> int:
    """This process's resident set size (bytes; 0 where /proc is missing)."""
    try:
        with Path("/proc/self/status").open(encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def seeded_snapshot(seeded: Path) -> dict[str, Any] | None:
    """The newest gallery snapshot kept in a seeded registry (id, layout, journal position), if any."""
    from sqlalchemy import select

    from padron.registry.storage.database import Database
    from padron.registry.storage.models import GallerySnapshotRow

    if not (seeded / "padron.db").exists():
        return None
    db = Database(f"sqlite:///{seeded / 'padron.db'}")
    try:
        with db.read_session() as session:
            done = GallerySnapshotRow.completed_at.is_not(None)
            rows = session.scalars(select(GallerySnapshotRow).where(done)).all()
            return {r.layout: {"id": r.id, "position": r.position} for r in rows} or None
    except Exception:  # a registry before the snapshot tables
        return None
    finally:
        db.dispose()


def write_back_snapshot(index: Any, seeded: Path, vault: Any, part_bytes: int) -> dict[str, Any]:
    """Save the galleries of ``index`` (started on a copy of the seeded registry, before any
    enrollment) as a snapshot of the seeded registry itself, with the registry's snapshot API
    (``BiometricIndex.snapshot``, what ``padron gallery snapshot`` runs), so later runs start from
    segments. Only when the seeded registry's journal ends where the galleries are: a snapshot at
    another position would be wrong for it."""
    from sqlalchemy import func, select

    from padron.registry.segments import SegmentStore
    from padron.registry.service import Registry
    from padron.registry.storage.models import GalleryJournalRow

    registry = Registry.open(f"sqlite:///{seeded / 'padron.db'}", migrate=True)  # seeded before 0009?
    db = registry.db
    try:
        with db.read_session() as session:
            last = session.scalar(select(func.max(GalleryJournalRow.seq))) or 0
        if last != index.last_seq:
            return {"written": False, "reason": f"seeded journal at {last}, galleries at {index.last_seq}"}
        t0 = time.perf_counter()
        own = index.segments
        index.segments = SegmentStore(db, vault, part_bytes=part_bytes)
        try:
            info = index.snapshot()
        finally:
            index.segments = own
        if info is None:
            return {"written": False, "reason": "the galleries cannot be saved"}
        return {
            "written": True,
            "snapshot": info.id,
            "position": info.position,
            "sealed_bytes": info.sealed_bytes,
            "seconds": round(time.perf_counter() - t0, 2),
        }
    finally:
        registry.close()
        with contextlib.closing(sqlite3.connect(seeded / "padron.db")) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # copies of padron.db take no WAL


def _miss(record: Record, result: Any, original: int | None, gallery: Any) -> dict[str, Any]:
    """What a planted duplicate that was issued tells: its finger size and birth year, whether its
    original was among the candidates (with the fused LLR) and, on the embedded gallery, in the
    pre-selection's shortlist."""
    ref = f"p:{original}" if original is not None else None
    llr = next((c.llr for c in result.candidates if c.ref == ref), None)
    shortlist = getattr(gallery, "last_preselection", None)
    return {
        "record": record.number,
        "finger_scale": round(record.finger_scale, 3),
        "birth_year": record.data.birth_date.year,
        "original_candidate_llr": None if llr is None else round(llr, 2),
        "original_in_shortlist": None if shortlist is None or ref is None else ref in shortlist,
        "best_candidate_llr": round(result.candidates[0].llr, 2) if result.candidates else None,
    }


def _percentiles_ms(seconds: list[float]) -> dict[str, float | None]:
    return {
        q: round(1000 * float(np.quantile(seconds, v)), 1) if seconds else None
        for q, v in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
    }


def _time_searches(gallery: Any) -> list[float]:
    """Seconds of each 1:N search of ``gallery`` (pre-selection and matching, in this process or
    in Ray's workers) from now on: ``search_ms`` beside ``enrollment_ms``, whose rest is the
    registry's part of an enrollment (transaction, sealing, audit, journal)."""
    seconds: list[float] = []
    search = gallery.search

    def timed(probe: Any, k: int) -> Any:
        t0 = time.perf_counter()
        try:
            return search(probe, k)
        finally:
            seconds.append(time.perf_counter() - t0)

    gallery.search = timed
    return seconds


def run_backend(
    backend: str,
    records: list[Record],
    payloads: list[list[bytes]],
    positions: tuple[int, ...],
    model: Any,
    ray_workers: int,
    progress: bool,
    shortlist_threshold: int | None = None,
    seeded: Path | None = None,
    gallery_overrides: dict[str, Any] | None = None,
    existing_numbers: list[int] | None = None,
) -> dict[str, Any]:
    from padron.domain.person import PersonDraft
    from padron.matching.gallery import Gallery
    from padron.registry.factory import build_vault
    from padron.registry.identity import BiometricIndex, DedupPolicy, IdentityService
    from padron.registry.service import Registry
    from padron.settings import load_settings

    with tempfile.TemporaryDirectory(prefix="padron-dedup-scale-") as tmp:
        if seeded is not None:  # a copy of the existing registry, so every backend meets the same
            shutil.copyfile(seeded / "padron.db", Path(tmp) / "padron.db")
            shutil.copyfile(seeded / "vault.key", Path(tmp) / "vault.key")
            (Path(tmp) / "vault.key").chmod(0o600)  # copyfile leaves it open to others
        url = f"sqlite:///{Path(tmp) / 'padron.db'}"
        settings = load_settings().model_copy(update={"data_dir": Path(tmp), "database_url": url})
        factory = functools.partial(finger_gallery, shortlist_threshold, gallery_overrides)
        gallery: Gallery
        if backend == "ray":
            from padron.matching.backends.ray import RayGallery, connect

            connect(None, num_cpus=ray_workers)
            gallery = RayGallery(factory, modality=Modality.FINGERPRINT, shards=ray_workers)
        else:
            gallery = factory()
        registry = Registry.open(url, migrate=True)
        try:
            from padron.matching.modalities import FingerprintMatcher
            from padron.registry.segments import SegmentStore

            # padron's enrollment path with the fingerprint gallery only (the synthetic persons have
            # no face), as registry.factory.build_identity_service wires it: gallery snapshots kept
            # in the registry (a copy of the seeded one starts from its snapshot when it has one)
            vault = build_vault(settings)
            part_bytes = settings.gallery_segment_mib << 20
            index = BiometricIndex(
                {Modality.FINGERPRINT: gallery},
                vault,
                segments=SegmentStore(registry.db, vault, part_bytes=part_bytes),
            )
            service = IdentityService(
                registry,
                index,
                matchers={Modality.FINGERPRINT: FingerprintMatcher()},
                llr_models={Modality.FINGERPRINT: model},
                policy=DedupPolicy(
                    fpir_sure=settings.dedup_fpir_sure,
                    fpir_grey=settings.dedup_fpir_grey,
                    verify_fmr=settings.verify_fmr,
                    identify_fpir=settings.identify_fpir,
                ),
            )
            rss0 = _rss_bytes()
            start0 = time.perf_counter()
            loaded = service.start()  # after a rebuild it writes a snapshot (into this copy)
            startup = time.perf_counter() - start0
            started: dict[str, Any] = {
                "from": "segments" if index.startup.get("source") == "segments" else "rebuild",
                "seconds": round(startup, 2),
                "load_seconds": index.startup.get("seconds"),
                "replayed": index.startup.get("replayed"),
                "rss_grown_bytes": _rss_bytes() - rss0,
            }
            if started["from"] == "rebuild" and seeded is not None:
                # later runs start from segments: the same snapshot into the seeded registry
                started["written_back"] = write_back_snapshot(index, seeded, vault, part_bytes)
            statuses: list[str] = []
            latencies: list[float] = []
            searches = _time_searches(gallery)
            # record number -> registry person id: the existing registry was written in plan order
            # into an empty database, so its persons are 1, 2, ...; the rest as they are issued
            person_of = {number: i + 1 for i, number in enumerate(existing_numbers or [])}
            misses: list[dict[str, Any]] = []
            wall0, cpu0 = time.perf_counter(), time.process_time()
            for n, (record, templates) in enumerate(zip(records, payloads, strict=True), start=1):
                samples = {str(p): _envelope(t) for p, t in zip(positions, templates, strict=True)}
                one = time.perf_counter()
                result = service.enroll(
                    PersonDraft(record.data, record.nationality),
                    samples,
                    AccessContext.cli(ACTOR, Purpose.ENROLLMENT),
                    reason="scale benchmark",
                )
                latencies.append(time.perf_counter() - one)
                statuses.append(result.status)
                if result.person is not None:
                    person_of[record.number] = result.person.id
                if record.duplicate_of is not None and result.status not in ("refused", "pending"):
                    misses.append(_miss(record, result, person_of.get(record.duplicate_of), gallery))
                if progress and n % 500 == 0:
                    rate = n / (time.perf_counter() - wall0)
                    print(
                        f"[{backend}] {n}/{len(records)} enrolled, {rate:.1f}/s", file=sys.stderr, flush=True
                    )
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            stats = service.gallery_stats()
        finally:
            registry.close()
    planted = [s for r, s in zip(records, statuses, strict=True) if r.duplicate_of is not None]
    unique = [s for r, s in zip(records, statuses, strict=True) if r.duplicate_of is None]
    missed = sum(1 for s in planted if s not in ("refused", "pending"))
    false = sum(1 for s in unique if s in ("refused", "pending"))
    return {
        "backend": backend if backend == "memory" else f"ray ({ray_workers} local workers)",
        "registry_persons_at_start": loaded,
        "startup_from": started["from"],
        "startup_seconds": round(startup, 2),
        "startup": started,
        "enrollments": len(records),
        "wall_seconds": round(wall, 2),
        "process_cpu_seconds": round(cpu, 2),
        "enrollments_per_s": round(len(records) / wall, 2),
        "enrollment_ms": _percentiles_ms(latencies),
        "search_ms": _percentiles_ms(searches),
        "planted_duplicates": len(planted),
        "duplicates_refused": planted.count("refused"),
        "duplicates_to_adjudication": planted.count("pending"),
        "fnir": round(missed / max(1, len(planted)), 5),
        "unique_persons": len(unique),
        "false_refusals": unique.count("refused"),
        "false_adjudications": unique.count("pending"),
        "fpir": round(false / max(1, len(unique)), 6),
        "statuses": dict(Counter(statuses)),
        "missed_duplicates": misses,
        "gallery": stats,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--duplicates", type=int, default=None, help="default: 5%% of --people")
    parser.add_argument("--fingers", default="1,2,3,4,5,6,7,8,9,10", help="finger positions enrolled")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backends", default="memory,ray", help="memory, ray or both")
    parser.add_argument("--ray-workers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="processes synthesizing templates")
    parser.add_argument("--site-people", type=int, default=SITE_PEOPLE, help="persons for synthetic_scores")
    parser.add_argument(
        "--shortlist-threshold",
        type=int,
        default=None,
        help="subjects (per shard) above which the fingerprint pre-selection runs (default: the gallery's)",
    )
    parser.add_argument("--calibration", choices=("packaged", "site"), default="packaged")
    parser.add_argument("--cache", type=Path, default=CACHE, help="folder of the template cache (.npz)")
    parser.add_argument(
        "--searched",
        type=int,
        default=None,
        help="enroll only this many records through de-duplication (every planted duplicate and the "
        "last unique persons); the other unique persons are loaded first as the existing registry "
        "(default: every record is searched)",
    )
    parser.add_argument(
        "--gallery",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"a fingerprint gallery setting other than the product's ({', '.join(GALLERY_SETTINGS)})",
    )
    parser.add_argument("--prepare", action="store_true", help="only synthesize (and cache) the templates")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    settings = gallery_settings(args.gallery)
    positions = tuple(int(p) for p in args.fingers.split(","))
    duplicates = args.duplicates if args.duplicates is not None else max(1, args.people // 20)
    started = time.perf_counter()

    t0 = time.perf_counter()
    records = plan_records(args.people, duplicates, args.seed)
    plan_seconds = time.perf_counter() - t0
    jobs = [(args.seed, r.identity, r.finger_scale, r.impression_set, positions) for r in records]
    key = cache_key(args.people, duplicates, args.seed, positions)
    payloads, synth_seconds, hit = synthesize(jobs, key, args.workers, args.cache, progress=True)
    if args.prepare:
        print(json.dumps({"records": len(records), "template_synthesis_seconds": round(synth_seconds, 2)}))
        return 0
    site_jobs = [
        (args.seed, SITE_OFFSET + i, 1.0, imp, positions) for i in range(args.site_people) for imp in (0, 1)
    ]
    site_payloads = [_person_templates(j) for j in site_jobs]
    site_model, site = site_calibration(site_payloads, positions)
    if args.calibration == "site":
        model = site_model
    else:
        from padron.matching.modalities import packaged_llr

        model = packaged_llr(Modality.FINGERPRINT)
    from padron.biometrics.fingerprint.template import decode

    counts = [len(decode(p).minutiae) for person in payloads[:200] for p in person]

    existing, searched = split_records(records, args.searched)
    seeded_folder = None
    seeding: dict[str, Any] | None = None
    if existing:
        seeded_folder = args.cache / key / f"registry-{len(searched)}"
        seeding = seed_registry(
            seeded_folder, [records[i] for i in existing], [payloads[i] for i in existing], positions
        )
    tail_records, tail_payloads = [records[i] for i in searched], [payloads[i] for i in searched]
    del payloads  # the registry holds the existing persons' templates now
    backends = []
    for backend in args.backends.split(","):
        backends.append(
            run_backend(
                backend.strip(),
                tail_records,
                tail_payloads,
                positions,
                model,
                args.ray_workers,
                not args.json,
                args.shortlist_threshold,
                seeded_folder,
                settings,
                [records[i].number for i in existing],
            )
        )
    out = {
        "people": args.people,
        "planted_duplicates": duplicates,
        "records": len(records),
        "fingers": list(positions),
        "templates": len(records) * len(positions),
        "plan_seconds": round(plan_seconds, 2),
        "template_synthesis_seconds": round(synth_seconds, 2),
        "template_cache_hit": hit,
        "existing_registry": seeding,
        "searched_records": len(searched),
        "minutiae_per_template": {
            "median": float(np.median(counts)),
            "p10": float(np.quantile(counts, 0.1)),
            "p90": float(np.quantile(counts, 0.9)),
        },
        "synthetic_scores": site,
        "calibration": {"source": args.calibration, **model.to_dict()},
        "shortlist_threshold": args.shortlist_threshold,
        "gallery_settings": settings,
        "backends": backends,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "cpu_count": os.cpu_count(),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "seconds": round(time.perf_counter() - started, 2),
    }
    print(json.dumps(out, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
