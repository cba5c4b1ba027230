"""`padron nist show FILE`: what an ANSI/NIST-ITL 1-2011 transaction (traditional encoding)
holds -- its Type-1 fields and one line per record -- or the PAD-NIST code that refuses it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from padron.cli.files import read_input
from padron.cli.options import JsonOption
from padron.cli.output import console, print_json

app = typer.Typer(help="ANSI/NIST-ITL 1-2011 transaction files (traditional encoding).", no_args_is_help=True)


@app.callback()
def nist() -> None:
    """ANSI/NIST-ITL 1-2011 transaction files (traditional encoding)."""


@app.command("show")
def show(
    file: Annotated[Path, typer.Argument(help="An ANSI/NIST-ITL file (.an2, .an2k, .eft, .nist).")],
    as_json: JsonOption = False,
) -> None:
    """Read the file and print its Type-1 fields and records; a malformed file is refused with
    its code (PAD-NIST-001 truncated ... PAD-NIST-012), naming the record, field and byte."""
    from padron.interchange import ansinist

    data = read_input(file, limit=ansinist.MAX_TRANSACTION_BYTES, what="ANSI/NIST-ITL file")
    summary = ansinist.summarize(ansinist.decode(data))
    if as_json:
        print_json({"file": str(file), "bytes": len(data), **summary})
        return
    for line in _lines(summary, len(data)):
        console.print(line)


def _lines(summary: dict[str, Any], size: int) -> list[str]:
    records = summary["records"]
    lines = [
        f"ANSI/NIST-ITL {summary['version']} transaction {summary['type_of_transaction']} of "
        f"{summary['date']}: {len(records) + 1} records, {size:,} bytes",
    ]
    origin = (
        f"  from {summary['originating_agency']} to {summary['destination_agency']}, "
        f"TCN {summary['control_number']}"
    )
    if summary["control_reference"] is not None:
        origin += f" (answers {summary['control_reference']})"
    if summary["priority"] is not None:
        origin += f", priority {summary['priority']}"
    if summary["domain"]:
        origin += f", domain {summary['domain']}"
    lines.append(origin)
    for record in records:
        head = f"  record {record['record']:<3} Type-{record['type']:<3} IDC {record['idc']:<3} "
        kind = record["kind"]
        if kind == "finger":
            ppi = f", {record['ppi']:g} ppi" if record["ppi"] else ""
            what = (
                f"finger position {'/'.join(map(str, record['positions']))}, {record['compression']} "
                f"{record['width']}x{record['height']}{ppi}, {record['bytes']:,} bytes"
            )
        elif kind in ("tagged", "binary"):
            count = record.get("fields", 0)
            what = (
                f"{count} field{'' if count == 1 else 's'}"
                if kind == "tagged"
                else f"{record['bytes']:,} bytes"
            )
        elif kind == "binary image":
            what = f"image {record['width']}x{record['height']}, {record['bytes']:,} bytes"
        else:
            what = (
                f"{kind}, {record['compression']} {record['width']}x{record['height']}, "
                f"{record['bytes']:,} bytes"
            )
        lines.append(head + what)
    lines.extend(f"note: {note}" for note in summary["notes"])
    return lines
