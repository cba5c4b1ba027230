"""Issue 11's examples as a user runs them: a refused command writes nothing, every bad input
gets its own code, types are checked rather than coerced, text is normalized and clean."""

from __future__ import annotations

import json
import unicodedata

import pytest

from tests.e2e.conftest import VALID_PERSON, Cli, Writer

ADD = ["person", "add", "--given", "Juan", "--first-surname", "Hernández", "--second-surname", "García"]


def _add(cli: Cli, birth: str = "1990-05-17", *extra: str) -> str:
    result = cli(*ADD, "--birth", birth, "--sex", "H", "--state", "DF", *extra, "--json")
    assert result.code == 0, result.err
    return str(result.json["curp"])


def test_update_with_a_bad_status_writes_no_correction(initialized_cli: Cli) -> None:
    cli = initialized_cli
    curp = _add(cli)
    # the example: the correction would issue a new CURP; the status is bogus
    cli.refused(
        "person", "update", curp, "--set", "second_surname=Gómez", "--status", "bogus", "--reason", "x",
        code="PAD-PERSON-002",
    )  # fmt: skip
    # an allowed status word, but a transition the record cannot make: still nothing written
    assert cli("person", "update", curp, "--status", "deceased", "--reason", "acta").code == 0
    cli.refused(
        "person", "update", curp, "--set", "second_surname=Gómez", "--status", "active", "--reason", "x",
        code="PAD-PERSON-002",
    )  # fmt: skip
    cli.refused("person", "update", curp, "--status", "merged", "--reason", "x", code="PAD-PERSON-002")
    shown = cli("person", "show", curp, "--json").json
    assert shown["curp"] == curp and shown["second_surname"] == "GARCÍA" and shown["former_curps"] == []
    history = cli("person", "history", curp, "--json").json["history"]
    assert [h["kind"] for h in history] == ["created", "status"]


def test_update_correction_and_status_land_together(initialized_cli: Cli) -> None:
    cli = initialized_cli
    curp = _add(cli)
    result = cli(
        "person", "update", curp, "--set", "birth_date=1990-05-18", "--status", "suspended",
        "--reason", "acta", "--json",
    )  # fmt: skip
    assert result.code == 0
    assert result.json["curp"].startswith("HEGJ900518") and result.json["status"] == "suspended"
    history = cli("person", "history", curp, "--json").json["history"]
    assert [h["kind"] for h in history] == ["created", "updated", "status"]


def test_other_multi_part_commands_refuse_before_writing(initialized_cli: Cli) -> None:
    cli = initialized_cli
    one, two = _add(cli), _add(cli, "1991-01-01")
    cli.refused("person", "update", one, "--set", "given_names=Pedro", "--set", "given_names=Pablo",
                "--reason", "x", code="PAD-PERSON-009")  # fmt: skip
    cli.refused("person", "update", one, "--set", "height=180", "--status", "suspended", "--reason", "x",
                code="PAD-PERSON-004")  # fmt: skip
    cli.refused("person", "update", one, "--set", "birth_date=2990-01-01", "--status", "suspended",
                "--reason", "x", code="PAD-DATE-002")  # fmt: skip
    cli.refused("person", "update", one, "--set", "given_names=Pedro", "--expected-version", "7",
                "--reason", "x", code="PAD-PERSON-007")  # fmt: skip
    cli.refused("person", "merge", one, "--into", one, "--reason", "same", code="PAD-PERSON-003")
    cli.refused(
        "person", "merge", one, "--into", "HEGJ900517HDFRRN99", "--reason", "x", code="PAD-PERSON-003"
    )
    cli.refused("person", "merge", one, "--into", two, "--reason", " ", code="PAD-PERSON-006")
    cli.refused("adjudication", "decide", "1", "--decision", "maybe", "--reason", "x", code="PAD-GEN-002")
    cli.refused("adjudication", "decide", "1", "--decision", "same", "--reason", "x", code="PAD-ADJ-001")
    cli.refused(*ADD, "--birth", "1990-05-17", "--sex", "H", "--state", "DF", "--homonym", "A",
                code="PAD-CURP-008")  # fmt: skip
    cli.refused(*ADD, "--birth", "1990-05-17", "--sex", "H", "--state", "DF", "--nationality", "Mexico",
                code="PAD-NAT-001")  # fmt: skip


