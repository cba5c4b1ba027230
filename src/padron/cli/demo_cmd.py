"""`padron demo`: the main job on the embedded default (a SQLite file), no external data.

Enrolls a synthetic population with fingerprints and planted duplicates through de-duplication
(caught duplicates, adjudication cases, 1:1 and 1:N), plants a homonym pair to show position 17
at work, corrects one person's data (a new CURP is issued, the old one still finds them),
suspends and reactivates them, and prints a summary. ``--no-biometrics`` enrolls demographics
only (seconds instead of minutes).
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
from padron.domain.access import AccessContext, Purpose
from padron.domain.curp import CurpData, Sex, validate_curp
from padron.domain.person import PersonDraft, Status
from padron.registry.service import Registry
from padron.settings import load_settings
from padron.synth.demographics import DemographicGenerator

ACTOR = "demo:enrollment-officer"
#: the demo works as an enrollment officer and a registry officer on the command line
ENROLLING = AccessContext.cli(ACTOR, Purpose.ENROLLMENT)
CORRECTING = AccessContext.cli("demo:registry-officer", Purpose.CORRECTION)


def _fresh_database(directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        (directory / f"padron.db{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{(directory / 'padron.db').resolve()}"


def demo(
    people: Annotated[int, typer.Option("--people", min=2, max=1_000_000, help="Persons to enroll.")] = 200,
    duplicates: Annotated[
        int, typer.Option("--duplicates", min=0, help="Planted duplicates (biometric demo).")
    ] = 20,
    fingers: Annotated[str, typer.Option("--fingers", help="Finger positions captured, e.g. 2,7.")] = "2,7",
    biometrics: Annotated[
        bool, typer.Option("--biometrics/--no-biometrics", help="Enroll with synthetic fingerprints.")
    ] = True,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Capture processes.")] = 2,
    chain: Annotated[
        str, typer.Option("--chain", help="Fingerprint extraction chain: classic (fast) or leader.")
    ] = "classic",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic population.")] = 2026,
    gateway: Annotated[
        bool, typer.Option("--gateway/--no-gateway", help="Run the sharing gateway between two instances.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Run the registry end to end on a fresh demo database and print a summary."""
    started = time.perf_counter()
    settings = load_settings()
    directory = settings.data_dir / "demo"
    url = _fresh_database(directory)
    registry = Registry.open(url, migrate=True)
    try:
        biometric: dict[str, Any] | None = None
        if biometrics:
            from padron.cli import demo_biometric
            from padron.registry.factory import build_identity_service

            positions = tuple(p.strip() for p in fingers.split(",") if p.strip())
            demo_settings = settings.model_copy(update={"database_url": url, "data_dir": directory})
            service = build_identity_service(demo_settings, registry=registry)
            biometric = demo_biometric.run(
                service,
                people=people,
                duplicates=duplicates,
                seed=seed,
                fingers=positions,
                workers=workers,
                chain=chain,
                masters=directory / "masters",
                say=(lambda *a: None) if as_json else console.print,
            )
        summary = _run(registry, people=0 if biometrics else people, seed=seed, quiet=as_json)
        if biometric is not None:
            summary.update(biometric)
        report = registry_audit_report(registry)
        summary["audit_chain_valid"] = report
        if gateway:
            from padron.cli import demo_gateway

            summary["gateway"] = demo_gateway.run(
                directory / "gateway", say=(lambda *a: None) if as_json else console.print
            )
    finally:
        registry.close()
    summary.setdefault("planted_duplicates", 0)
    summary.setdefault("duplicates_caught", 0)
    summary.setdefault("adjudication_cases", 0)
    summary["enrolled"] = summary["unique_curps"]
    summary["database"] = url
    summary["seconds"] = round(time.perf_counter() - started, 3)
    if as_json:
        print_json(summary)
    else:
        console.print(
            Panel.fit(
                f"enrolled {summary['enrolled']} persons; {summary['unique_curps']} unique CURPs, "
                f"all valid: {summary['all_curps_valid']}\n"
                f"homonyms: {summary['homonym']['curps'][0]} / {summary['homonym']['curps'][1]} "
                f"(position 17: {summary['homonym']['differentiators']})\n"
                f"correction: {summary['correction']['old_curp']} -> {summary['correction']['new_curp']}, "
                f"{summary['correction']['history_entries']} history entries\n"
                + (
                    f"biometrics: {summary['planted_duplicates']} planted duplicates, "
                    f"{summary['duplicates_caught']} caught ({summary.get('duplicates_refused', 0)} refused, "
                    f"{summary.get('duplicates_to_adjudication', 0)} to adjudication)\n"
                    f"  {summary.get('false_alarms', 0)} false alarms, "
                    f"{summary['adjudication_cases']} adjudication case(s), "
                    f"{summary.get('duplicates_under_5_not_checkable', 0)} under-5 duplicate(s) unseen\n"
                    if biometrics
                    else ""
                )
                + f"audit log verified: {summary['audit_chain_valid']}\n"
                + (_gateway_line(summary["gateway"]) if gateway else "")
                + f"total {summary['seconds']:.2f} s; database {url}",
                title="padron demo",
            )
        )


