"""`padron enroll|verify|identify`, `padron adjudication list|show|decide`, `padron gallery
stats|rebuild|snapshot|segments`: the biometric use cases on the command line."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from padron.cli.context import cli_context
from padron.cli.exits import ENROLLMENT_EXIT, ExitStatus
from padron.cli.options import ActorOption, JsonOption
from padron.cli.output import console, print_json
from padron.cli.person_file import read_person_file
from padron.domain.access import Purpose, Role, require_identification
from padron.domain.errors import DuplicateFieldError, InvalidInputError
from padron.domain.identity import MatchEvidence
from padron.matching.gallery import SampleError
from padron.registry.identity import IdentityService
from padron.settings import load_settings

FaceOption = Annotated[Path | None, typer.Option("--face", help="Face image (JPEG, PNG, ...).")]
FingerOption = Annotated[
    list[str] | None,
    typer.Option("--finger", help="POSITION=IMAGE with the ISO/ANSI position 1-10 (repeatable)."),
]

adjudication_app = typer.Typer(
    help="Grey-zone duplicates waiting for a human decision.", no_args_is_help=True
)
gallery_app = typer.Typer(help="The 1:N galleries.", no_args_is_help=True)


@contextmanager
def identity_service() -> Iterator[IdentityService]:
    from padron.registry.factory import build_identity_service

    service = build_identity_service()
    try:
        yield service
    finally:
        service.registry.close()


def _finger_paths(fingers: list[str] | None) -> dict[str, Path]:
    """``--finger POSITION=IMAGE`` items by position, each position 1-10 and given once."""
    from padron.biometrics.fingerprint.errors import FingerPositionError

    paths: dict[str, Path] = {}
    for item in fingers or []:
        position, sep, path = item.partition("=")
        position = position.strip()
        if not sep or not path:
            raise InvalidInputError(f"--finger {item!r} must have the form POSITION=IMAGE, e.g. 2=index.png")
        if position not in {str(p) for p in range(1, 11)}:
            raise FingerPositionError(
                f"--finger {item!r}: the position must be 1-10 (right thumb = 1 ... left little = 10)",
                position=position,
            )
        if position in paths:
            raise DuplicateFieldError(
                f"--finger gives position {position} twice ({paths[position]} and {path}); give each once",
                position=position,
            )
        paths[position] = Path(path)
    return paths


def _images(face: Path | None, fingers: list[str] | None) -> dict[str, bytes]:
    """The image files' bytes by slot ("face", "1".."10")."""
    from padron.cli.files import IMAGE_FILE_LIMIT, read_input

    paths = _finger_paths(fingers)
    if face is None and not paths:
        raise SampleError("no biometric sample given: submit --face and/or --finger POSITION=IMAGE")
    images = {
        position: read_input(path, limit=IMAGE_FILE_LIMIT, what=f"finger {position} image")
        for position, path in paths.items()
    }
    if face is not None:
        images["face"] = read_input(face, limit=IMAGE_FILE_LIMIT, what="face image")
    return images


def _extract(images: dict[str, bytes], *, enroll: bool) -> dict[str, Any]:
    from padron.biometrics.samples import extract_samples

    fingers = {slot: data for slot, data in images.items() if slot != "face"}
    return extract_samples(face=images.get("face"), fingers=fingers, enroll=enroll)


def _samples(face: Path | None, fingers: list[str] | None, *, enroll: bool) -> dict[str, Any]:
    return _extract(_images(face, fingers), enroll=enroll)


def _candidates_table(candidates: list[MatchEvidence], title: str) -> Table:
    table = Table(title=title)
    for column in ("rank", "CURP / ref", "fused LLR", "per slot (score / LLR)"):
        table.add_column(column)
    for rank, c in enumerate(candidates, start=1):
        slots = ", ".join(f"{s}: {c.slot_scores[s]:.3f}/{c.slot_llrs[s]:+.1f}" for s in sorted(c.slot_scores))
        table.add_row(str(rank), c.curp or c.ref, f"{c.llr:+.2f}", slots)
    return table