@pytest.mark.parametrize(
    ("actor", "reason", "field"),
    [
        ("test:officer", "typo\x1b[2J", "reason"),  # a terminal escape
        ("test:officer", "typo\nforged line", "reason"),
        ("test:officer", "typo \u202eevil", "reason"),  # right-to-left override
        ("ofi\x07cer", "typo", "actor"),
        ("test:officer", "x" * 2001, "reason"),
        ("o" * 201, "typo", "actor"),
    ],
)
def test_actor_and_reason_are_one_line_of_printable_text(
    initialized_cli: Cli, actor: str, reason: str, field: str
) -> None:
    cli = initialized_cli
    curp = _add(cli)
    result = cli.refused(
        "person", "update", curp, "--set", "given_names=Pedro", "--actor", actor, "--reason", reason,
        "--json", code="PAD-PERSON-008",
    )  # fmt: skip
    assert result.json["error"]["details"]["field"] == field
    cli.refused(*ADD, "--birth", "1991-05-17", "--sex", "H", "--state", "DF", "--actor", actor,
                "--reason", reason, code="PAD-PERSON-008")  # fmt: skip


def test_decomposed_names_are_the_same_name(initialized_cli: Cli) -> None:
    cli = initialized_cli
    decomposed = unicodedata.normalize("NFD", "José Ñúñez")
    assert decomposed != "José Ñúñez"
    result = cli("person", "add", "--given", decomposed.split()[0], "--first-surname", decomposed.split()[1],
                 "--birth", "1980-02-03", "--sex", "H", "--state", "JC", "--json")  # fmt: skip
    assert result.code == 0, result.err
    assert result.json["given_names"] == "JOSÉ" and result.json["first_surname"] == "ÑÚÑEZ"
    made = cli("curp", "make", "--given", "José", "--first-surname", "Ñúñez", "--birth", "1980-02-03",
               "--sex", "H", "--state", "JC", "--json").json  # fmt: skip
    assert result.json["curp"][:16] == made["curp"][:16]
    # and a decomposed search finds the precomposed record
    listed = cli("person", "list", "--name", unicodedata.normalize("NFD", "ñúñ"), "--json").json
    assert [p["curp"] for p in listed["persons"]] == [result.json["curp"]]


def test_name_search_takes_wildcards_literally(initialized_cli: Cli) -> None:
    cli = initialized_cli
    _add(cli)
    for fragment in ("%", "_", "H%Z", "HERN_NDEZ"):
        listed = cli("person", "list", "--name", fragment, "--json").json
        assert listed["persons"] == [], fragment
    assert len(cli("person", "list", "--name", "hernández", "--json").json["persons"]) == 1


PERSON = VALID_PERSON


def _person(**changes: object) -> bytes:
    return json.dumps({**PERSON, **changes}).encode()


