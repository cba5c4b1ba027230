"""The vault key: read from PADRON_VAULT_KEY or a key file, created atomically (concurrent
creators all get the one key), refused or warned about when others may read it, and every error
names where the key came from -- never the key."""

from __future__ import annotations

import base64
import logging
import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest

from padron.domain.errors import ConfigurationError, PadronError
from padron.registry.vault import (
    Vault,
    VaultError,
    VaultKeyFileError,
    VaultKeyMalformedError,
    VaultKeyMissingError,
    VaultKeyPermissionError,
)

KEY_A = base64.b64encode(bytes(range(32))).decode()
KEY_B = base64.b64encode(bytes(range(1, 33))).decode()


def write_key(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def assert_no_secret(error: PadronError, *secrets: str) -> None:
    shown = str(error) + repr(error.to_dict())
    for secret in secrets:
        assert secret not in shown


def test_a_created_key_file_is_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "vault.key"
    first = Vault.from_key_file(path, create=True)
    assert (path.stat().st_mode & 0o777) == 0o600
    second = Vault.from_key_file(path, create=True)
    assert first.kek_id == second.kek_id
    sealed = first.seal(b"minutiae", "template:1/slot:2")
    assert second.open(sealed, "template:1/slot:2") == b"minutiae"
    assert sorted(p.name for p in path.parent.iterdir()) == ["vault.key"]  # no temporary left behind


def _create_and_report(path: str, barrier: Any, results: Any) -> None:
    """One of the racing processes: wait for the others, then open-or-create the key."""
    barrier.wait(timeout=120)
    try:
        results.put(("ok", Vault.from_key_file(Path(path), create=True).kek_id.hex()))
    except Exception as error:  # reported, so that the test fails instead of waiting
        results.put(("error", f"{type(error).__name__}: {error}"))


@pytest.mark.parametrize("round_", range(5))
def test_four_processes_creating_the_key_at_once_all_get_the_same_key(tmp_path: Path, round_: int) -> None:
    context = multiprocessing.get_context("fork")
    path = tmp_path / "vault.key"
    barrier = context.Barrier(4)
    results = context.Queue()
    workers = [
        context.Process(target=_create_and_report, args=(str(path), barrier, results)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=120)
    assert all(worker.exitcode == 0 for worker in workers)
    assert [status for status, _ in outcomes] == ["ok"] * 4, outcomes
    kek_ids = {kek_id for _, kek_id in outcomes}
    assert len(kek_ids) == 1
    # the file on disk holds that very key, and nothing else was left in the folder
    assert Vault.from_key_file(path, create=False).kek_id.hex() in kek_ids
    assert [p.name for p in tmp_path.iterdir()] == ["vault.key"]


def test_a_missing_key_file_is_not_created_when_creation_is_off(tmp_path: Path) -> None:
    path = tmp_path / "vault.key"
    with pytest.raises(VaultKeyMissingError) as caught:
        Vault.from_key_file(path, create=False)
    assert caught.value.code == "PAD-VAULT-002" and str(path) in caught.value.message
    assert not path.exists()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("", "is empty"),
        ("\n\n", "is empty"),
        ("not base64 at all!\n", "not valid base64"),
        (base64.b64encode(b"short").decode(), "must be 32 bytes"),
        ("é" * 10, "not valid base64"),
        ("A" * 5000, "not a key file"),
    ],
)
def test_a_malformed_key_file_names_the_file(tmp_path: Path, content: str, words: str) -> None:
    path = write_key(tmp_path / "vault.key", content)
    with pytest.raises(VaultKeyMalformedError) as caught:
        Vault.from_key_file(path, create=True)
    error = caught.value
    assert error.code == "PAD-VAULT-004" and words in error.message and str(path) in error.message
    assert isinstance(error, ConfigurationError)
    assert path.read_text() == content  # a bad key file is never replaced


