"""CURP generation and validation against RENAPO's rules."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from padron.domain import curp as rules
from padron.domain.curp import CurpData, Sex, build_curp, check_curp_matches, validate_curp
from padron.domain.errors import (
    CurpCheckDigitError,
    CurpDateError,
    CurpError,
    CurpFormatError,
    CurpHomonymError,
    CurpInconvenientWordError,
    CurpLengthError,
    CurpMismatchError,
    CurpSexError,
    CurpStateError,
    DateFormatError,
    DateOutOfRangeError,
    EmptyNameError,
    FutureDateError,
    NameCharactersError,
    SexError,
    StateError,
)
from padron.domain.states import BIRTH_PLACE_CODES


def make(
    given: str,
    first: str,
    second: str | None,
    born: str,
    sex: str = "H",
    state: str = "DF",
    homonym: str | None = None,
) -> str:
    data = CurpData.parse(
        given_names=given,
        first_surname=first,
        second_surname=second,
        birth_date=born,
        sex=sex,
        birth_state=state,
    )
    return build_curp(data, homonym)


# --- generation: worked examples ----------------------------------------------------------------


def test_renapo_instructivo_example() -> None:
    # the example of RENAPO's Instructivo Normativo: Gloria Hernández García, 27 April 1956, Veracruz
    assert make("Gloria", "Hernández", "García", "1956-04-27", "M", "VZ") == "HEGG560427MVZRRL04"


@pytest.mark.parametrize(
    ("given", "first", "second", "letters"),
    [
        # particles are dropped from compound surnames and names
        ("María de los Ángeles", "de la Fuente", "del Valle", "FUVA"),
        ("Juan", "Mc Gregor", "Van der Berg", "GEBJ"),
        # MARIA / JOSE (and abbreviations) give way to a second given name
        ("José Luis", "Pérez", "López", "PELL"),
        ("J. Luis", "Pérez", "López", "PELL"),
        ("Ma. Guadalupe", "Torres", "Ruiz", "TORG"),
        ("María José", "Torres", "Ruiz", "TORJ"),
        # ... but not when they are the only given name
        ("José", "Pérez", "López", "PELJ"),
        ("María", "Torres", "Ruiz", "TORM"),
        # Ñ becomes X; accents are stripped
        ("Íñigo", "Ñúñez", "Ávila", "XUAI"),
        # a missing second surname is X
        ("Ana", "Ortiz", None, "OIXA"),
        # a first surname without an internal vowel gives X
        ("Li", "Ng", "Wong", "NXWL"),
    ],
)
def test_letters_1_to_4(given: str, first: str, second: str | None, letters: str) -> None:
    assert make(given, first, second, "1985-03-09")[:4] == letters


def test_internal_consonants_with_particles_and_enye() -> None:
    curp = make("María de los Ángeles", "de la Fuente", "del Valle", "1985-03-09", "M", "JC")
    assert curp[13:16] == "NLN"  # fueNte, vaLle, aNgeles
    curp = make("Iñaki", "Peña", None, "1985-03-09")
    assert curp[13:16] == "XXX"  # peÑa -> X, no second surname, iÑaki -> X


@pytest.mark.parametrize(
    ("given", "first", "second", "sex", "word"),
    [
        ("Eduardo", "Peña", "Nieto", "H", "PENE"),
        ("Isabel", "Buendía", "Estrada", "M", "BUEI"),
        ("Olga", "Cacho", "Cárdenas", "M", "CACO"),
        ("Tomás", "Mula", "López", "H", "MULT"),  # MULT is no inconvenient word: kept
    ],
)
def test_inconvenient_words_get_an_x(given: str, first: str, second: str, sex: str, word: str) -> None:
    curp = make(given, first, second, "1970-01-01", sex)
    if word in rules.INCONVENIENT_WORDS:
        assert curp[:4] == word[0] + "X" + word[2:]
    else:
        assert curp[:4] == word
    validate_curp(curp)


def test_inconvenient_word_list_is_renapos_81() -> None:
    assert len(rules.INCONVENIENT_WORDS) == 81
    assert all(len(w) == 4 and w.isalpha() for w in rules.INCONVENIENT_WORDS)


def test_date_sex_state_and_century() -> None:
    old = make("Ana", "Ortiz", "Ruiz", "1999-12-31", "M", "NL")
    new = make("Ana", "Ortiz", "Ruiz", "2000-01-01", "M", "NL")
    assert old[4:13] == "991231MNL" and old[16] == "0"
    assert new[4:13] == "000101MNL" and new[16] == "A"
    assert validate_curp(old).birth_date == date(1999, 12, 31)
    assert validate_curp(new).birth_date == date(2000, 1, 1)


def test_born_abroad() -> None:
    curp = make("John", "Smith", None, "1980-07-04", "H", "NE")
    assert curp[11:13] == "NE"
    assert validate_curp(curp).birth_state == "NE"


def test_homonym_values_follow_the_century() -> None:
    assert make("Ana", "Ortiz", "Ruiz", "1980-01-01", homonym="7")[16] == "7"
    assert make("Ana", "Ortiz", "Ruiz", "2010-01-01", homonym="c")[16] == "C"
    with pytest.raises(CurpHomonymError):
        make("Ana", "Ortiz", "Ruiz", "1980-01-01", homonym="A")
    with pytest.raises(CurpHomonymError):
        make("Ana", "Ortiz", "Ruiz", "2010-01-01", homonym="0")


def test_check_digit_definition() -> None:
    # sum of value * weight (18 .. 2), digit = (10 - sum % 10) % 10; & is where Ñ sits in the table
    first17 = "HEGG560427MVZRRL0"
    total = sum(rules.CHECK_ALPHABET.index(ch) * (18 - i) for i, ch in enumerate(first17))
    assert rules.check_digit(first17) == str((10 - total % 10) % 10) == "4"
    assert rules.CHECK_ALPHABET.index("&") == 24 and rules.CHECK_ALPHABET.index("O") == 25


# --- bad demographic input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"birth_state": "XX"}, StateError),
        ({"birth_state": "Jalisco"}, StateError),
        ({"birth_date": "2999-01-01"}, FutureDateError),
        ({"birth_date": "1990-02-30"}, DateFormatError),
        ({"birth_date": "17/05/1990"}, DateFormatError),
        ({"birth_date": "1850-01-01"}, DateOutOfRangeError),
        ({"first_surname": "   "}, EmptyNameError),
        ({"given_names": ""}, EmptyNameError),
        ({"given_names": "Juan2"}, NameCharactersError),
        ({"first_surname": "P3rez"}, NameCharactersError),
        ({"given_names": "Иван"}, NameCharactersError),
        ({"sex": "X"}, SexError),
    ],
)
def test_bad_demographics_raise_specific_errors(kwargs: dict[str, str], error: type[Exception]) -> None:
    base: dict[str, Any] = {
        "given_names": "Juan",
        "first_surname": "Pérez",
        "second_surname": "López",
        "birth_date": "1990-05-17",
        "sex": "H",
        "birth_state": "JC",
    }
    with pytest.raises(error):
        CurpData.parse(**{**base, **kwargs})


def test_input_is_normalized_not_rejected() -> None:
    data = CurpData.parse(
        given_names="  juan   carlos ",
        first_surname="pérez",
        second_surname="  ",
        birth_date=" 1990-05-17 ",
        sex="h",
        birth_state="jc",
    )
    assert data.given_names == "JUAN CARLOS" and data.second_surname is None
    assert data.sex is Sex.HOMBRE and data.birth_state == "JC"


# --- validation -----------------------------------------------------------------------------------

VALID = "HEGG560427MVZRRL04"


@pytest.mark.parametrize(
    ("text", "error", "rule"),
    [
        (VALID[:17], CurpLengthError, "length"),
        (VALID + "0", CurpLengthError, "length"),
        ("1EGG560427MVZRRL04", CurpFormatError, "format"),
        ("HBGG560427MVZRRL04", CurpFormatError, "format"),  # position 2 must be a vowel or X
        ("HEGG56O427MVZRRL04", CurpFormatError, "format"),  # letter O in the date
        ("HEGG560427MVZRAL04", CurpFormatError, "format"),  # vowel among the consonants
        ("HEGG561327MVZRRL04", CurpDateError, "date"),
        ("HEGG560230MVZRRL04", CurpDateError, "date"),
        ("HEGG560427XVZRRL04", CurpSexError, "sex"),
        ("HEGG560427MXXRRL04", CurpStateError, "state"),
        ("PENE700101HDFXXD04", CurpInconvenientWordError, "inconvenient-word"),
        ("HEGG560427MVZRRL05", CurpCheckDigitError, "check-digit"),
    ],
)
def test_validation_names_the_failed_rule(text: str, error: type[CurpError], rule: str) -> None:
    with pytest.raises(error) as caught:
        validate_curp(text)
    assert caught.value.rule == rule


def test_future_date_by_century_digit() -> None:
    # position 17 is a letter, so the year is 20YY: 2099 is in the future
    first17 = "OIRA990101MNLRZNA"
    with pytest.raises(CurpDateError):
        validate_curp(first17 + rules.check_digit(first17))


def test_lower_case_and_whitespace_are_normalized() -> None:
    assert validate_curp("  hegg 5604 27mvzrrl04\n").curp == VALID


def test_holder_check() -> None:
    data = CurpData.parse(
        given_names="Gloria",
        first_surname="Hernández",
        second_surname="García",
        birth_date="1956-04-27",
        sex="M",
        birth_state="VZ",
    )
    check_curp_matches(VALID, data)
    other = CurpData.parse(
        given_names="Gloria",
        first_surname="Fernández",
        second_surname="García",
        birth_date="1956-04-27",
        sex="M",
        birth_state="VZ",
    )
    with pytest.raises(CurpMismatchError) as caught:
        check_curp_matches(VALID, other)
    assert caught.value.details["positions"] == [1]


# --- properties ---------------------------------------------------------------------------------

WORDS = st.sampled_from(
    "JUAN MARIA JOSE MA. J. LUIS ÁNGELES DE LA DEL LOS Y GUADALUPE ÑUÑO IÑAKI ÚRSULA O'NEILL "
    "PEÑA PÉREZ MC GREGOR VAN VON DER NG LI X ROSA ELENA ÁVILA CRUZ SAN MARTÍN".split()
)
NAMES = st.lists(WORDS, min_size=1, max_size=4).map(" ".join)


@st.composite
def curp_data(draw: st.DrawFn) -> CurpData:
    return CurpData(
        given_names=draw(NAMES),
        first_surname=draw(NAMES),
        second_surname=draw(st.none() | NAMES),
        birth_date=draw(st.dates(min_value=date(1900, 1, 1), max_value=date.today())),
        sex=draw(st.sampled_from(list(Sex))),
        birth_state=draw(st.sampled_from(sorted(BIRTH_PLACE_CODES))),
    )


@given(data=curp_data(), pick=st.integers(min_value=0, max_value=25))
@settings(max_examples=400, deadline=None)
def test_every_generated_curp_validates(data: CurpData, pick: int) -> None:
    alphabet = rules.homonym_alphabet(data.birth_date)
    curp = build_curp(data, alphabet[pick % len(alphabet)])
    parsed = validate_curp(curp)
    assert (parsed.birth_date, parsed.sex, parsed.birth_state) == (
        data.birth_date,
        data.sex,
        data.birth_state,
    )
    assert check_curp_matches(curp, data).curp == curp


def checksum_blind(position: int, old: str, new: str) -> bool:
    """True when RENAPO's weighted mod-10 check digit cannot see this substitution."""
    weight = 18 - position
    delta = rules.CHECK_ALPHABET.index(new) - rules.CHECK_ALPHABET.index(old)
    return (weight * delta) % 10 == 0


