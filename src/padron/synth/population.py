"""A synthetic population with ten fingerprints per person and planted duplicates.

``generate_population(out, people=N, duplicates=D, seed=S)`` (``padron synth population``) writes::

    DIR/persons.jsonl       one enrollment record per line, in enrollment order: record number,
                            CURP, demographics, and per finger position (1-10, ISO/ANSI codes)
                            the image paths relative to DIR (null with images=False)
    DIR/fingers/<CURP>/<PP>_<k>.png
                            finger position PP (01-10), impression k (1..impressions), 8-bit grey,
                            500 dpi, 400 x 480 px
    DIR/ground_truth.json   which records are planted duplicates of which original record (with
                            both names and what the fraudster changed), every record's identity,
                            finger seed, impression set and finger classes, and the parameters
    DIR/registry.db         the SQLite registry that issued the CURPs (homonyms resolved exactly
                            as in production: the lowest free position-17 differentiator)

N original persons come from :class:`~padron.synth.demographics.DemographicGenerator` (Faker
``es_MX`` names, census-weighted states, age pyramid). Each person's fingers are sized by their
age and sex (:func:`finger_scale`: a child's ridges are closer together, women's slightly
finer). D of them, chosen at random, enroll a second time later in the sequence under another
Faker name (same sex), keeping the real birth date with probability 0.4 (else shifted by up to
three years) and the real state with probability 0.5 -- as a fraudster might. A duplicate's
fingerprints are other impressions (another impression set) of the SAME master fingers, so only
biometrics can find it. Everything is deterministic from ``seed`` and the reference date
(``today``; fixed by default so that a seed always gives the same birth dates).

For very large N, ``images=False`` writes demographics and ground truth only: the images stay
reproducible from each record's finger seed and impression set (``render_record_fingers``).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from padron.domain.access import AccessContext, Purpose
from padron.domain.curp import CurpData, Sex
from padron.domain.person import PersonDraft
from padron.domain.states import STATE_POPULATION
from padron.synth.demographics import DemographicGenerator, SyntheticPerson
from padron.synth.errors import SynthDuplicatesError, SynthOutputExistsError, SynthParameterError

if TYPE_CHECKING:
    from padron.synth.fingerprint.master import MasterPrint

#: the default reference date for ages (so that a seed always gives the same population)
REFERENCE_DATE = date(2026, 1, 1)
#: what a fraudster enrolling again keeps of their real data
P_KEEP_BIRTH_DATE = 0.4
P_KEEP_STATE = 0.5
MAX_BIRTH_SHIFT_DAYS = 3 * 365
ACTOR = "synth:population"

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class Record:
    """One enrollment: a person as the registry saw them."""

    number: int  # 1-based enrollment order
    identity: int  # 0-based index of the biological person
    data: CurpData
    nationality: str
    impression_set: int  # 0 for the original enrollment, 1.. for planted duplicates
    duplicate_of: int | None  # record number of the original
    changed: tuple[str, ...] = ()
    #: the person's finger size (from their real age and sex, also for a duplicate's alias)
    finger_scale: float = 1.0


@dataclass(frozen=True, slots=True)
class PopulationSummary:
    out: Path
    people: int
    duplicates: int
    records: int
    images: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "people": self.people,
            "duplicates": self.duplicates,
            "records": self.records,
            "images": self.images,
            "seconds": round(self.seconds, 3),
        }


#: (age in years, finger size relative to an adult's): median stature for age over adult stature
#: (CDC growth charts, sexes averaged), since fingerprints grow isotropically with the body
#: (Gottschlich et al., "Modeling the growth of fingerprints improves matching for adolescents",
#: IEEE TIFS 2011). Floored at 0.45 for infants: below ~4 px of ridge period a 500-dpi sensor no
#: longer resolves the ridges, and no registry captures newborns' fingerprints at that resolution.
GROWTH: tuple[tuple[float, float], ...] = (
    (0, 0.45), (1, 0.46), (2, 0.52), (3, 0.58), (4, 0.62), (5, 0.66), (6, 0.70),
    (8, 0.77), (10, 0.84), (12, 0.91), (14, 0.97), (16, 1.0),
)  # fmt: skip
#: women's ridges are finer than men's (Acree, "Is there a gender difference in fingerprint ridge
#: density?", Forensic Sci. Int. 1999, found a significantly higher density in women; the 10% gap
#: is our assumption); the average of the two stays 1
SEX_SCALE = {Sex.HOMBRE: 1.05, Sex.MUJER: 0.95}


def finger_scale(birth_date: date, sex: Sex, today: date = REFERENCE_DATE) -> float:
    """Size of a person's fingers (ridge period, fingertip) relative to the average adult's."""
    age = max(0.0, (today - birth_date).days / 365.25)
    ages, scales = zip(*GROWTH, strict=True)
    return round(float(np.interp(age, ages, scales)) * SEX_SCALE[sex], 3)


def finger_seed(seed: int, identity: int) -> int:
    """The seed of identity ``identity``'s ten master fingers (a 31-bit integer)."""
    return int(np.random.SeedSequence([seed, identity, 0x5F1]).generate_state(1)[0] & 0x7FFFFFFF)


