"""The pieces of a cargo-inspection record, each checked on its own: transport references
(ISO 6346 container numbers, air waybills, bills of lading), HS codes (the international 6-digit
heading, or Mexico's 8-digit fracción arancelaria with its 2-digit NICO), UN/LOCODE ports,
seals, the risk reason, the outcome and what was seized.

Every refusal has a code of its own (PAD-SHARE-030 ...) and names the field it refuses, so an
import can say exactly which row and which field of it is wrong. Nothing here is personal data:
a record names goods, places, dates and packaging, never a driver, an agent or a consignee.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final

from padron.domain.errors import PadronError, RecordTextError
from padron.domain.text import clean_line


class CustomsRecordError(PadronError):
    code = "PAD-SHARE-022"
    summary = "A cargo inspection record is malformed; details name the field."


class ContainerNumberError(CustomsRecordError):
    code = "PAD-SHARE-030"
    summary = (
        "A container number is not ISO 6346: a 3-letter owner code, the category U, J or Z, a 6-digit "
        "serial and the check digit (details give the rule, and the expected digit when it is wrong)."
    )


class AirWaybillError(CustomsRecordError):
    code = "PAD-SHARE-031"
    summary = (
        "An air waybill number is not a 3-digit airline prefix and an 8-digit serial whose last digit "
        "is the first seven modulo 7."
    )


class TransportReferenceError(CustomsRecordError):
    code = "PAD-SHARE-032"
    summary = (
        "An inspection names no transport reference (a container, a bill of lading or an air waybill), "
        "both a bill of lading and an air waybill, or a malformed bill of lading or cargo reference."
    )


class HsCodeError(CustomsRecordError):
    code = "PAD-SHARE-033"
    summary = (
        "An HS code is neither 6 digits (the international heading) nor 10 digits (Mexico's 8-digit "
        "fracción arancelaria and 2-digit NICO), or its chapter does not exist."
    )


class PortError(CustomsRecordError):
    code = "PAD-SHARE-034"
    summary = "A port is not a UN/LOCODE: an ISO 3166-1 country code and 3 letters or digits 2-9 (MXZLO)."


class InspectionDatesError(CustomsRecordError):
    code = "PAD-SHARE-035"
    summary = (
        "An inspection's dates are malformed or out of order: departure, arrival and inspection must "
        "follow one another, and none may be in the future."
    )


class SealError(CustomsRecordError):
    code = "PAD-SHARE-036"
    summary = "A seal is malformed (1-20 letters, digits or '-', intact or broken), repeated, or too many."


class RiskReasonError(CustomsRecordError):
    code = "PAD-SHARE-037"
    summary = (
        "The risk reason is not one of the listed reasons, or 'other' comes without its text (or "
        "another reason with one)."
    )


class OutcomeError(CustomsRecordError):
    code = "PAD-SHARE-038"
    summary = (
        "The outcome is not cleared, held or seized, or it disagrees with the seizures (seized needs at "
        "least one; cleared and held have none)."
    )


class SeizureError(CustomsRecordError):
    code = "PAD-SHARE-039"
    summary = (
        "A seizure is malformed: its category, description, quantity or unit (drugs in kg, g, l, ml or "
        "units; firearms in whole units; ammunition in whole rounds; currency in an ISO 4217 code)."
    )


class PersonalDataError(CustomsRecordError):
    code = "PAD-SHARE-040"
    summary = (
        "A cargo record's free text looks like personal data (a CURP or an e-mail address): inspection "
        "records name goods, never people."
    )


# --- transport references -------------------------------------------------------------------------

#: ISO 6346 letter values: A=10 upwards, skipping the multiples of 11 (11, 22, 33)
_LETTER_VALUES: Final = dict(
    zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", [v for v in range(10, 39) if v % 11], strict=True)
)
_CONTAINER: Final = re.compile(r"[A-Z]{3}[A-Z][0-9]{7}", re.ASCII)
#: equipment categories: U freight containers, J detachable equipment, Z trailers and chassis
CONTAINER_CATEGORIES: Final = frozenset("UJZ")
_AWB: Final = re.compile(r"[0-9]{11}", re.ASCII)
_REFERENCE: Final = re.compile(r"[A-Z0-9]{4,35}", re.ASCII)
_SEPARATORS: Final = re.compile(r"[\s\-/.]")


def _compact(value: object) -> str:
    """Upper case, without the spaces, dashes, slashes and dots people write references with."""
    return _SEPARATORS.sub("", str(value if value is not None else "")).upper()


def iso6346_check_digit(first_ten: str) -> int:
    """The ISO 6346 check digit of an owner code, category and serial (10 characters): each
    character's value (digits as themselves, letters 10-38 skipping multiples of 11) times
    2**position, summed, modulo 11; a remainder of 10 is written 0."""
    if len(first_ten) != 10:
        raise ValueError("ISO 6346: the check digit covers 10 characters")
    total = 0
    for position, ch in enumerate(first_ten):
        value = int(ch) if ch.isdigit() else _LETTER_VALUES[ch]
        total += value << position
    return total % 11 % 10


def container_number(value: object, field: str = "container") -> str:
    """An ISO 6346 container number (``CSQU3054383``; spaces and dashes are dropped)."""
    text = _compact(value)
    shown = str(value)[:40]
    if not _CONTAINER.fullmatch(text):
        raise ContainerNumberError(
            f"{field} {shown!r} is not a container number: 3 letters (owner), U, J or Z (category), "
            "6 digits and a check digit, e.g. CSQU3054383",
            field=field,
            rule="format",
        )
    if text[3] not in CONTAINER_CATEGORIES:
        raise ContainerNumberError(
            f"{field} {shown!r}: the category letter {text[3]!r} must be U (freight container), J "
            "(detachable equipment) or Z (trailer or chassis)",
            field=field,
            rule="category",
        )
    expected = iso6346_check_digit(text[:10])
    if int(text[10]) != expected:
        raise ContainerNumberError(
            f"{field} {shown!r}: the check digit is {text[10]}, ISO 6346 gives {expected}",
            field=field,
            rule="check-digit",
            expected=str(expected),
        )
    return text


def air_waybill(value: object, field: str = "air_waybill") -> str:
    """An air waybill number, 11 digits (``176-12345675``: airline prefix 176, serial 1234567 and
    its check digit 1234567 mod 7 = 5); dashes and spaces are dropped."""
    text = _compact(value)
    shown = str(value)[:40]
    if not _AWB.fullmatch(text):
        raise AirWaybillError(
            f"{field} {shown!r} is not an air waybill number: a 3-digit airline prefix and an 8-digit "
            "serial, e.g. 176-12345675",
            field=field,
            rule="format",
        )
    expected = int(text[3:10]) % 7
    if int(text[10]) != expected:
        raise AirWaybillError(
            f"{field} {shown!r}: the check digit is {text[10]}, the serial's first seven digits modulo 7 "
            f"give {expected}",
            field=field,
            rule="check-digit",
            expected=str(expected),
        )
    return text


def bill_of_lading(value: object, field: str = "bill_of_lading") -> str:
    """A bill of lading number: 4-35 letters and digits once spaces and dashes are dropped
    (carriers number them their own way, usually their SCAC and a serial; there is no check digit)."""
    return reference_key(value, field)


def reference_key(value: object, field: str = "reference") -> str:
    """A cargo reference as it is stored and searched: a container number, a bill of lading or an
    air waybill, upper case, without spaces, dashes, slashes or dots."""
    text = _compact(value)
    if not _REFERENCE.fullmatch(text):
        raise TransportReferenceError(
            f"{field} {str(value)[:40]!r} must be 4-35 letters and digits (a container number, bill of "
            "lading or air waybill; spaces and dashes are ignored)",
            field=field,
        )
    return text


# --- goods ------------------------------------------------------------------------------------

_HS: Final = re.compile(r"[0-9]{6}|[0-9]{10}", re.ASCII)
#: HS chapters: 01-97, 77 reserved for future use; 98 and 99 are national (Mexico's chapter 98:
#: special operations)
_RESERVED_CHAPTERS: Final = frozenset({"00", "77"})
MAX_HS_CODES: Final = 50


@dataclass(frozen=True)
class HsCode:
    """Goods by tariff code: the 6-digit HS heading, or Mexico's 10-digit code (the 8-digit
    fracción arancelaria of the TIGIE and its 2-digit NICO), whose first six digits are the
    heading."""

    code: str

    @property
    def heading(self) -> str:
        return self.code[:6]

    @property
    def fraccion(self) -> str | None:
        return self.code[:8] if len(self.code) == 10 else None

    @property
    def nico(self) -> str | None:
        return self.code[8:] if len(self.code) == 10 else None


def hs_code(value: object, field: str = "hs_codes") -> HsCode:
    text = _compact(value) if isinstance(value, str) else ""
    if not _HS.fullmatch(text):
        raise HsCodeError(
            f"{field} {str(value)[:40]!r} must be a 6-digit HS heading (8517.13) or a 10-digit Mexican "
            "fracción and NICO (8517.13.01 01)",
            field=field,
        )
    if text[:2] in _RESERVED_CHAPTERS:
        raise HsCodeError(f"{field} {text}: HS chapter {text[:2]} does not exist", field=field)
    return HsCode(text)


def hs_codes(values: object, field: str = "hs_codes") -> tuple[HsCode, ...]:
    items = _list(values, field, HsCodeError)
    if not 1 <= len(items) <= MAX_HS_CODES:
        raise HsCodeError(f"{field}: the goods are 1-{MAX_HS_CODES} HS codes", field=field)
    codes = tuple(hs_code(v, f"{field}[{i}]") for i, v in enumerate(items))
    seen = [c.code for c in codes]
    if len(set(seen)) != len(seen):
        raise HsCodeError(f"{field}: an HS code is given twice", field=field)
    return codes


# --- places -------------------------------------------------------------------------------------

#: ISO 3166-1 alpha-2, with XZ (UN/LOCODE's installations in international waters)
COUNTRIES: Final = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG
    EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR
    HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR
    LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG
    NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE
    SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA
    UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XZ""".split()
)
_LOCATION: Final = re.compile(r"[A-Z2-9]{3}", re.ASCII)


