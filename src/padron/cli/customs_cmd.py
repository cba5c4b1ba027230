"""``padron customs``: this country's cargo inspections, which the customs agreement's exchange
carries to partner customs administrations (``padron gateway ask P --operation customs``, and
pushes of held and seized cargo where the agreement says so).

- ``record`` one inspection, ``import`` a CSV or JSON file of them (all rows or none);
- ``list`` / ``show`` ours, or those received from partners (``--received``);
- ``queue`` the inspections waiting to be pushed, ``push`` them to their partners.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from padron.cli.context import cli_context
from padron.cli.exits import ExitStatus
from padron.cli.options import ActorOption, JsonOption
from padron.cli.output import console, print_json
from padron.domain.access import Purpose
from padron.sharing.customs import Customs, Inspection

app = typer.Typer(help="Cargo inspections (the customs exchange).", no_args_is_help=True)

Repeated = list[str] | None


def _customs() -> Customs:
    from padron.registry.factory import build_registry

    return Customs(build_registry())


def _context(actor: str | None) -> Any:
    return cli_context(actor, Purpose.CUSTOMS)


def _list_of(values: Repeated) -> list[str] | None:
    return list(values) if values else None


@app.command("record")
def record(
    container: Annotated[str | None, typer.Option("--container", help="ISO 6346, e.g. CSQU3054383.")] = None,
    bill_of_lading: Annotated[str | None, typer.Option("--bill-of-lading", help="The B/L number.")] = None,
    air_waybill: Annotated[str | None, typer.Option("--air-waybill", help="e.g. 176-12345675.")] = None,
    hs: Annotated[
        Repeated,
        typer.Option("--hs", help="An HS code: 6 digits, or Mexico's 8-digit fracción + NICO (repeatable)."),
    ] = None,
    port_of_loading: Annotated[str | None, typer.Option("--loading", help="UN/LOCODE, e.g. CNSHA.")] = None,
    port_of_entry: Annotated[str | None, typer.Option("--entry", help="UN/LOCODE, e.g. MXZLO.")] = None,
    departed_on: Annotated[str | None, typer.Option("--departed", help="YYYY-MM-DD.")] = None,
    arrived_on: Annotated[str | None, typer.Option("--arrived", help="YYYY-MM-DD.")] = None,
    inspected_on: Annotated[str | None, typer.Option("--inspected", help="YYYY-MM-DD.")] = None,
    seal: Annotated[
        Repeated, typer.Option("--seal", help="NUMBER, NUMBER:intact or NUMBER:broken (repeatable).")
    ] = None,
    risk: Annotated[
        str | None,
        typer.Option(
            "--risk",
            help="intelligence, random, documentary-inconsistency, x-ray-anomaly, canine-alert, "
            "origin-risk, value-anomaly or other.",
        ),
    ] = None,
    risk_text: Annotated[str | None, typer.Option("--risk-text", help="With --risk other: what.")] = None,
    outcome: Annotated[str | None, typer.Option("--outcome", help="cleared, held or seized.")] = None,
    seizure: Annotated[
        Repeated,
        typer.Option(
            "--seizure", help="category:quantity:unit:description, e.g. drugs:12.5:kg:cocaine (repeatable)."
        ),
    ] = None,
    notes: Annotated[
        str | None, typer.Option("--notes", help="About the goods (never about people).")
    ] = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a cargo inspection (queued for partners whose agreement pushes held and seized cargo)."""
    from padron.sharing.customs import inspection_from_json

    values = {
        "container": container,
        "bill_of_lading": bill_of_lading,
        "air_waybill": air_waybill,
        "hs_codes": _list_of(hs),
        "port_of_loading": port_of_loading,
        "port_of_entry": port_of_entry,
        "departed_on": departed_on,
        "arrived_on": arrived_on,
        "inspected_on": inspected_on,
        "seals": _list_of(seal),
        "risk_reason": risk,
        "risk_text": risk_text,
        "outcome": outcome,
        "seizures": _list_of(seizure),
        "notes": notes,
    }
    inspection = inspection_from_json(values)
    customs = _customs()
    try:
        stored = customs.record(inspection, _context(actor))
    finally:
        customs.registry.close()
    if as_json:
        print_json(stored.to_json())
    else:
        console.print(f"inspection {stored.id} of {stored.reference} recorded ({stored.outcome.value})")


def _table(found: list[Inspection], title: str) -> Table:
    table = Table(title=title)
    for column in ("id", "reference", "goods", "loading", "entry", "inspected", "risk", "outcome", "source"):
        # the reference is what a reader looks for: never cut (other columns wrap instead)
        table.add_column(column, no_wrap=column == "reference", overflow="fold")
    for i in found:
        table.add_row(
            str(i.id),
            " ".join(i.references),
            " ".join(g.code for g in i.goods),
            i.port_of_loading,
            i.port_of_entry,
            i.inspected_on.isoformat(),
            i.risk_reason.value,
            i.outcome.value,
            i.source or "ours",
        )
    return table


