"""The synthetic population: N persons + D planted duplicates, CURPs from the registry, ground
truth consistent with the records and the images, determinism."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from padron.domain.curp import Sex, validate_curp
from padron.registry.service import Registry
from padron.synth.errors import SynthDuplicatesError, SynthOutputExistsError, SynthParameterError
from padron.synth.population import (
    enroll_records,
    finger_classes,
    finger_scale,
    finger_seed,
    generate_population,
    plan_records,
    render_record_fingers,
)
from tests.support.contexts import READER


def read(out: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    persons = [json.loads(line) for line in (out / "persons.jsonl").read_text(encoding="utf-8").splitlines()]
    truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))
    return persons, truth


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 persons, both enrolled twice, with images."""
    out = tmp_path_factory.mktemp("population") / "small"
    generate_population(out, people=2, duplicates=2, seed=11)
    return out


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 persons + 30 duplicates, demographics only."""
    out = tmp_path_factory.mktemp("population") / "large"
    generate_population(out, people=300, duplicates=30, seed=5, images=False)
    return out


def test_n_persons_plus_d_duplicates_with_valid_unique_registry_curps(large: Path) -> None:
    persons, truth = read(large)
    assert len(persons) == 330 and [p["record"] for p in persons] == list(range(1, 331))
    curps = [p["curp"] for p in persons]
    assert len(set(curps)) == 330
    for person in persons:
        parsed = validate_curp(person["curp"], today=date(2026, 1, 1))
        assert person["curp"][4:10] == date.fromisoformat(person["birth_date"]).strftime("%y%m%d")
        assert parsed.stem == person["curp"][:16]
    registry = Registry.open(f"sqlite:///{large / 'registry.db'}")
    try:
        assert registry.count() == 330
        assert {p.curp for p in registry.persons(READER, limit=1000)} == set(curps)
    finally:
        registry.close()
    assert len(truth["duplicates"]) == 30
    assert {r["identity"] for r in truth["records"]} == set(range(300))


def test_ground_truth_names_each_duplicate_and_its_earlier_original(large: Path) -> None:
    persons, truth = read(large)
    by_record = {p["record"]: p for p in persons}
    identities = {r["record"]: r for r in truth["records"]}
    originals = set()
    for dup in truth["duplicates"]:
        person, original = by_record[dup["record"]], by_record[dup["original_record"]]
        assert dup["original_record"] < dup["record"]  # enrolled again later
        assert person["curp"] == dup["curp"] and original["curp"] == dup["original_curp"]
        assert dup["name"] != dup["original_name"] and "name" in dup["changed"]
        assert person["sex"] == original["sex"]
        assert ("birth_date" in dup["changed"]) == (person["birth_date"] != original["birth_date"])
        assert ("birth_state" in dup["changed"]) == (person["birth_state"] != original["birth_state"])
        a, b = identities[dup["record"]], identities[dup["original_record"]]
        assert a["identity"] == b["identity"] and a["finger_seed"] == b["finger_seed"]
        assert a["impression_set"] != b["impression_set"]
        assert a["finger_classes"] == b["finger_classes"]
        originals.add(dup["original_record"])
    assert len(originals) == 30  # each person duplicated at most once
    # fraudsters change their birth data sometimes, not always
    changed = [d["changed"] for d in truth["duplicates"]]
    assert 0 < sum("birth_date" in c for c in changed) < 30
    assert 0 < sum("birth_state" in c for c in changed) < 30


def test_every_record_has_ten_finger_images_and_duplicates_reuse_the_fingers(small: Path) -> None:
    persons, truth = read(small)
    assert len(persons) == 4
    for person in persons:
        assert sorted(person["fingers"], key=int) == [str(p) for p in range(1, 11)]
        for paths in person["fingers"].values():
            (path,) = paths
            assert path.startswith(f"fingers/{person['curp']}/")
            image = Image.open(small / path)
            assert image.mode == "L" and image.size == (400, 480)
    by_record = {p["record"]: p for p in persons}
    for dup in truth["duplicates"]:
        copy, original = by_record[dup["record"]], by_record[dup["original_record"]]
        a = np.asarray(Image.open(small / copy["fingers"]["1"][0]))
        b = np.asarray(Image.open(small / original["fingers"]["1"][0]))
        assert a.tobytes() != b.tobytes()  # other impressions of the same finger


def test_ground_truth_classes_and_images_can_be_reproduced_from_the_seeds(small: Path) -> None:
    persons, truth = read(small)
    records = plan_records(2, 2, seed=11)
    for record, entry, person in zip(records, truth["records"], persons, strict=True):
        assert entry["record"] == person["record"] == record.number
        assert entry["finger_classes"] == finger_classes(entry["finger_seed"])
        assert entry["finger_seed"] == finger_seed(11, record.identity)
    duplicate = next(r for r in records if r.duplicate_of is not None)
    position, k, image = next(render_record_fingers(11, duplicate, 1))
    stored = persons[duplicate.number - 1]["fingers"][str(position)][k - 1]
    assert np.asarray(Image.open(small / stored)).tobytes() == image.tobytes()


def test_finger_size_follows_age_and_sex() -> None:
    today = date(2026, 1, 1)
    man, woman = (
        finger_scale(date(1980, 5, 1), Sex.HOMBRE, today),
        finger_scale(date(1980, 5, 1), Sex.MUJER, today),
    )
    assert man == 1.05 and woman == 0.95
    by_age = [finger_scale(date(2026 - age, 1, 1), Sex.MUJER, today) for age in range(0, 30)]
    assert by_age == sorted(by_age) and by_age[0] < 0.5 and by_age[5] < 0.7 * by_age[20]


def test_records_carry_the_finger_size_of_the_real_person(large: Path) -> None:
    persons, truth = read(large)
    scales = {r["record"]: r["finger_scale"] for r in truth["records"]}
    for dup in truth["duplicates"]:  # a fraudster's alias does not change their fingers
        assert scales[dup["record"]] == scales[dup["original_record"]]
    for person in persons:
        if person["birth_date"] <= "2000-01-01":
            assert scales[person["record"]] in (0.95, 1.05)
    assert min(scales.values()) < 0.8  # children


@pytest.mark.slow
def test_worker_processes_write_the_same_bytes(tmp_path: Path, small: Path) -> None:
    """...also when the masters go through the disk cache."""
    parallel = tmp_path / "parallel"
    generate_population(parallel, people=2, duplicates=2, seed=11, workers=2, cache_dir=tmp_path / "cache")
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 20
    assert (parallel / "persons.jsonl").read_bytes() == (small / "persons.jsonl").read_bytes()
    images = sorted(p.relative_to(small) for p in small.rglob("*.png"))
    assert len(images) == 40
    assert sorted(p.relative_to(parallel) for p in parallel.rglob("*.png")) == images
    assert all((parallel / p).read_bytes() == (small / p).read_bytes() for p in images)


def test_the_same_seed_gives_the_same_files(tmp_path: Path, large: Path) -> None:
    again = tmp_path / "again"
    generate_population(again, people=300, duplicates=30, seed=5, images=False)
    for name in ("persons.jsonl", "ground_truth.json"):
        assert (again / name).read_bytes() == (large / name).read_bytes()
    other = tmp_path / "other"
    generate_population(other, people=300, duplicates=30, seed=6, images=False)
    assert (other / "persons.jsonl").read_bytes() != (large / "persons.jsonl").read_bytes()


def test_homonyms_get_distinct_curps_from_the_registry(tmp_path: Path) -> None:
    """Two records with the same data (a homonym) get CURPs differing only in positions 17-18,
    the registry's lowest free differentiators."""
    first, second = plan_records(2, 0, seed=2)
    twin = replace(second, data=first.data)
    curps = enroll_records([first, twin, second], f"sqlite:///{tmp_path / 'r.db'}")
    assert len(set(curps)) == 3
    assert curps[0][:16] == curps[1][:16] and curps[0][16] != curps[1][16]
    assert all(validate_curp(c, today=date(2026, 1, 1)) for c in curps)


def test_refuses_a_used_folder_and_impossible_counts(tmp_path: Path) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "x.txt").write_text("keep me")
    with pytest.raises(SynthOutputExistsError) as error:
        generate_population(used, people=2, images=False)
    assert error.value.code == "PAD-SYNTH-002" and (used / "x.txt").read_text() == "keep me"
    with pytest.raises(SynthDuplicatesError) as dup_error:
        generate_population(tmp_path / "new", people=2, duplicates=3, images=False)
    assert dup_error.value.code == "PAD-SYNTH-003"
    with pytest.raises(SynthParameterError):
        generate_population(tmp_path / "new2", people=0, images=False)