def locode(value: object, field: str) -> str:
    """A UN/LOCODE (``MXZLO`` Manzanillo, ``CNSHA`` Shanghai; a space after the country is dropped)."""
    if value is None or value == "":
        raise PortError(f"{field} is required: a UN/LOCODE such as MXZLO", field=field)
    text = _compact(value)
    if len(text) != 5 or not _LOCATION.fullmatch(text[2:]) or text[:2] not in COUNTRIES:
        raise PortError(
            f"{field} {str(value)[:40]!r} must be a UN/LOCODE: a country code and 3 letters or digits "
            "2-9, e.g. MXZLO (Manzanillo) or CNSHA (Shanghai)",
            field=field,
        )
    return text


# --- seals --------------------------------------------------------------------------------------

_SEAL: Final = re.compile(r"[A-Z0-9][A-Z0-9-]{0,19}", re.ASCII)
MAX_SEALS: Final = 20


@dataclass(frozen=True)
class Seal:
    number: str
    intact: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "intact": self.intact}


def seal(value: object, field: str) -> Seal:
    """A seal as ``{"number": "ML-123456", "intact": false}`` (JSON) or ``ML-123456:broken`` (CSV)."""
    if isinstance(value, str):
        number, _, state = value.strip().partition(":")
        state = state.strip().lower() or "intact"
        if state not in ("intact", "broken"):
            raise SealError(f"{field}: a seal is NUMBER, NUMBER:intact or NUMBER:broken", field=field)
        value = {"number": number, "intact": state == "intact"}
    if not isinstance(value, dict) or set(value) - {"number", "intact"} or "number" not in value:
        raise SealError(f'{field}: a seal is {{"number": "...", "intact": true|false}}', field=field)
    number, intact = value["number"], value.get("intact", True)
    text = str(number).strip().upper() if isinstance(number, str) else ""
    if not _SEAL.fullmatch(text):
        raise SealError(
            f"{field}: the seal number {str(number)[:30]!r} must be 1-20 letters, digits or '-'", field=field
        )
    if not isinstance(intact, bool):
        raise SealError(f"{field}: intact must be true or false", field=field)
    return Seal(text, intact)


