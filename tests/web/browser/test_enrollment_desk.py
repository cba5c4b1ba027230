"""The enrollment desk in headless Chromium on the production path: a server built from
settings (padron's face and fingerprint extractors, real keys), real images from
../shared/data (an LFW face, FVC2002 DB1_B fingers). The registrar types the demographics and
sees the CURP preview and the rule that fails, chooses the images and sees each one's quality
(the LFW face is under the enrollment floor, with the reasons), enrolls (a CURP is issued), and
enrolls the same fingers under another name (refused, linked to the existing record)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from padron.api.app import create_app
from padron.domain.access import Role
from padron.registry.keys import KeyStore
from padron.registry.service import Registry
from padron.settings import Settings
from tests.web.browser.conftest import Server, check_accessibility, log_in, screenshot, serve

pytestmark = [
    pytest.mark.xdist_group("browser"),
    pytest.mark.slow,
    pytest.mark.shared_data,
    pytest.mark.browser,
]


@pytest.fixture(scope="module")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[Role, str]]]:
    folder = tmp_path_factory.mktemp("desk")
    settings = Settings(data_dir=folder / "data")
    settings.ensure_data_dir()
    registry = Registry.open(settings.effective_database_url, migrate=True)
    store = KeyStore(registry)
    tokens = {
        role: store.create(f"{role.value} mesa", role, created_by="test:admin").token
        for role in (Role.REGISTRAR, Role.ADJUDICATOR)
    }
    registry.close()
    server = serve(create_app(settings), ready_path="/ready", timeout=180)
    try:
        yield server, tokens
    finally:
        server.stop()


def choose(page: Any, field: str, path: Path) -> Any:
    page.locator(f"#{field}").set_input_files(str(path))
    box = page.locator(f"#quality-{field}")
    expect(box).not_to_have_text("…", timeout=60_000)
    expect(box).not_to_be_empty(timeout=60_000)
    return box


def fill_person(page: Any, given: str) -> None:
    page.get_by_label("Nombre(s)").fill(given)
    page.get_by_label("Primer apellido").fill("Hernández")
    page.get_by_label("Segundo apellido").fill("García")
    page.get_by_label("Fecha de nacimiento").fill("1990-05-17")
    page.get_by_label("Sexo").select_option("H")


def test_an_adjudicator_sees_real_fingers_with_their_minutiae(
    real_server: tuple[Server, dict[Role, str]], browser: Any, shared_data: Path
) -> None:
    """Three fingers of one person enrolled, then three other fingers whose impostor scores are
    the highest of FVC2002 DB1_B against them: together they land in the grey zone (first in
    the module: the grey zone's thresholds rise with the gallery's size)."""
    server, tokens = real_server
    fvc = shared_data / "fingerprints" / "FVC2002" / "DB1_B"

    def enroll(given: str, fingers: dict[int, str]) -> Any:
        person = {
            "given_names": given,
            "first_surname": "Ortiz",
            "birth_date": "1985-02-03",
            "sex": "H",
            "birth_state": "NL",
        }
        files = {
            f"finger_{p}": (f"{p}.tif", (fvc / name).read_bytes(), "image/tiff")
            for p, name in fingers.items()
        }
        response = httpx.post(
            f"{server.url}/v1/enrollments",
            data={"person": json.dumps(person)},
            files=files,
            headers={"Authorization": f"Bearer {tokens[Role.REGISTRAR]}"},
            timeout=120,
        )
        assert response.status_code in (201, 202), response.text
        return response.json()

    assert enroll("Pablo", {4: "105_1.tif", 5: "102_1.tif", 6: "103_1.tif"})["status"] == "issued"
    pending = enroll("Raúl", {4: "102_4.tif", 5: "105_6.tif", 6: "107_7.tif"})
    assert pending["status"] == "pending", pending
    (case_id,) = pending["cases"]
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        page = context.new_page()
        log_in(page, server.url, tokens[Role.ADJUDICATOR])
        page.goto(f"{server.url}/console/adjudication/{case_id}")
        page.wait_for_load_state("networkidle")
        images = page.locator("figure img")
        assert images.count() == 6
        assert all(images.nth(i).evaluate("img => img.naturalWidth > 100") for i in range(6))
        expect(page.locator("tr.differs").first).to_contain_text("PABLO")
        check_accessibility(page)
        screenshot(page, "adjudication-case-fvc")
        page.get_by_label("Motivo de la decisión").fill("Crestas distintas en los tres dedos.")
        page.get_by_role("button", name="Personas distintas").click()
        expect(page.get_by_role("status")).to_contain_text(f"Caso {case_id}")
    finally:
        context.close()


def test_a_registrar_enrolls_a_person_with_real_images(
    real_server: tuple[Server, dict[Role, str]], browser: Any, shared_data: Path
) -> None:
    server, tokens = real_server
    fvc = shared_data / "fingerprints" / "FVC2002" / "DB1_B"
    lfw = shared_data / "faces" / "lfw" / "images_deepfunneled"
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        page = context.new_page()
        log_in(page, server.url, tokens[Role.REGISTRAR])
        page.get_by_role("navigation").get_by_role("link", name="Mesa de enrolamiento").click()
        fill_person(page, "Juan")
        # no state of birth yet: the rule that fails is shown, then the CURP once it passes
        expect(page.locator("#curp-rule")).to_contain_text("PAD-", timeout=10_000)
        page.get_by_label("Entidad de nacimiento").select_option("DF")
        expect(page.locator("#curp-preview")).to_have_text("HEGJ900517HDFRRN03", timeout=10_000)
        expect(page.locator("#curp-rule")).to_have_text("")
        # the LFW face is under the enrollment floor: refused with its reasons and a thumbnail
        face = choose(page, "face", lfw / "Colin_Powell" / "Colin_Powell_0001.jpg")
        expect(face).to_contain_text("PAD-FACE-011")
        assert face.locator("li").count() >= 1 and face.locator("img").count() == 1
        for field, image in (("finger_2", fvc / "101_1.tif"), ("finger_7", fvc / "102_1.tif")):
            box = choose(page, field, image)
            expect(box).to_contain_text("aceptable")
            assert box.locator("img").evaluate("img => img.naturalWidth > 0")
        check_accessibility(page)
        page.locator("#face").set_input_files([])  # enroll with the fingers only
        page.get_by_role("button", name="Enrolar").click()
        outcome = page.locator("#outcome")
        expect(outcome).to_contain_text("CURP emitida", timeout=90_000)
        expect(outcome).to_contain_text("HEGJ900517HDFRRN03")
        expect(outcome).to_be_focused()
        screenshot(page, "enrollment-desk")
        # the same fingers under another name: refused, with a link to the record
        page.goto(f"{server.url}/console/enrollment")
        fill_person(page, "José")
        page.get_by_label("Entidad de nacimiento").select_option("JC")
        page.locator("#finger_2").set_input_files(str(fvc / "101_3.tif"))
        page.locator("#finger_7").set_input_files(str(fvc / "102_4.tif"))
        page.get_by_role("button", name="Enrolar").click()
        expect(outcome).to_contain_text("ya está enrolada", timeout=90_000)
        page.get_by_role("link", name="HEGJ900517HDFRRN03").click()
        expect(page.locator("h1")).to_contain_text("HEGJ900517HDFRRN03")
        check_accessibility(page)
    finally:
        context.close()
