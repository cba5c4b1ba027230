"""The vault's keyring: the current key seals, old keys only open; re-wrapping changes the wrapped
data key and nothing else; the settings' old keys (PADRON_VAULT_OLD_KEYS / _FILES) join the ring."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from padron.domain.errors import PadronError
from padron.registry.factory import build_vault
from padron.registry.vault import (
    Vault,
    VaultError,
    VaultKeyMalformedError,
    VaultKeyMissingError,
    VaultSameKeyError,
    VaultUnknownKeyError,
    kek_id_of,
)
from padron.settings import Settings

RAW_A, RAW_B, RAW_C = bytes(range(32)), bytes(range(1, 33)), bytes(range(2, 34))
KEY_A, KEY_B, KEY_C = (base64.b64encode(k).decode() for k in (RAW_A, RAW_B, RAW_C))
CONTEXT = "template:1/slot:2"


def assert_no_secret(error: PadronError) -> None:
    shown = str(error) + repr(error.to_dict())
    for secret in (KEY_A, KEY_B, KEY_C):
        assert secret not in shown


def test_old_keys_open_and_the_current_key_seals() -> None:
    a = Vault.from_base64(KEY_A)
    sealed = a.seal(b"minutiae", CONTEXT)
    ring = Vault.from_base64(KEY_B, old=[(RAW_A, "old key A")])
    assert ring.open(sealed, CONTEXT) == b"minutiae"
    assert ring.knows(a.kek_id) and ring.old_kek_ids == [a.kek_id]
    assert ring.describe(a.kek_id) == "old (old key A)" and ring.describe(ring.kek_id) == "current"
    fresh = ring.seal(b"other", CONTEXT)
    assert kek_id_of(fresh) == ring.kek_id != a.kek_id
    with pytest.raises(VaultError) as caught:
        a.open(fresh, CONTEXT)
    assert caught.value.code == "PAD-VAULT-001"


def test_rewrap_changes_only_the_wrapped_data_key() -> None:
    a = Vault.from_base64(KEY_A)
    sealed = a.seal(b"x" * 1000, CONTEXT)
    b = a.rotated_to(RAW_B, source="new key")
    rewrapped = b.rewrap(sealed, CONTEXT)
    assert kek_id_of(rewrapped) == b.kek_id and len(rewrapped) == len(sealed)
    assert rewrapped[71:] == sealed[71:]  # payload nonce and ciphertext byte for byte
    assert rewrapped[11:71] != sealed[11:71]
    assert Vault.from_base64(KEY_B).open(rewrapped, CONTEXT) == b"x" * 1000
    assert b.rewrap(rewrapped, CONTEXT) == rewrapped  # already under the current key
    with pytest.raises(VaultError) as caught:
        a.open(rewrapped, CONTEXT)
    assert caught.value.code == "PAD-VAULT-001"


def test_rewrap_refuses_a_tampered_or_misplaced_blob() -> None:
    a = Vault.from_base64(KEY_A)
    b = a.rotated_to(RAW_B, source="new key")
    sealed = a.seal(b"minutiae", CONTEXT)
    with pytest.raises(VaultError) as caught:
        b.rewrap(sealed, "template:2/slot:2")
    assert caught.value.code == "PAD-VAULT-001" and "fails authentication" in caught.value.message
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(VaultError) as caught:
        b.rewrap(bytes(tampered), CONTEXT)
    assert caught.value.code == "PAD-VAULT-001"


def test_a_blob_under_a_key_outside_the_ring() -> None:
    sealed = Vault.from_base64(KEY_C).seal(b"minutiae", CONTEXT)
    ring = Vault.from_base64(KEY_B, old=[(RAW_A, "old key file /keys/a")])
    with pytest.raises(VaultUnknownKeyError) as caught:
        ring.rewrap(sealed, CONTEXT)
    assert caught.value.code == "PAD-VAULT-007" and "/keys/a" in caught.value.message
    assert_no_secret(caught.value)
    # opening names it too, with the long-standing code of a failed opening
    with pytest.raises(VaultError) as opened:
        ring.open(sealed, CONTEXT)
    assert opened.value.code == "PAD-VAULT-001" and "/keys/a" in opened.value.message


def test_rotating_to_the_key_in_use_is_refused() -> None:
    a = Vault.from_base64(KEY_A, old=[(RAW_C, "c")])
    with pytest.raises(VaultSameKeyError) as caught:
        a.rotated_to(RAW_A, source="--new-key")
    assert caught.value.code == "PAD-VAULT-006"
    assert_no_secret(caught.value)
    b = a.rotated_to(RAW_B, source="new")
    assert set(b.old_kek_ids) == {a.kek_id, Vault(RAW_C).kek_id}


def test_the_settings_old_keys_join_the_ring(tmp_path: Path) -> None:
    path = tmp_path / "old.key"
    path.write_text(KEY_C + "\n")
    path.chmod(0o600)
    settings = Settings(
        data_dir=tmp_path / "data",
        vault_key=KEY_B,
        vault_old_keys=f" {KEY_A} ,",
        vault_old_key_files=str(path),
    )
    vault = build_vault(settings)
    assert vault.kek_id == Vault(RAW_B).kek_id
    assert set(vault.old_kek_ids) == {Vault(RAW_A).kek_id, Vault(RAW_C).kek_id}
    for raw in (RAW_A, RAW_C):
        assert vault.open(Vault(raw).seal(b"t", CONTEXT), CONTEXT) == b"t"


def test_a_bad_old_key_names_where_it_came_from(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, vault_key=KEY_B, vault_old_keys=f"{KEY_A},bm90IGEga2V5")
    with pytest.raises(VaultKeyMalformedError) as caught:
        build_vault(settings)
    assert caught.value.code == "PAD-VAULT-004" and "PADRON_VAULT_OLD_KEYS (item 2)" in caught.value.message
    assert_no_secret(caught.value)
    missing = Settings(data_dir=tmp_path, vault_key=KEY_B, vault_old_key_files=str(tmp_path / "gone.key"))
    with pytest.raises(VaultKeyMissingError) as gone:
        build_vault(missing)
    assert "gone.key" in gone.value.message