def seals(values: object, field: str = "seals") -> tuple[Seal, ...]:
    items = _list(values, field, SealError)
    if len(items) > MAX_SEALS:
        raise SealError(f"{field}: at most {MAX_SEALS} seals", field=field)
    out = tuple(seal(v, f"{field}[{i}]") for i, v in enumerate(items))
    numbers = [s.number for s in out]
    if len(set(numbers)) != len(numbers):
        raise SealError(f"{field}: a seal number is given twice", field=field)
    return out


# --- why, and what came of it ---------------------------------------------------------------------


class RiskReason(StrEnum):
    """Why the cargo was selected for inspection."""

    INTELLIGENCE = "intelligence"
    RANDOM = "random"
    DOCUMENTARY_INCONSISTENCY = "documentary-inconsistency"
    XRAY_ANOMALY = "x-ray-anomaly"
    CANINE_ALERT = "canine-alert"
    ORIGIN_RISK = "origin-risk"
    VALUE_ANOMALY = "value-anomaly"
    OTHER = "other"


class Outcome(StrEnum):
    CLEARED = "cleared"
    HELD = "held"
    SEIZED = "seized"


#: outcomes pushed to partners whose agreement says so
PUSHED_OUTCOMES: Final = frozenset({Outcome.HELD, Outcome.SEIZED})


