"""Properties of the command line over generated input (hypothesis): for every person file and
every option value, `padron` either does what was asked (exit 0) or refuses with exit status 1
or 2 and a PAD- code, never the internal error (70) nor a traceback, and a refusal leaves the
database byte-for-byte as it was."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from padron.domain.curp import validate_curp
from tests.e2e.conftest import Cli

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

FIELDS = ("given_names", "first_surname", "second_surname", "birth_date", "sex", "birth_state", "nationality")
VALID = {
    "given_names": "Ana María",
    "first_surname": "López",
    "second_surname": "Ruiz",
    "birth_date": "1990-01-02",
    "sex": "M",
    "birth_state": "DF",
    "nationality": "MEX",
}

# argv holds no NUL; undecodable bytes arrive as lone surrogates, so those stay in
argv_text = st.text(st.characters(blacklist_characters="\x00"), max_size=40)
json_scalar = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
json_value = st.recursive(
    json_scalar,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3),
    max_leaves=8,
)
plausible = {
    "given_names": st.sampled_from(["Ana", "José Luis", "MARÍA", "Ñandú", "O'Neill", "", " ", "A1", "Ω"]),
    "first_surname": st.sampled_from(["López", "de la Fuente", "Pérez-Gómez", "", "X" * 101]),
    "second_surname": st.sampled_from([None, "Ruiz", "", "Müller"]),
    "birth_date": st.sampled_from(
        ["1990-01-02", "2004-02-29", "2003-02-29", "1899-12-31", "2999-01-01", "90-1-2"]
    ),
    "sex": st.sampled_from(["H", "M", "m", "X", ""]),
    "birth_state": st.sampled_from(["DF", "jc", "NE", "ZZ", ""]),
    "nationality": st.sampled_from(["MEX", "usa", "MX", "MEXICO"]),
}


@st.composite
def person_objects(draw: st.DrawFn) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for field in FIELDS:
        choice = draw(st.integers(0, 9))
        if choice == 4:
            continue  # missing
        if choice == 5:
            obj[field] = draw(json_value)  # any JSON value, often of the wrong type
        elif choice == 6:
            obj[field] = draw(argv_text)
        else:
            obj[field] = draw(plausible[field]) if draw(st.booleans()) else VALID[field]
    if draw(st.integers(0, 7)) == 3:
        obj[draw(st.text(min_size=1, max_size=10))] = draw(json_value)  # an unknown field
    return obj


@st.composite
def person_files(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=200))
    obj = draw(person_objects())
    text = json.dumps(obj, ensure_ascii=draw(st.booleans()), allow_nan=True)
    if kind == 1:
        text = text[: draw(st.integers(0, len(text)))]  # cut short
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="surrogatepass" if encoding.startswith("utf") else "replace")


def _assert_refused_or_done(cli: Cli, args: list[str], *, done_writes: bool) -> Any:
    before = cli.state()
    result = cli(*args)
    event(f"exit {result.code} {result.error_code or ''}")
    if result.code == 0:
        if not done_writes:
            assert cli.state() == before
        return result
    assert result.code in (1, 2), (args, result.code, result.out, result.err)
    assert result.error_code is not None and result.error_code.startswith("PAD-"), (result.out, result.err)
    assert result.error_code != "PAD-GEN-001"
    assert cli.state() == before, f"padron {args} was refused with {result.error_code} but wrote"
    return None


@PROPERTY
@given(content=person_files())
def test_any_person_file_is_refused_with_a_code(initialized_cli: Cli, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "person.json"
    path.write_bytes(content)
    result = initialized_cli("enroll", "--person", str(path), "--json")
    # no samples are given, so even a valid person file is refused -- after its checks
    assert result.code == 1, (content, result.out)
    code = result.json["error"]["code"]
    assert code.startswith("PAD-") and code != "PAD-GEN-001"


@PROPERTY
@given(obj=person_objects())
def test_person_file_schema_accepts_only_strings(obj: dict[str, Any]) -> None:
    from padron.cli.person_file import parse_person
    from padron.domain.errors import PadronError

    data = json.dumps(obj, allow_nan=True).encode()
    try:
        draft = parse_person(data)
    except PadronError:
        return
    # accepted: every field was a string (or a null second surname), nothing was coerced
    assert all(isinstance(obj[f], str) for f in ("given_names", "first_surname", "birth_date", "sex"))
    assert set(obj) <= set(FIELDS)
    assert obj.get("second_surname") is None or isinstance(obj["second_surname"], str)
    assert "NONE" not in draft.data.given_names.split() or "none" in str(obj["given_names"]).lower()
    assert not any(isinstance(v, float) and math.isnan(v) for v in obj.values())


def mostly(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Plausible values four times in five, any text otherwise."""
    return st.one_of(values, values, values, values, argv_text)