def enroll(
    person: Annotated[Path, typer.Option("--person", help="JSON: given_names, first_surname, ...")],
    face: FaceOption = None,
    finger: FingerOption = None,
    actor: ActorOption = None,
    reason: Annotated[str, typer.Option("--reason")] = "enrollment",
    as_json: JsonOption = False,
) -> None:
    """Enroll a person with biometrics: de-duplicated before a CURP is issued. The images are
    kept, sealed, for the adjudicator."""
    draft = read_person_file(person)
    images = _images(face, finger)
    samples = _extract(images, enroll=True)
    ctx = cli_context(actor, Purpose.ENROLLMENT)
    with identity_service() as service:
        result = service.enroll(draft, samples, ctx, reason=reason, images=images)
    status = ENROLLMENT_EXIT[result.status]
    if as_json:
        print_json({**result.to_dict(), "exit_status": int(status)})
        raise typer.Exit(status)
    if result.status == "issued":
        assert result.person is not None
        console.print(
            f"[bold green]issued[/] {result.person.curp} (attempt {result.attempt_id})", markup=True
        )
    elif result.status == "refused":
        console.print(
            f"[bold red]refused[/]: the same person is already enrolled as {result.duplicate_of}", markup=True
        )
    else:
        console.print(
            f"[bold yellow]pending adjudication[/]: cases {', '.join(map(str, result.cases))}", markup=True
        )
    if result.candidates:
        console.print(_candidates_table(result.candidates[:5], "closest enrolled subjects"))
    raise typer.Exit(status)


def verify(
    curp: Annotated[str, typer.Argument(help="The claimed identity.")],
    face: FaceOption = None,
    finger: FingerOption = None,
    as_json: JsonOption = False,
) -> None:
    """1:1: is this the holder of CURP? Exit 0 on a match, 5 on no match (1 on an error)."""
    samples = _samples(face, finger, enroll=False)
    with identity_service() as service:
        result = service.verify(curp, samples, cli_context(None, Purpose.VERIFICATION))
    status = ExitStatus.OK if result.match else ExitStatus.NO_MATCH
    if as_json:
        print_json({**result.to_dict(), "exit_status": int(status)})
    else:
        verdict = "[bold green]match[/]" if result.match else "[bold red]no match[/]"
        console.print(
            f"{verdict} with {result.curp}: LLR {result.llr:+.2f} "
            f"(threshold {result.threshold:.2f} for FMR {result.fmr:g})",
            markup=True,
        )
        for slot in sorted(result.slot_scores):
            console.print(
                f"  {slot}: score {result.slot_scores[slot]:.4f}, LLR {result.slot_llrs[slot]:+.2f}"
            )
    raise typer.Exit(status)


def _a_rate(value: float | None) -> float | None:
    """--fpir: a rate strictly between 0 and 1 (nan, inf, 0, 1 and beyond are usage errors)."""
    if value is not None and not (math.isfinite(value) and 0 < value < 1):
        raise typer.BadParameter(f"must be a rate strictly between 0 and 1 (e.g. 0.01), got {value}")
    return value


