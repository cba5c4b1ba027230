"""Options shared by several commands (one definition, one help text)."""

from __future__ import annotations

from typing import Annotated

import typer

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
ActorOption = Annotated[
    str | None, typer.Option("--actor", help="Who makes the change (default: $PADRON_ACTOR or cli:<user>).")
]
GivenOption = Annotated[str, typer.Option("--given", help="Given name(s), e.g. 'María José'.")]
FirstSurnameOption = Annotated[str, typer.Option("--first-surname", help="First (paternal) surname.")]
SecondSurnameOption = Annotated[
    str | None, typer.Option("--second-surname", help="Second (maternal) surname, if any.")
]
BirthOption = Annotated[str, typer.Option("--birth", help="Birth date, YYYY-MM-DD.")]
SexOption = Annotated[str, typer.Option("--sex", help="H (hombre) or M (mujer).")]
StateOption = Annotated[
    str, typer.Option("--state", help="State of birth code (e.g. DF, JC) or NE (born abroad).")
]
