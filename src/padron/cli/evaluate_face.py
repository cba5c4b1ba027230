"""`padron evaluate face DIR --protocol lfw|folders`: measured accuracy, beside the peer baseline."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from padron.cli.output import console, print_json, report_error
from padron.domain.errors import PadronError


class FaceProtocol(StrEnum):
    LFW = "lfw"
    FOLDERS = "folders"


class Baseline(StrEnum):
    NONE = "none"
    DLIB = "dlib"


LFW_KEYS = (
    "accuracy_mean",
    "accuracy_std",
    "tar_at_far_1e-3",
    "rank1",
    "fnir_at_fpir_0.01",
    "fnir_at_fpir_0.003",
)
FOLDERS_KEYS = ("eer", "fmr100", "fmr1000", "rank1")
COMMON_KEYS = ("fta", "templates", "extract_ms_median")


def face(
    directory: Annotated[
        Path, typer.Argument(help="LFW folder (pairs.txt + images_deepfunneled/) or one folder per identity.")
    ],
    protocol: Annotated[
        FaceProtocol, typer.Option("--protocol", help="lfw: View 2 + open-set 1:N; folders: all pairs.")
    ] = FaceProtocol.LFW,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write a DET curve and score histograms (PNG).")
    ] = None,
    baseline: Annotated[
        Baseline, typer.Option("--baseline", help="Also run the face_recognition-style dlib pipeline.")
    ] = Baseline.NONE,
    pairs: Annotated[
        int | None,
        typer.Option(
            "--pairs",
            min=1,
            help="lfw: only the first N matched and N mismatched pairs of each fold (no 1:N).",
        ),
    ] = None,
    calibrate: Annotated[
        Path | None, typer.Option("--calibrate", help="lfw: write padron's calibration (JSON) here.")
    ] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir", help="Template cache [default: $PADRON_CACHE_DIR/face or ~/.cache/padron/face]."
        ),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Compute every template again; write nothing.")
    ] = False,
) -> None:
    """Measure face accuracy on a public protocol (see docs: README, section Face)."""
    try:
        result = _run(
            directory, protocol, plot, baseline, pairs, calibrate, cache_dir, no_cache, quiet=as_json
        )
    except PadronError as error:
        report_error(error, as_json=as_json)
        raise typer.Exit(1) from None
    if as_json:
        print_json(result)
    else:
        _print_table(result, protocol)


def _run(
    directory: Path,
    protocol: FaceProtocol,
    plot: Path | None,
    baseline: Baseline,
    pairs: int | None,
    calibrate: Path | None,
    cache_dir: Path | None,
    no_cache: bool,
    *,
    quiet: bool,
) -> dict[str, Any]:
    from padron.biometrics.face.cache import TemplateCache, default_cache_dir
    from padron.biometrics.face.errors import EvaluationDataError
    from padron.biometrics.face.evaluation import pipelines, run_folders, run_lfw

    if calibrate is not None and (protocol is not FaceProtocol.LFW or pairs is not None):
        raise EvaluationDataError("--calibrate needs --protocol lfw on all pairs (no --pairs)")
    chosen = pipelines(with_baseline=baseline is Baseline.DLIB)
    cache = TemplateCache(None if no_cache else (cache_dir or default_cache_dir()))
    progress = Progress(
        TextColumn("face templates"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    try:
        with progress:
            task = progress.add_task("extract", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            if protocol is FaceProtocol.LFW:
                outcome = run_lfw(
                    directory,
                    chosen,
                    cache,
                    advance,
                    pair_limit=pairs,
                    open_set_experiment=pairs is None,
                    extended=calibrate is not None,
                )
            else:
                outcome = run_folders(directory, chosen, cache, advance)
    finally:
        cache.close()
    keys = (LFW_KEYS if protocol is FaceProtocol.LFW else FOLDERS_KEYS) + COMMON_KEYS
    figures = outcome.figures
    result: dict[str, Any] = {k: figures["padron"].get(k) for k in keys}
    result["protocol"] = protocol.value
    result["details"] = {k: v for k, v in figures["padron"].items() if k not in keys}
    if "baseline" in figures:
        base = figures["baseline"]
        result["baseline"] = {k: base.get(k) for k in keys}
        result["baseline"]["details"] = {k: v for k, v in base.items() if k not in keys}
    if plot is not None:
        from padron.biometrics.metrics import plot_det

        curves = dict(outcome.scores)
        for name, scores in outcome.extended.items():
            curves[f"{name} (first vs rest; all first-image impostors)"] = scores
        title = f"{directory.name} ({protocol.value})"
        plot_det(plot, curves, title=title)
        result["plot"] = str(plot)
    if calibrate is not None:
        from padron.biometrics.face.template import ALGORITHM, TEMPLATE_VERSION
        from padron.biometrics.metrics import calibrate as make_calibration

        genuine, impostor = outcome.extended["padron"]
        calibration = make_calibration(
            genuine,
            impostor,
            modality="face",
            algorithm=ALGORITHM,
            template_version=TEMPLATE_VERSION,
            dataset=(
                f"LFW deep-funneled ({figures['padron']['images']:,} images, "
                f"{figures['padron'].get('identities', 0):,} identities)"
            ),
            protocol=(
                "genuine: each identity's first image (by file name) against each of its other images; "
                "impostor: the first images of every two different identities; cosine similarity; "
                "failures to acquire score -inf"
            ),
            targets=(1e-3, 1e-4, 1e-5, 1e-6),
        )
        calibration.save(calibrate)
        result["calibration"] = str(calibrate)
    return result


def _fmt(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key in {"fta", "templates"}:
        return str(value)
    if key == "extract_ms_median":
        return f"{value:.0f} ms"
    return f"{100 * value:.2f}%"


def _print_table(result: dict[str, Any], protocol: FaceProtocol) -> None:
    keys = (LFW_KEYS if protocol is FaceProtocol.LFW else FOLDERS_KEYS) + COMMON_KEYS
    table = Table(title=f"face, protocol {protocol.value}")
    table.add_column("figure")
    table.add_column("padron", justify="right")
    if "baseline" in result:
        table.add_column("baseline (face_recognition)", justify="right")
    for key in keys:
        row = [key, _fmt(key, result.get(key))]
        if "baseline" in result:
            row.append(_fmt(key, result["baseline"].get(key)))
        table.add_row(*row)
    console.print(table)
    if "plot" in result:
        console.print(f"DET plot written to {result['plot']}")
    if "calibration" in result:
        console.print(f"calibration written to {result['calibration']}")
