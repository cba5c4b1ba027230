"""`padron nist show FILE`: a transaction's summary, or its PAD-NIST code."""

from __future__ import annotations

from padron.interchange import ansinist as an
from tests.e2e.conftest import Cli, Writer
from tests.unit.interchange import builders as b


def test_show_prints_the_type1_fields_and_one_line_per_record(cli: Cli, write_file: Writer) -> None:
    data = an.encode(b.full_transaction())
    result = cli("nist", "show", write_file(data))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"ANSI/NIST-ITL 0500 transaction SRE of 2026-11-30: 5 records, {len(data):,} bytes"
    assert lines[1] == "  from XXPARTNER to MXRENAPO0, TCN TCN-0001, domain NORAM"
    assert "Type-4   IDC 1   finger position 2, NONE 32x24, 500 ppi" in lines[3]
    assert "Type-14  IDC 2   finger position 7, PNG 48x40, 500 ppi" in lines[4]
    assert "Type-10  IDC 3   face, JPEGB 48x40" in lines[5]


def test_show_json(cli: Cli, write_file: Writer) -> None:
    path = write_file(an.encode(b.full_transaction()))
    body = cli("nist", "show", path, "--json").json
    assert body["file"] == path and body["control_number"] == "TCN-0001"
    assert [r["kind"] for r in body["records"]] == ["tagged", "finger", "finger", "face"]
    assert body["records"][1]["positions"] == [2] and body["notes"] == []


def test_a_malformed_file_is_refused_with_its_code(cli: Cli, write_file: Writer) -> None:
    data = an.encode(b.full_transaction())
    result = cli("nist", "show", write_file(data[:-7]))
    assert result.code == 1 and result.error_code == "PAD-NIST-001"
    assert "record 5 (Type-10)" in result.err
    body = cli("nist", "show", write_file(b"not a transaction"), "--json").json
    assert body["error"]["code"] == "PAD-NIST-003"


def test_files_that_cannot_be_read(cli: Cli, write_file: Writer, tmp_path: object) -> None:
    assert cli("nist", "show", "/nonexistent/file.an2").error_code == "PAD-FILE-001"
    assert cli("nist", "show", write_file(b"")).error_code == "PAD-FILE-003"
    assert cli("nist", "show").code == 2
