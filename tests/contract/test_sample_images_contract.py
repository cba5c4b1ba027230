"""Sealed sample images: kept with their enrollment attempt in the same transaction, shown to an
adjudicator (both sides of a case) with an audit entry per side, refused for a slot without a
template or when undecodable, and a moved or tampered row fails to open -- SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from padron.audit.entry import AuditEntry
from padron.domain.access import AccessContext, Channel, Purpose, Role
from padron.domain.errors import AccessDeniedError, PadronError
from padron.registry.identity import IdentityService, ImageSlotError
from padron.registry.service import Registry
from padron.registry.storage.models import AuditEntryRow, EnrollmentAttemptRow, SampleImageRow
from padron.registry.vault import VaultError
from tests.support.contexts import ADJUDICATOR, OFFICER, as_actor
from tests.support.sample_images import images_for, png
from tests.support.synthetic import SyntheticIdentity, draft, identity_service


def entries(registry: Registry) -> list[AuditEntry]:
    with registry.db.session() as session:
        return [AuditEntry.from_bytes(e) for e in session.scalars(select(AuditEntryRow.entry))]


def count(registry: Registry, model: type) -> int:
    with registry.db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def enroll_with_images(service: IdentityService, n: int) -> list[tuple[str, dict[str, bytes]]]:
    out = []
    for i in range(n):
        samples = SyntheticIdentity.make(i).capture(1)
        images = images_for(samples, seed=i)
        result = service.enroll(draft(i), samples, OFFICER, reason="r", images=images)
        assert result.status == "issued" and result.person is not None
        out.append((result.person.curp, images))
    return out


def grey_case(service: IdentityService, person: int) -> tuple[int, int, dict[str, bytes]]:
    """A face-only applicant in the grey zone of ``person``: (case id, attempt id, images)."""
    images = {"face": png(9000 + person)}
    sample = SyntheticIdentity.make(person).face_at(0.86, session=9)
    result = service.enroll(draft(80, given="Tomás"), sample, OFFICER, reason="r", images=images)
    assert result.status == "pending" and len(result.cases) == 1
    return result.cases[0], result.attempt_id, images


def test_case_images_show_both_sides_and_are_audited(registry: Registry) -> None:
    service = identity_service(registry)
    enrolled = enroll_with_images(service, 4)
    case_id, attempt_id, applicant = grey_case(service, 2)
    assert count(registry, SampleImageRow) == 4 * 11 + 1
    before = len(entries(registry))

    shown = service.case_images(case_id, ADJUDICATOR)
    assert shown.case_id == case_id and shown.attempt_id == attempt_id
    assert {slot: image.data for slot, image in shown.applicant.items()} == applicant
    assert {slot: image.data for slot, image in shown.candidate.items()} == enrolled[2][1]
    assert shown.applicant["face"].media_type == "image/png" and shown.candidate["3"].size > 0
    assert set(shown.sides()) == {"applicant", "candidate"}

    added = entries(registry)[before:]
    assert [e.action for e in added] == ["case.images", "case.images"]
    assert added[0].subject == f"attempt:{attempt_id}" and added[0].details["side"] == "applicant"
    assert str(added[1].subject).startswith("person:")
    assert added[1].details["slots"] == tuple(sorted(enrolled[2][1]))
    assert all(e.actor == ADJUDICATOR.actor for e in added)

    # a person's own images, audited as such
    mine = service.person_images(enrolled[1][0], ADJUDICATOR)
    assert {slot: image.data for slot, image in mine.items()} == enrolled[1][1]
    assert entries(registry)[-1].action == "person.images"

    # once the adjudicator says "different", the new person's images are the attempt's
    service.decide(case_id, as_actor("test:adjudicator", Purpose.ADJUDICATION), same=False, reason="ears")
    issued = registry.persons(as_actor("r", Purpose.ADMINISTRATION), name="TOMÁS")
    assert {s: i.data for s, i in service.person_images(issued[0].curp, ADJUDICATOR).items()} == applicant


def test_only_adjudicators_see_images(registry: Registry) -> None:
    service = identity_service(registry)
    enroll_with_images(service, 3)
    case_id, _, _ = grey_case(service, 1)
    before = len(entries(registry))
    adjudicator = AccessContext(
        actor="api:adj", role=Role.ADJUDICATOR, channel=Channel.API, purpose=Purpose.ADJUDICATION
    )
    assert service.case_images(case_id, adjudicator).applicant
    for role in (Role.VERIFIER, Role.REGISTRAR, Role.INVESTIGATOR, Role.AUDITOR):
        other = AccessContext(actor="api:x", role=role, channel=Channel.API, purpose=Purpose.ADJUDICATION)
        with pytest.raises(AccessDeniedError):
            service.case_images(case_id, other)
        with pytest.raises(AccessDeniedError):
            service.person_images("XXXX000000HXXXXX00", other)
    assert len(entries(registry)) == before + 2  # the refusals wrote nothing


def test_an_image_for_a_slot_without_template_is_refused(registry: Registry) -> None:
    service = identity_service(registry)
    samples = SyntheticIdentity.make(0).capture(1, fingers=("1", "2"))
    images = images_for(["face", "1", "2", "7"], seed=0)
    with pytest.raises(ImageSlotError) as caught:
        service.enroll(draft(0), samples, OFFICER, reason="r", images=images)
    assert caught.value.code == "PAD-ENR-002" and caught.value.details["slot"] == "7"
    assert count(registry, EnrollmentAttemptRow) == 0 and count(registry, SampleImageRow) == 0


def test_an_undecodable_image_is_refused_by_the_image_guard(registry: Registry) -> None:
    service = identity_service(registry)
    samples = SyntheticIdentity.make(0).capture(1, fingers=("1",))
    for images, prefix in (
        ({"1": b"not an image at all"}, "PAD-FING-"),
        ({"face": png(1)[:60]}, "PAD-FACE-"),
        ({"1": b""}, "PAD-FING-"),
    ):
        with pytest.raises(PadronError) as caught:
            service.enroll(draft(0), samples, OFFICER, reason="r", images=images)
        assert caught.value.code.startswith(prefix), caught.value
        assert caught.value.details["slot"] in images
    assert count(registry, EnrollmentAttemptRow) == 0 and count(registry, SampleImageRow) == 0


def test_a_moved_or_tampered_image_row_fails_to_open(registry: Registry) -> None:
    service = identity_service(registry)
    enroll_with_images(service, 3)
    case_id, attempt_id, _ = grey_case(service, 1)
    assert service.case_images(case_id, ADJUDICATOR).applicant
    with registry.db.session() as session:
        mine = session.scalars(select(SampleImageRow).where(SampleImageRow.attempt_id == attempt_id)).one()
        original = mine.sealed
        other = session.scalars(select(SampleImageRow).where(SampleImageRow.attempt_id == 1)).first()
        assert other is not None
    # the applicant's face row re-labelled as finger 1's (a slot it never had)
    with registry.db.session() as session:
        session.execute(update(SampleImageRow).where(SampleImageRow.id == mine.id).values(slot="1"))
    with pytest.raises(VaultError) as caught:
        service.case_images(case_id, ADJUDICATOR)
    assert caught.value.code == "PAD-VAULT-001" and "fails authentication" in caught.value.message
    # another attempt's sealed image copied over the applicant's
    with registry.db.session() as session:
        session.execute(
            update(SampleImageRow)
            .where(SampleImageRow.id == mine.id)
            .values(slot="face", sealed=other.sealed)
        )
    with pytest.raises(VaultError):
        service.case_images(case_id, ADJUDICATOR)
    # a flipped bit
    tampered = bytearray(original)
    tampered[-5] ^= 0x10
    with registry.db.session() as session:
        session.execute(
            update(SampleImageRow).where(SampleImageRow.id == mine.id).values(sealed=bytes(tampered))
        )
    with pytest.raises(VaultError):
        service.case_images(case_id, ADJUDICATOR)
    with registry.db.session() as session:
        session.execute(update(SampleImageRow).where(SampleImageRow.id == mine.id).values(sealed=original))
    assert service.case_images(case_id, ADJUDICATOR).applicant["face"].size > 0
