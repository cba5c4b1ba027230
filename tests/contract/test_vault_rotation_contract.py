"""Vault key rotation on SQLite and PostgreSQL: every sealed template, image and gallery segment
ends under the new key and opens with only that key (the galleries start from their snapshot);
the payloads are untouched; a rotation stopped halfway (an exception, or kill -9 of its process)
resumes; a server configured with both keys keeps serving (enrolls, verifies, shows images)
between batches; a row under a key outside the keyring stops the rotation before anything
changes; counts; audit entries."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import select

from padron.audit.entry import AuditEntry
from padron.registry import rotation
from padron.registry.identity import IdentityService
from padron.registry.service import Registry
from padron.registry.storage.models import AuditEntryRow, GallerySegmentRow, SampleImageRow, TemplateRow
from padron.registry.vault import Vault, VaultError, VaultSameKeyError, VaultUnknownKeyError, kek_id_of
from tests.conftest import REPO_ROOT
from tests.support.contexts import ADJUDICATOR, OFFICER, VERIFIER
from tests.support.sample_images import images_for
from tests.support.synthetic import TEST_KEY, SyntheticIdentity, draft, identity_service

NEW_RAW = bytes(range(100, 132))
OTHER_RAW = bytes(range(200, 232))


class StopRotationError(Exception):
    pass


def service_with(registry: Registry, vault: Vault) -> IdentityService:
    """A process whose vault is ``vault`` (its galleries load every template with it)."""
    return identity_service(registry, vault=vault)


def enroll(service: IdentityService, start: int, n: int) -> list[str]:
    curps = []
    for i in range(start, start + n):
        samples = SyntheticIdentity.make(i).capture(1)
        result = service.enroll(draft(i), samples, OFFICER, reason="r", images=images_for(samples, seed=i))
        assert result.person is not None, result.to_dict()
        curps.append(result.person.curp)
    return curps


def sealed_rows(registry: Registry) -> dict[tuple[str, int], bytes]:
    with registry.db.session() as session:
        out = {("t", r.id): r.sealed for r in session.scalars(select(TemplateRow))}
        out.update({("i", r.id): r.sealed for r in session.scalars(select(SampleImageRow))})
        out.update({("g", r.id): r.sealed for r in session.scalars(select(GallerySegmentRow))})
    return out


def audit_actions(registry: Registry) -> list[AuditEntry]:
    with registry.db.session() as session:
        found = [AuditEntry.from_bytes(e) for e in session.scalars(select(AuditEntryRow.entry))]
    return [e for e in found if e.action == "vault.rotate"]


def test_rotation_rewraps_everything_and_only_the_new_key_is_needed(registry: Registry) -> None:
    old = Vault.from_base64(TEST_KEY)
    service = identity_service(registry, segments=True)
    curps = enroll(service, 0, 4)
    snapshot = service.snapshot()  # the galleries' segments: sealed rows too (several parts)
    assert snapshot is not None
    parts = len(snapshot.segments)
    assert parts > 2
    before = sealed_rows(registry)
    assert len(before) == 4 * 11 * 2 + parts
    counted = rotation.census(registry)
    assert counted.counts == {
        "templates": {old.kek_id: 44},
        "images": {old.kek_id: 44},
        "gallery_segments": {old.kek_id: parts},
    }

    new = old.rotated_to(NEW_RAW, source="new key")
    report = rotation.rotate(registry, new, batch_size=10, requested_by="cli:operator")
    # a segment part is its own batch (parts are up to 64 MiB)
    assert report.rewrapped == {"templates": 44, "images": 44, "gallery_segments": parts}
    assert report.batches == 10 + parts
    after = sealed_rows(registry)
    assert set(after) == set(before)
    for key, blob in after.items():
        assert kek_id_of(blob) == new.kek_id
        assert blob[71:] == before[key][71:]  # the payload ciphertext is untouched
    assert rotation.census(registry).to_dict(new)["pending"] == 0

    # only the new key configured: the galleries load from their snapshot, verification and
    # images work
    only_new = identity_service(registry, vault=Vault(NEW_RAW, source="new key"), segments=True)
    assert only_new.index.startup["source"] == "segments"
    assert only_new.index.startup["snapshot"] == snapshot.id
    sample = SyntheticIdentity.make(1).capture(2)
    assert only_new.verify(curps[1], sample, VERIFIER).match
    assert only_new.person_images(curps[2], ADJUDICATOR)["face"].size > 0
    with pytest.raises(VaultError) as caught:  # the old key opens neither segments nor templates
        identity_service(registry, vault=old, segments=True)
    assert caught.value.code == "PAD-VAULT-001"

    started, completed = audit_actions(registry)
    assert (started.outcome, completed.outcome) == ("started", "completed")
    assert started.actor == "system:padron" and started.channel == "system"
    assert started.details["requested_by"] == "cli:operator"
    assert completed.details["rewrapped"] == {"templates": 44, "images": 44, "gallery_segments": parts}
    assert completed.details["kek_id"] == new.kek_id.hex()

    # again: nothing left to do
    again = rotation.rotate(registry, new)
    assert again.rewrapped == {"templates": 0, "images": 0, "gallery_segments": 0} and again.batches == 0


def test_a_rotation_stopped_halfway_resumes_while_the_server_keeps_serving(registry: Registry) -> None:
    old = Vault.from_base64(TEST_KEY)
    service = identity_service(registry)
    curps = enroll(service, 0, 3)
    new = old.rotated_to(NEW_RAW, source="new key")
    server = service_with(registry, new)  # what a server runs during the rotation: both keys

    def stop_after_first(kind: str, rows: int) -> None:
        raise StopRotationError

    with pytest.raises(StopRotationError):
        rotation.rotate(registry, new, batch_size=5, after_batch=stop_after_first)
    counted = rotation.census(registry)
    assert counted.counts["templates"] == {old.kek_id: 33 - 5, new.kek_id: 5}
    assert counted.counts["images"] == {old.kek_id: 33}

    # the server, halfway: enrolls (sealing under the new key), verifies, shows images
    curps += enroll(server, 3, 1)
    assert server.verify(curps[0], SyntheticIdentity.make(0).capture(3), VERIFIER).match
    assert server.person_images(curps[3], ADJUDICATOR)["7"].size > 0
    assert server.start() == 4  # every template, under either key, opens

    served: list[str] = []

    def serve_between_batches(kind: str, rows: int) -> None:
        if len(served) < 2:
            served.append(kind)
            server.verify(curps[len(served)], SyntheticIdentity.make(len(served)).capture(4), VERIFIER)

    report = rotation.rotate(registry, new, batch_size=8, after_batch=serve_between_batches)
    assert report.rewrapped == {"templates": 33 - 5, "images": 33, "gallery_segments": 0}
    assert rotation.census(registry).counts == {
        "templates": {new.kek_id: 44},
        "images": {new.kek_id: 44},
        "gallery_segments": {},
    }
    assert service_with(registry, Vault(NEW_RAW)).start() == 4
    outcomes = [e.outcome for e in audit_actions(registry)]
    assert outcomes == ["started", "started", "completed"]


def test_a_rotation_killed_with_sigkill_resumes(registry: Registry) -> None:
    """kill -9 of the rotating process after its first committed batch."""
    enroll(identity_service(registry), 0, 2)
    url = registry.db.engine.url.render_as_string(hide_password=False)
    script = f"""