@app.command("list")
def list_inspections(
    reference: Annotated[
        str | None, typer.Option("--reference", help="A container, bill of lading or air waybill.")
    ] = None,
    outcome: Annotated[str | None, typer.Option("--outcome", help="cleared, held or seized.")] = None,
    received: Annotated[bool, typer.Option("--received", help="Those received from partners.")] = False,
    partner: Annotated[
        str | None, typer.Option("--partner", help="Those received from this partner.")
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Ours and those received.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 1000,
    as_json: JsonOption = False,
) -> None:
    """Recorded inspections, oldest first (ours unless --received, --partner or --all)."""
    from padron.sharing.cargo import outcome as parse_outcome

    wanted = parse_outcome(outcome) if outcome is not None else None
    customs = _customs()
    try:
        found = customs.inspections(
            reference, outcome=wanted, received=None if every else received, partner=partner, limit=limit
        )
    finally:
        customs.registry.close()
    if as_json:
        print_json({"inspections": [i.to_json() for i in found]})
        return
    console.print(_table(found, "cargo inspections"))


@app.command("show")
def show(inspection_id: Annotated[int, typer.Argument(min=1)], as_json: JsonOption = False) -> None:
    """One inspection, every field."""
    customs = _customs()
    try:
        found = customs.inspection(inspection_id)
    finally:
        customs.registry.close()
    print_json(found.to_json())


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="A .csv or .json file of inspections.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv or json (default: the file's suffix).")
    ] = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import inspections: every row checked, then all recorded in one transaction -- or none,
    with every bad row's number, field and code (PAD-SHARE-043, exit 1)."""
    from padron.cli.files import read_input
    from padron.sharing.customs_import import MAX_IMPORT_BYTES, format_of, import_inspections

    kind = format_of(fmt if fmt is not None else file.name)
    data = read_input(file, limit=MAX_IMPORT_BYTES, what="import file")
    customs = _customs()
    try:
        imported = import_inspections(customs, data, kind, _context(actor))
    finally:
        customs.registry.close()
    if as_json:
        print_json(imported.to_json())
    else:
        console.print(f"{len(imported.inspections)} inspection(s) imported from {file.name}")


@app.command("queue")
def queue_command(
    status: Annotated[
        str | None, typer.Option("--status", help="queued, sent, refused or cancelled.")
    ] = None,
    partner: Annotated[str | None, typer.Option("--partner")] = None,
    as_json: JsonOption = False,
) -> None:
    """The push queue: our held and seized inspections for partners whose agreement pushes them."""
    from padron.sharing.customs_push import queue

    customs = _customs()
    try:
        found = queue(customs.registry, status=status, partner=partner)
    finally:
        customs.registry.close()
    if as_json:
        print_json({"pushes": [q.to_json() for q in found]})
        return
    table = Table(title="customs pushes")
    for column in ("id", "inspection", "partner", "agreement", "status", "queued", "receipt"):
        table.add_column(column)
    for q in found:
        table.add_row(
            str(q.id),
            str(q.inspection),
            q.partner,
            f"{q.agreement} v{q.agreement_version}",
            q.status,
            q.queued_at.isoformat(),
            q.receipt_id or "",
        )
    console.print(table)


@app.command("push")
def push(
    partner: Annotated[str | None, typer.Option("--partner", help="Only this partner's queue.")] = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send the queued inspections to their partners (signed requests; each partner answers with
    a signed receipt). Exit 1 if a partner could not be reached: its inspections stay queued."""
    from padron.registry.factory import build_registry
    from padron.settings import load_settings
    from padron.sharing.customs_push import send_pushes
    from padron.sharing.keys import build_gateway_identity

    settings = load_settings()
    registry = build_registry(settings)
    try:
        results = send_pushes(registry, build_gateway_identity(settings), _context(actor), partner=partner)
    finally:
        registry.close()
    failed = [r for r in results if r.status == "failed"]
    if as_json:
        print_json({"results": [r.to_json() for r in results], "failed": len(failed)})
    else:
        if not results:
            console.print("nothing to push")
        for r in results:
            line = f"{r.partner}: {r.status} ({len(r.inspections)} inspection(s))"
            if r.receipt_id:
                line += f", receipt {r.receipt_id}"
            if r.reasons:
                line += f": {', '.join(r.reasons)}"
            if r.error:
                line += f": {r.error}"
            console.print(line)
    if failed:
        raise typer.Exit(ExitStatus.ERROR)
