"""A partner's request as it arrives: strict JSON (operation, purpose, rung, case reference,
candidates, a reference or a CURP, a cargo reference, the attributes wanted and the probe: base64
samples or an ANSI/NIST-ITL transaction), and the ANSI/NIST-ITL form of an answer."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from padron.domain.errors import PadronError
from padron.domain.jsontext import loads_strict
from padron.sharing.agreements import (
    Operation,
    Rung,
    check_identifier,
)

#: the largest probe a partner may send (base64 text in the JSON body), per sample
MAX_PROBE_SAMPLE_BYTES: Final = 8 * 1024 * 1024


class GatewayRequestError(PadronError):
    code = "PAD-SHARE-014"
    summary = "A partner request is malformed (a field missing, of the wrong type, or out of range)."


# --- the request, as the partner sends it -------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """A partner's biometric sample: a face image, finger images or ISO/IEC 19794-2 records."""

    face: bytes | None = None
    fingers: Mapping[str, bytes] = field(default_factory=dict)
    finger_templates: Mapping[str, bytes] = field(default_factory=dict)
    #: the ANSI/NIST-ITL transaction the samples came in (the answer is returned the same way)
    nist: bytes | None = None

    @property
    def empty(self) -> bool:
        return self.face is None and not self.fingers and not self.finger_templates


@dataclass(frozen=True)
class Ask:
    operation: Operation
    purpose: str
    rung: Rung
    #: the partner's own case reference (recorded; shown in the resident's access history)
    case_ref: str
    candidates: int = 1
    #: verify / disclose: the reference of an earlier answer
    reference: str | None = None
    #: verify: the CURP the traveller presents
    curp: str | None = None
    probe: Probe = field(default_factory=Probe)
    raw_biometrics: bool = False
    #: the size of our exchange log with the partner that the partner last kept (for the
    #: consistency proof of the answer's checkpoint)
    log_size: int | None = None
    #: customs: the cargo reference asked about (a container, bill of lading or air waybill)
    cargo: str | None = None
    #: rung 2: the attributes wanted (default: all the agreement lists); one the agreement does
    #: not list denies the request
    attributes: frozenset[str] | None = None


_ASK_FIELDS: Final = frozenset(
    {
        "operation",
        "purpose",
        "rung",
        "case_ref",
        "candidates",
        "reference",
        "curp",
        "probe",
        "raw_biometrics",
        "log_size",
        "cargo",
        "attributes",
    }
)
_PROBE_FIELDS: Final = frozenset({"face", "fingers", "finger_templates", "ansi_nist"})
_POSITIONS: Final = frozenset(str(i) for i in range(1, 11))


def _bad(message: str, field_name: str) -> GatewayRequestError:
    return GatewayRequestError(message, field=field_name)


def _b64(value: object, field_name: str) -> bytes:
    if not isinstance(value, str) or len(value) > MAX_PROBE_SAMPLE_BYTES * 4 // 3 + 4:
        raise _bad(f"{field_name} must be base64 text of at most {MAX_PROBE_SAMPLE_BYTES} bytes", field_name)
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _bad(f"{field_name} is not valid base64", field_name) from None
    if not data:
        raise _bad(f"{field_name} is empty", field_name)
    return data


def _positions(value: object, field_name: str) -> dict[str, bytes]:
    if not isinstance(value, dict):
        raise _bad(f"{field_name} must map finger positions 1-10 to base64", field_name)
    out = {}
    for position, data in value.items():
        if position not in _POSITIONS:
            raise _bad(f"{field_name}: {str(position)[:10]!r} is not a finger position 1-10", field_name)
        out[position] = _b64(data, f"{field_name}.{position}")
    return out


def _probe(value: object) -> Probe:
    if value is None:
        return Probe()
    if not isinstance(value, dict):
        raise _bad("probe must be an object with face, fingers and/or finger_templates", "probe")
    unknown = sorted(set(value) - _PROBE_FIELDS)
    if unknown:
        raise _bad(f"probe: unknown field(s) {', '.join(unknown)[:200]}", "probe")
    if value.get("ansi_nist") is not None:
        if set(value) != {"ansi_nist"}:
            raise _bad(
                "probe: an ANSI/NIST-ITL transaction carries all the samples; send nothing else", "probe"
            )
        return _nist_probe(_b64(value["ansi_nist"], "probe.ansi_nist"))
    face = _b64(value["face"], "probe.face") if value.get("face") is not None else None
    fingers = _positions(value.get("fingers", {}), "probe.fingers")
    templates = _positions(value.get("finger_templates", {}), "probe.finger_templates")
    both = sorted(set(fingers) & set(templates))
    if both:
        raise _bad(f"finger {', '.join(both)}: an image or a template, not both", "probe")
    return Probe(face, fingers, templates)


def _nist_probe(data: bytes) -> Probe:
    """The face and finger images of an ANSI/NIST-ITL 1-2011 transaction (Type-10 face, Type-4
    and Type-14 fingers; PAD-NIST- errors for a malformed file or an image padron cannot read)."""
    from padron.interchange import ansinist

    inputs = ansinist.sample_inputs(ansinist.decode(data))
    return Probe(face=inputs.face, fingers=dict(inputs.fingers), nist=data)


#: the Type-2 fields of an ANSI/NIST-ITL answer (user-defined: 2.003 and up)
NIST_FIELDS: Final = {"request": 3, "status": 4, "rung": 5, "hit": 6, "references": 7, "attributes": 8}