import os, signal
from padron.registry import rotation
from padron.registry.service import Registry
from padron.registry.vault import Vault
from tests.support.synthetic import TEST_KEY
registry = Registry.open({url!r})
new = Vault.from_base64(TEST_KEY).rotated_to(bytes(range(100, 132)), source="new key")
kill = lambda kind, rows: os.kill(os.getpid(), signal.SIGKILL)
rotation.rotate(registry, new, batch_size=3, after_batch=kill)
"""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "src"), str(REPO_ROOT)])}
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=REPO_ROOT, timeout=120, check=False)
    assert done.returncode == -signal.SIGKILL
    new = Vault.from_base64(TEST_KEY).rotated_to(NEW_RAW, source="new key")
    counted = rotation.census(registry)
    assert counted.counts["templates"][new.kek_id] == 3 and counted.pending(new.kek_id) == 2 * 22 - 3
    report = rotation.rotate(registry, new)
    assert report.rewrapped == {"templates": 22 - 3, "images": 22, "gallery_segments": 0}
    assert rotation.census(registry).pending(new.kek_id) == 0
    assert service_with(registry, Vault(NEW_RAW)).start() == 2


def test_a_row_under_an_unknown_key_stops_the_rotation_before_any_change(registry: Registry) -> None:
    service = identity_service(registry)
    enroll(service, 0, 2)
    stranger = Vault(OTHER_RAW)  # another installation's key sealed one person's rows
    with registry.db.session() as session:
        row = session.scalars(select(TemplateRow).order_by(TemplateRow.id)).first()
        assert row is not None
        row.sealed = stranger.seal(b"x", f"template:{row.uid}/slot:{row.slot}")
    before = sealed_rows(registry)
    new = Vault.from_base64(TEST_KEY).rotated_to(NEW_RAW, source="new key")
    with pytest.raises(VaultUnknownKeyError) as caught:
        rotation.rotate(registry, new)
    assert caught.value.code == "PAD-VAULT-007" and stranger.kek_id.hex() in caught.value.message
    assert sealed_rows(registry) == before
    assert audit_actions(registry) == []
    # named in the counts
    counted = rotation.census(registry).to_dict(new)
    assert {k["kek_id"]: k["key"] for k in counted["keks"]}[stranger.kek_id.hex()] == "unknown"
    # with that key as an old key, the rotation goes through
    ring = Vault(NEW_RAW, old=[(bytes(range(32)), "test key"), (OTHER_RAW, "stranger")])
    assert rotation.rotate(registry, ring).rewrapped["templates"] == 22


def test_rotating_to_the_current_key_is_refused(registry: Registry) -> None:
    with pytest.raises(VaultSameKeyError) as caught:
        Vault.from_base64(TEST_KEY).rotated_to(bytes(range(32)), source="--new-key")
    assert caught.value.code == "PAD-VAULT-006"
    assert rotation.census(registry).counts == {"templates": {}, "images": {}, "gallery_segments": {}}
