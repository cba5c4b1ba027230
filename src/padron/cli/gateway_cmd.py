"""``padron gateway``: this registry's side of the sharing gateway on the command line.

- ``identity``: this registry's identifier and public key (what a partner registers with
  ``padron partner add``);
- ``ask`` / ``fetch``: a signed request to a partner registry and its verified answer;
- ``requests`` / ``show`` / ``approve`` / ``deny``: the sharing officers' review of partners'
  requests (the actor is ``--actor`` or $PADRON_ACTOR: two approvals need two actors).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from padron.cli.biometric_cmd import FaceOption, FingerOption, _images
from padron.cli.context import cli_context
from padron.cli.options import ActorOption, JsonOption
from padron.cli.output import console, print_json
from padron.domain.access import Purpose, Role
from padron.sharing.gateway import Gateway, Probe

app = typer.Typer(help="The sharing gateway: ask partners, review their requests.", no_args_is_help=True)

ReasonOption = Annotated[str, typer.Option("--reason", help="Why (recorded with the decision).")]
TemplateOption = Annotated[
    list[str] | None,
    typer.Option(
        "--finger-template", help="POSITION=FILE with an ISO/IEC 19794-2 minutiae record (repeatable)."
    ),
]


@contextmanager
def gateway() -> Iterator[Gateway]:
    from padron.biometrics.samples import extract_samples
    from padron.registry.factory import build_identity_service, build_registry
    from padron.settings import load_settings
    from padron.sharing.keys import build_gateway_identity
    from padron.sharing.store import Sharing

    settings = load_settings()
    registry = build_registry(settings)
    services: list[Any] = []

    def identity() -> Any:
        if not services:
            services.append(build_identity_service(settings, registry=registry))
        return services[0]

    def extract(probe: Probe) -> Any:
        return extract_samples(
            face=probe.face, fingers=probe.fingers, finger_templates=probe.finger_templates, enroll=False
        )

    try:
        yield Gateway(Sharing(registry), identity, build_gateway_identity(settings), extract)
    finally:
        registry.close()


@app.command("identity")
def identity_command(as_json: JsonOption = False) -> None:
    """This registry's identifier and Ed25519 public key, for its partners."""
    from padron.settings import load_settings
    from padron.sharing.keys import build_gateway_identity

    me = build_gateway_identity(load_settings())
    if as_json:
        print_json({"id": me.id, "public_key": me.public_key, "algorithm": "ed25519"})
    else:
        console.print(f"gateway id: {me.id}\npublic key (ed25519): {me.public_key}")


def _probe(
    face: Path | None, fingers: list[str] | None, templates: list[str] | None, nist: Path | None
) -> dict[str, Any]:
    from padron.cli.files import IMAGE_FILE_LIMIT, read_input
    from padron.interchange.ansinist import MAX_TRANSACTION_BYTES

    out: dict[str, Any] = {}
    if nist is not None:
        data = read_input(nist, limit=MAX_TRANSACTION_BYTES, what="ANSI/NIST-ITL file")
        out["ansi_nist"] = base64.b64encode(data).decode("ascii")
    if face is not None or fingers:
        images = _images(face, fingers)
        if "face" in images:
            out["face"] = base64.b64encode(images.pop("face")).decode("ascii")
        if images:
            out["fingers"] = {k: base64.b64encode(v).decode("ascii") for k, v in images.items()}
    for item in templates or []:
        position, _, path = item.partition("=")
        data = read_input(Path(path), limit=IMAGE_FILE_LIMIT, what=f"finger {position} template")
        out.setdefault("finger_templates", {})[position.strip()] = base64.b64encode(data).decode("ascii")
    return out


def _client(partner_id: str) -> Any:
    from padron.registry.factory import build_registry
    from padron.settings import load_settings
    from padron.sharing.client import PeerClient
    from padron.sharing.keys import build_gateway_identity
    from padron.sharing.store import Sharing

    settings = load_settings()
    registry = build_registry(settings)
    partner = Sharing(registry).partner(partner_id)
    return PeerClient(build_gateway_identity(settings), partner, registry=registry), registry


