"""`padron evaluate fingerprint DIR --protocol fvc`: padron's measured accuracy, beside NBIS."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import numpy.typing as npt
import typer
from rich.table import Table

from padron.cli.output import console, print_json

KEYS = ("eer", "fmr100", "fmr1000", "zerofmr", "fte", "extract_ms_median", "comparisons_per_s")
_PERCENT = ("eer", "fmr100", "fmr1000", "zerofmr", "fte")


class Protocol(StrEnum):
    FVC = "fvc"


class Baseline(StrEnum):
    NONE = "none"
    NBIS = "nbis"


class ChainName(StrEnum):
    CLASSIC = "classic"
    LEADER = "leader"


def fingerprint(
    directory: Annotated[
        Path, typer.Argument(help="Folder of <finger>_<impression>.tif images (an FVC set).")
    ],
    protocol: Annotated[
        Protocol, typer.Option("--protocol", help="fvc: all same-finger pairs vs all different-finger pairs.")
    ] = Protocol.FVC,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write DET curves and score histograms (PNG).")
    ] = None,
    baseline: Annotated[
        Baseline,
        typer.Option("--baseline", help="Also run NBIS (mindtct + bozorth3-style) on the same images."),
    ] = Baseline.NONE,
    chain: Annotated[
        ChainName, typer.Option("--chain", help="padron's extraction chain.")
    ] = ChainName.CLASSIC,
    dpi: Annotated[
        float | None,
        typer.Option("--dpi", help="Scan resolution of the images (default: the file's, else 500)."),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Extract again instead of using the cache.")
    ] = False,
) -> None:
    """EER, FMR100, FMR1000, ZeroFMR, FTE, extraction time and matching speed on an FVC-style set."""
    from padron.biometrics.fingerprint.evaluation import evaluate_nbis, evaluate_padron, fvc_images

    images = fvc_images(directory)
    ours = evaluate_padron(images, chain=chain.value, dpi=dpi, use_cache=not no_cache)
    result: dict[str, Any] = {k: ours.as_dict()[k] for k in KEYS}
    result.update(
        dataset=str(directory),
        protocol=protocol.value,
        chain=chain.value,
        prints=len(images),
        genuine_pairs=ours.genuine_pairs,
        impostor_pairs=ours.impostor_pairs,
    )
    curves: dict[str, tuple[npt.ArrayLike, npt.ArrayLike]] = {
        f"padron ({chain.value})": (ours.genuine, ours.impostor)
    }
    if baseline is Baseline.NBIS:
        theirs = evaluate_nbis(images, dpi=dpi)
        result["baseline"] = {"name": "nbis", **{k: theirs.as_dict()[k] for k in KEYS}}
        curves["NBIS (mindtct + bozorth3)"] = (theirs.genuine, theirs.impostor)
    if plot is not None:
        from padron.biometrics.metrics import plot_det

        plot_det(plot, curves, title=f"{directory.name} ({protocol.value})")
        result["plot"] = str(plot)
    if as_json:
        print_json(result)
        return
    _print_table(result)


def _cell(key: str, value: float) -> str:
    if key in _PERCENT:
        return f"{100 * value:.2f}%"
    if key == "extract_ms_median":
        return f"{value:.0f} ms"
    return f"{value:,.0f}"


def _print_table(result: dict[str, Any]) -> None:
    table = Table(
        title=f"{result['dataset']}: {result['genuine_pairs']} genuine, "
        f"{result['impostor_pairs']} impostor comparisons"
    )
    table.add_column("figure")
    table.add_column(f"padron ({result['chain']})", justify="right")
    if "baseline" in result:
        table.add_column("NBIS", justify="right")
    for key in KEYS:
        row = [key, _cell(key, result[key])]
        if "baseline" in result:
            row.append(_cell(key, result["baseline"][key]))
        table.add_row(*row)
    console.print(table)
    if "plot" in result:
        console.print(f"DET plot written to {result['plot']}")