def identify(
    face: FaceOption = None,
    finger: FingerOption = None,
    top: Annotated[int, typer.Option("--top", min=1, max=1000, help="Longest candidate list.")] = 10,
    fpir: Annotated[
        float | None,
        typer.Option(
            "--fpir",
            callback=_a_rate,
            help="False positive identification rate, between 0 and 1 (default: $PADRON_IDENTIFY_FPIR).",
        ),
    ] = None,
    case: Annotated[
        str, typer.Option("--case", help="The investigation's case reference (recorded in the audit log).")
    ] = "",
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """1:N, for investigations: the enrolled persons these samples may belong to, best first."""
    ctx = cli_context(actor, Purpose.INVESTIGATION, case_ref=case or None, role=Role.INVESTIGATOR)
    require_identification(ctx)  # before any image is read
    samples = _samples(face, finger, enroll=False)
    with identity_service() as service:
        found, threshold = service.identify(samples, ctx, top=top, fpir=fpir)
    if as_json:
        print_json({"threshold_llr": threshold, "candidates": [c.to_dict() for c in found]})
    elif found:
        console.print(_candidates_table(found, f"{len(found)} candidate(s) above LLR {threshold:.2f}"))
    else:
        console.print(f"no candidate above LLR {threshold:.2f}")


@adjudication_app.command("list")
def adjudication_list(
    status: Annotated[str, typer.Option("--status", help="open, decided, closed or all")] = "open",
    as_json: JsonOption = False,
) -> None:
    """Adjudication cases (open ones by default)."""
    with identity_service() as service:
        cases = service.cases(
            cli_context(None, Purpose.ADJUDICATION), status=None if status == "all" else status
        )
    if as_json:
        print_json({"cases": [c.to_dict() for c in cases]})
        return
    table = Table(title=f"{len(cases)} {status} case(s)")
    for column in ("case", "attempt", "applicant", "candidate", "fused LLR", "status"):
        table.add_column(column)
    for c in cases:
        applicant = f"{c.applicant['given_names']} {c.applicant['first_surname']}"
        table.add_row(
            str(c.id),
            str(c.attempt_id),
            applicant,
            c.candidate_curp or c.candidate_ref,
            f"{c.fused_llr:+.2f}",
            c.decision or c.status,
        )
    console.print(table)


@adjudication_app.command("show")
def adjudication_show(case_id: Annotated[int, typer.Argument()], as_json: JsonOption = False) -> None:
    """One case with both persons' evidence."""
    with identity_service() as service:
        case = service.case(case_id, cli_context(None, Purpose.ADJUDICATION))
    if as_json:
        print_json(case.to_dict())
    else:
        console.print_json(data=case.to_dict())


@adjudication_app.command("decide")
def adjudication_decide(
    case_id: Annotated[int, typer.Argument()],
    decision: Annotated[str, typer.Option("--decision", help="same or different")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")],
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Decide a case: "same" merges the attempt into the candidate, "different" lets it through."""
    if decision not in ("same", "different"):
        raise InvalidInputError(f"--decision must be same or different, not {decision!r}")
    with identity_service() as service:
        ctx = cli_context(actor, Purpose.ADJUDICATION)
        case = service.decide(case_id, ctx, same=decision == "same", reason=reason)
    if as_json:
        print_json(case.to_dict())
    else:
        console.print(
            f"case {case.id}: {case.decision}; the attempt is now {case.applicant['attempt_status']}"
        )


@gallery_app.command("stats")
def gallery_stats(as_json: JsonOption = False) -> None:
    """Subjects per modality and the journal position."""
    with identity_service() as service:
        stats = service.gallery_stats()
    if as_json:
        print_json(stats)
    else:
        console.print(stats)


@gallery_app.command("rebuild")
def gallery_rebuild(as_json: JsonOption = False) -> None:
    """Rebuild the galleries from the registry, opening every sealed template (no snapshot is
    used: this checks the vault key against every template), then write a new snapshot."""
    from padron.registry.factory import build_identity_service

    service = build_identity_service(start=False)
    try:
        loaded = service.rebuild(cli_context(None, Purpose.ADMINISTRATION))
        stats = service.gallery_stats()
    finally:
        service.registry.close()
    if as_json:
        print_json({"loaded": loaded, **stats})
    else:
        console.print(f"rebuilt: {loaded} subjects; {stats}")


@gallery_app.command("snapshot")
def gallery_snapshot(as_json: JsonOption = False) -> None:
    """Save the galleries' search form now (sealed segments at the current journal position), so
    the next start-up loads it and replays only the journal after it."""
    with identity_service() as service:
        info = service.snapshot()
        stats = service.gallery_stats()
    if info is None:
        raise InvalidInputError(
            "gallery snapshots are not kept (PADRON_GALLERY_SEGMENTS is off, or a gallery cannot be saved)"
        )
    if as_json:
        print_json({"snapshot": info.to_dict(), "startup": stats.get("startup")})
    else:
        console.print(
            f"snapshot {info.id} at journal position {info.position}: {len(info.segments)} part(s), "
            f"{info.sealed_bytes:,} bytes sealed"
        )


@gallery_app.command("segments")
def gallery_segments(as_json: JsonOption = False) -> None:
    """The stored gallery snapshots (newest first): layout, journal position, parts and size."""
    from padron.registry.factory import build_registry, build_vault
    from padron.registry.segments import SegmentStore

    registry = build_registry()
    try:
        store = SegmentStore(registry.db, build_vault(load_settings(), registry))
        with registry.db.read_session() as session:
            snapshots = [s.to_dict() for s in store.snapshots(session)]
    finally:
        registry.close()
    if as_json:
        print_json({"snapshots": snapshots})
        return
    if not snapshots:
        console.print("no gallery snapshot stored")
    for snap in snapshots:
        state = "complete" if snap["completed_at"] else "incomplete"
        console.print(
            f"{snap['id']}  {state}  position {snap['position']}  {snap['layout']}  "
            f"{snap['sealed_bytes']:,} bytes  by {snap['written_by']}"
        )