def risk_reason(value: object, field: str = "risk_reason") -> RiskReason:
    if value is None or value == "":
        raise RiskReasonError(f"{field} is required: why the cargo was inspected", field=field)
    try:
        return RiskReason(str(value).strip().lower())
    except ValueError:
        allowed = ", ".join(r.value for r in RiskReason)
        raise RiskReasonError(f"{field} {str(value)[:40]!r} is not one of {allowed}", field=field) from None


def outcome(value: object, field: str = "outcome") -> Outcome:
    if value is None or value == "":
        raise OutcomeError(f"{field} is required: cleared, held or seized", field=field)
    try:
        return Outcome(str(value).strip().lower())
    except ValueError:
        raise OutcomeError(
            f"{field} {str(value)[:40]!r} is not cleared, held or seized", field=field
        ) from None


# --- seizures -------------------------------------------------------------------------------------


class SeizureCategory(StrEnum):
    DRUGS = "drugs"
    FIREARMS = "firearms"
    AMMUNITION = "ammunition"
    CURRENCY = "currency"
    OTHER = "other"


#: ISO 4217 codes of circulating currencies
CURRENCIES: Final = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
    BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
    GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD
    KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO
    NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL
    SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV
    WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL""".split()
)
MASS_VOLUME_COUNT: Final = frozenset({"kg", "g", "l", "ml", "units"})
#: the units each category is counted in (currency: an ISO 4217 code)
UNITS: Final = {
    SeizureCategory.DRUGS: MASS_VOLUME_COUNT,
    SeizureCategory.FIREARMS: frozenset({"units"}),
    SeizureCategory.AMMUNITION: frozenset({"rounds"}),
    SeizureCategory.CURRENCY: CURRENCIES,
    SeizureCategory.OTHER: MASS_VOLUME_COUNT,
}
#: counted in whole numbers
WHOLE_UNITS: Final = frozenset({"units", "rounds"})
MAX_SEIZURES: Final = 50
_QUANTITY: Final = re.compile(r"[0-9]{1,12}(\.[0-9]{1,3})?", re.ASCII)


@dataclass(frozen=True)
class Seizure:
    category: SeizureCategory
    description: str
    #: a positive decimal, as text ("12.5", "3000")
    quantity: str
    #: kg, g, l, ml, units, rounds, or an ISO 4217 currency code
    unit: str

    def to_json(self) -> dict[str, Any]:
        return {
            "category": self.category.value,
            "description": self.description,
            "quantity": self.quantity,
            "unit": self.unit,
        }


def quantity(value: object, field: str) -> str:
    """A positive quantity, given as text ("12.5") or an integer, never a binary float; returned
    as canonical decimal text."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise SeizureError(
            f'{field}: give the quantity as text ("12.5") or an integer, not {type(value).__name__}',
            field=field,
        )
    text = str(value).strip()
    if not _QUANTITY.fullmatch(text):
        raise SeizureError(
            f"{field} {text[:30]!r} must be a positive number with at most 12 digits and 3 decimals",
            field=field,
        )
    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise SeizureError(f"{field} {text[:30]!r} is not a number", field=field) from None
    if number <= 0:
        raise SeizureError(f"{field}: a seizure's quantity is more than zero", field=field)
    return format(number.normalize(), "f")


