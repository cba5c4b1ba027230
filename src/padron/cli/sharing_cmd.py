"""`padron partner add|list|show|suspend|reinstate` and `padron agreement add|list|show|suspend|
reinstate`: the sharing gateway's partners and the agreements that say what they may ask.

`agreement add FILE` stores the next version of the agreement and prints the Cedar policy it
compiles to (the text officers approve); `agreement show ID --policy` prints it again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from padron.cli.context import cli_context
from padron.cli.files import PERSON_FILE_LIMIT, read_input
from padron.cli.options import ActorOption, JsonOption
from padron.cli.output import console, print_json
from padron.cli.person_file import decode_text
from padron.domain.access import Purpose
from padron.sharing.agreements import Partner, Status, agreement_to_json
from padron.sharing.store import Sharing, StoredAgreement

partner_app = typer.Typer(help="Partner agencies of the sharing gateway.", no_args_is_help=True)
agreement_app = typer.Typer(
    help="Agreements with partners, compiled to Cedar policies.", no_args_is_help=True
)

ReasonOption = Annotated[str, typer.Option("--reason", help="Why (recorded in the audit log).")]


@contextmanager
def sharing() -> Iterator[Sharing]:
    from padron.registry.factory import build_registry

    registry = build_registry()
    try:
        yield Sharing(registry)
    finally:
        registry.close()


def _partner_json(p: Partner) -> dict[str, Any]:
    return {
        "id": p.id,
        "agency": p.agency,
        "country": p.country,
        "contact": p.contact,
        "public_key": p.public_key,
        "status": p.status.value,
        "url": p.url,
    }


def _agreement_json(stored: StoredAgreement, *, policy: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        **agreement_to_json(stored.agreement),
        "created_at": stored.created_at.isoformat(),
        "created_by": stored.created_by,
        "policy_sha256": stored.policy_sha256,
    }
    if policy:
        out["policy"] = stored.policy
    return out


@partner_app.command("add")
def partner_add(
    partner_id: Annotated[str, typer.Option("--id", help="Identifier, e.g. us-dhs.")],
    agency: Annotated[str, typer.Option("--agency", help="The agency's name.")],
    country: Annotated[str, typer.Option("--country", help="ISO 3166-1 alpha-3, e.g. USA.")],
    contact: Annotated[str, typer.Option("--contact", help="Who answers for it.")],
    public_key: Annotated[
        str, typer.Option("--public-key", help="Its Ed25519 public key (base64, 32 bytes).")
    ],
    url: Annotated[
        str | None, typer.Option("--url", help="Where its gateway answers (http(s)://host[:port]).")
    ] = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a partner agency (a peer running padron, known by its public key)."""
    partner = Partner(partner_id, agency, country, contact, public_key, url=url)
    with sharing() as gateway:
        gateway.add_partner(partner, cli_context(actor, Purpose.ADMINISTRATION))
    if as_json:
        print_json(_partner_json(partner))
    else:
        console.print(f"partner {partner.id} added ({partner.agency}, {partner.country})")


@partner_app.command("list")
def partner_list(as_json: JsonOption = False) -> None:
    """Every partner."""
    with sharing() as gateway:
        partners = gateway.partners()
    if as_json:
        print_json({"partners": [_partner_json(p) for p in partners]})
        return
    table = Table(title="partners")
    for column in ("id", "agency", "country", "status"):
        table.add_column(column)
    for p in partners:
        table.add_row(p.id, p.agency, p.country, p.status.value)
    console.print(table)


def _set_partner(partner_id: str, status: Status, reason: str, actor: str | None, as_json: bool) -> None:
    with sharing() as gateway:
        partner = gateway.set_partner_status(
            partner_id, status, cli_context(actor, Purpose.ADMINISTRATION), reason=reason
        )
    if as_json:
        print_json(_partner_json(partner))
    else:
        console.print(f"partner {partner.id} is {partner.status.value}")


