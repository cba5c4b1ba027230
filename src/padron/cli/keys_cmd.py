"""`padron keys create|list|revoke`: the API keys of the HTTP service; `padron keys rotate`:
the vault's key-encryption key.

A key's token is printed once, by `keys create`; padron keeps only a hash of its secret, so a
lost token cannot be shown again (revoke the key and create another).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from padron.cli.context import cli_context
from padron.cli.options import ActorOption, JsonOption
from padron.cli.output import console, err_console, print_json
from padron.domain.access import AccessContext, Purpose, Role
from padron.domain.errors import InvalidInputError
from padron.registry.factory import build_registry, build_vault
from padron.registry.keys import (
    ApiKey,
    KeyStore,
    check_name,
    check_rate_limit,
    now_utc,
    parse_expiry,
    parse_role,
)

app = typer.Typer(
    help="Create, list and revoke the API keys of the HTTP service; rotate the vault key.",
    no_args_is_help=True,
)

WARNING = (
    "this token is shown only now: store it in a password manager or secret store; "
    "padron keeps only its hash and cannot show it again"
)
ROLES = ", ".join(r.value for r in Role)


@contextmanager
def open_keys() -> Iterator[KeyStore]:
    registry = build_registry()
    try:
        yield KeyStore(registry)
    finally:
        registry.close()


@app.command("create")
def create(
    role: Annotated[str, typer.Option("--role", help=f"What the key may do: {ROLES}.")],
    name: Annotated[str, typer.Option("--name", help="Who or what uses the key, e.g. 'kiosk-cdmx-01'.")],
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires", help="The day the key stops working (at 00:00 UTC), YYYY-MM-DD; default: never."
        ),
    ] = None,
    expires_in: Annotated[
        str | None, typer.Option("--expires-in", help="Or a lifetime from now: days or hours, e.g. 90d, 12h.")
    ] = None,
    rate_limit: Annotated[
        int | None,
        typer.Option("--rate-limit", help="Requests per minute for this key; default: the API's default."),
    ] = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API key and print its token -- once; it cannot be shown again."""
    # every argument is checked before the registry is opened
    clean_name, parsed_role = check_name(name), parse_role(role)
    check_rate_limit(rate_limit)
    expires_at = parse_expiry(expires, expires_in, now=now_utc())
    ctx = cli_context(actor, Purpose.ADMINISTRATION)
    with open_keys() as keys:
        issued = keys.create(
            clean_name,
            parsed_role,
            created_by=ctx.actor,
            expires_at=expires_at,
            rate_limit_per_minute=rate_limit,
            ctx=ctx,
        )
    if as_json:
        print_json({"key": issued.key.to_dict(at=now_utc()), "token": issued.token, "warning": WARNING})
        return
    console.print(_key_table(issued.key, title="API key created"))
    console.print()
    console.print(issued.token, markup=False)
    console.print()
    err_console.print(f"[bold yellow]warning[/] {WARNING}", markup=True)


@app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List API keys (never their tokens): usable and expired ones, with --all revoked ones too."""
    with open_keys() as keys:
        listed = keys.list(include_revoked=all_)
    now = now_utc()
    if as_json:
        print_json({"keys": [k.to_dict(at=now) for k in listed]})
        return
    if not listed:
        console.print("no API keys" + ("" if all_ else " in use (--all shows revoked ones)"))
        return
    # fits 80 columns: dates only (the times are in --json), and only the name wraps
    table = Table(
        title=f"{len(listed)} API key{'s' if len(listed) != 1 else ''}",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("key id", no_wrap=True, min_width=12)
    table.add_column("name", overflow="fold", min_width=10)
    for column in ("role", "state", "expires", "last used", "limit"):
        table.add_column(column, no_wrap=True)
    for k in listed:
        table.add_row(
            k.key_id,
            Text(k.name),
            k.role.value,
            k.state(now).value,
            f"{k.expires_at:%Y-%m-%d}" if k.expires_at else "never",
            f"{k.last_used_at:%Y-%m-%d}" if k.last_used_at else "never",
            str(k.rate_limit_per_minute or "default"),
        )
    console.print(table)


@app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key id `keys list` shows (or the leaked token itself).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded with the key).")],
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke an API key: it stops working at once, for good."""
    ctx = cli_context(actor, Purpose.ADMINISTRATION)
    with open_keys() as keys:
        key = keys.revoke(key_id, revoked_by=ctx.actor, reason=reason, ctx=ctx)
    if as_json:
        print_json({"key": key.to_dict(at=now_utc())})
    else:
        console.print(_key_table(key, title="API key revoked"))


