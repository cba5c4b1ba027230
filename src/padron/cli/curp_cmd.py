"""`padron curp make|check`: compute and validate CURPs without touching the registry."""

from __future__ import annotations

from typing import Annotated

import typer

from padron.cli.options import (
    BirthOption,
    FirstSurnameOption,
    GivenOption,
    JsonOption,
    SecondSurnameOption,
    SexOption,
    StateOption,
)
from padron.cli.output import console, print_json
from padron.domain.curp import (
    CurpData,
    build_curp,
    effective_given_name,
    effective_surname,
    validate_curp,
)
from padron.domain.errors import CurpError
from padron.domain.states import birth_place_name

app = typer.Typer(help="Compute and validate CURPs (RENAPO's rules).", no_args_is_help=True)


@app.command("make")
def make(
    given: GivenOption,
    first_surname: FirstSurnameOption,
    birth: BirthOption,
    sex: SexOption,
    state: StateOption,
    second_surname: SecondSurnameOption = None,
    homonym: Annotated[
        str | None,
        typer.Option("--homonym", help="Position 17; default 0 for births before 2000, A from 2000."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Print the CURP for these data (on the last line)."""
    data = CurpData.parse(
        given_names=given,
        first_surname=first_surname,
        second_surname=second_surname,
        birth_date=birth,
        sex=sex,
        birth_state=state,
    )
    curp = build_curp(data, homonym)
    if as_json:
        print_json(
            {
                "curp": curp,
                "stem": curp[:16],
                "homonym": curp[16],
                "check_digit": curp[17],
                "letters_from": {
                    "first_surname": effective_surname(data.first_surname),
                    "second_surname": effective_surname(data.second_surname) if data.second_surname else None,
                    "given_name": effective_given_name(data.given_names),
                },
            }
        )
        return
    console.print(
        f"[dim]{data.first_surname} {data.second_surname or '(sin segundo apellido)'}, {data.given_names}; "
        f"{data.birth_date.isoformat()}; {data.sex.value}; {birth_place_name(data.birth_state)}[/]",
        markup=True,  # names hold letters, spaces and ' - . only: no markup of their own
    )
    print(curp)


@app.command("check")
def check(
    curp: Annotated[str, typer.Argument(help="The CURP to validate (case and spaces are ignored).")],
    as_json: JsonOption = False,
) -> None:
    """Print `valid` and exit 0, or print the rule that failed and exit 1."""
    try:
        parsed = validate_curp(curp)
    except CurpError as error:
        if as_json:
            print_json({"valid": False, "rule": error.rule, **error.to_dict()})
        else:
            print(f"invalid: {error.rule}: {error.code}: {error.message}")
        raise typer.Exit(1) from None
    if as_json:
        print_json(
            {
                "valid": True,
                "curp": parsed.curp,
                "birth_date": parsed.birth_date.isoformat(),
                "sex": parsed.sex.value,
                "birth_state": parsed.birth_state,
                "homonym": parsed.homonym,
            }
        )
    else:
        print("valid")
