"""`padron keys rotate` on a registry enrolled from real images (FVC2002): counts with --check,
re-wraps every template and image under the new key, is a no-op when run again, and after the
switch only the new key is needed; rotating to the key in use is refused and writes nothing."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli

NEW_KEY = base64.b64encode(bytes(range(50, 82))).decode()


def person(tmp_path: Path, name: str, birth: str) -> str:
    path = tmp_path / f"{name}.json"
    fields = {"given_names": "Ana", "first_surname": name, "second_surname": "Ruiz", "birth_date": birth}
    path.write_text(json.dumps({**fields, "sex": "M", "birth_state": "JC"}))
    return str(path)


@pytest.mark.slow
def test_rotate_then_switch_to_the_new_key(
    initialized_cli: Cli, tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = initialized_cli
    db = shared_data / "fingerprints" / "FVC2002" / "DB1_B"
    curps = []
    people = (("Lopez", "1990-01-02", ("101", "102")), ("Soto", "1985-03-04", ("103", "104")))
    for name, birth, fingers in people:
        enrolled = cli(
            "enroll",
            "--person",
            person(tmp_path, name, birth),
            "--finger",
            f"2={db / f'{fingers[0]}_1.tif'}",
            "--finger",
            f"7={db / f'{fingers[1]}_1.tif'}",
            "--json",
        )
        assert enrolled.code == 0, enrolled.err
        curps.append(enrolled.json["curp"])

    check = cli("keys", "rotate", "--check", "--json")
    assert check.code == 0, check.err
    (only,) = check.json["keks"]
    assert only["key"] == "current" and (only["templates"], only["images"]) == (4, 4)
    # the second enrollment's start-up rebuilt the galleries and saved them (sealed segments)
    segments = only["gallery_segments"]
    assert segments >= 1
    old_kek = only["kek_id"]

    new_file = tmp_path / "new.key"
    new_file.write_text(NEW_KEY + "\n")
    new_file.chmod(0o600)
    check = cli("keys", "rotate", "--new-key-file", str(new_file), "--check", "--json").json
    assert check["pending"] == 8 + segments and check["current_kek_id"] != old_kek
    assert {k["kek_id"]: k["key"].split()[0] for k in check["keks"]} == {old_kek: "old"}

    rotated = cli("keys", "rotate", "--new-key-file", str(new_file), "--batch-size", "3", "--json")
    assert rotated.code == 0, rotated.err
    assert rotated.json["rewrapped"] == {"templates": 4, "images": 4, "gallery_segments": segments}
    assert rotated.json["after"]["pending"] == 0
    new_kek = rotated.json["kek_id"]
    again = cli("keys", "rotate", "--new-key", NEW_KEY, "--json").json
    assert again["rewrapped"] == {"templates": 0, "images": 0, "gallery_segments": 0}

    # switch: the new key is the vault key; the old one is no longer needed
    old_file = cli.data_dir / "vault.key"
    monkeypatch.setenv("PADRON_VAULT_KEY_FILE", str(new_file))
    rebuilt = cli("gallery", "rebuild", "--json")
    assert rebuilt.code == 0 and rebuilt.json["loaded"] == 2, rebuilt.err
    verified = cli("verify", curps[0], "--finger", f"2={db / '101_5.tif'}", "--json")
    assert verified.code == 0 and verified.json["match"] is True
    counted = cli("keys", "rotate", "--check").out
    assert new_kek in counted and "0 row(s) not under the current key" in counted

    same = cli.refused("keys", "rotate", "--new-key-file", str(new_file), code="PAD-VAULT-006")
    assert NEW_KEY not in same.err
    cli.refused("keys", "rotate", "--new-key", NEW_KEY, code="PAD-VAULT-006")

    # the old key alone opens nothing any more
    monkeypatch.setenv("PADRON_VAULT_KEY_FILE", str(old_file))
    failed = cli("gallery", "rebuild")
    assert failed.code == 1 and "PAD-VAULT-001" in failed.err
    # ... and with it as the current key, the new key's rows are "unknown" to a rotation
    cli.refused("keys", "rotate", code="PAD-VAULT-007")
    monkeypatch.setenv("PADRON_VAULT_OLD_KEY_FILES", str(new_file))
    back = cli("keys", "rotate", "--json")
    assert back.code == 0 and back.json["rewrapped"]["templates"] == 4, back.err
    # the rebuild under the new key saved the galleries again: those segments come back too
    assert back.json["rewrapped"]["images"] == 4 and back.json["rewrapped"]["gallery_segments"] >= 1


def test_rotate_options_are_checked(initialized_cli: Cli, tmp_path: Path) -> None:
    cli = initialized_cli
    key = tmp_path / "k"
    key.write_text(NEW_KEY)
    key.chmod(0o600)
    cli.refused("keys", "rotate", "--new-key-file", str(key), "--new-key", NEW_KEY, code="PAD-GEN-002")
    cli.refused("keys", "rotate", "--new-key", "bm90IGEga2V5", code="PAD-VAULT-004")
    missing = cli.refused("keys", "rotate", "--new-key-file", str(tmp_path / "missing"), code="PAD-VAULT-002")
    assert str(tmp_path / "missing") in missing.err
    # no vault key yet (nothing sealed): there is nothing to rotate from, and no key is made
    cli.refused("keys", "rotate", "--check", code="PAD-VAULT-002")
    assert not (cli.data_dir / "vault.key").exists()
    key.write_text("short")
    cli.refused("keys", "rotate", "--new-key-file", str(key), code="PAD-VAULT-004")
