"""Bad configuration through the command line: each gets its own code and a message naming the
setting, file or option -- never the internal error (exit 70), a traceback or a secret. And the
vault key is never silently replaced."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from padron.biometrics.face.template import to_template
from padron.registry.identity import seal_template
from padron.registry.service import Registry
from padron.registry.storage.models import GalleryJournalRow, PersonRow
from padron.registry.vault import Vault
from tests.e2e.conftest import Cli, CliResult
from tests.support.contexts import as_actor
from tests.support.synthetic import SyntheticIdentity, draft

KEY = base64.b64encode(bytes(range(32))).decode()


Result = CliResult


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def padron(cli: Cli) -> Cli:
    return cli


def failed(result: Result, code: str, *words: str) -> None:
    assert result.code == 1, (result.code, result.err)
    assert f"error {code}:" in result.err, result.err
    for word in words:
        assert word in result.err, (word, result.err)


# --- the data folder and the database file --------------------------------------------------------


@pytest.mark.parametrize("command", [["person", "list"], ["init"], ["gallery", "stats"]])
def test_a_data_dir_that_is_a_file(padron, data_dir: Path, command: list[str]) -> None:
    data_dir.write_text("not a folder")
    failed(padron(*command), "PAD-CONF-002", str(data_dir), "is a file")
    assert data_dir.read_text() == "not a folder"


def test_a_data_dir_inside_a_file(padron, monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    data_dir.write_text("not a folder")
    monkeypatch.setenv("PADRON_DATA_DIR", str(data_dir / "inner"))
    failed(padron("person", "list"), "PAD-CONF-002", str(data_dir / "inner"), str(data_dir))


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_a_data_dir_that_cannot_be_created(padron, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PADRON_DATA_DIR", "/proc/padron-cannot-be-here")
    failed(padron("person", "list"), "PAD-CONF-002", "/proc/padron-cannot-be-here", "cannot be created")
    failed(padron("init"), "PAD-STORE-005", "/proc/padron-cannot-be-here")


def test_an_sqlite_url_whose_folder_is_a_file(
    padron, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "blocker").write_text("a file")
    monkeypatch.setenv("PADRON_DATABASE_URL", f"sqlite:///{tmp_path / 'blocker' / 'padron.db'}")
    for command in (["init"], ["person", "list"]):
        failed(padron(*command), "PAD-STORE-005", str(tmp_path / "blocker"))


@pytest.mark.parametrize(
    "content", [b"hello, this is not a database" * 40, b"SQLite format 3\x00" + b"\xff" * 4000]
)
@pytest.mark.parametrize("command", [["init"], ["person", "list"], ["gallery", "stats"]])
def test_a_database_file_that_is_not_sqlite(
    padron, data_dir: Path, content: bytes, command: list[str]
) -> None:
    data_dir.mkdir()
    database = data_dir / "padron.db"
    database.write_bytes(content)
    failed(padron(*command), "PAD-STORE-004", str(database))
    assert database.read_bytes() == content  # `init` did not overwrite it
    assert not (data_dir / "vault.key").exists()


def test_json_output_of_a_configuration_error(padron, data_dir: Path) -> None:
    data_dir.mkdir()
    (data_dir / "padron.db").write_bytes(b"not a database" * 100)
    result = padron("person", "list", "--json")
    assert result.code == 1 and result.json["error"]["code"] == "PAD-STORE-004"


# --- operating points -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variable",
    ["PADRON_VERIFY_FMR", "PADRON_DEDUP_FPIR_SURE", "PADRON_DEDUP_FPIR_GREY", "PADRON_IDENTIFY_FPIR"],
)
@pytest.mark.parametrize("value", ["1000", "0", "nan"])
def test_a_rate_setting_outside_0_1(
    padron, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    failed(padron("gallery", "stats"), "PAD-CONF-001", variable)


def test_a_sure_rate_above_the_grey_rate(padron, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PADRON_DEDUP_FPIR_SURE", "0.5")
    failed(padron("gallery", "stats"), "PAD-CONF-001", "PADRON_DEDUP_FPIR_SURE", "PADRON_DEDUP_FPIR_GREY")


def test_zero_ray_shards(padron, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PADRON_RAY_SHARDS", "0")
    failed(padron("gallery", "stats"), "PAD-CONF-001", "PADRON_RAY_SHARDS")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "1", "2", "-1", "1e309"])
def test_identify_fpir_outside_0_1_is_a_usage_error(padron, value: str) -> None:
    result = padron("identify", f"--fpir={value}", "--face", "missing.png")
    assert result.code == 2 and "--fpir" in result.err and "strictly between 0 and 1" in result.err


# --- the vault key --------------------------------------------------------------------------------


def enroll_one_sealed_template(data_dir: Path) -> None:
    """What `padron enroll` leaves behind: a person with a face template sealed under vault.key,
    in the face gallery (a journal entry)."""
    registry = Registry.open(f"sqlite:///{data_dir / 'padron.db'}")
    try:
        vault = Vault.from_key_file(data_dir / "vault.key", create=False)
        person = registry.enroll(draft(0), ctx=as_actor("test:officer"), reason="enrollment")
        face = to_template(SyntheticIdentity.make(0).face, quality=90.0)
        with registry.db.session() as session:
            person_id = session.scalars(select(PersonRow.id).where(PersonRow.curp == person.curp)).one()
            session.add(seal_template(vault, face, "face", person_id=person_id, attempt_id=None))
            session.add(GalleryJournalRow(ref=f"p:{person_id}", op="add", at=datetime.now(UTC)))
    finally:
        registry.close()


def test_a_deleted_key_file_is_refused_not_replaced(padron, data_dir: Path) -> None:
    assert padron("init").code == 0
    assert padron("gallery", "stats", "--json").code == 0  # first use: the key file is made
    key_file = data_dir / "vault.key"
    assert key_file.is_file() and (key_file.stat().st_mode & 0o777) == 0o600
    backup = key_file.read_bytes()
    enroll_one_sealed_template(data_dir)
    key_file.unlink()
    for command in (["gallery", "stats"], ["gallery", "rebuild"]):
        failed(padron(*command), "PAD-VAULT-002", str(key_file), "restore")
        assert not key_file.exists()
    # the person registry itself still works without the key
    assert padron("person", "list").code == 0
    # restoring the backup brings the sealed templates back
    key_file.write_bytes(backup)
    key_file.chmod(0o600)
    result = padron("gallery", "stats", "--json")
    assert result.code == 0 and result.json["subjects"] == 1, result.err


def test_another_key_names_its_source(padron, monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    assert padron("init").code == 0
    assert padron("gallery", "stats").code == 0
    enroll_one_sealed_template(data_dir)
    monkeypatch.setenv("PADRON_VAULT_KEY", KEY)  # not the key the template was sealed with
    result = padron("gallery", "rebuild")
    failed(result, "PAD-VAULT-001", "another key", "PADRON_VAULT_KEY")
    assert KEY not in result.err


def test_a_key_path_that_is_a_directory(padron, data_dir: Path) -> None:
    (data_dir / "vault.key").mkdir(parents=True)
    assert padron("init").code == 0
    failed(padron("gallery", "stats"), "PAD-VAULT-005", str(data_dir / "vault.key"), "directory")


@pytest.mark.parametrize(("content", "words"), [("", "is empty"), ("garbage!!", "not valid base64")])
def test_a_malformed_key_file(padron, data_dir: Path, content: str, words: str) -> None:
    assert padron("init").code == 0
    key_file = data_dir / "vault.key"
    key_file.write_text(content)
    key_file.chmod(0o600)
    failed(padron("gallery", "stats"), "PAD-VAULT-004", str(key_file), words)
    assert key_file.read_text() == content


def test_a_malformed_environment_key(padron, monkeypatch: pytest.MonkeyPatch) -> None:
    assert padron("init").code == 0
    monkeypatch.setenv("PADRON_VAULT_KEY", "Zq9-not-a-key")
    result = padron("gallery", "stats")
    failed(result, "PAD-VAULT-004", "PADRON_VAULT_KEY")
    assert "Zq9-not-a-key" not in result.err


def test_production_refuses_a_key_file_others_can_read(
    padron, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert padron("init").code == 0
    key_file = tmp_path / "secret.key"
    key_file.write_text(KEY + "\n")
    key_file.chmod(0o640)
    monkeypatch.setenv("PADRON_ENVIRONMENT", "production")
    monkeypatch.setenv("PADRON_VAULT_KEY_FILE", str(key_file))
    result = padron("gallery", "stats")
    failed(result, "PAD-VAULT-003", str(key_file), "0640", "chmod 600")
    assert KEY not in result.err
    key_file.chmod(0o400)
    assert padron("gallery", "stats").code == 0


def test_production_needs_a_key(padron, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PADRON_ENVIRONMENT", "production")
    failed(padron("gallery", "stats"), "PAD-CONF-001", "PADRON_VAULT_KEY")
    monkeypatch.setenv("PADRON_VAULT_KEY", KEY)
    monkeypatch.setenv("PADRON_VAULT_KEY_FILE", "/somewhere/vault.key")
    result = padron("gallery", "stats")
    failed(result, "PAD-CONF-001", "not both")
    assert KEY not in result.err


def test_development_warns_about_a_key_file_others_can_read(tmp_path: Path) -> None:
    """The real console script, so that the warning is seen as a user sees it, on stderr."""
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PADRON_")}
    env["PADRON_DATA_DIR"] = str(data_dir)
    command = [sys.executable, "-m", "padron.cli.main"]
    for args in (["init"], ["gallery", "stats"]):
        done = subprocess.run(
            [*command, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
        )
        assert done.returncode == 0, done.stderr
    assert "PAD-VAULT-003" not in done.stderr  # the key padron made is private
    (data_dir / "vault.key").chmod(0o644)
    done = subprocess.run(
        [*command, "gallery", "stats"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "warning PAD-VAULT-003" in done.stderr and str(data_dir / "vault.key") in done.stderr
    assert (data_dir / "vault.key").read_text().strip() not in done.stderr


@pytest.mark.slow
def test_enroll_then_lose_the_key(padron, data_dir: Path, tmp_path: Path, shared_data: Path) -> None:
    """The issue as reported: enroll for real, delete vault.key, and the next biometric command
    names the missing file instead of writing a new key."""
    finger = shared_data / "fingerprints" / "FVC2002" / "DB1_B" / "101_1.tif"
    person_file = tmp_path / "person.json"
    person_file.write_text(
        json.dumps(
            {
                "given_names": "Ana",
                "first_surname": "Lopez",
                "second_surname": "Ruiz",
                "birth_date": "1990-01-02",
                "sex": "M",
                "birth_state": "JC",
            }
        )
    )
    assert padron("init").code == 0
    enrolled = padron("enroll", "--person", str(person_file), "--finger", f"2={finger}", "--json")
    assert enrolled.code == 0 and enrolled.json["status"] == "issued", enrolled.err
    curp = enrolled.json["curp"]
    (data_dir / "vault.key").unlink()
    result = padron("verify", curp, "--finger", f"2={finger}")
    failed(result, "PAD-VAULT-002", str(data_dir / "vault.key"))
    assert not (data_dir / "vault.key").exists()
