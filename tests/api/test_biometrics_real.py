"""The biometric endpoints on the production path: a server built from settings (its galleries
loaded in the background), real keys, padron's face and fingerprint extractors, real images
(LFW faces, FVC2002 DB1_B fingers) and an ISO/IEC 19794-2 record from a capture device."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from padron.api.app import create_app
from padron.domain.access import Role
from padron.registry.keys import KeyStore
from padron.registry.service import Registry
from padron.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]


def _ready(client: TestClient) -> None:
    deadline = time.monotonic() + 120
    while (ready := client.get("/ready")).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ready.status_code == 200 and ready.json()["gallery"] == "ready", ready.text


def test_enroll_verify_and_identify_with_real_images(tmp_path: Path, shared_data: Path) -> None:
    from padron.biometrics.fingerprint import FingerprintExtractor
    from padron.biometrics.fingerprint import iso19794 as iso

    fvc = shared_data / "fingerprints" / "FVC2002" / "DB1_B"
    lfw = shared_data / "faces" / "lfw" / "images_deepfunneled"

    def finger(n: int, impression: int) -> bytes:
        return (fvc / f"{n}_{impression}.tif").read_bytes()

    def face(name: str, k: int) -> bytes:
        return (lfw / name / f"{name}_{k:04d}.jpg").read_bytes()

    settings = Settings(data_dir=tmp_path / "data")
    settings.ensure_data_dir()
    registry = Registry.open(settings.effective_database_url, migrate=True)
    store = KeyStore(registry)
    tokens = {
        role: store.create(f"{role.value} desk", role, created_by="test:admin").token
        for role in (Role.REGISTRAR, Role.VERIFIER, Role.INVESTIGATOR)
    }
    registry.close()

    def key(role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[role]}"}

    person = (
        '{"given_names": "Ana", "first_surname": "López", "birth_date": "1990-01-02", '
        '"sex": "M", "birth_state": "JC", "reason": "alta"}'
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        _ready(client)
        files: dict[str, Any] = {
            "face": ("face.jpg", face("Colin_Powell", 1), "image/jpeg"),
            "finger_2": ("2.tif", finger(101, 1), "image/tiff"),
            "finger_7": ("7.tif", finger(102, 1), "image/tiff"),
        }
        # LFW's faces are small and soft: under the enrollment floor, refused with the reasons
        low = client.post(
            "/v1/enrollments", data={"person": person}, files=files, headers=key(Role.REGISTRAR)
        )
        assert low.status_code == 422 and low.json()["code"] == "PAD-FACE-011", low.text
        assert low.json()["details"]["slot"] == "face" and low.json()["details"]["reasons"]
        del files["face"]
        enrolled = client.post(
            "/v1/enrollments", data={"person": person}, files=files, headers=key(Role.REGISTRAR)
        )
        assert enrolled.status_code == 201, enrolled.text
        curp = enrolled.json()["curp"]

        def verify(parts: dict[str, Any]) -> Any:
            response = client.post(
                "/v1/verifications", data={"curp": curp}, files=parts, headers=key(Role.VERIFIER)
            )
            assert response.status_code == 200, response.text
            return response.json()

        genuine = {
            "finger_2": ("2.tif", finger(101, 3), "image/tiff"),
            "finger_7": ("7.tif", finger(102, 4), "image/tiff"),
        }
        assert verify(genuine) == {"curp": curp, "match": True}
        impostor = {
            "finger_2": ("2.tif", finger(103, 3), "image/tiff"),
            "finger_7": ("7.tif", finger(104, 4), "image/tiff"),
        }
        assert verify(impostor) == {"curp": curp, "match": False}
        no_face = client.post(
            "/v1/verifications",
            data={"curp": curp},
            files={"face": ("f.jpg", face("Colin_Powell", 2), "image/jpeg")},
            headers=key(Role.VERIFIER),
        )
        assert no_face.status_code == 422 and no_face.json()["code"] == "PAD-VER-001", no_face.text

        # a capture device that sends minutiae: ISO/IEC 19794-2 records instead of images
        def record(image: bytes, position: int) -> bytes:
            template = FingerprintExtractor().template(image)
            view = iso.view_from_minutiae(template.minutiae, finger_position=position, quality=60)
            return iso.write(iso.IsoRecord(width=template.width, height=template.height, views=(view,)))

        templates = {
            "finger_template_2": ("2.iso", record(finger(101, 5), 2), "application/octet-stream"),
            "finger_template_7": ("7.iso", record(finger(102, 6), 7), "application/octet-stream"),
        }
        assert verify(templates) == {"curp": curp, "match": True}
        wrong_finger = {"finger_template_3": templates["finger_template_2"]}
        refused = client.post(
            "/v1/verifications", data={"curp": curp}, files=wrong_finger, headers=key(Role.VERIFIER)
        )
        assert refused.status_code == 422 and refused.json()["code"] == "PAD-FING-010", refused.text
        assert refused.json()["details"]["slot"] == "3"

        found = client.post(
            "/v1/identifications",
            data={"case_ref": "FGR/1/2026"},
            files=genuine,
            headers=key(Role.INVESTIGATOR),
        )
        assert found.status_code == 200, found.text
        assert found.json()["candidates"] == [{"rank": 1, "curp": curp}]

        unreadable = {"finger_2": ("2.tif", b"II*\x00 broken", "image/tiff")}
        bad = client.post(
            "/v1/verifications", data={"curp": curp}, files=unreadable, headers=key(Role.VERIFIER)
        )
        assert bad.status_code == 422 and bad.json()["code"].startswith("PAD-FING-01"), bad.text
