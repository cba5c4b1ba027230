"""`padron evaluate ...`: accuracy of each modality on public protocols (LFW, FVC)."""

from __future__ import annotations

import typer

from padron.cli.evaluate_face import face
from padron.cli.evaluate_fingerprint import fingerprint

app = typer.Typer(
    help="Measure accuracy on public protocols (LFW, FVC) with DET plots.", no_args_is_help=True
)


@app.callback()
def evaluate() -> None:
    """Measure accuracy on public protocols (LFW, FVC) with DET plots."""
    # a callback keeps `evaluate` a group of commands even while it has only one


app.command("face")(face)
app.command("fingerprint")(fingerprint)
