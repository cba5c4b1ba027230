"""`padron init` and `padron person add|show|list|update|merge|history`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from padron.cli.context import cli_context
from padron.cli.options import (
    ActorOption,
    BirthOption,
    FirstSurnameOption,
    GivenOption,
    JsonOption,
    SecondSurnameOption,
    SexOption,
    StateOption,
)
from padron.cli.output import console, print_json
from padron.domain.access import Purpose
from padron.domain.curp import CurpData
from padron.domain.errors import DuplicateFieldError, InvalidInputError
from padron.domain.person import ChangeKind, HistoryEntry, Person, PersonDraft, parse_status
from padron.domain.states import birth_place_name
from padron.registry.factory import build_registry
from padron.registry.service import Registry
from padron.registry.storage.database import Database
from padron.settings import load_settings

app = typer.Typer(help="Register, look up and correct persons.", no_args_is_help=True)


@contextmanager
def open_registry() -> Iterator[Registry]:
    registry = build_registry()
    try:
        yield registry
    finally:
        registry.close()


def init(as_json: JsonOption = False) -> None:
    """Create or upgrade the registry's database schema (idempotent)."""
    settings = load_settings()
    database = Database(settings.effective_database_url)
    try:
        before = database.current_revision()
        revision = database.migrate()
    finally:
        database.dispose()
    if as_json:
        print_json({"database": database.safe_url, "revision": revision, "previous_revision": before})
    elif before == revision:
        console.print(f"database {database.safe_url} is up to date (schema {revision})")
    else:
        console.print(f"database {database.safe_url} migrated from {before or 'empty'} to schema {revision}")


@app.command("add")
def add(
    given: GivenOption,
    first_surname: FirstSurnameOption,
    birth: BirthOption,
    sex: SexOption,
    state: StateOption,
    second_surname: SecondSurnameOption = None,
    nationality: Annotated[str, typer.Option("--nationality", help="ISO 3166-1 alpha-3.")] = "MEX",
    homonym: Annotated[
        str | None, typer.Option("--homonym", help="Ask for a specific free position-17 value.")
    ] = None,
    actor: ActorOption = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the history).")] = "enrollment",
    as_json: JsonOption = False,
) -> None:
    """Register a person and issue their CURP."""
    data = CurpData.parse(
        given_names=given,
        first_surname=first_surname,
        second_surname=second_surname,
        birth_date=birth,
        sex=sex,
        birth_state=state,
    )
    with open_registry() as registry:
        person = registry.enroll(
            PersonDraft(data=data, nationality=nationality),
            cli_context(actor, Purpose.ENROLLMENT),
            reason=reason,
            homonym=homonym,
        )
    if as_json:
        print_json(person.to_dict())
    else:
        _show_person(person)


@app.command("show")
def show(
    curp: Annotated[str, typer.Argument(help="Current or former CURP.")],
    as_json: JsonOption = False,
) -> None:
    """Show one person."""
    with open_registry() as registry:
        ctx = cli_context(None, Purpose.ADMINISTRATION)
        person = registry.get(curp, ctx)
        curps = registry.curps_of(curp, ctx)
    if as_json:
        print_json({**person.to_dict(), "former_curps": [c for c in curps if c != person.curp]})
    else:
        _show_person(person, former=[c for c in curps if c != person.curp])


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option("--status", help="Only persons with this status.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Only names containing this text.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    as_json: JsonOption = False,
) -> None:
    """List persons in enrollment order."""
    with open_registry() as registry:
        persons = registry.persons(
            cli_context(None, Purpose.ADMINISTRATION),
            status=parse_status(status) if status else None,
            name=name,
            limit=limit,
            offset=offset,
        )
        total = registry.count()
    if as_json:
        print_json({"total": total, "offset": offset, "persons": [p.to_dict() for p in persons]})
        return
    console.print(persons_table(persons, title=f"{len(persons)} of {total} persons"))


