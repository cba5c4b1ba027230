"""Batch import of cargo inspections from CSV or JSON: every row checked first, and then all of
them recorded in one transaction -- or, if any row is wrong, none, with every bad row named.

**CSV** (UTF-8, comma-separated, a header row naming the columns, in any order)::

    container,bill_of_lading,air_waybill,hs_codes,port_of_loading,port_of_entry,departed_on,arrived_on,
    inspected_on,seals,risk_reason,risk_text,outcome,seizures,notes

``hs_codes``, ``port_of_loading``, ``port_of_entry``, ``arrived_on``, ``inspected_on``,
``risk_reason`` and ``outcome`` are required columns, and at least one of ``container``,
``bill_of_lading`` and ``air_waybill``; the others may be left out. An empty cell is no value.
The list columns hold ``;``-separated items: ``hs_codes`` ``8517.13;8517.13.01.01``, ``seals``
``ML-123456:intact;ML-123457:broken`` (a bare number is intact), ``seizures``
``category:quantity:unit:description`` items, e.g.
``drugs:12.5:kg:cocaine hydrochloride;currency:50000:USD:banknotes`` (the description is the rest
of the item after the third ``:``, so it may hold ``:`` but not ``;``).

**JSON**: ``{"inspections": [ {...}, ... ]}`` (or the bare list), each object with the same
fields, lists as JSON lists: ``"seals": [{"number": "ML-123456", "intact": false}]``,
``"seizures": [{"category": "drugs", "description": "...", "quantity": "12.5", "unit": "kg"}]``
(a quantity is text or an integer, never a binary float).

Rows are numbered from 1 (the first record after the CSV header; the first object of the JSON
list); a CSV error also gives the file's line. At most :data:`MAX_IMPORT_ROWS` rows and
:data:`MAX_IMPORT_BYTES` bytes.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from padron.domain.access import AccessContext
from padron.domain.errors import PadronError
from padron.domain.jsontext import loads_strict
from padron.sharing.customs import FIELDS, REQUIRED, Customs, Inspection, check_inspection

MAX_IMPORT_BYTES: Final = 4 * 1024 * 1024
MAX_IMPORT_ROWS: Final = 2000
#: row errors an answer lists at most (the count says how many there were)
MAX_REPORTED: Final = 1000
LIST_COLUMNS: Final = frozenset({"hs_codes", "seals", "seizures"})
TRANSPORT_COLUMNS: Final = ("container", "bill_of_lading", "air_waybill")


class ImportFileError(PadronError):
    code = "PAD-SHARE-042"
    summary = (
        "A batch import file cannot be read as inspections: not UTF-8 CSV or JSON, a missing, unknown "
        "or repeated column, no rows, or over the limits (details say which); nothing was imported."
    )


class CustomsImportError(PadronError):
    code = "PAD-SHARE-043"
    summary = (
        "A batch import was refused because rows are invalid: details list every bad row with its "
        "number, field, code and message; nothing was imported."
    )


class ImportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    code: str
    message: str
    #: the CSV line the row starts on
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "row": self.row,
            "field": self.field,
            "code": self.code,
            "message": self.message,
        }
        if self.line is not None:
            out["line"] = self.line
        return out


@dataclass(frozen=True)
class Row:
    number: int
    values: Mapping[str, Any]
    line: int | None = None


@dataclass(frozen=True)
class Imported:
    inspections: list[Inspection]
    sha256: str
    format: ImportFormat

    def to_json(self) -> dict[str, Any]:
        return {
            "imported": len(self.inspections),
            "format": self.format.value,
            "sha256": self.sha256,
            "inspections": [i.id for i in self.inspections],
        }


def format_of(name: str) -> ImportFormat:
    """The format a file name or media type says (``.csv``, ``text/csv``; ``.json``, ``application/json``)."""
    lowered = name.split(";", 1)[0].strip().lower()
    if lowered.endswith(".csv") or lowered in ("text/csv", "csv"):
        return ImportFormat.CSV
    if lowered.endswith(".json") or lowered in ("application/json", "json"):
        return ImportFormat.JSON
    raise ImportFileError(
        f"cannot tell the import format of {name[:80]!r}: a .csv or .json file (text/csv or "
        "application/json)",
        format=name[:80],
    )


def _text(data: bytes) -> str:
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportFileError(
            f"the import is {len(data):,} bytes; at most {MAX_IMPORT_BYTES:,}", limit=MAX_IMPORT_BYTES
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(
            f"the import is not UTF-8 text (byte {error.start + 1} is 0x{data[error.start]:02X})",
            position=error.start + 1,
        ) from None
    if not text.strip():
        raise ImportFileError("the import holds no inspections", rows=0)
    return text


def _too_many(count: int) -> ImportFileError:
    return ImportFileError(
        f"the import has more than {MAX_IMPORT_ROWS} rows ({count} or more); split it", limit=MAX_IMPORT_ROWS
    )


def csv_rows(data: bytes) -> list[Row]:
    """The rows of a CSV import, each cell a value (list columns split at ``;``)."""
    text = _text(data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except csv.Error as error:
        raise ImportFileError(f"the CSV header cannot be read: {error}") from None
    columns = [c.strip().lower() for c in header]
    unknown = sorted(set(columns) - set(FIELDS))
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    missing = sorted(REQUIRED - set(columns))
    if unknown or repeated or missing:
        problems = []
        if unknown:
            problems.append(f"unknown column(s) {', '.join(c[:40] for c in unknown)}")
        if repeated:
            problems.append(f"repeated column(s) {', '.join(repeated)}")
        if missing:
            problems.append(f"missing column(s) {', '.join(missing)}")
        raise ImportFileError(
            f"the CSV header: {'; '.join(problems)} (the columns are {', '.join(FIELDS)})",
            unknown=unknown[:20],
            repeated=repeated,
            missing=missing,
        )
    if not set(TRANSPORT_COLUMNS) & set(columns):
        raise ImportFileError(
            "the CSV header needs a transport column: container, bill_of_lading and/or air_waybill",
            missing=list(TRANSPORT_COLUMNS),
        )
    rows: list[Row] = []
    line = reader.line_num + 1
    try:
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue  # a blank line
            if len(rows) >= MAX_IMPORT_ROWS:
                raise _too_many(len(rows) + 1)
            number = len(rows) + 1
            if len(cells) != len(columns):
                rows.append(
                    Row(number, {"__cells__": f"{len(cells)} cells, the header has {len(columns)}"}, start)
                )
                continue
            values: dict[str, Any] = {}
            for column, cell in zip(columns, cells, strict=True):
                cell = cell.strip()
                if column in LIST_COLUMNS:
                    values[column] = [item.strip() for item in cell.split(";") if item.strip()] or None
                else:
                    values[column] = cell or None
            rows.append(Row(number, values, start))
    except csv.Error as error:
        raise ImportFileError(
            f"the CSV cannot be read at line {reader.line_num}: {error}", line=reader.line_num
        ) from None
    if not rows:
        raise ImportFileError("the CSV import holds a header and no inspections", rows=0)
    return rows


def json_rows(data: bytes) -> list[Row]:
    """The rows of a JSON import: ``{"inspections": [...]}`` or a bare list of objects."""
    value = loads_strict(_text(data), what="the JSON import", max_depth=8, error=ImportFileError)
    if isinstance(value, dict):
        if set(value) != {"inspections"}:
            raise ImportFileError(
                'a JSON import is {"inspections": [...]} (or the bare list)', field="inspections"
            )
        value = value["inspections"]
    if not isinstance(value, list):
        raise ImportFileError(
            'a JSON import is {"inspections": [...]} (or the bare list)', field="inspections"
        )
    if not value:
        raise ImportFileError("the JSON import holds no inspections", rows=0)
    if len(value) > MAX_IMPORT_ROWS:
        raise _too_many(len(value))
    return [
        Row(number, item if isinstance(item, dict) else {"__object__": type(item).__name__})
        for number, item in enumerate(value, start=1)
    ]


def rows_of(data: bytes, fmt: ImportFormat) -> list[Row]:
    return csv_rows(data) if fmt is ImportFormat.CSV else json_rows(data)


def check_rows(rows: Sequence[Row]) -> tuple[list[Inspection], list[RowError]]:
    """Every row checked: the inspections, and every error of every bad row."""
    inspections: list[Inspection] = []
    errors: list[RowError] = []
    for row in rows:
        if "__cells__" in row.values:
            errors.append(
                RowError(
                    row.number, "row", "PAD-SHARE-022", f"the row has {row.values['__cells__']}", row.line
                )
            )
            continue
        if "__object__" in row.values:
            errors.append(
                RowError(
                    row.number, "row", "PAD-SHARE-022", f"a row is an object, not {row.values['__object__']}"
                )
            )
            continue
        checked, problems = check_inspection(row.values)
        if problems:
            errors.extend(
                RowError(row.number, str(p.details.get("field", "row")), p.code, p.message, row.line)
                for p in problems
            )
            continue
        inspections.append(Inspection(**checked))
    return inspections, errors


def refusal(errors: Sequence[RowError], total: int) -> CustomsImportError:
    bad = sorted({e.row for e in errors})
    shown = "\n".join(
        f"  row {e.row}{f' (line {e.line})' if e.line else ''}: {e.field}: {e.code}: {e.message}"
        for e in errors[:20]
    )
    more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
    return CustomsImportError(
        f"{len(bad)} of {total} row(s) are invalid; nothing was imported:\n{shown}{more}",
        rows=[e.to_json() for e in errors[:MAX_REPORTED]],
        invalid_rows=len(bad),
        total_rows=total,
        errors=len(errors),
    )


def import_inspections(customs: Customs, data: bytes, fmt: ImportFormat, ctx: AccessContext) -> Imported:
    """Check every row of ``data``, then record them all in one transaction (each audited, and
    the import itself: ``customs.import`` with the file's SHA-256); CustomsImportError listing
    every bad row, and nothing recorded, if any row is wrong."""
    rows = rows_of(data, fmt)
    inspections, errors = check_rows(rows)
    if errors:
        raise refusal(errors, len(rows))
    digest = hashlib.sha256(data).hexdigest()
    stored = customs.record_many(
        inspections, ctx, batch={"format": fmt.value, "sha256": digest, "rows": len(rows)}
    )
    return Imported(stored, digest, fmt)