@pytest.mark.parametrize(
    ("content", "code", "field"),
    [
        (_person(given_names=None), "PAD-JSON-002", "given_names"),
        (_person(given_names=True), "PAD-JSON-002", "given_names"),
        (_person(first_surname=12), "PAD-JSON-002", "first_surname"),
        (_person(sex=["M"]), "PAD-JSON-002", "sex"),
        (_person(birth_state={"code": "DF"}), "PAD-JSON-002", "birth_state"),
        (_person(birth_date=19900102), "PAD-JSON-002", "birth_date"),
        (_person(height="1.70"), "PAD-JSON-002", "height"),
        (_person(given_names="A" * 201), "PAD-JSON-002", "given_names"),
        (json.dumps({k: v for k, v in PERSON.items() if k != "sex"}).encode(), "PAD-JSON-002", "sex"),
        (_person().replace(b'"Ana"', b"NaN"), "PAD-JSON-001", None),
        (_person().replace(b'"Ana"', b"-Infinity"), "PAD-JSON-001", None),
        (b'{"given_names": "Ana", "given_names": "Eva"}', "PAD-JSON-001", "given_names"),
        (b"[" * 100_000, "PAD-FILE-002", None),
        (b'{"a":' * 5_000 + b"1" + b"}" * 5_000, "PAD-JSON-001", None),
        (b'{"given_names": ', "PAD-JSON-001", None),
        (b'["Ana"]', "PAD-JSON-001", None),
        (json.dumps(PERSON).encode("utf-16"), "PAD-FILE-004", None),
        (json.dumps(PERSON, ensure_ascii=False).encode("latin-1"), "PAD-FILE-004", None),
        (b"", "PAD-FILE-003", None),
        (_person(given_names="Ana\u0000"), "PAD-NAME-002", None),
        (_person(given_names="NONE1"), "PAD-NAME-002", None),
        (_person(sex="X"), "PAD-SEX-001", None),
    ],
)
def test_person_file_types_are_checked_not_coerced(
    initialized_cli: Cli, write_file: Writer, content: bytes, code: str, field: str | None
) -> None:
    result = initialized_cli.refused(
        "enroll", "--person", write_file(content), "--finger", "2=/nonexistent.png", "--json", code=code
    )
    if field is not None:
        assert result.json["error"]["details"]["field"] == field
        assert field in result.json["error"]["message"]


def test_a_valid_person_file_gets_to_the_samples(initialized_cli: Cli, write_file: Writer) -> None:
    # BOM-prefixed UTF-8 and a null second surname are fine; what is refused next is the sample
    content = b"\xef\xbb\xbf" + _person(second_surname=None)
    initialized_cli.refused("enroll", "--person", write_file(content), code="PAD-ENR-001")
    initialized_cli.refused("enroll", "--person", write_file(content), "--finger", "2=/nonexistent.png",
                            "--finger", "2=/other.png", code="PAD-PERSON-009")  # fmt: skip
    initialized_cli.refused("enroll", "--person", write_file(content), "--finger", "11=/x.png",
                            code="PAD-FING-010")  # fmt: skip


def test_person_file_that_is_not_a_regular_file(initialized_cli: Cli, tmp_path) -> None:
    initialized_cli.refused("enroll", "--person", "/dev/zero", "--finger", "2=/x.png", code="PAD-FILE-001")
    initialized_cli.refused("enroll", "--person", str(tmp_path), "--finger", "2=/x.png", code="PAD-FILE-001")
    initialized_cli.refused(
        "enroll", "--person", str(tmp_path / "absent.json"), "--finger", "2=/x.png", code="PAD-FILE-001"
    )


def test_usage_errors_carry_a_code(initialized_cli: Cli) -> None:
    result = initialized_cli.refused("person", "add", "--nope", code="PAD-CLI-001", status=2)
    assert "--nope" in result.err
    result = initialized_cli.refused(
        "person", "list", "--limit", "zero", "--json", code="PAD-CLI-001", status=2
    )
    assert "limit" in result.json["error"]["message"]


def test_user_text_is_printed_as_text_not_terminal_markup(initialized_cli: Cli) -> None:
    cli = initialized_cli
    curp = _add(cli)
    reason = "acta [/] con [bold]sello[/bold] [red]"
    assert cli("person", "update", curp, "--set", "given_names=Pedro", "--reason", reason).code == 0
    shown = cli("person", "history", curp)  # a table: a narrow terminal may wrap the cell
    assert shown.code == 0 and "[bold]" in shown.out and "[/]" in shown.out
    recorded = cli("person", "history", curp, "--json").json["history"][-1]
    assert recorded["reason"] == reason
    refused = cli("person", "update", curp, "--status", "[bold]asleep[/]", "--reason", "x")
    assert refused.code == 1 and "[bold]asleep[/]" in refused.err