def nist_answer(request: bytes, request_id: str, registry: str, result: Mapping[str, Any], rung: int) -> str:
    """The answer as an ANSI/NIST-ITL 1-2011 transaction answering ``request`` (base64): a
    Type-1 addressed to the request's originator with 1.010 TCR its TCN, and a Type-2 record
    with the request id, the status, the rung, hit / match, the references and (ASCII) core
    attributes as ``name=value`` subfields."""
    from padron.interchange import ansinist

    tx = ansinist.decode(request)
    fields: dict[int, Any] = {
        NIST_FIELDS["request"]: request_id,
        NIST_FIELDS["status"]: "answered",
        NIST_FIELDS["rung"]: str(rung),
        NIST_FIELDS["hit"]: "Y" if result.get("hit") or result.get("match") else "N",
    }
    references = [str(r) for r in result.get("references", [])]
    if references:
        fields[NIST_FIELDS["references"]] = [[r] for r in references]
    persons = list(result.get("persons", [])) + ([result["person"]] if result.get("person") else [])
    pairs = [f"{k}={v}" for person in persons for k, v in sorted(person.items()) if str(v).isascii()]
    if pairs:
        fields[NIST_FIELDS["attributes"]] = [[p] for p in pairs]
    reply = ansinist.reply_to(
        tx,
        type_of_transaction="SRE",
        control_number=request_id[:40],
        records=[ansinist.text_record(fields)],
        originating_agency=registry.upper().replace("-", "")[:35] or None,
    )
    return base64.b64encode(ansinist.encode(reply)).decode("ascii")


def _attribute_names(value: object) -> frozenset[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or len(value) > 50:
        raise _bad("attributes must be a list of 1-50 attribute names", "attributes")
    names = frozenset(value)
    if not all(isinstance(n, str) and 0 < len(n) <= 40 and n.isidentifier() for n in names):
        raise _bad("attributes must be attribute names such as curp or birth_date", "attributes")
    return names


def _cargo(value: object) -> str | None:
    if value is None:
        return None
    from padron.sharing.customs import CustomsRecordError, cargo_reference

    try:
        return cargo_reference(value)
    except CustomsRecordError as error:
        raise _bad(error.message, "cargo") from None


def _text(value: Mapping[str, Any], name: str, *, required: bool = True, limit: int = 200) -> str | None:
    item = value.get(name)
    if item is None:
        if required:
            raise _bad(f"the request needs {name}", name)
        return None
    if not isinstance(item, str) or not item.strip() or len(item) > limit or not item.isprintable():
        raise _bad(f"{name} must be printable text of 1-{limit} characters", name)
    return item.strip()


def _integer(value: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    item = value.get(name, default)
    if isinstance(item, bool) or not isinstance(item, int) or not low <= item <= high:
        raise _bad(f"{name} must be an integer {low}-{high}", name)
    return item


def parse_ask(body: bytes) -> Ask:
    """A partner request from its JSON body (GatewayRequestError naming the field)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("the request body is not UTF-8 JSON", "body") from None
    value = loads_strict(text, what="the partner request", max_depth=8, error=GatewayRequestError)
    if not isinstance(value, dict):
        raise _bad("the request body must be a JSON object", "body")
    unknown = sorted(set(value) - _ASK_FIELDS)
    if unknown:
        raise _bad(f"unknown field(s) {', '.join(unknown)[:200]}", "body")
    try:
        operation = Operation(str(value.get("operation")))
    except ValueError:
        allowed = ", ".join(o.value for o in Operation)
        raise _bad(f"operation must be one of {allowed}", "operation") from None
    purpose = _text(value, "purpose")
    assert purpose is not None
    check_identifier(purpose, "purpose", GatewayRequestError)
    case_ref = _text(value, "case_ref")
    assert case_ref is not None
    raw = value.get("raw_biometrics", False)
    if not isinstance(raw, bool):
        raise _bad("raw_biometrics must be true or false", "raw_biometrics")
    ask = Ask(
        operation=operation,
        purpose=purpose,
        rung=Rung(_integer(value, "rung", 0, 0, 2)),
        case_ref=case_ref,
        candidates=_integer(value, "candidates", 1, 1, 50),
        reference=_text(value, "reference", required=False, limit=80),
        curp=_text(value, "curp", required=False, limit=18),
        probe=_probe(value.get("probe")),
        raw_biometrics=raw,
        log_size=_integer(value, "log_size", 0, 0, 2**31) if value.get("log_size") is not None else None,
        cargo=_cargo(value.get("cargo")),
        attributes=_attribute_names(value.get("attributes")),
    )
    if operation is Operation.IDENTIFY and ask.probe.empty:
        raise _bad("identify needs a probe (a face, finger images or finger templates)", "probe")
    if operation is Operation.VERIFY and (ask.probe.empty or (ask.reference is None) == (ask.curp is None)):
        raise _bad("verify needs a probe and exactly one of reference or curp", "reference")
    if operation is Operation.DISCLOSE and ask.reference is None:
        raise _bad("disclose needs the reference of an earlier answer", "reference")
    if operation is Operation.CUSTOMS and (ask.cargo is None or not ask.probe.empty):
        raise _bad("customs needs a cargo reference (and no biometric probe)", "cargo")
    if operation is not Operation.CUSTOMS and ask.cargo is not None:
        raise _bad("a cargo reference is for the customs operation only", "cargo")
    return ask


def cosigned_note(body: bytes) -> str:
    """The checkpoint note of a partner's cosignature request ({"checkpoint": <signed note>})."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("the body is not UTF-8 JSON", "body") from None
    value = loads_strict(text, what="the cosignature", max_depth=4, error=GatewayRequestError)
    if (
        not isinstance(value, dict)
        or set(value) != {"checkpoint"}
        or not isinstance(value["checkpoint"], str)
    ):
        raise _bad('the body must be {"checkpoint": "<signed note>"}', "checkpoint")
    if len(value["checkpoint"]) > 65_536:
        raise _bad("the checkpoint note is too long", "checkpoint")
    return str(value["checkpoint"])