@app.command("update")
def update(
    curp: Annotated[str, typer.Argument(help="Current or former CURP.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the history).")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="FIELD=VALUE, e.g. --set first_surname=Muñoz (repeatable)."),
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="New status: active, suspended, revoked or deceased.")
    ] = None,
    expected_version: Annotated[
        int | None, typer.Option("--expected-version", help="Refuse if the record changed since.")
    ] = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Correct demographic data (a new CURP is issued when its letters change) or change status."""
    # every argument is checked before the registry is opened; the correction and the status
    # change are then one transaction (Registry.update), so a refused part writes nothing
    changes: dict[str, str | None] = {}
    for item in set_ or []:
        field, sep, value = item.partition("=")
        if not sep:
            raise InvalidInputError(f"--set {item!r} must have the form FIELD=VALUE", value=item)
        if field.strip() in changes:
            raise DuplicateFieldError(f"--set names {field.strip()} twice; give each field once", field=field)
        changes[field.strip()] = value.strip() or None
    if not changes and status is None:
        raise InvalidInputError("nothing to update: give --set FIELD=VALUE and/or --status STATUS")
    new_status = parse_status(status) if status is not None else None
    ctx = cli_context(actor, Purpose.CORRECTION)
    with open_registry() as registry:
        person = registry.update(
            curp, changes, ctx, reason=reason, expected_version=expected_version, status=new_status
        )
    if as_json:
        print_json(person.to_dict())
    else:
        _show_person(person)


@app.command("merge")
def merge(
    curp: Annotated[str, typer.Argument(help="The duplicate record.")],
    into: Annotated[str, typer.Option("--into", help="The surviving identity's CURP.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in both histories).")],
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Mark a record as a duplicate of another identity."""
    with open_registry() as registry:
        person = registry.merge(curp, into, cli_context(actor, Purpose.CORRECTION), reason=reason)
    if as_json:
        print_json(person.to_dict())
    else:
        _show_person(person)


@app.command("history")
def history(
    curp: Annotated[str, typer.Argument(help="Current or former CURP.")],
    as_json: JsonOption = False,
) -> None:
    """Every change to a person: who, when, why, old and new values."""
    with open_registry() as registry:
        ctx = cli_context(None, Purpose.ADMINISTRATION)
        person = registry.get(curp, ctx)
        entries = registry.history(curp, ctx)
    if as_json:
        print_json({"curp": person.curp, "history": [e.to_dict() for e in entries]})
    else:
        console.print(history_table(person, entries))


# --- rendering ----------------------------------------------------------------------------------


def _show_person(person: Person, former: list[str] | None = None) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("CURP", person.curp)
    table.add_row("name", person.full_name)
    table.add_row("born", f"{person.birth_date.isoformat()} in {birth_place_name(person.birth_state)}")
    table.add_row("sex", person.sex.value)
    table.add_row("nationality", person.nationality)
    status = person.status.value + (f" into {person.merged_into}" if person.merged_into else "")
    table.add_row("status", status)
    if former:
        table.add_row("former CURPs", ", ".join(former))
    table.add_row("version", str(person.version))
    console.print(table)


def persons_table(persons: list[Person], *, title: str) -> Table:
    table = Table(title=title)
    for column in ("CURP", "name", "born", "state", "status"):
        table.add_column(column)
    for p in persons:
        table.add_row(p.curp, p.full_name, p.birth_date.isoformat(), p.birth_state, p.status.value)
    return table


def history_table(person: Person, entries: list[HistoryEntry]) -> Table:
    table = Table(title=f"History of {person.curp} ({person.full_name})")
    for column in ("when (UTC)", "what", "who", "why", "changes"):
        table.add_column(column)
    for e in entries:
        if e.kind is ChangeKind.CREATED:
            changes = f"enrolled with CURP {e.changes['curp'][1]}"
        else:
            changes = "\n".join(f"{field}: {old} -> {new}" for field, (old, new) in e.changes.items())
        table.add_row(e.at.strftime("%Y-%m-%d %H:%M:%S"), e.kind.value, e.actor, e.reason, changes)
    return table