def seizure(value: object, field: str) -> Seizure:
    """A seizure as ``{"category", "description", "quantity", "unit"}`` (JSON) or
    ``category:quantity:unit:description`` (CSV; the description is the rest of the text)."""
    if isinstance(value, str):
        parts = value.strip().split(":", 3)
        if len(parts) != 4:
            raise SeizureError(f"{field}: a seizure is category:quantity:unit:description", field=field)
        value = dict(zip(("category", "quantity", "unit", "description"), parts, strict=True))
    if not isinstance(value, dict):
        raise SeizureError(
            f"{field}: a seizure is an object with category, description, quantity, unit", field=field
        )
    unknown = sorted(set(value) - {"category", "description", "quantity", "unit"})
    missing = sorted({"category", "description", "quantity", "unit"} - set(value))
    if unknown or missing:
        raise SeizureError(
            f"{field}: {'unknown ' + ', '.join(unknown) if unknown else 'missing ' + ', '.join(missing)}",
            field=field,
        )
    try:
        category = SeizureCategory(str(value["category"]).strip().lower())
    except ValueError:
        allowed = ", ".join(c.value for c in SeizureCategory)
        raise SeizureError(
            f"{field}.category {str(value['category'])[:30]!r} is not one of {allowed}",
            field=f"{field}.category",
        ) from None
    amount = quantity(value["quantity"], f"{field}.quantity")
    raw_unit = str(value["unit"]).strip()
    unit = raw_unit.upper() if category is SeizureCategory.CURRENCY else raw_unit.lower()
    if unit not in UNITS[category]:
        expected = (
            "an ISO 4217 currency code (USD, MXN, EUR ...)"
            if category is SeizureCategory.CURRENCY
            else ", ".join(sorted(UNITS[category]))
        )
        raise SeizureError(
            f"{field}.unit {raw_unit[:20]!r}: a seizure of {category.value} is counted in {expected}",
            field=f"{field}.unit",
        )
    if unit in WHOLE_UNITS and "." in amount:
        raise SeizureError(f"{field}.quantity {amount}: {unit} are counted whole", field=f"{field}.quantity")
    description = free_text(value["description"], f"{field}.description", max_length=200, error=SeizureError)
    if not description:
        raise SeizureError(f"{field}.description: say what was seized", field=f"{field}.description")
    return Seizure(category, description, amount, unit)


def seizures(values: object, field: str = "seizures") -> tuple[Seizure, ...]:
    items = _list(values, field, SeizureError)
    if len(items) > MAX_SEIZURES:
        raise SeizureError(f"{field}: at most {MAX_SEIZURES} seizures", field=field)
    return tuple(seizure(v, f"{field}[{i}]") for i, v in enumerate(items))


# --- free text ------------------------------------------------------------------------------------

_CURP_LIKE: Final = re.compile(r"\b[A-Z][AEIOUX][A-Z]{2}[0-9]{6}[HMX][A-Z]{5}[0-9A-Z][0-9]\b", re.ASCII)
_EMAIL_LIKE: Final = re.compile(r"[^\s@]+@[^\s@]+\.[A-Za-z]{2,}")


def free_text(
    value: object, field: str, *, max_length: int, error: type[CustomsRecordError] = CustomsRecordError
) -> str:
    """One printable line of text about goods or packaging; refused if it holds what looks like
    a CURP or an e-mail address (a record names no person)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise error(f"{field} must be text", field=field)
    try:
        text = clean_line(value, field, max_length=max_length)
    except RecordTextError as refused:
        raise error(refused.message, field=field) from None
    if _CURP_LIKE.search(text.upper()) or _EMAIL_LIKE.search(text):
        raise PersonalDataError(
            f"{field} holds what looks like personal data (a CURP or an e-mail address); a cargo record "
            "names goods, not people",
            field=field,
        )
    return text


def _list(values: object, field: str, error: type[CustomsRecordError]) -> list[object]:
    if values is None:
        return []
    if isinstance(values, list | tuple):
        return list(values)
    raise error(f"{field} must be a list", field=field)
