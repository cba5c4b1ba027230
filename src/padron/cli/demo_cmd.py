"""`padron demo`: the main job on the embedded default (a SQLite file), no external data.

Enrolls a synthetic population, plants a homonym pair to show position 17 at work, corrects one
person's data (a new CURP is issued, the old one still finds them), suspends and reactivates
them, and prints a summary. Later issues extend it with biometrics and de-duplication.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.panel import Panel

from padron.cli.output import console, print_json
from padron.cli.person_cmd import history_table, persons_table
from padron.domain.curp import CurpData, Sex, validate_curp
from padron.domain.person import PersonDraft, Status
from padron.registry.service import Registry
from padron.settings import load_settings
from padron.synth.demographics import DemographicGenerator

ACTOR = "demo:enrollment-officer"


def _fresh_database(directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        (directory / f"padron.db{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{(directory / 'padron.db').resolve()}"


def demo(
    people: Annotated[int, typer.Option("--people", min=2, max=1_000_000, help="Persons to enroll.")] = 200,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic population.")] = 2026,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Run the registry end to end on a fresh demo database and print a summary."""
    started = time.perf_counter()
    settings = load_settings()
    url = _fresh_database(settings.data_dir / "demo")
    registry = Registry.open(url, migrate=True)
    try:
        summary = _run(registry, people=people, seed=seed, quiet=as_json)
    finally:
        registry.close()
    summary["database"] = url
    summary["seconds"] = round(time.perf_counter() - started, 3)
    if as_json:
        print_json(summary)
    else:
        console.print(
            Panel.fit(
                f"enrolled {summary['enrolled']} persons in {summary['enroll_seconds']:.2f} s "
                f"({summary['enrollments_per_s']:.0f}/s); {summary['unique_curps']} unique CURPs, "
                f"all valid: {summary['all_curps_valid']}\n"
                f"homonyms: {summary['homonym']['curps'][0]} / {summary['homonym']['curps'][1]} "
                f"(position 17: {summary['homonym']['differentiators']})\n"
                f"correction: {summary['correction']['old_curp']} -> {summary['correction']['new_curp']}, "
                f"{summary['correction']['history_entries']} history entries\n"
                f"total {summary['seconds']:.2f} s; database {url}",
                title="padron demo",
            )
        )


def _run(registry: Registry, *, people: int, seed: int, quiet: bool) -> dict[str, Any]:
    def say(*args: Any) -> None:
        if not quiet:
            console.print(*args)

    # 1. a synthetic population, enrolled one by one as an officer would
    population = DemographicGenerator(seed).people(people - 2)
    t0 = time.perf_counter()
    enrolled = [
        registry.enroll(PersonDraft(p.data, p.nationality), actor=ACTOR, reason="demo enrollment")
        for p in population
    ]

    # 2. two different people whose data give the same first 16 characters
    twin = CurpData(
        given_names="JUAN",
        first_surname="HERNÁNDEZ",
        second_surname="GARCÍA",
        birth_date=date(1990, 5, 17),
        sex=Sex.HOMBRE,
        birth_state="DF",
    )
    first = registry.enroll(PersonDraft(twin), actor=ACTOR, reason="demo: homonym 1 of 2")
    second = registry.enroll(PersonDraft(twin), actor=ACTOR, reason="demo: homonym 2 of 2")
    enrolled += [first, second]
    enroll_seconds = time.perf_counter() - t0
    say(persons_table(enrolled[:10], title=f"First 10 of {len(enrolled)} enrolled persons"))
    say(
        f"Homonyms: two persons named {first.full_name}, born {first.birth_date} in {first.birth_state}: "
        f"{first.curp} and {second.curp} differ in position 17 ({first.curp[16]} / {second.curp[16]}) "
        f"and so in the check digit."
    )

    # 3. a correction: day and month of birth were swapped at enrollment, so the CURP changes;
    #    the old CURP is retired (never issued again) and still finds the person
    subject = next(p for p in enrolled if p.birth_date.day <= 12 and p.birth_date.day != p.birth_date.month)
    swapped = subject.birth_date.replace(month=subject.birth_date.day, day=subject.birth_date.month)
    updated = registry.update(
        subject.curp,
        {"birth_date": swapped.isoformat()},
        actor="demo:registry-officer",
        reason="birth certificate shows day and month swapped at enrollment",
    )
    registry.set_status(
        updated.curp, Status.SUSPENDED, actor="demo:registry-officer", reason="document check"
    )
    registry.set_status(
        updated.curp, Status.ACTIVE, actor="demo:registry-officer", reason="documents verified"
    )
    final = registry.get(subject.curp)  # the old CURP still finds the person
    entries = registry.history(final.curp)
    say(history_table(final, entries))

    curps = [p.curp for p in registry.persons(limit=people + 10)]
    valid = all(validate_curp(c).curp == c for c in curps)
    return {
        "enrolled": len(enrolled),
        "enroll_seconds": round(enroll_seconds, 3),
        "enrollments_per_s": round(len(enrolled) / enroll_seconds, 1),
        "unique_curps": len(set(curps)),
        "all_curps_valid": valid,
        "sample": [p.to_dict() for p in enrolled[:5]],
        "homonym": {
            "name": first.full_name,
            "curps": [first.curp, second.curp],
            "differentiators": [first.curp[16], second.curp[16]],
        },
        "correction": {
            "old_curp": subject.curp,
            "new_curp": final.curp,
            "old_curp_resolves_to": registry.get(subject.curp).curp,
            "history_entries": len(entries),
            "history": [e.to_dict() for e in entries],
        },
    }
