"""Fixtures of the end-to-end command-line tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from padron.cli.main import main
from padron.settings import Settings
from tests.support.dbstate import sqlite_rows, sqlite_state

#: a person file's content that passes every check
VALID_PERSON = {
    "given_names": "Ana",
    "first_surname": "López",
    "second_surname": "Ruiz",
    "birth_date": "1990-01-02",
    "sex": "M",
    "birth_state": "DF",
}


class CliResult:
    """What a user sees of one `padron` run: exit status, stdout, stderr."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def last_line(self) -> str:
        return self.out.strip().splitlines()[-1]

    @property
    def error_code(self) -> str | None:
        """The PAD- code the run reported (stderr text or --json error object), if any."""
        if self.out.strip().startswith("{"):
            body = self.json
            error = body.get("error") or body  # `curp check --json` reports the code at the top
            return str(error["code"]) if "code" in error else None
        for word in self.err.split():
            if word.startswith("PAD-"):
                return word.rstrip(":")
        return None


class Cli:
    """`padron` run in this process on a SQLite registry of its own in ``data_dir``."""

    def __init__(self, capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
        self.capsys, self.data_dir = capsys, data_dir

    @property
    def database(self) -> Path:
        return self.data_dir / "padron.db"

    def __call__(self, *args: str) -> CliResult:
        self.capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as done:
            code = int(done.code or 0)
        out, err = self.capsys.readouterr()
        assert "Traceback" not in out + err, out + err
        assert code != 70, f"internal error for padron {' '.join(args)}: {out}{err}"
        return CliResult(code, out, err)

    def state(self) -> str:
        return sqlite_state(self.database)

    def refused(self, *args: str, code: str, status: int = 1) -> CliResult:
        """Run a command that must be refused with ``code`` and must write nothing."""
        before, rows = self.state(), sqlite_rows(self.database)
        result = self(*args)
        assert (result.code, result.error_code) == (status, code), (result.out, result.err)
        if self.state() != before:
            diff = set(sqlite_rows(self.database)) ^ set(rows)
            pytest.fail(f"padron {' '.join(args)} was refused but wrote: {sorted(diff)[:5]}")
        return result


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    # only this test's settings: none of the caller's PADRON_* settings, no stray .env file
    for name in Settings.model_fields:
        monkeypatch.delenv(f"PADRON_{name.upper()}", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PADRON_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PADRON_ACTOR", "test:officer")
    monkeypatch.setenv("COLUMNS", "200")
    return Cli(capsys, tmp_path / "data")


@pytest.fixture
def initialized_cli(cli: Cli) -> Cli:
    assert cli("init").code == 0
    return cli


Writer = Callable[[bytes], str]


@pytest.fixture
def write_file(tmp_path: Path) -> Writer:
    """Write bytes to a fresh file under tmp_path and return its path."""
    counter = iter(range(1_000_000))

    def write(data: bytes) -> str:
        path = tmp_path / f"input-{next(counter)}"
        path.write_bytes(data)
        return str(path)

    return write
