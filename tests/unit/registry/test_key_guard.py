"""build_vault never writes a new key while sealed templates exist: a deleted vault.key is named
and refused, not silently replaced (which would make every sealed template unreadable)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy import select

from padron.registry.factory import build_identity_service, build_vault, sealed_template_count
from padron.registry.identity import seal_template
from padron.registry.service import Registry
from padron.registry.storage.models import PersonRow
from padron.registry.vault import Vault, VaultKeyMissingError, VaultKeyPermissionError
from padron.settings import Settings
from tests.support.contexts import as_actor
from tests.support.synthetic import SyntheticIdentity, draft

KEY = base64.b64encode(bytes(range(32))).decode()


def settings_for(data_dir: Path, **changes: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": None,
        "vault_key": None,
        "vault_key_file": None,
        "environment": "development",
    }
    values.update(changes)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def store_one_template(registry: Registry, vault: Vault) -> None:
    """A person with one sealed face template, as an enrollment leaves it."""
    person = registry.enroll(draft(0), ctx=as_actor("test:officer"), reason="enrollment")
    face = SyntheticIdentity.make(0).capture(1, fingers=())["face"]
    with registry.db.session() as session:
        person_id = session.scalars(select(PersonRow.id).where(PersonRow.curp == person.curp)).one()
        session.add(seal_template(vault, face, "face", person_id=person_id, attempt_id=None))


@pytest.fixture
def sealed_registry(tmp_path: Path):
    """A development data folder whose registry holds a template sealed with its vault.key."""
    settings = settings_for(tmp_path / "data")
    registry = Registry.open(settings.effective_database_url, migrate=True)
    vault = build_vault(settings, registry)
    store_one_template(registry, vault)
    try:
        yield settings, registry
    finally:
        registry.close()


def test_an_empty_registry_gets_a_new_key_file(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data")
    registry = Registry.open(settings.effective_database_url, migrate=True)
    try:
        assert sealed_template_count(registry.db) == 0
        vault = build_vault(settings, registry)
    finally:
        registry.close()
    key_file = tmp_path / "data" / "vault.key"
    assert key_file.is_file() and (key_file.stat().st_mode & 0o777) == 0o600
    assert vault.source == f"key file {key_file}"


def test_a_deleted_key_file_is_refused_while_sealed_templates_exist(sealed_registry) -> None:
    settings, registry = sealed_registry
    key_file = settings.data_dir.absolute() / "vault.key"
    assert sealed_template_count(registry.db) == 1
    key_file.unlink()
    for given in (registry, None):  # the registry handed in, or the database the settings name
        with pytest.raises(VaultKeyMissingError) as caught:
            build_vault(settings, given)
        error = caught.value
        assert error.code == "PAD-VAULT-002"
        assert str(key_file) in error.message and "1 sealed template" in error.message
        assert not key_file.exists()  # no new key was written


def test_build_identity_service_refuses_a_deleted_key_and_writes_none(sealed_registry) -> None:
    settings, registry = sealed_registry
    key_file = settings.data_dir.absolute() / "vault.key"
    key_file.unlink()
    with pytest.raises(VaultKeyMissingError, match="restore"):
        build_identity_service(settings, registry=registry)
    assert not key_file.exists()
    assert sorted(p.name for p in settings.data_dir.iterdir() if p.name.startswith(("vault", ".vault"))) == []


def test_the_environment_key_needs_no_key_file(sealed_registry) -> None:
    settings, registry = sealed_registry
    (settings.data_dir / "vault.key").unlink()
    vault = build_vault(settings.model_copy(update={"vault_key": KEY}), registry)
    assert vault.source == "PADRON_VAULT_KEY"
    assert not (settings.data_dir / "vault.key").exists()


def test_production_never_creates_a_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "secrets" / "vault.key"
    settings = settings_for(tmp_path / "data", environment="production", vault_key_file=key_file)
    with pytest.raises(VaultKeyMissingError) as caught:
        build_vault(settings)
    assert str(key_file) in caught.value.message and not key_file.exists()


def test_production_refuses_a_key_file_others_can_read(tmp_path: Path) -> None:
    key_file = tmp_path / "vault.key"
    key_file.write_text(KEY + "\n")
    settings = settings_for(tmp_path / "data", environment="production", vault_key_file=key_file)
    key_file.chmod(0o644)
    with pytest.raises(VaultKeyPermissionError) as caught:
        build_vault(settings)
    assert str(key_file) in caught.value.message and KEY not in str(caught.value)
    key_file.chmod(0o600)
    assert build_vault(settings).kek_id == Vault.from_base64(KEY).kek_id


def test_an_explicit_key_file_is_never_created(tmp_path: Path) -> None:
    key_file = tmp_path / "secrets" / "vault.key"
    settings = settings_for(tmp_path / "data", vault_key_file=key_file)
    with pytest.raises(VaultKeyMissingError, match="restore it from its backup"):
        build_vault(settings)
    assert not key_file.exists() and not key_file.parent.exists()