@app.command("rotate")
def rotate(
    new_key_file: Annotated[
        Path | None,
        typer.Option(
            "--new-key-file",
            help="A file with the new vault key (base64 of 32 bytes, mode 0600); default: the key in use "
            "(PADRON_VAULT_KEY / PADRON_VAULT_KEY_FILE) is the new one and the old keys are "
            "PADRON_VAULT_OLD_KEYS / PADRON_VAULT_OLD_KEY_FILES.",
        ),
    ] = None,
    new_key: Annotated[
        str | None,
        typer.Option(
            "--new-key",
            help="The new vault key as base64 text (visible to other users in the process list: "
            "prefer --new-key-file).",
        ),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Only count the sealed rows under each key; change nothing.")
    ] = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=10_000, help="Rows per transaction.")
    ] = 100,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Re-wrap every sealed template and image under a new vault key, in short transactions
    (a running server keeps serving); run it again after an interruption to resume."""
    from padron.registry import rotation
    from padron.registry.vault import decode_key, file_source, read_key_file
    from padron.settings import load_settings

    if new_key_file is not None and new_key is not None:
        raise InvalidInputError("give --new-key-file or --new-key, not both")
    settings = load_settings()
    # the new key is checked before anything is opened
    target: tuple[bytes, str] | None = None
    if new_key_file is not None:
        strict = settings.environment == "production"
        kek = read_key_file(new_key_file, strict_permissions=strict)
        target = (kek, file_source(new_key_file.absolute()))
    elif new_key is not None:
        target = (decode_key(new_key, "--new-key"), "--new-key")
    registry = build_registry(settings)
    try:
        vault = build_vault(settings, registry, create=False)
        if target is not None:
            vault = vault.rotated_to(target[0], source=target[1])
        if check:
            counted = rotation.census(registry).to_dict(vault)
            if as_json:
                print_json(counted)
            else:
                _print_census(counted)
            return
        ctx = cli_context(actor, Purpose.ADMINISTRATION)

        def progress(kind: str, rows: int) -> None:
            if not as_json:
                err_console.print(f"re-wrapped {rows} {kind}", markup=False)

        report = rotation.rotate(
            registry,
            vault,
            batch_size=batch_size,
            ctx=AccessContext.system(Purpose.ADMINISTRATION),
            requested_by=ctx.actor,
            after_batch=progress,
        )
        after = rotation.census(registry).to_dict(vault)
    finally:
        registry.close()
    if as_json:
        print_json({**report.to_dict(vault), "after": after})
        return
    done = ", ".join(f"{n} {kind}" for kind, n in report.rewrapped.items())
    console.print(f"re-wrapped under key {vault.kek_id.hex()}: {done} ({report.batches} batches)")
    _print_census(after)
    if new_key_file is not None or new_key is not None:
        console.print(
            "now make the new key the vault key (PADRON_VAULT_KEY_FILE or PADRON_VAULT_KEY) and keep the "
            "old one as PADRON_VAULT_OLD_KEY_FILES until every server runs with the new key"
        )


def _print_census(counted: dict[str, object]) -> None:
    table = Table(title="sealed rows by vault key", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("kek id", "key", "templates", "images", "gallery segments"):
        table.add_column(column, no_wrap=column != "key", overflow="fold")
    keks = counted["keks"]
    assert isinstance(keks, list)
    for k in keks:
        table.add_row(
            k["kek_id"],
            Text(k["key"]),
            str(k.get("templates", 0)),
            str(k.get("images", 0)),
            str(k.get("gallery_segments", 0)),
        )
    console.print(table)
    console.print(f"{counted['pending']} row(s) not under the current key {counted['current_kek_id']}")


def _when(value: datetime | None, missing: str = "") -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else missing


def _key_table(key: ApiKey, *, title: str) -> Table:
    table = Table(title=title, show_header=False, box=None, pad_edge=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("key id", key.key_id)
    table.add_row("name", Text(key.name))
    table.add_row("role", key.role.value)
    table.add_row("created", Text(f"{_when(key.created_at)} UTC by {key.created_by}"))
    table.add_row("expires", f"{_when(key.expires_at)} UTC" if key.expires_at else "never")
    limit = key.rate_limit_per_minute
    table.add_row("rate limit", f"{limit} requests/minute" if limit else "the API's default")
    if key.revoked_at is not None:
        table.add_row(
            "revoked", Text(f"{_when(key.revoked_at)} UTC by {key.revoked_by}: {key.revoke_reason}")
        )
    return table
