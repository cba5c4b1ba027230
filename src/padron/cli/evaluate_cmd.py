"""`padron evaluate ...`: accuracy of each modality on public protocols (LFW, FVC)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Measure accuracy on public protocols (LFW, FVC) with DET plots.", no_args_is_help=True
)