def _fraudster(
    original: SyntheticPerson, alias: SyntheticPerson, rng: random.Random, today: date
) -> tuple[CurpData, tuple[str, ...]]:
    """The original person's second identity: another name, perhaps another birth date/state."""
    real = original.data
    changed = ["name"]
    birth = real.birth_date
    if rng.random() >= P_KEEP_BIRTH_DATE:
        for _ in range(20):
            shifted = real.birth_date + timedelta(
                days=rng.randint(-MAX_BIRTH_SHIFT_DAYS, MAX_BIRTH_SHIFT_DAYS)
            )
            if shifted != real.birth_date and date(1900, 1, 1) <= shifted <= today:
                birth = shifted
                changed.append("birth_date")
                break
    state = real.birth_state
    if rng.random() >= P_KEEP_STATE:
        others = [s for s in STATE_POPULATION if s != real.birth_state]
        state = rng.choices(others, [STATE_POPULATION[s] for s in others])[0]
        changed.append("birth_state")
    data = CurpData(
        given_names=alias.data.given_names,
        first_surname=alias.data.first_surname,
        second_surname=alias.data.second_surname,
        birth_date=birth,
        sex=real.sex,
        birth_state=state,
    )
    return data, tuple(changed)


def plan_records(people: int, duplicates: int, seed: int, today: date = REFERENCE_DATE) -> list[Record]:
    """The enrollment sequence: originals in order, each duplicate somewhere after its original."""
    if people < 1:
        raise SynthParameterError(f"a population needs at least one person, not {people}", people=people)
    if not 0 <= duplicates <= people:
        raise SynthDuplicatesError(
            f"cannot plant {duplicates} duplicates among {people} persons (one per person at most)",
            people=people,
            duplicates=duplicates,
        )
    originals = DemographicGenerator(seed, today=today).people(people)
    aliases = DemographicGenerator(seed + 1_000_003, today=today)
    rng = random.Random(f"padron-population-{seed}")
    duplicated = sorted(rng.sample(range(people), duplicates))
    # sort keys: original i at i; its duplicate at a random later place
    entries: list[tuple[float, int, int]] = [(float(i), i, 0) for i in range(people)]
    for identity in duplicated:
        entries.append((rng.uniform(identity + 0.5, people), identity, 1))
    entries.sort()
    number_of_original: dict[int, int] = {}
    records: list[Record] = []
    for number, (_, identity, impression_set) in enumerate(entries, start=1):
        person = originals[identity]
        scale = finger_scale(person.data.birth_date, person.data.sex, today)
        if impression_set == 0:
            number_of_original[identity] = number
            records.append(Record(number, identity, person.data, person.nationality, 0, None, (), scale))
            continue
        alias = aliases.person()
        while alias.data.sex is not person.data.sex:
            alias = aliases.person()
        data, changed = _fraudster(person, alias, rng, today)
        records.append(
            Record(
                number,
                identity,
                data,
                person.nationality,
                impression_set,
                number_of_original[identity],
                changed,
                scale,
            )
        )
    return records


