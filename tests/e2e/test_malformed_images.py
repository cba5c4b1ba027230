"""Every malformed image, and every path that is not a readable image file, given to `padron
enroll --finger`, `padron enroll --face` and `padron face check`: exit status 1 with the
specific code, never a traceback or an internal error, and the database is left untouched.

No extra is needed: every refusal happens before an extractor or a model is loaded."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.e2e.conftest import VALID_PERSON, Cli
from tests.support.dbstate import sqlite_rows, sqlite_state
from tests.support.malformed_images import EXPECTED_CODES, malformed_images

PERSON = VALID_PERSON


@pytest.fixture
def padron(cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("PADRON_CACHE_DIR", str(tmp_path / "cache"))

    def run(*args: str) -> tuple[int, str]:
        result = cli(*args)
        return result.code, result.out + result.err

    return run


@pytest.fixture
def bad_inputs(tmp_path: Path) -> dict[str, tuple[str, str, str]]:
    """Path -> (the code for --face and face check, the code for --finger, what it is)."""
    folder = tmp_path / "images"
    folder.mkdir()
    inputs: dict[str, tuple[str, str, str]] = {}
    for name, data in malformed_images().items():
        path = folder / f"{name}.img"
        path.write_bytes(data)
        face, finger = EXPECTED_CODES[name]
        if not data:  # refused when the file is read, before any decoder sees it
            face = finger = "PAD-FILE-003"
        inputs[str(path)] = (face, finger, name)
    fifo = folder / "capture.fifo"
    os.mkfifo(fifo)  # no writer: reading it would block forever
    for unreadable, what in [
        ("/dev/zero", "a device without end"),
        (str(folder), "a directory"),
        (str(folder / "missing.png"), "a missing file"),
        (str(fifo), "a FIFO"),
    ]:
        inputs[unreadable] = ("PAD-FILE-001", "PAD-FILE-001", what)
    return inputs


def test_bad_images_are_refused_with_their_code_and_nothing_is_written(
    padron, tmp_path: Path, bad_inputs: dict[str, tuple[str, str, str]]
) -> None:
    assert padron("init")[0] == 0
    database = tmp_path / "data" / "padron.db"
    before = sqlite_state(database)
    rows = sqlite_rows(database)
    person = tmp_path / "person.json"
    person.write_text(json.dumps(PERSON), encoding="utf-8")
    for path, (face_code, finger_code, what) in bad_inputs.items():
        for args, code in [
            (("enroll", "--person", str(person), "--finger", f"2={path}"), finger_code),
            (("enroll", "--person", str(person), "--face", path), face_code),
            (("face", "check", path), face_code),
        ]:
            status, output = padron(*args)
            command = f"padron {' '.join(args)} ({what})"
            assert status == 1, f"{command}: status {status}\n{output}"
            assert f"{code}:" in output, f"{command}: expected {code}\n{output}"
            assert sqlite_state(database) == before, f"{command} changed the database"
    assert sqlite_rows(database) == rows


def test_an_empty_file_says_so(padron, tmp_path: Path) -> None:
    empty = tmp_path / "finger.png"
    empty.write_bytes(b"")
    status, output = padron("face", "check", str(empty))
    assert status == 1
    assert f"PAD-FILE-003: the face image {empty} is empty (0 bytes)" in output


def test_a_refused_finger_is_named_by_its_position(padron, tmp_path: Path) -> None:
    assert padron("init")[0] == 0
    person = tmp_path / "person.json"
    person.write_text(json.dumps(PERSON), encoding="utf-8")
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(malformed_images()["png_bomb_declared"])
    status, output = padron("enroll", "--person", str(person), "--finger", f"3={bomb}", "--json")
    assert status == 1
    error = json.loads(output)["error"]
    assert error["code"] == "PAD-FING-016"
    assert error["message"].startswith("finger 3: a ")
    assert "fingerprint image declares 4000x4000 pixels" in error["message"]
    assert error["details"]["slot"] == "3"