@given(
    data=curp_data(),
    position=st.integers(min_value=0, max_value=17),
    replacement=st.sampled_from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
)
@settings(max_examples=2000, deadline=None)
def test_every_single_character_change_is_rejected(data: CurpData, position: int, replacement: str) -> None:
    """A one-character change never passes as this person's CURP.

    The check digit alone (``curp check``) catches every change except those where
    weight x value difference is a multiple of 10 -- RENAPO's scheme is blind to them, e.g. day
    15 -> 25 (weight 10) or homonym 0 -> 5 (weight 2). Checked against the holder's data, every
    change in positions 1-16 and 18 is caught; in position 17 a change by 5 (0<->5, A<->F, ...)
    is a valid CURP of a possible homonym, which only the registry (that knows who holds which)
    can tell apart.
    """
    curp = build_curp(data)
    if replacement == curp[position]:
        return
    mutated = curp[:position] + replacement + curp[position + 1 :]
    try:
        validate_curp(mutated)
    except CurpError:
        pass  # rejected on its own
    else:
        # only a checksum-blind substitution can survive the check digit
        assert position < 17 and checksum_blind(position, curp[position], replacement)
        try:
            check_curp_matches(mutated, data)
        except CurpMismatchError:
            return
        assert position == 16, f"{mutated} passed as {curp}'s holder"


def test_check_digit_blind_spots_are_exactly_the_documented_ones() -> None:
    """Exhaustively, for one CURP: every substitution that survives validation is checksum-blind."""
    survivors = []
    for position in range(17):
        for ch in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ":
            if ch == VALID[position]:
                continue
            mutated = VALID[:position] + ch + VALID[position + 1 :]
            try:
                validate_curp(mutated)
            except CurpError:
                continue
            survivors.append((position, ch))
    assert survivors, "some substitutions are invisible to a mod-10 check digit"
    assert all(checksum_blind(p, VALID[p], ch) for p, ch in survivors)