def _check_output(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SynthOutputExistsError(f"{out} already exists and is not an empty folder", out=str(out))


def enroll_records(records: list[Record], url: str) -> list[str]:
    from padron.registry.service import Registry  # the registry issues the CURPs

    registry = Registry.open(url, migrate=True)
    try:
        return [
            registry.enroll(
                PersonDraft(r.data, r.nationality),
                AccessContext.cli(ACTOR, Purpose.ENROLLMENT),
                reason="synthetic population",
            ).curp
            for r in records
        ]
    finally:
        registry.close()


def _masters(individual: int, scale: float, cache_dir: Path | None) -> Iterator[MasterPrint]:
    """The ten master fingers, grown (or read from the cache) one at a time."""
    from padron.synth.fingerprint import FingerPosition, MasterCache, MasterParams, generate_finger

    params = MasterParams(scale=scale)
    cache = MasterCache(cache_dir, params) if cache_dir is not None else None
    for position in FingerPosition:
        yield (
            cache.get(individual, position) if cache else generate_finger(individual, position, params=params)
        )


def finger_classes(individual: int) -> dict[str, str]:
    """The classes of an individual's ten fingers without growing them (the class is the first
    draw of each finger's random stream, exactly as ``generate_finger`` draws it)."""
    from padron.synth.fingerprint import FingerPosition
    from padron.synth.fingerprint.master import choose_class, finger_rng

    return {str(int(p)): choose_class(p, finger_rng(individual, p)).value for p in FingerPosition}


def render_record_fingers(
    seed: int, record: Record, impressions: int, cache_dir: Path | None = None
) -> Iterator[tuple[int, int, NDArray[np.uint8]]]:
    """(position, impression number 1.., 8-bit image) of a record's ten fingers: the images a
    population written with ``images=False`` would have held."""
    from padron.synth.fingerprint import impressions as render

    for master in _masters(finger_seed(seed, record.identity), record.finger_scale, cache_dir):
        for k, image in enumerate(render(master, impressions, seed=record.impression_set), start=1):
            yield int(master.position), k, image


def _write_images(
    out: Path, curp: str, masters: list[MasterPrint], impressions: int, impression_set: int
) -> dict[str, list[str]]:
    from PIL import Image

    from padron.synth.fingerprint import impressions as render

    folder = out / "fingers" / curp
    folder.mkdir(parents=True, exist_ok=True)
    fingers: dict[str, list[str]] = {}
    for master in masters:
        names = []
        for k, image in enumerate(render(master, impressions, seed=impression_set), start=1):
            name = f"{int(master.position):02d}_{k}.png"
            Image.fromarray(image).save(folder / name, dpi=(500, 500))
            names.append(f"fingers/{curp}/{name}")
        fingers[str(int(master.position))] = names
    return fingers


@dataclass(frozen=True, slots=True)
class _IdentityJob:
    """Render every enrollment of one person: the masters are grown once and shared by the
    original and its planted duplicate."""

    out: Path
    individual: int
    scale: float
    enrollments: list[tuple[int, str, int]]  # (record index, CURP, impression set)
    impressions: int
    cache_dir: Path | None

    def __call__(self) -> dict[int, dict[str, list[str]]]:
        masters = list(_masters(self.individual, self.scale, self.cache_dir))
        return {
            index: _write_images(self.out, curp, masters, self.impressions, impression_set)
            for index, curp, impression_set in self.enrollments
        }


def _call(job: _IdentityJob) -> dict[int, dict[str, list[str]]]:
    return job()


def _run_jobs(jobs: list[_IdentityJob], workers: int) -> Iterator[dict[int, dict[str, list[str]]]]:
    if workers == 1 or len(jobs) < 2:
        yield from (job() for job in jobs)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")  # no fork of a process holding a database
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield from pool.map(_call, jobs, chunksize=1)


def generate_population(
    out: Path,
    *,
    people: int,
    duplicates: int = 0,
    seed: int = 0,
    impressions: int = 1,
    images: bool = True,
    today: date = REFERENCE_DATE,
    cache_dir: Path | None = None,
    workers: int = 1,
    progress: Progress | None = None,
) -> PopulationSummary:
    """Write the population described in the module docstring to ``out`` (empty or new). With
    ``workers`` > 1 the fingers of different persons are rendered in that many processes; the
    files are the same bytes whatever the number of workers."""
    started = time.perf_counter()
    if not 1 <= workers <= 256:
        raise SynthParameterError(f"workers must be 1..256, not {workers}", workers=workers)
    if not 1 <= impressions <= 16:
        raise SynthParameterError(
            f"impressions per finger must be 1..16, not {impressions}", impressions=impressions
        )
    out = Path(out)
    _check_output(out)
    records = plan_records(people, duplicates, seed, today)
    out.mkdir(parents=True, exist_ok=True)
    curps = enroll_records(records, f"sqlite:///{(out / 'registry.db').resolve()}")
    if progress:
        progress("enrolled", len(records), len(records))

    by_identity: dict[int, list[int]] = {}
    for i, r in enumerate(records):
        by_identity.setdefault(r.identity, []).append(i)
    paths: dict[int, dict[str, list[str]]] = {}
    classes: dict[int, dict[str, str]] = {}
    written = 0
    for identity in by_identity:
        classes[identity] = finger_classes(finger_seed(seed, identity))
    if images:
        jobs = [
            _IdentityJob(
                out,
                finger_seed(seed, identity),
                records[indices[0]].finger_scale,
                [(i, curps[i], records[i].impression_set) for i in indices],
                impressions,
                cache_dir,
            )
            for identity, indices in sorted(by_identity.items())
        ]
        for done, result in enumerate(_run_jobs(jobs, workers), start=1):
            paths.update(result)
            written += 10 * impressions * len(result)
            if progress:
                progress("fingers", done, len(jobs))

    _write_persons(out, records, curps, paths if images else None)
    _write_ground_truth(
        out,
        records,
        curps,
        classes,
        seed=seed,
        people=people,
        duplicates=duplicates,
        impressions=impressions,
        images=images,
        today=today,
    )
    return PopulationSummary(out, people, duplicates, len(records), written, time.perf_counter() - started)


def _person_json(record: Record, curp: str) -> dict[str, Any]:
    d = record.data
    return {
        "record": record.number,
        "curp": curp,
        "given_names": d.given_names,
        "first_surname": d.first_surname,
        "second_surname": d.second_surname,
        "birth_date": d.birth_date.isoformat(),
        "sex": d.sex.value,
        "birth_state": d.birth_state,
        "nationality": record.nationality,
    }


def _write_persons(
    out: Path, records: list[Record], curps: list[str], paths: dict[int, dict[str, list[str]]] | None
) -> None:
    with (out / "persons.jsonl").open("w", encoding="utf-8") as handle:
        for i, record in enumerate(records):
            line = _person_json(record, curps[i]) | {"fingers": paths[i] if paths is not None else None}
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")


def _full_name(data: CurpData) -> str:
    return " ".join(p for p in (data.given_names, data.first_surname, data.second_surname) if p)


def _write_ground_truth(
    out: Path,
    records: list[Record],
    curps: list[str],
    classes: dict[int, dict[str, str]],
    **parameters: Any,
) -> None:
    from padron.synth.fingerprint import GENERATOR_VERSION

    by_number = {r.number: i for i, r in enumerate(records)}
    duplicates = []
    for i, record in enumerate(records):
        if record.duplicate_of is None:
            continue
        j = by_number[record.duplicate_of]
        duplicates.append(
            {
                "record": record.number,
                "curp": curps[i],
                "name": _full_name(record.data),
                "original_record": record.duplicate_of,
                "original_curp": curps[j],
                "original_name": _full_name(records[j].data),
                "changed": list(record.changed),
            }
        )
    truth = {
        "generator_version": GENERATOR_VERSION,
        "parameters": {k: (v.isoformat() if isinstance(v, date) else v) for k, v in parameters.items()},
        "duplicates": duplicates,
        "records": [
            {
                "record": r.number,
                "curp": curps[i],
                "identity": r.identity,
                "finger_seed": finger_seed(int(parameters["seed"]), r.identity),
                "impression_set": r.impression_set,
                "finger_scale": r.finger_scale,
                "finger_classes": classes[r.identity],
            }
            for i, r in enumerate(records)
        ],
    }
    (out / "ground_truth.json").write_text(
        json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
