"""``padron customs``: this country's cargo inspections, which the customs agreement's exchange
carries to partner customs administrations (``padron gateway ask P --operation customs``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from padron.cli.context import cli_context
from padron.cli.options import ActorOption, JsonOption
from padron.cli.output import console, print_json
from padron.domain.access import Purpose
from padron.domain.errors import InvalidInputError
from padron.sharing.agreements import CUSTOMS_ATTRIBUTES
from padron.sharing.customs import Customs

app = typer.Typer(help="Cargo inspections (the customs exchange).", no_args_is_help=True)


def _customs() -> Customs:
    from padron.registry.factory import build_registry

    return Customs(build_registry())


@app.command("record")
def record(
    reference: Annotated[str, typer.Option("--reference", help="Container number, bill of lading or UCR.")],
    port: Annotated[str, typer.Option("--port", help="UN/LOCODE of the port, e.g. MXZLO.")],
    inspected_on: Annotated[str, typer.Option("--date", help="YYYY-MM-DD.")],
    method: Annotated[str, typer.Option("--method", help="documentary, x-ray, physical or canine.")],
    result: Annotated[str, typer.Option("--result", help="cleared, held or seized.")],
    hs: Annotated[list[str], typer.Option("--hs", help="A six-digit HS code of the goods (repeatable).")],
    origin: Annotated[str, typer.Option("--origin", help="ISO 3166-1 alpha-3.")],
    destination: Annotated[str, typer.Option("--destination", help="ISO 3166-1 alpha-3.")],
    notes: Annotated[str, typer.Option("--notes")] = "",
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a cargo inspection."""
    from padron.sharing.customs import Inspection

    try:
        day = date.fromisoformat(inspected_on)
    except ValueError:
        raise InvalidInputError(f"--date {inspected_on!r} is not a date YYYY-MM-DD") from None
    inspection = Inspection(reference, port, day, method, result, tuple(hs), origin, destination, notes)  # type: ignore[arg-type]
    customs = _customs()
    try:
        stored = customs.record(inspection, cli_context(actor, Purpose.ADMINISTRATION))
    finally:
        customs.registry.close()
    if as_json:
        print_json({"id": stored.id, **stored.attributes(CUSTOMS_ATTRIBUTES)})
    else:
        console.print(f"inspection {stored.id} of {stored.reference} recorded ({stored.result.value})")


@app.command("list")
def list_inspections(
    reference: Annotated[str | None, typer.Option("--reference")] = None, as_json: JsonOption = False
) -> None:
    """Recorded inspections (of one cargo reference)."""
    customs = _customs()
    try:
        found = customs.inspections(reference)
    finally:
        customs.registry.close()
    if as_json:
        print_json({"inspections": [{"id": i.id, **i.attributes(CUSTOMS_ATTRIBUTES)} for i in found]})
        return
    table = Table(title="cargo inspections")
    for column in ("id", "reference", "port", "date", "method", "result"):
        table.add_column(column)
    for i in found:
        table.add_row(
            str(i.id), i.reference, i.port, i.inspected_on.isoformat(), i.method.value, i.result.value
        )
    console.print(table)