options = {
    "--given": mostly(plausible["given_names"]),
    "--first-surname": mostly(plausible["first_surname"].filter(bool)),
    "--second-surname": mostly(st.sampled_from(["Ruiz", "", "del Valle"])),
    "--birth": mostly(plausible["birth_date"]),
    "--sex": mostly(plausible["sex"]),
    "--state": mostly(plausible["birth_state"]),
    "--nationality": mostly(plausible["nationality"]),
    "--homonym": mostly(st.sampled_from(["0", "A", "9", "Z", "00"])),
    "--actor": mostly(st.sampled_from(["test:clerk", "ofi\x1bcer"])),
    "--reason": mostly(st.sampled_from(["enrollment", "enrollment", "x\ny", " "])),
}
REQUIRED = ("--given", "--first-surname", "--birth", "--sex", "--state")


@st.composite
def add_commands(draw: st.DrawFn) -> list[str]:
    args = ["person", "add"]
    for option, values in options.items():
        if option in REQUIRED or draw(st.booleans()):
            # (hypothesis draws the bounds of a range often, so rare branches sit inside it)
            if option in REQUIRED and draw(st.integers(0, 30)) == 17:
                continue  # a missing required option: a usage error
            args += [option, draw(values)]
    return [*args, "--json"]


@PROPERTY
@given(args=add_commands())
def test_person_add_issues_a_valid_curp_or_writes_nothing(initialized_cli: Cli, args: list[str]) -> None:
    result = _assert_refused_or_done(initialized_cli, args, done_writes=True)
    if result is not None:
        assert validate_curp(result.json["curp"]).curp == result.json["curp"]


@pytest.fixture
def registered(initialized_cli: Cli) -> tuple[Cli, str]:
    result = initialized_cli(
        "person", "add", "--given", "Juan", "--first-surname", "Hernández", "--birth", "1990-05-17",
        "--sex", "H", "--state", "DF", "--json",
    )  # fmt: skip
    return initialized_cli, str(result.json["curp"])


update_values = {
    "given_names": ["Pedro", "Ana María", "", "P3dro"],
    "first_surname": ["Hernández", "López", ""],
    "second_surname": ["", "Ruiz"],
    "birth_date": ["1990-05-18", "1990-05-17", "2999-01-01"],
    "sex": ["M", "H", "X"],
    "birth_state": ["JC", "DF", "ZZ"],
    "nationality": ["USA", "MEX", "mex", "MX"],
    "status": ["active"],
    "curp": ["HEGJ900517HDFRRN03"],
}


@st.composite
def update_commands(draw: st.DrawFn, curp: str) -> list[str]:
    target = draw(mostly(st.sampled_from([curp, curp, curp.lower(), "HEGJ900517HDFRRN99"])))
    args = ["person", "update", target]
    for _ in range(draw(st.integers(0, 2))):
        field = draw(st.sampled_from(sorted(update_values)))
        value = draw(mostly(st.sampled_from(update_values[field])))
        args += ["--set", f"{field}={value}" if draw(st.integers(0, 9)) else field]
    if draw(st.booleans()):
        statuses = st.sampled_from(["suspended", "active", "revoked", "deceased", "merged"])
        args += ["--status", draw(mostly(statuses))]
    if draw(st.integers(0, 4)) == 2:
        args += ["--expected-version", draw(st.sampled_from(["1", "2", "-1", "x"]))]
    args += ["--reason", draw(options["--reason"])]
    if draw(st.booleans()):
        args += ["--actor", draw(options["--actor"])]
    return [*args, "--json"]


@PROPERTY
@given(data=st.data())
def test_person_update_changes_everything_asked_or_nothing(
    registered: tuple[Cli, str], data: st.DataObject
) -> None:
    cli, curp = registered
    args = data.draw(update_commands(curp))
    _assert_refused_or_done(cli, args, done_writes=True)
    assert cli("person", "show", curp).code == 0  # the person is still there, under any CURP


@PROPERTY
@given(value=argv_text | st.sampled_from(["0", "1", "2", "-1", "nan", "inf", "-inf", "1e-400", "0.01"]))
def test_identify_fpir_is_checked(initialized_cli: Cli, value: str) -> None:
    result = _assert_refused_or_done(
        initialized_cli, ["identify", "--fpir", value, "--finger", "2=/nonexistent.png"], done_writes=False
    )
    assert result is None  # no sample can be read, so it is refused either way


@PROPERTY
@given(curp=argv_text)
def test_curp_check_any_text(initialized_cli: Cli, curp: str) -> None:
    _assert_refused_or_done(initialized_cli, ["curp", "check", curp, "--json"], done_writes=False)
    _assert_refused_or_done(initialized_cli, ["person", "show", curp, "--json"], done_writes=False)
    _assert_refused_or_done(initialized_cli, ["person", "list", "--name", curp, "--json"], done_writes=False)
