"""`padron synth population|fingerprints`: synthetic data sets, no external data needed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from padron.cli.options import JsonOption
from padron.cli.output import console, err_console, print_json
from padron.domain.curp import parse_birth_date

app = typer.Typer(help="Generate synthetic populations and fingerprints.", no_args_is_help=True)

OutOption = Annotated[Path, typer.Option("--out", help="Output folder (new or empty).")]
SeedOption = Annotated[int, typer.Option("--seed", min=0, help="Seed: the same seed gives the same bytes.")]
CacheOption = Annotated[
    Path | None, typer.Option("--cache", help="Keep master fingers in this folder (.npz) for reuse.")
]


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=quiet or not err_console.is_terminal,
        transient=True,
    )


@app.command("population")
def population(
    people: Annotated[int, typer.Option("--people", min=1, help="Distinct persons.")],
    out: OutOption,
    duplicates: Annotated[
        int,
        typer.Option(
            "--duplicates", min=0, help="Planted duplicates: persons enrolled again under another name."
        ),
    ] = 0,
    impressions: Annotated[int, typer.Option("--impressions", min=1, max=16, help="Images per finger.")] = 1,
    images: Annotated[
        bool,
        typer.Option("--images/--no-images", help="Write finger images (off: demographics + ground truth)."),
    ] = True,
    seed: SeedOption = 0,
    today: Annotated[
        str,
        typer.Option(
            "--today", help="Reference date for ages, YYYY-MM-DD (fixed so a seed is reproducible)."
        ),
    ] = "2026-01-01",
    cache: CacheOption = None,
    workers: Annotated[
        int,
        typer.Option("--workers", min=1, max=256, help="Processes rendering fingers (same bytes for any)."),
    ] = 1,
    as_json: JsonOption = False,
) -> None:
    """N persons with CURPs issued by a registry, ten fingerprints each, D planted duplicates."""
    from padron.synth.population import generate_population

    reference = parse_birth_date(today)
    with _progress(as_json) as bar:
        task = bar.add_task("fingers", total=people)

        def step(stage: str, done: int, total: int) -> None:
            if stage == "fingers":
                bar.update(task, completed=done, total=total)

        summary = generate_population(
            out,
            people=people,
            duplicates=duplicates,
            seed=seed,
            impressions=impressions,
            images=images,
            today=reference,
            cache_dir=cache,
            workers=workers,
            progress=step,
        )
    result = summary.to_dict()
    if as_json:
        print_json(result)
    else:
        console.print(
            f"{result['records']} enrollment records ({people} persons + {duplicates} planted duplicates), "
            f"{result['images']} finger images in {result['seconds']:.1f} s\n"
            f"{out / 'persons.jsonl'}\n{out / 'ground_truth.json'}"
        )


@app.command("fingerprints")
def fingerprints(
    fingers: Annotated[int, typer.Option("--fingers", min=1, help="Distinct fingers.")],
    out: OutOption,
    impressions: Annotated[
        int, typer.Option("--impressions", min=1, max=100, help="Impressions per finger.")
    ] = 8,
    seed: SeedOption = 0,
    cache: CacheOption = None,
    image_format: Annotated[
        str, typer.Option("--format", help="png, or tif (lossless deflate, as the FVC copies).")
    ] = "png",
    as_json: JsonOption = False,
) -> None:
    """An FVC-style folder <finger>_<impression>.png of synthetic fingerprints."""
    from padron.synth.fingerprint_set import generate_fingerprint_set

    with _progress(as_json) as bar:
        task = bar.add_task("fingers", total=fingers)
        summary = generate_fingerprint_set(
            out,
            fingers=fingers,
            impressions=impressions,
            seed=seed,
            cache_dir=cache,
            image_format=image_format,
            progress=lambda done, total: bar.update(task, completed=done),
        )
    if as_json:
        print_json(summary)
    else:
        console.print(
            f"{summary['images']} images ({fingers} fingers x {impressions} impressions) "
            f"in {summary['seconds']:.1f} s: {out}"
        )
