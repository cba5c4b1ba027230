"""The pieces of a cargo-inspection record, each with its own code: ISO 6346 check digits, air
waybills' mod-7 check digits, HS headings and Mexico's fracción + NICO, UN/LOCODE ports, seals,
seizures and their units; then whole records (every error of a record at once) and the
customs terms of an agreement (push)."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import date
from typing import Any

import pytest

from padron.sharing.agreements import (
    CUSTOMS_ATTRIBUTES,
    CUSTOMS_PUSH_ATTRIBUTES,
    Agreement,
    AgreementError,
    Approval,
    Operation,
    OperationTerms,
    Partner,
    Rung,
    agreement_to_json,
)
from padron.sharing.cargo import (
    AirWaybillError,
    ContainerNumberError,
    CustomsRecordError,
    HsCodeError,
    PersonalDataError,
    PortError,
    SealError,
    SeizureCategory,
    SeizureError,
    TransportReferenceError,
    air_waybill,
    container_number,
    free_text,
    hs_code,
    hs_codes,
    iso6346_check_digit,
    locode,
    seals,
    seizure,
)
from padron.sharing.customs import Inspection, check_inspection, inspection_from_json
from padron.sharing.files import agreement_from_json
from padron.sharing.policy import compile_agreement

#: published examples: Wikipedia's ISO 6346 article, the BIC's own example, a Maersk box
VALID_CONTAINERS = ["CSQU3054383", "BICU1234565", "MSKU9070323"]


@pytest.mark.parametrize("number", VALID_CONTAINERS)
def test_valid_container_numbers(number: str) -> None:
    assert container_number(number) == number
    assert container_number(f"{number[:4]} {number[4:10]}-{number[10]}".lower()) == number


def test_the_check_digit_is_computed_as_iso_6346_says() -> None:
    # C=13 S=30 Q=28 U=32 3 0 5 4 3 8, weights 2**0 .. 2**9: 6185 = 562 * 11 + 3
    assert iso6346_check_digit("CSQU305438") == 3
    # a remainder of 10 is written 0: find a serial that gives 10 and check it
    serial = next(s for s in (f"{n:06d}" for n in range(10**6)) if _remainder(f"CSQU{s}") == 10)
    assert iso6346_check_digit(f"CSQU{serial}") == 0
    assert container_number(f"CSQU{serial}0") == f"CSQU{serial}0"


def _remainder(first_ten: str) -> int:
    values = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", [v for v in range(10, 39) if v % 11], strict=True))
    return sum((int(c) if c.isdigit() else values[c]) << i for i, c in enumerate(first_ten)) % 11


def test_every_single_digit_change_of_the_serial_or_check_digit_is_caught() -> None:
    number = "CSQU3054383"
    for position, digit in itertools.product(range(4, 11), "0123456789"):
        if number[position] == digit:
            continue
        changed = number[:position] + digit + number[position + 1 :]
        with pytest.raises(ContainerNumberError) as refused:
            container_number(changed)
        assert refused.value.details["rule"] == "check-digit"


@pytest.mark.parametrize(
    ("number", "rule"),
    [
        ("CSQU3054384", "check-digit"),
        ("MSKU1234567", "check-digit"),  # the check digit of MSKU123456 is 5
        ("CSQX3054383", "category"),  # U, J or Z only
        ("CSQ3054383", "format"),
        ("CSQU305438", "format"),
        ("C5QU3054383", "format"),
        ("", "format"),
    ],
)
def test_bad_container_numbers_name_the_rule(number: str, rule: str) -> None:
    with pytest.raises(ContainerNumberError) as refused:
        container_number(number)
    assert refused.value.code == "PAD-SHARE-030" and refused.value.details["rule"] == rule
    assert refused.value.details["field"] == "container"


def test_air_waybills_carry_a_mod_7_check_digit() -> None:
    assert air_waybill("176-12345675") == "17612345675"  # 1234567 mod 7 = 5
    assert air_waybill("020 1234 5675") == "02012345675"
    assert air_waybill("00100000000") == "00100000000"
    for bad, rule in (("176-12345676", "check-digit"), ("176-1234567", "format"), ("17A-12345675", "format")):
        with pytest.raises(AirWaybillError) as refused:
            air_waybill(bad)
        assert refused.value.code == "PAD-SHARE-031" and refused.value.details["rule"] == rule
    # what mod 7 cannot see: a digit changed by 7 (1 -> 8) leaves the check digit as it was
    assert air_waybill("176-82345675") == "17682345675"


def test_hs_codes_six_digits_or_mexican_fraccion_and_nico() -> None:
    assert hs_code("851713").heading == "851713" and hs_code("851713").fraccion is None
    mexican = hs_code("8517.13.01.01")
    assert (mexican.code, mexican.heading, mexican.fraccion, mexican.nico) == (
        "8517130101",
        "851713",
        "85171301",
        "01",
    )
    for bad in ("8517", "85171301", "85171301011", "8517AB", "001234", "770000", 851713, None):
        with pytest.raises(HsCodeError):
            hs_code(bad)
    with pytest.raises(HsCodeError, match="twice"):
        hs_codes(["851713", "8517.13"])
    with pytest.raises(HsCodeError, match="1-50"):
        hs_codes([])
    with pytest.raises(HsCodeError, match="must be a list"):
        hs_codes("851713")


def test_ports_are_un_locodes() -> None:
    assert locode("MXZLO", "port_of_entry") == "MXZLO"
    assert locode("mx zlo", "port_of_entry") == "MXZLO"
    assert locode("USNYC", "port_of_entry") == "USNYC"
    for bad in ("ZZZLO", "MXZL1", "MXZL", "Manzanillo", None):
        with pytest.raises(PortError) as refused:
            locode(bad, "port_of_entry")
        assert refused.value.details["field"] == "port_of_entry"


def test_seals() -> None:
    assert seals(["ML-1:broken", "ML-2", {"number": "ml-3", "intact": False}]) == (
        seals([{"number": "ML-1", "intact": False}])[0],
        seals([{"number": "ML-2", "intact": True}])[0],
        seals([{"number": "ML-3", "intact": False}])[0],
    )
    for bad in (["ML 1"], ["ML-1:lost"], [{"number": "A", "intact": "no"}], ["A", "a"], ["X" * 21]):
        with pytest.raises(SealError):
            seals(bad)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("drugs:12.500:kg:cocaine", ("drugs", "12.5", "kg")),
        ("drugs:300:units:fentanyl tablets", ("drugs", "300", "units")),
        ("drugs:2:l:liquid methamphetamine", ("drugs", "2", "l")),
        ("firearms:4:units:AR-15 rifles", ("firearms", "4", "units")),
        ("ammunition:1500:rounds:7.62 mm cartridges", ("ammunition", "1500", "rounds")),
        ("currency:50000:usd:banknotes", ("currency", "50000", "USD")),
        ("currency:1200.50:MXN:coins", ("currency", "1200.5", "MXN")),
        ("other:30:kg:counterfeit medicines: pills", ("other", "30", "kg")),
        ({"category": "drugs", "description": "x", "quantity": 3, "unit": "KG"}, ("drugs", "3", "kg")),
    ],
)
def test_seizures_and_their_units(value: Any, expected: tuple[str, str, str]) -> None:
    seized = seizure(value, "seizures[0]")
    assert (seized.category.value, seized.quantity, seized.unit) == expected


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("firearms:2.5:units:pistols", "seizures[0].quantity"),  # whole units
        ("firearms:2:kg:pistols", "seizures[0].unit"),
        ("ammunition:100:units:cartridges", "seizures[0].unit"),  # rounds
        ("currency:100:dollars:cash", "seizures[0].unit"),  # an ISO 4217 code
        ("currency:100:XAU:gold", "seizures[0].unit"),  # gold is goods, not currency
        ("drugs:0:kg:cocaine", "seizures[0].quantity"),
        ("drugs:-1:kg:cocaine", "seizures[0].quantity"),
        ("drugs:1e3:kg:cocaine", "seizures[0].quantity"),
        ("drugs:1.2345:kg:cocaine", "seizures[0].quantity"),
        ("drugs:1:kg:", "seizures[0].description"),
        ("explosives:1:kg:tnt", "seizures[0].category"),
        ("drugs:1:kg", "seizures[0]"),
        ({"category": "drugs", "description": "x", "quantity": 1.5, "unit": "kg"}, "seizures[0].quantity"),
        ({"category": "drugs", "description": "x", "quantity": True, "unit": "kg"}, "seizures[0].quantity"),
        ({"category": "drugs", "description": "x", "quantity": "1"}, "seizures[0]"),
    ],
)
def test_bad_seizures_name_their_field(value: Any, field: str) -> None:
    with pytest.raises(SeizureError) as refused:
        seizure(value, "seizures[0]")
    assert refused.value.code == "PAD-SHARE-039" and refused.value.details["field"] == field


def test_every_category_has_its_units() -> None:
    assert {c.value for c in SeizureCategory} == {"drugs", "firearms", "ammunition", "currency", "other"}


def test_free_text_names_no_person() -> None:
    assert free_text("pallets re-wrapped, seal ML-1 broken", "notes", max_length=500) == (
        "pallets re-wrapped, seal ML-1 broken"
    )
    for bad in ("driver HEGJ900517HDFRRN03", "agent ana.lopez@example.com"):
        with pytest.raises(PersonalDataError):
            free_text(bad, "notes", max_length=500)
    with pytest.raises(CustomsRecordError, match="control"):
        free_text("two\nlines", "notes", max_length=500)


RECORD: dict[str, Any] = {
    "container": "CSQU3054383",
    "hs_codes": ["851713"],
    "port_of_loading": "CNSHA",
    "port_of_entry": "MXZLO",
    "departed_on": "2026-10-01",
    "arrived_on": "2026-11-02",
    "inspected_on": "2026-11-03",
    "risk_reason": "random",
    "outcome": "cleared",
}
TODAY = date(2026, 12, 2)


def test_a_record_reports_every_error_at_once() -> None:
    checked, errors = check_inspection(RECORD, today=TODAY)
    assert errors == [] and Inspection(**checked).reference == "CSQU3054383"
    bad = {
        **RECORD,
        "container": None,
        "hs_codes": ["85"],
        "port_of_entry": "XX",
        "risk_reason": "other",
        "outcome": "seized",
        "extra": 1,
    }
    _, errors = check_inspection(bad, today=TODAY)
    assert [(e.code, e.details["field"]) for e in errors] == [
        ("PAD-SHARE-022", "extra"),
        ("PAD-SHARE-033", "hs_codes[0]"),
        ("PAD-SHARE-034", "port_of_entry"),
        ("PAD-SHARE-032", "transport"),
        ("PAD-SHARE-037", "risk_text"),
        ("PAD-SHARE-038", "seizures"),
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"departed_on": "2026-11-05"}, "departed_on"),  # after the arrival
        ({"inspected_on": "2026-11-01"}, "inspected_on"),  # before the arrival
        ({"arrived_on": "2026-12-10", "inspected_on": "2026-12-10"}, "arrived_on"),  # in the future
        ({"arrived_on": "0026-11-02", "departed_on": None}, "arrived_on"),
        ({"arrived_on": "2026-02-30"}, "arrived_on"),
        ({"inspected_on": None}, "inspected_on"),
    ],
)
def test_dates_follow_one_another(change: dict[str, Any], field: str) -> None:
    _, errors = check_inspection({**RECORD, **change}, today=TODAY)
    assert [e.details["field"] for e in errors][:1] == [field]
    assert errors[0].code == "PAD-SHARE-035"


def test_transport_references() -> None:
    by_air = {**RECORD, "container": None, "air_waybill": "176-12345675"}
    assert inspection_from_json(by_air, today=TODAY).reference == "17612345675"
    by_sea = {**RECORD, "bill_of_lading": "maeu 2401-17733"}
    assert inspection_from_json(by_sea, today=TODAY).references == ("CSQU3054383", "MAEU240117733")
    with pytest.raises(TransportReferenceError):
        inspection_from_json({**by_sea, "air_waybill": "176-12345675"}, today=TODAY)
    with pytest.raises(TransportReferenceError):
        inspection_from_json({**RECORD, "container": None, "bill_of_lading": "AB"}, today=TODAY)


def test_an_answer_s_attributes_read_back_as_the_same_record() -> None:
    record = inspection_from_json(
        {**RECORD, "hs_codes": ["8517130101", "847130"], "seals": ["ML-1:broken"], "notes": "x"}, today=TODAY
    )
    attributes = record.attributes(CUSTOMS_ATTRIBUTES)
    assert attributes["hs_codes"] == ["851713", "847130"] and attributes["tariff_codes"] == ["8517130101"]
    again = inspection_from_json(attributes, today=TODAY)
    assert again == record


def _agreement(**terms: Any) -> Agreement:
    return Agreement(
        id="mx-us-customs",
        version=1,
        partner="us-cbp",
        title="Customs mutual assistance",
        legal_basis="CMAA art. 3",
        legal_reference="DOF 2026-01-15",
        valid_from=date(2026, 1, 1),
        valid_until=date(2030, 12, 31),
        purposes=frozenset({"customs-control"}),
        operations={Operation.CUSTOMS: OperationTerms(**terms)},
    )


def test_an_agreement_may_push_whole_records_of_the_customs_exchange_only() -> None:
    pushing = _agreement(
        max_rung=Rung.CORE_DATA, approval=Approval.NONE, attributes=CUSTOMS_PUSH_ATTRIBUTES, push=True
    )
    assert agreement_from_json(agreement_to_json(pushing)) == pushing
    partner = Partner("us-cbp", "CBP", "USA", "x@example.gov", "A" * 43 + "=")
    text = compile_agreement(pushing, partner).text
    assert "// customs: held and seized inspections are pushed to us-cbp (" in text
    quiet = dataclasses.replace(
        pushing,
        operations={
            Operation.CUSTOMS: dataclasses.replace(pushing.operations[Operation.CUSTOMS], push=False)
        },
    )
    assert "pushed" not in compile_agreement(quiet, partner).text
    assert "push" not in agreement_to_json(quiet)["operations"]["customs"]  # type: ignore[index]
    with pytest.raises(AgreementError, match="missing: seizures"):
        _agreement(max_rung=Rung.CORE_DATA, attributes=CUSTOMS_PUSH_ATTRIBUTES - {"seizures"}, push=True)
    with pytest.raises(AgreementError, match="rung 2"):
        _agreement(max_rung=Rung.REFERENCE, push=True)
    with pytest.raises(AgreementError, match="only the customs exchange pushes"):
        Agreement(
            **{
                **{f.name: getattr(pushing, f.name) for f in dataclasses.fields(pushing)},
                "operations": {
                    Operation.IDENTIFY: OperationTerms(
                        max_rung=Rung.CORE_DATA, attributes=CUSTOMS_PUSH_ATTRIBUTES, push=True
                    )
                },
            }
        )
