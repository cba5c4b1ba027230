"""`padron audit log|verify|checkpoint|export|cosign|key`: the tamper-evident access log."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from padron.cli.context import cli_context
from padron.cli.files import read_input
from padron.cli.options import ActorOption, JsonOption
from padron.cli.output import console, err_console, print_json
from padron.domain.access import Purpose
from padron.domain.errors import PadronError
from padron.registry.audit import AuditLog, person_ref

app = typer.Typer(help="The audit log: who accessed which record, when and why; signed and verifiable.")


class AuditVerificationError(PadronError):
    code = "PAD-AUDIT-103"
    summary = "The audit log does not verify: entries were edited, deleted, inserted, reordered or truncated."


@contextmanager
def audit_log() -> Iterator[AuditLog]:
    from padron.registry.factory import build_audit_log, build_registry
    from padron.settings import load_settings

    settings = load_settings()
    registry = build_registry(settings)
    try:
        yield build_audit_log(settings, registry)
    finally:
        registry.close()


@app.command("log")
def log(
    curp: Annotated[str | None, typer.Option("--curp", help="Only accesses to this person's record.")] = None,
    actor_filter: Annotated[str | None, typer.Option("--by", help="Only accesses by this actor.")] = None,
    action: Annotated[str | None, typer.Option("--action", help="e.g. person.read, person.update.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 50,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Entries, newest first (reading the log is itself recorded)."""
    ctx = cli_context(actor, Purpose.AUDIT)
    with audit_log() as audit:
        subject = None
        if curp is not None:
            subject = person_ref(audit.registry.get(curp, ctx).id)
        entries = audit.query(ctx, subject=subject, actor=actor_filter, action=action, limit=limit)
    if as_json:
        print_json({"entries": [e.to_dict() for e in entries]})
        return
    table = Table(title=f"{len(entries)} audit entries")
    for column in ("seq", "when (UTC)", "who", "role", "channel", "purpose", "what", "whose", "outcome"):
        table.add_column(column)
    for e in entries:
        table.add_row(
            str(e.seq), e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.role, e.channel, e.purpose,
            e.action, e.subject or "", e.outcome,
        )  # fmt: skip
    console.print(table)


@app.command("checkpoint")
def checkpoint(as_json: JsonOption = False) -> None:
    """Sign the log as it is now (size, Merkle root, time) with the log's key."""
    with audit_log() as audit:
        note = audit.checkpoint()
    if as_json:
        print_json({"checkpoint": note})
    else:
        console.print(note, markup=False, highlight=False, end="")


@app.command("verify")
def verify(as_json: JsonOption = False) -> None:
    """Check every entry and signed checkpoint; say exactly where the log was changed."""
    with audit_log() as audit:
        report = audit.verify()
    if not report.ok:
        if not as_json:
            for finding in report.findings:
                where = "" if finding.index is None else f" at {finding.index}"
                err_console.print(
                    f"[bold red]{finding.kind.value}[/]{where}: {escape(finding.message)}", markup=True
                )
        raise AuditVerificationError(
            f"the audit log does not verify: {len(report.findings)} finding(s)",
            findings=[f.to_dict() for f in report.findings][:50],
        )
    if as_json:
        print_json(report.to_dict())
    else:
        console.print(f"[bold green]ok[/]: {report.to_dict()['entries']} entries verify", markup=True)


@app.command("export")
def export(as_json: JsonOption = False) -> None:
    """Every signed checkpoint, oldest first, for an outside authority to keep and cosign."""
    with audit_log() as audit:
        notes = audit.notes()
    if as_json:
        print_json({"origin": audit.origin, "checkpoints": notes})
    else:
        console.print("\n".join(notes), markup=False, highlight=False, end="")


@app.command("cosign")
def cosign(
    note: Annotated[Path, typer.Argument(help="A checkpoint note carrying the authority's signature.")],
    as_json: JsonOption = False,
) -> None:
    """Keep an authority's cosignature of a checkpoint (the authority's key: PADRON_AUDIT_COSIGNERS)."""
    text = read_input(note, limit=64 * 1024, what="checkpoint note").decode("utf-8", errors="strict")
    with audit_log() as audit:
        audit.add_cosigned(text)
    if as_json:
        print_json({"stored": True})
    else:
        console.print("cosigned checkpoint stored")


@app.command("key")
def key(as_json: JsonOption = False) -> None:
    """The log's public key (give it to the authority that verifies and cosigns checkpoints)."""
    with audit_log() as audit:
        assert audit.signer is not None
        vkey = audit.signer.verifier().vkey
    if as_json:
        print_json({"origin": audit.origin, "vkey": vkey})
    else:
        console.print(vkey, markup=False, highlight=False)
