"""CURP (Clave Única de Registro de Población): generation and validation.

Follows RENAPO's *Instructivo Normativo para la Asignación de la CURP*:

======== ===================================================================================
position content
======== ===================================================================================
1        first letter of the first surname
2        first internal vowel of the first surname (X if none)
3        first letter of the second surname (X if there is none)
4        first letter of the (effective) given name
5-10     birth date YYMMDD
11       sex: H (hombre) or M (mujer)
12-13    state of birth (32 codes) or NE (born abroad)
14-16    first internal consonant of first surname, second surname (X if none), given name
17       homonym differentiator: 0-9 for births before 2000, A-Z from 2000 on
18       check digit over positions 1-17
======== ===================================================================================

Names are normalized first: upper case, accents stripped, Ñ becomes X, the particles of compound
names dropped, and a leading MARIA / JOSE (and abbreviations) skipped when a second given name
follows. If positions 1-4 spell one of RENAPO's inconvenient words, position 2 becomes X.

Position 17 is assigned by the registry (the lowest value not yet used by anybody whose first 16
characters are the same); everything else follows from the person's data.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from padron.domain.errors import (
    CurpCheckDigitError,
    CurpDateError,
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
    NameTooLongError,
    SexError,
    StateError,
)
from padron.domain.states import BIRTH_PLACE_CODES

CURP_LENGTH = 18
MAX_NAME_LENGTH = 100
EARLIEST_BIRTH = date(1900, 1, 1)

#: words dropped from compound names and surnames before letters are taken
PARTICLES = frozenset("DA DAS DE DEL DER DI DIE DD EL LA LOS LAS LE LES MAC MC VAN VON Y".split())
#: a first given name skipped when a second one follows
SKIPPED_GIVEN_NAMES = frozenset({"MARIA", "MA.", "MA", "M.", "M", "JOSE", "J.", "J"})

#: RENAPO's 81 inconvenient words (Anexo 2 of the Instructivo Normativo)
INCONVENIENT_WORDS = frozenset(
    """
    BACA BAKA BUEI BUEY CACA CACO CAGA CAGO CAKA CAKO COGE COGI COJA COJE COJI COJO COLA CULO FALO
    FETO GETA GUEI GUEY JETA JOTO KACA KACO KAGA KAGO KAKA KAKO KOGE KOGI KOJA KOJE KOJI KOJO KOLA
    KULO LILO LOCA LOCO LOKA LOKO MAME MAMO MEAR MEAS MEON MIAR MION MOCO MOKO MULA MULO NACA NACO
    PEDA PEDO PENE PIPI PITO POPO PUTA PUTO QULO RATA ROBA ROBE ROBO RUIN SENO TETA VACA VAGA VAGO
    VAKA VUEI VUEY WUEI WUEY
    """.split()
)

#: value of each character in the check-digit sum; '&' stands where Ñ sits in RENAPO's table
CHECK_ALPHABET = "0123456789ABCDEFGHIJKLMN&OPQRSTUVWXYZ"
_CHECK_VALUE = {ch: i for i, ch in enumerate(CHECK_ALPHABET)}

VOWELS = frozenset("AEIOU")
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
#: punctuation that may appear in a name besides letters and spaces (O'NEILL, PEREZ-GOMEZ, MA.)
_NAME_PUNCTUATION = frozenset("'-.")

HOMONYMS_20TH_CENTURY = "0123456789"
HOMONYMS_21ST_CENTURY = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

_FORMAT = re.compile(
    r"^[A-Z][AEIOUX][A-Z]{2}[0-9]{6}[A-Z][A-Z]{2}[B-DF-HJ-NP-TV-Z]{3}[0-9A-Z][0-9]$",
)
_POSITION_RULES: tuple[tuple[str, str], ...] = (
    ("[A-Z]", "a letter"),
    ("[AEIOUX]", "a vowel or X"),
    ("[A-Z]", "a letter"),
    ("[A-Z]", "a letter"),
    *((("[0-9]", "a digit"),) * 6),
    ("[A-Z]", "a letter"),
    ("[A-Z]", "a letter"),
    ("[A-Z]", "a letter"),
    *((("[B-DF-HJ-NP-TV-Z]", "a consonant or X"),) * 3),
    ("[0-9A-Z]", "a digit or a letter"),
    ("[0-9]", "a digit"),
)


class Sex(StrEnum):
    """Sex as RENAPO records it in position 11."""

    HOMBRE = "H"
    MUJER = "M"


# --- demographic input ---------------------------------------------------------------------------


def clean_name(value: str | None, field: str, *, required: bool = True) -> str | None:
    """A name as the registry stores it: NFC, whitespace collapsed, upper case, accents kept.

    Raises EmptyNameError, NameCharactersError (digits, non-Latin letters, symbols) or
    NameTooLongError. An empty optional name (second surname) becomes None.
    """
    # NFC first: a letter typed as base + combining accent (decomposed, as some keyboards and
    # macOS file names produce) is the same name as the precomposed letter
    text = unicodedata.normalize("NFC", " ".join(unicodedata.normalize("NFC", value or "").split()).upper())
    if not text:
        if required:
            raise EmptyNameError(f"{field.replace('_', ' ')} must not be empty", field=field)
        return None
    if len(text) > MAX_NAME_LENGTH:
        raise NameTooLongError(
            f"{field.replace('_', ' ')} is {len(text)} characters long; at most {MAX_NAME_LENGTH}",
            field=field,
        )
    for ch in text:
        if ch.isdigit():
            raise NameCharactersError(
                f"{field.replace('_', ' ')} {text!r} contains the digit {ch!r}", field=field, value=text
            )
        base = _ascii_base(ch)
        if not (base in _LETTERS or ch == " " or ch in _NAME_PUNCTUATION):
            raise NameCharactersError(
                f"{field.replace('_', ' ')} {text!r} contains {ch!r}, which is not a Latin letter",
                field=field,
                value=text,
            )
    if not any(_ascii_base(ch) in _LETTERS for ch in text):
        raise EmptyNameError(f"{field.replace('_', ' ')} has no letters", field=field)
    return text


def _ascii_base(ch: str) -> str:
    """The base letter of an accented Latin letter (É -> E, Ü -> U, Ñ -> N)."""
    decomposed = unicodedata.normalize("NFD", ch)
    return decomposed[0].upper() if decomposed else ch


def parse_birth_date(value: str | date, *, today: date | None = None) -> date:
    """A birth date from ``YYYY-MM-DD``: a real calendar date, not in the future, not before 1900."""
    if isinstance(value, date):
        born = value
    else:
        text = value.strip()
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise DateFormatError(f"birth date {value!r} is not in YYYY-MM-DD form", value=value)
        try:
            born = date.fromisoformat(text)
        except ValueError:
            raise DateFormatError(f"birth date {value!r} is not a real calendar date", value=value) from None
    today = today or date.today()
    if born > today:
        raise FutureDateError(f"birth date {born.isoformat()} lies in the future", value=born.isoformat())
    if born < EARLIEST_BIRTH:
        raise DateOutOfRangeError(
            f"birth date {born.isoformat()} lies before 1900-01-01, which a CURP cannot encode",
            value=born.isoformat(),
        )
    return born


def parse_sex(value: str | Sex) -> Sex:
    text = str(value).strip().upper()
    try:
        return Sex(text)
    except ValueError:
        raise SexError(f"sex {value!r} must be H (hombre) or M (mujer)", value=str(value)) from None


def parse_birth_state(value: str) -> str:
    text = value.strip().upper()
    if text not in BIRTH_PLACE_CODES:
        raise StateError(
            f"unknown state of birth {value!r}; use one of the 32 two-letter codes "
            f"(e.g. DF, JC, NL) or NE for born abroad",
            value=value,
        )
    return text


@dataclass(frozen=True, slots=True)
class CurpData:
    """The demographic data a CURP is derived from (already cleaned)."""

    given_names: str
    first_surname: str
    second_surname: str | None
    birth_date: date
    sex: Sex
    birth_state: str

    @classmethod
    def parse(
        cls,
        *,
        given_names: str,
        first_surname: str,
        second_surname: str | None,
        birth_date: str | date,
        sex: str | Sex,
        birth_state: str,
        today: date | None = None,
    ) -> CurpData:
        """Validate raw input; each problem raises its own coded error."""
        return cls(
            given_names=_required(clean_name(given_names, "given_names")),
            first_surname=_required(clean_name(first_surname, "first_surname")),
            second_surname=clean_name(second_surname, "second_surname", required=False),
            birth_date=parse_birth_date(birth_date, today=today),
            sex=parse_sex(sex),
            birth_state=parse_birth_state(birth_state),
        )


def _required(value: str | None) -> str:
    assert value is not None  # clean_name(required=True) never returns None
    return value


# --- name normalization ---------------------------------------------------------------------------


def normalize_for_curp(name: str) -> str:
    """Upper case, Ñ -> X, accents stripped, whitespace collapsed; punctuation kept."""
    text = name.upper().replace("Ñ", "X").replace("ñ", "X")
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    return " ".join(text.split())


def _words_without_particles(name: str) -> list[str]:
    words = normalize_for_curp(name).split()
    kept = [w for w in words if w not in PARTICLES]
    return kept or words  # a name made only of particles keeps them


def effective_surname(surname: str) -> str:
    """The word of a (compound) surname whose letters go into the CURP."""
    return _words_without_particles(surname)[0]


def effective_given_name(given_names: str) -> str:
    """The given name whose letters go into the CURP: the first, unless it is MARIA / JOSE (or an
    abbreviation) and another given name follows."""
    words = _words_without_particles(given_names)
    if len(words) > 1 and words[0] in SKIPPED_GIVEN_NAMES:
        return words[1]
    return words[0]


def _initial(word: str) -> str:
    first = word[0]
    return first if first in _LETTERS else "X"


def _first_internal(word: str, wanted: frozenset[str]) -> str:
    for ch in word[1:]:
        if ch in wanted:
            return ch
    return "X"


_CONSONANTS = _LETTERS - VOWELS


def curp_stem(data: CurpData) -> str:
    """Positions 1-16: everything but the homonym differentiator and the check digit."""
    first = effective_surname(data.first_surname)
    second = effective_surname(data.second_surname) if data.second_surname else None
    given = effective_given_name(data.given_names)
    letters = (
        _initial(first)
        + _first_internal(first, VOWELS)
        + (_initial(second) if second else "X")
        + _initial(given)
    )
    if letters in INCONVENIENT_WORDS:
        letters = letters[0] + "X" + letters[2:]
    consonants = (
        _first_internal(first, _CONSONANTS)
        + (_first_internal(second, _CONSONANTS) if second else "X")
        + _first_internal(given, _CONSONANTS)
    )
    return letters + data.birth_date.strftime("%y%m%d") + data.sex.value + data.birth_state + consonants


def homonym_alphabet(birth_date: date) -> str:
    """The values position 17 may take for this birth date, in the order they are assigned."""
    return HOMONYMS_20TH_CENTURY if birth_date.year < 2000 else HOMONYMS_21ST_CENTURY


def default_homonym(birth_date: date) -> str:
    return homonym_alphabet(birth_date)[0]


def check_digit(first17: str) -> str:
    """Position 18 from positions 1-17: values weighted 18 down to 2, (10 - sum mod 10) mod 10."""
    total = sum(_CHECK_VALUE[ch] * (18 - i) for i, ch in enumerate(first17))
    return str((10 - total % 10) % 10)


def build_curp(data: CurpData, homonym: str | None = None) -> str:
    """The full CURP for ``data`` with the given homonym differentiator (default: the first value)."""
    alphabet = homonym_alphabet(data.birth_date)
    value = default_homonym(data.birth_date) if homonym is None else homonym.strip().upper()
    if len(value) != 1 or value not in alphabet:
        kind = "a digit 0-9" if data.birth_date.year < 2000 else "a letter A-Z"
        raise CurpHomonymError(
            f"homonym differentiator {homonym!r} is not allowed: births in {data.birth_date.year} use {kind}",
            value=homonym,
        )
    first17 = curp_stem(data) + value
    return first17 + check_digit(first17)


# --- validation ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParsedCurp:
    """What a valid CURP says about its holder."""

    curp: str
    birth_date: date
    sex: Sex
    birth_state: str
    homonym: str

    @property
    def stem(self) -> str:
        return self.curp[:16]


def normalize_curp(text: str) -> str:
    """Upper case with all whitespace removed (lower case and stray spaces are not errors)."""
    return "".join(text.split()).upper()


def validate_curp(text: str, *, today: date | None = None) -> ParsedCurp:
    """Check a CURP rule by rule; the first failed rule raises its CurpError subclass.

    Rules, in order: length, format, date, sex, state, inconvenient word, check digit.
    """
    curp = normalize_curp(text)
    if len(curp) != CURP_LENGTH:
        raise CurpLengthError(
            f"a CURP has 18 characters; {curp!r} has {len(curp)}", rule="length", length=len(curp)
        )
    if not _FORMAT.match(curp):
        pos, expected = _first_format_violation(curp)
        raise CurpFormatError(
            f"position {pos} of {curp} is {curp[pos - 1]!r}; it must be {expected}",
            rule="format",
            position=pos,
        )
    homonym = curp[16]
    century = 1900 if homonym.isdigit() else 2000
    try:
        born = date(century + int(curp[4:6]), int(curp[6:8]), int(curp[8:10]))
    except ValueError:
        raise CurpDateError(
            f"positions 5-10 of {curp} ({curp[4:10]}) are not a real date", rule="date", value=curp[4:10]
        ) from None
    if born > (today or date.today()):
        raise CurpDateError(
            f"{curp} gives the birth date {born.isoformat()}, which lies in the future",
            rule="date",
            value=born.isoformat(),
        )
    if curp[10] not in ("H", "M"):
        raise CurpSexError(f"position 11 of {curp} is {curp[10]!r}; it must be H or M", rule="sex")
    state = curp[11:13]
    if state not in BIRTH_PLACE_CODES:
        raise CurpStateError(
            f"positions 12-13 of {curp} ({state}) are not a state code nor NE", rule="state", value=state
        )
    if curp[:4] in INCONVENIENT_WORDS:
        raise CurpInconvenientWordError(
            f"positions 1-4 of {curp} spell the inconvenient word {curp[:4]}; "
            f"RENAPO writes {curp[0]}X{curp[2:4]}",
            rule="inconvenient-word",
        )
    expected_digit = check_digit(curp[:17])
    if curp[17] != expected_digit:
        raise CurpCheckDigitError(
            f"check digit of {curp} is {curp[17]}; positions 1-17 give {expected_digit}",
            rule="check-digit",
            expected=expected_digit,
        )
    return ParsedCurp(curp=curp, birth_date=born, sex=Sex(curp[10]), birth_state=state, homonym=homonym)


def _first_format_violation(curp: str) -> tuple[int, str]:
    for i, (pattern, expected) in enumerate(_POSITION_RULES):
        if not re.fullmatch(pattern, curp[i]):
            return i + 1, expected
    raise AssertionError("no violation found")  # pragma: no cover - only called when the regex failed


def check_curp_matches(curp: str, data: CurpData) -> ParsedCurp:
    """Validate ``curp`` and check that positions 1-16 follow from ``data`` (CurpMismatchError)."""
    parsed = validate_curp(curp)
    expected = curp_stem(data)
    if parsed.stem != expected:
        positions = [i + 1 for i, (a, b) in enumerate(zip(parsed.stem, expected, strict=True)) if a != b]
        raise CurpMismatchError(
            f"{parsed.curp} does not belong to this person: positions {positions} should read "
            f"{''.join(expected[p - 1] for p in positions)}",
            rule="holder",
            positions=positions,
            expected_stem=expected,
        )
    if parsed.homonym not in homonym_alphabet(data.birth_date):
        raise CurpMismatchError(
            f"{parsed.curp}: position 17 does not fit a birth in {data.birth_date.year}", rule="holder"
        )
    return parsed