def _show_answer(status: int, answer: Any, as_json: bool) -> None:
    if as_json:
        print_json({"http_status": status, "answer": answer})
        return
    console.print(
        f"request {answer.get('request_id')}: {answer.get('status')} at rung {answer.get('rung')} "
        f"(asked {answer.get('rung_asked')})"
    )
    for label in ("reasons", "withheld"):
        if answer.get(label):
            console.print(f"{label}: {', '.join(map(str, answer[label]))}")
    if answer.get("result") is not None:
        print_json(answer["result"])


@app.command("ask")
def ask(
    partner: Annotated[str, typer.Argument(help="The partner registry to ask.")],
    operation: Annotated[str, typer.Option("--operation", help="verify, identify, disclose or customs.")],
    purpose: Annotated[str, typer.Option("--purpose", help="A purpose the agreement names.")],
    case: Annotated[str, typer.Option("--case", help="Our case reference (recorded on both sides).")],
    rung: Annotated[int, typer.Option("--rung", min=0, max=2, help="0 hit, 1 reference, 2 core data.")] = 0,
    candidates: Annotated[int, typer.Option("--candidates", min=1, max=50)] = 1,
    reference: Annotated[str | None, typer.Option("--reference", help="From an earlier answer.")] = None,
    curp: Annotated[str | None, typer.Option("--curp", help="verify: the CURP presented.")] = None,
    cargo: Annotated[str | None, typer.Option("--cargo", help="customs: the cargo reference.")] = None,
    face: FaceOption = None,
    finger: FingerOption = None,
    finger_template: TemplateOption = None,
    ansi_nist: Annotated[
        Path | None,
        typer.Option("--ansi-nist", help="An ANSI/NIST-ITL 1-2011 transaction carrying the samples."),
    ] = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send a signed request to a partner registry and show its verified answer."""
    request: dict[str, Any] = {
        "operation": operation,
        "purpose": purpose,
        "rung": rung,
        "case_ref": case,
        "candidates": candidates,
    }
    if reference is not None:
        request["reference"] = reference
    if curp is not None:
        request["curp"] = curp
    if cargo is not None:
        request["cargo"] = cargo
    sample = _probe(face, finger, finger_template, ansi_nist)
    if sample:
        request["probe"] = sample
    client, registry = _client(partner)
    try:
        received = client.ask(request, cli_context(actor, Purpose.PARTNER_REQUEST, case_ref=case))
    finally:
        client.close()
        registry.close()
    _show_answer(received.status_code, dict(received.answer), as_json)


@app.command("fetch")
def fetch(
    partner: Annotated[str, typer.Argument()],
    request_id: Annotated[str, typer.Argument()],
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """The answer to an earlier request (once the partner's officers decided)."""
    client, registry = _client(partner)
    try:
        received = client.fetch(request_id, cli_context(actor, Purpose.PARTNER_REQUEST))
    finally:
        client.close()
        registry.close()
    _show_answer(received.status_code, dict(received.answer), as_json)


def _officer(actor: str | None) -> Any:
    return cli_context(actor, Purpose.PARTNER_REQUEST, role=Role.OFFICER)


@app.command("requests")
def requests(
    status: Annotated[str | None, typer.Option("--status", help="pending, answered or denied.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Partners' requests to this registry, newest first."""
    with gateway() as gw:
        views = gw.requests(status=status)
    if as_json:
        print_json({"requests": [v.to_json() for v in views]})
        return
    table = Table(title="partner requests")
    for column in ("id", "partner", "operation", "rung", "status", "received"):
        table.add_column(column)
    for v in views:
        rung = f"{v.rung_asked}->{v.rung}" if v.rung is not None else str(v.rung_asked)
        table.add_row(v.request_id, v.partner, v.operation, rung, v.status, v.received_at.isoformat())
    console.print(table)


@app.command("show")
def show(request_id: Annotated[str, typer.Argument()], as_json: JsonOption = False) -> None:
    """One request: what was asked, the agreement, what would be disclosed, the decisions."""
    with gateway() as gw:
        print_json(gw.request(request_id).to_json())


@app.command("approve")
def approve(
    request_id: Annotated[str, typer.Argument()],
    reason: ReasonOption,
    embargo_until: Annotated[
        str | None,
        typer.Option("--embargo-until", help="YYYY-MM-DD: a lawful embargo on the access history."),
    ] = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a pending request (a second approver must be another officer)."""
    from padron.domain.errors import InvalidInputError

    try:
        embargo = date.fromisoformat(embargo_until) if embargo_until else None
    except ValueError:
        raise InvalidInputError(f"--embargo-until {embargo_until!r} is not a date YYYY-MM-DD") from None
    with gateway() as gw:
        view = gw.approve(request_id, _officer(actor), reason=reason, embargo_until=embargo)
    if as_json:
        print_json(view.to_json())
    else:
        console.print(f"request {view.request_id}: {view.status} ({len(view.approvals)} decision(s))")


@app.command("deny")
def deny(
    request_id: Annotated[str, typer.Argument()],
    reason: ReasonOption,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Deny a pending request: its probe is deleted unsearched."""
    with gateway() as gw:
        view = gw.deny(request_id, _officer(actor), reason=reason)
    if as_json:
        print_json(view.to_json())
    else:
        console.print(f"request {view.request_id}: {view.status}")


@app.command("log")
def log_status(as_json: JsonOption = False) -> None:
    """The exchange logs with every partner: our log's size and what the partner cosigned, the
    partner's log we keep, and split views detected."""
    from padron.sharing.exchange import status

    with gateway() as gw:
        rows = status(gw.registry, [p.id for p in gw.sharing.partners()])
    if as_json:
        print_json({"logs": [r.__dict__ for r in rows]})
        return
    table = Table(title="exchange logs")
    for column in ("partner", "our log", "cosigned by partner", "their log (kept)", "split views"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r.partner, str(r.ours_size), str(r.ours_cosigned), str(r.theirs_size), str(r.split_views)
        )
    console.print(table)


@app.command("reciprocity")
def reciprocity_report(
    partner: Annotated[str, typer.Argument()],
    start: Annotated[str, typer.Option("--from", help="First UTC day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last UTC day, YYYY-MM-DD.")],
    as_json: JsonOption = False,
) -> None:
    """What the partner asked of us and we of it in a period, and at which rungs."""
    from padron.domain.errors import InvalidInputError
    from padron.sharing.exchange import reciprocity

    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise InvalidInputError("--from and --to must be dates YYYY-MM-DD") from None
    with gateway() as gw:
        gw.sharing.partner(partner)  # PAD-SHARE-005 for an unknown partner
        report = reciprocity(gw.registry, partner, first, last).to_json()
    print_json(report)


@app.command("flags")
def flags_command(
    include_cleared: Annotated[bool, typer.Option("--all", help="Cleared flags too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Anti-fishing flags: repeated probes, one person asked about again and again, enumerations."""
    from padron.sharing import vigilance

    with gateway() as gw:
        found = vigilance.flags(gw.registry, open_only=not include_cleared)
    if as_json:
        print_json({"flags": [f.to_json() for f in found]})
        return
    table = Table(title="anti-fishing flags")
    for column in ("id", "partner", "operation", "kind", "at", "cleared"):
        table.add_column(column)
    for f in found:
        table.add_row(str(f.id), f.partner, f.operation, f.kind, f.at.isoformat(), f.cleared_by or "")
    console.print(table)


@app.command("clear-flag")
def clear_flag(
    flag_id: Annotated[int, typer.Argument()],
    reason: ReasonOption,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Clear a flag (an enumeration's throttle is lifted)."""
    from datetime import UTC, datetime

    from padron.sharing import vigilance

    with gateway() as gw:
        flag = vigilance.clear(gw.registry, flag_id, _officer(actor), reason=reason, now=datetime.now(UTC))
    if as_json:
        print_json(flag.to_json())
    else:
        console.print(f"flag {flag.id} ({flag.kind}, {flag.partner}) cleared")