@partner_app.command("suspend")
def partner_suspend(
    partner_id: Annotated[str, typer.Argument()],
    reason: ReasonOption,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Suspend a partner: none of its requests is answered from the next one on."""
    _set_partner(partner_id, Status.SUSPENDED, reason, actor, as_json)


@partner_app.command("reinstate")
def partner_reinstate(
    partner_id: Annotated[str, typer.Argument()],
    reason: ReasonOption,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reinstate a suspended partner."""
    _set_partner(partner_id, Status.ACTIVE, reason, actor, as_json)


@agreement_app.command("add")
def agreement_add(
    file: Annotated[Path, typer.Argument(help="The agreement as JSON (see padron.sharing.files).")],
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Store the next version of an agreement and print the Cedar policy it compiles to."""
    from padron.sharing.files import parse_agreement

    agreement = parse_agreement(
        decode_text(read_input(file, limit=PERSON_FILE_LIMIT, what="agreement file"), "agreement file")
    )
    with sharing() as gateway:
        stored = gateway.add_agreement(agreement, cli_context(actor, Purpose.ADMINISTRATION))
    if as_json:
        print_json(_agreement_json(stored, policy=True))
        return
    console.print(f"agreement {stored.agreement.id} version {stored.agreement.version} stored; its policy:\n")
    console.print(stored.policy, markup=False, highlight=False)


@agreement_app.command("list")
def agreement_list(
    partner: Annotated[str | None, typer.Option("--partner", help="Only this partner's.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The latest version of every agreement."""
    with sharing() as gateway:
        found = gateway.agreements(partner)
    if as_json:
        print_json({"agreements": [_agreement_json(s, policy=False) for s in found]})
        return
    table = Table(title="agreements")
    for column in ("id", "version", "partner", "valid", "operations", "status"):
        table.add_column(column)
    for s in found:
        a = s.agreement
        ops = ", ".join(f"{op.value} (rung {int(t.max_rung)})" for op, t in sorted(a.operations.items()))
        table.add_row(
            a.id, str(a.version), a.partner, f"{a.valid_from} .. {a.valid_until}", ops, a.status.value
        )
    console.print(table)


@agreement_app.command("show")
def agreement_show(
    agreement_id: Annotated[str, typer.Argument()],
    version: Annotated[int | None, typer.Option("--version", min=1, help="An earlier version.")] = None,
    policy: Annotated[bool, typer.Option("--policy", help="Print only its Cedar policy.")] = False,
    as_json: JsonOption = False,
) -> None:
    """One agreement (its latest version, or --version N) with its policy."""
    with sharing() as gateway:
        stored = gateway.agreement(agreement_id, version)
    if as_json:
        print_json(_agreement_json(stored, policy=True))
    elif policy:
        console.print(stored.policy, markup=False, highlight=False, end="")
    else:
        a = stored.agreement
        console.print(
            f"{a.id} v{a.version} with {a.partner}: {a.title} [{a.status.value}]\n"
            f"legal basis: {a.legal_basis} ({a.legal_reference}); valid {a.valid_from} .. {a.valid_until}\n"
            f"purposes: {', '.join(sorted(a.purposes))}\n\n{stored.policy}",
            markup=False,
            highlight=False,
        )


def _set_agreement(agreement_id: str, status: Status, reason: str, actor: str | None, as_json: bool) -> None:
    with sharing() as gateway:
        stored = gateway.set_agreement_status(
            agreement_id, status, cli_context(actor, Purpose.ADMINISTRATION), reason=reason
        )
    if as_json:
        print_json(_agreement_json(stored, policy=False))
    else:
        console.print(
            f"agreement {agreement_id} v{stored.agreement.version} is {stored.agreement.status.value}"
        )


@agreement_app.command("suspend")
def agreement_suspend(
    agreement_id: Annotated[str, typer.Argument()],
    reason: ReasonOption,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Suspend an agreement: it answers no request from the next one on."""
    _set_agreement(agreement_id, Status.SUSPENDED, reason, actor, as_json)


@agreement_app.command("reinstate")
def agreement_reinstate(
    agreement_id: Annotated[str, typer.Argument()],
    reason: ReasonOption,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reinstate a suspended agreement."""
    _set_agreement(agreement_id, Status.ACTIVE, reason, actor, as_json)