def _run(registry: Registry, *, people: int, seed: int, quiet: bool) -> dict[str, Any]:
    def say(*args: Any) -> None:
        if not quiet:
            console.print(*args)

    # 1. a synthetic population, enrolled one by one as an officer would
    population = DemographicGenerator(seed).people(max(0, people - 2))
    t0 = time.perf_counter()
    enrolled = [
        registry.enroll(PersonDraft(p.data, p.nationality), ENROLLING, reason="demo enrollment")
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
    first = registry.enroll(PersonDraft(twin), ENROLLING, reason="demo: homonym 1 of 2")
    second = registry.enroll(PersonDraft(twin), ENROLLING, reason="demo: homonym 2 of 2")
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
    subject = next(
        p
        for p in registry.persons(CORRECTING, status=Status.ACTIVE, limit=100_000)
        if p.birth_date.day <= 12 and p.birth_date.day != p.birth_date.month
    )
    swapped = subject.birth_date.replace(month=subject.birth_date.day, day=subject.birth_date.month)
    updated = registry.update(
        subject.curp,
        {"birth_date": swapped.isoformat()},
        CORRECTING,
        reason="birth certificate shows day and month swapped at enrollment",
    )
    registry.set_status(updated.curp, Status.SUSPENDED, CORRECTING, reason="document check")
    registry.set_status(updated.curp, Status.ACTIVE, CORRECTING, reason="documents verified")
    final = registry.get(subject.curp, CORRECTING)  # the old CURP still finds the person
    entries = registry.history(final.curp, CORRECTING)
    say(history_table(final, entries))

    curps = [p.curp for p in registry.persons(CORRECTING, limit=10_000_000)]
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
            "old_curp_resolves_to": registry.get(subject.curp, CORRECTING).curp,
            "history_entries": len(entries),
            "history": [e.to_dict() for e in entries],
        },
    }


def registry_audit_report(registry: Registry) -> bool:
    """Whether the demo registry's audit log verifies end to end."""
    from padron.registry.audit import AuditLog

    return bool(AuditLog(registry, origin="padron.local/demo").verify().ok)


def _gateway_line(g: dict[str, Any]) -> str:
    follow, checkpoints = g["follow_up"], g["checkpoints"]
    both = all(c["all_signed_by_both"] for c in checkpoints.values())
    return (
        f"gateway mx-renapo <-> us-dhs ({g['seconds']:.1f} s):\n"
        f"  no agreement: {g['no_agreement']['status']}; identify: hit {g['identify']['hit']}, "
        f"unknown {g['identify']['unknown_hit']}\n"
        f"  follow-up: {follow['first']} -> {follow['after_one_officer']} -> {follow['after_two_officers']} "
        f"({', '.join(follow['disclosed'])})\n"
        f"  customs both ways; exchange checkpoints signed by both sides: {both}\n"
    )