@pytest.mark.parametrize("text", ["not-a-key-Zq9", base64.b64encode(b"sixteen bytes!!!").decode()])
def test_a_malformed_environment_key_names_the_variable_not_the_value(text: str) -> None:
    with pytest.raises(VaultKeyMalformedError) as caught:
        Vault.from_base64(text)
    assert "PADRON_VAULT_KEY" in caught.value.message
    assert_no_secret(caught.value, text)


def test_a_key_path_that_is_a_directory_is_a_coded_error(tmp_path: Path) -> None:
    path = tmp_path / "vault.key"
    path.mkdir()
    for create in (True, False):
        with pytest.raises(VaultKeyFileError) as caught:
            Vault.from_key_file(path, create=create)
        assert caught.value.code == "PAD-VAULT-005" and "is a directory" in caught.value.message
        assert str(path) in caught.value.message


def test_a_key_path_inside_a_file_is_a_coded_error(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("a file where the data folder should be")
    with pytest.raises(VaultKeyFileError) as caught:
        Vault.from_key_file(tmp_path / "data" / "vault.key", create=True)
    assert str(tmp_path / "data" / "vault.key") in caught.value.message


def test_a_fifo_at_the_key_path_is_refused_without_hanging(tmp_path: Path) -> None:
    path = tmp_path / "vault.key"
    os.mkfifo(path)
    with pytest.raises(VaultKeyFileError, match="not a regular file"):
        Vault.from_key_file(path, create=True)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_a_key_file_open_to_others_is_refused_when_strict(tmp_path: Path, mode: int) -> None:
    path = write_key(tmp_path / "vault.key", KEY_A, mode)
    with pytest.raises(VaultKeyPermissionError) as caught:
        Vault.from_key_file(path, create=False, strict_permissions=True)
    error = caught.value
    assert error.code == "PAD-VAULT-003" and f"{mode:04o}" in error.message and "chmod 600" in error.message
    assert str(path) in error.message
    assert_no_secret(error, KEY_A)


def test_a_key_file_open_to_others_is_a_warning_in_development(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_key(tmp_path / "vault.key", KEY_A, 0o644)
    with caplog.at_level(logging.WARNING, logger="padron.vault"):
        vault = Vault.from_key_file(path, create=True)
    assert vault.kek_id == Vault.from_base64(KEY_A).kek_id
    (record,) = [r for r in caplog.records if r.name == "padron.vault"]
    assert record.levelno == logging.WARNING
    text = record.getMessage()
    assert "PAD-VAULT-003" in text and str(path) in text and "0644" in text and KEY_A not in text


def test_a_private_key_file_gives_no_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for mode in (0o600, 0o400):
        path = write_key(tmp_path / f"key-{mode:o}", KEY_A, mode)
        with caplog.at_level(logging.WARNING, logger="padron.vault"):
            Vault.from_key_file(path, create=False, strict_permissions=True)
    assert not [r for r in caplog.records if r.name == "padron.vault"]


def test_a_template_sealed_under_another_key_names_the_key_in_use(tmp_path: Path) -> None:
    sealed = Vault.from_base64(KEY_A).seal(b"minutiae", "template:1/slot:2")
    path = write_key(tmp_path / "vault.key", KEY_B)
    for other, source in (
        (Vault.from_base64(KEY_B), "PADRON_VAULT_KEY"),
        (Vault.from_key_file(path, create=False), str(path)),
    ):
        with pytest.raises(VaultError) as caught:
            other.open(sealed, "template:1/slot:2")
        error = caught.value
        assert error.code == "PAD-VAULT-001" and "another key" in error.message and source in error.message
        assert_no_secret(error, KEY_A, KEY_B)


def test_a_tampered_template_names_the_key_source() -> None:
    vault = Vault.from_base64(KEY_A)
    sealed = bytearray(vault.seal(b"minutiae", "template:1/slot:2"))
    sealed[-1] ^= 1
    with pytest.raises(VaultError) as caught:
        vault.open(bytes(sealed), "template:1/slot:2")
    assert "fails authentication" in caught.value.message and "PADRON_VAULT_KEY" in caught.value.message
