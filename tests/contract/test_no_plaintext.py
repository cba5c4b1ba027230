"""No biometric bytes in the clear on disk, on SQLite and on PostgreSQL.

Persons are enrolled through `padron enroll` from real images (LFW faces, FVC2002 fingers), one of
them twice (a refused or pending attempt keeps its templates and images too), then verified and
identified. Then every file under the data folder (the SQLite file and its WAL, key files, any
cache: PADRON_CACHE_DIR points inside it, and HOME at a folder that is scanned too) -- and on
PostgreSQL every value of every table plus the database's own files and its WAL -- is searched for:

* 64-byte windows of every submitted image file;
* the serialized templates (the envelope and windows of its payload: face embeddings,
  padron's fingerprint layout), opened from the vault to know what they are;
* the fingerprint minutiae coordinate blocks (x and y as stored) and the ISO/IEC 19794-2
  record of the same minutiae (its minutiae block);
* the galleries' packed form of each print (valid cylinders' bits, x, y and angle codes: what
  the gallery snapshots, written by `padron gallery snapshot`, hold inside their sealed segments).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import MetaData, create_engine, select, text

from padron.biometrics.fingerprint import iso19794
from padron.biometrics.fingerprint.template import from_envelope
from padron.domain.template import Modality
from padron.matching.modalities import FingerprintMatcher
from padron.registry.identity import open_template
from padron.registry.service import Registry
from padron.registry.storage.models import TemplateRow
from padron.registry.vault import Vault
from padron.settings import Settings
from tests.e2e.conftest import Cli

FACES = (
    "Colin_Powell/Colin_Powell_0005.jpg",
    "Tony_Blair/Tony_Blair_0005.jpg",
    "Ariel_Sharon/Ariel_Sharon_0001.jpg",
)
WINDOW = 64

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]


def windows(data: bytes, *, what: str) -> dict[str, bytes]:
    """Distinctive 64-byte windows of ``data`` (short data: all of it): the first one found from
    its start, quarter, middle and three quarters (sparse stretches, e.g. of cylinder bits, are
    stepped over)."""
    if len(data) <= WINDOW:
        return {f"{what} (all {len(data)} bytes)": data}
    out = {}
    for name, at in (
        ("start", 0),
        ("1/4", len(data) // 4),
        ("1/2", len(data) // 2),
        ("3/4", len(data) * 3 // 4),
    ):
        for start in range(min(at, len(data) - WINDOW), len(data) - WINDOW + 1, 16):
            if distinctive(data[start : start + WINDOW]):
                out[f"{what} @{name}"] = data[start : start + WINDOW]
                break
    return out


def distinctive(needle: bytes) -> bool:
    return len(needle) >= 16 and len(set(needle)) >= 8


def person_file(tmp_path: Path, name: str, birth: str) -> str:
    path = tmp_path / f"{name}.json"
    fields = {"given_names": "Eva", "first_surname": name, "second_surname": "Mora", "birth_date": birth}
    path.write_text(json.dumps({**fields, "sex": "M", "birth_state": "JC"}))
    return str(path)


@pytest.fixture
def cli(
    database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Cli:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"PADRON_{name.upper()}", raising=False)
    data = tmp_path / "data"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PADRON_DATA_DIR", str(data))
    monkeypatch.setenv("PADRON_CACHE_DIR", str(data / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PADRON_ACTOR", "test:officer")
    monkeypatch.setenv("COLUMNS", "200")
    if not database_url.startswith("sqlite"):
        monkeypatch.setenv("PADRON_DATABASE_URL", database_url)
    return Cli(capsys, data)


def files_under(*roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.exists():
            yield from (p for p in sorted(root.rglob("*")) if p.is_file())


def test_no_template_image_or_minutiae_bytes_in_the_clear(
    cli: Cli, database_url: str, shared_data: Path, tmp_path: Path
) -> None:
    lfw = shared_data / "faces" / "lfw" / "images_deepfunneled"
    fvc = shared_data / "fingerprints" / "FVC2002" / "DB1_B"
    assert cli("init").code == 0
    submitted: list[Path] = []
    people = (("Lopez", "1990-01-02", 0, ("101", "102")), ("Soto", "1985-03-04", 1, ("103", "104")))
    curps = []
    for name, birth, face, fingers in people:
        images = [lfw / FACES[face], fvc / f"{fingers[0]}_1.tif", fvc / f"{fingers[1]}_1.tif"]
        enrolled = cli(
            "enroll",
            "--person",
            person_file(tmp_path, name, birth),
            "--face",
            str(images[0]),
            "--finger",
            f"2={images[1]}",
            "--finger",
            f"7={images[2]}",
            "--json",
        )
        assert enrolled.code == 0 and enrolled.json["status"] == "issued", enrolled.out + enrolled.err
        curps.append(enrolled.json["curp"])
        submitted += images
    # the first person again, under another name and other impressions: refused or pending, and
    # its attempt keeps templates and images all the same
    again_images = [lfw / FACES[2], fvc / "101_3.tif", fvc / "102_3.tif"]
    again = cli(
        "enroll",
        "--person",
        person_file(tmp_path, "Ruiz", "1991-05-06"),
        "--face",
        str(again_images[0]),
        "--finger",
        f"2={again_images[1]}",
        "--finger",
        f"7={again_images[2]}",
        "--json",
    )
    assert again.code in (3, 4) and again.json["status"] in ("refused", "pending"), again.out + again.err
    submitted += again_images
    # reads on the service path write no biometric data either
    assert cli("verify", curps[0], "--finger", f"2={fvc / '101_5.tif'}", "--json").json["match"]
    found = cli("identify", "--finger", f"7={fvc / '102_6.tif'}", "--case", "T/1", "--json")
    assert found.code == 0, found.err
    # the galleries' search form saved (sealed segments in the registry), and loaded again
    saved = cli("gallery", "snapshot", "--json")
    assert saved.code == 0 and saved.json["snapshot"]["position"] >= 2, saved.out + saved.err
    stats = cli("gallery", "stats", "--json")
    assert stats.json["startup"]["source"] == "segments", stats.out

    # --- what must never be found ---------------------------------------------------------------
    needles: dict[str, bytes] = {}
    for path in submitted:
        content = path.read_bytes()
        found_in_file = windows(content[256:], what=f"image {path.name}")  # past the headers
        assert all(needle in content for needle in found_in_file.values())  # (the search works)
        needles.update(found_in_file)
    vault = Vault.from_key_file(cli.data_dir / "vault.key", create=False)
    registry = Registry.open(database_url if not database_url.startswith("sqlite") else cli_sqlite(cli))
    try:
        with registry.db.session() as session:
            rows = list(session.scalars(select(TemplateRow)))
            templates = [(row.slot, open_template(vault, row)) for row in rows]
    finally:
        registry.close()
    assert len(templates) == 3 * 3
    for slot, template in templates:
        what = f"{template.modality.value} template (slot {slot})"
        needles[f"{what}: envelope"] = template.to_bytes()[:WINDOW]
        needles.update(windows(template.payload, what=f"{what}: payload"))
        if template.modality is Modality.FINGERPRINT:
            fp = from_envelope(template)
            m = fp.minutiae
            needles[f"{what}: minutiae x"] = m.x.astype("<f4").tobytes()[:WINDOW]
            needles[f"{what}: minutiae y"] = m.y.astype("<f4").tobytes()[:WINDOW]
            record = iso19794.write(
                iso19794.IsoRecord(
                    width=fp.width,
                    height=fp.height,
                    views=(iso19794.view_from_minutiae(m, finger_position=int(slot)),),
                )
            )
            needles[f"{what}: ISO 19794-2 record header+minutiae"] = record[:WINDOW]
            needles[f"{what}: ISO 19794-2 minutiae block"] = record[28 : 28 + 8 * 6]
            packed = FingerprintMatcher().pack(fp)
            needles.update(windows(packed["bits"].tobytes(), what=f"{what}: packed cylinder bits"))
            for field in ("x", "y", "angle"):
                needles[f"{what}: packed {field}"] = packed[field].tobytes()[:WINDOW]
    weak = [name for name, needle in needles.items() if not distinctive(needle)]
    assert not weak, weak

    # --- the data folder (SQLite file, WAL, keys, caches) and HOME ---------------------------
    scanned = list(files_under(cli.data_dir, tmp_path / "home"))
    if database_url.startswith("sqlite"):
        assert cli.data_dir / "padron.db" in scanned
    for path in scanned:
        assert_clean(path.read_bytes(), needles, where=str(path))
    # (model files may be cached there, e.g. the exported leader network; extractions may not)
    for extraction_cache in ("fingerprint", "face"):
        for root in (cli.data_dir / "cache", tmp_path / "home" / ".cache" / "padron"):
            assert not (root / extraction_cache).exists(), f"the service path wrote {root / extraction_cache}"

    # --- PostgreSQL: every value of every table, and the server's files ------------------------
    if not database_url.startswith("sqlite"):
        scan_postgres(database_url, needles)


def cli_sqlite(cli: Cli) -> str:
    return f"sqlite:///{cli.data_dir / 'padron.db'}"


def assert_clean(haystack: bytes, needles: dict[str, bytes], *, where: str) -> None:
    for name, needle in needles.items():
        assert needle not in haystack, f"{name} found in the clear in {where}"
        assert needle.hex().encode() not in haystack, f"{name} found (as hex) in {where}"


def scan_postgres(url: str, needles: dict[str, bytes]) -> None:
    engine = create_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        assert {"sample_images", "templates", "gallery_segments"} <= set(metadata.tables)
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                dump = bytearray()
                for row in connection.execute(select(table)):
                    for value in row:
                        if isinstance(value, bytes | memoryview):
                            dump += bytes(value)
                        elif value is not None:
                            dump += (
                                value if isinstance(value, str) else json.dumps(value, default=str)
                            ).encode()
                        dump += b"\x00"
                assert_clean(bytes(dump), needles, where=f"PostgreSQL table {table.name}")
            # the files of the database and the write-ahead log, once written out
            connection.execute(text("CHECKPOINT"))
            data_dir = Path(connection.execute(text("SHOW data_directory")).scalar_one())
            oid = connection.execute(
                text("SELECT oid FROM pg_database WHERE datname = current_database()")
            ).scalar_one()
    finally:
        engine.dispose()
    try:
        files = list(files_under(data_dir / "base" / str(oid), data_dir / "pg_wal"))
        contents = [(path, path.read_bytes()) for path in files]
    except PermissionError:
        pytest.skip(f"the tables are clean; the server's files in {data_dir} are not readable by this user")
    assert any("pg_wal" in str(path) for path, _ in contents)
    for path, content in contents:
        assert_clean(content, needles, where=str(path))


def test_the_needles_would_be_found(tmp_path: Path) -> None:
    """The search itself: a value stored in the clear is found, raw or as hex."""
    secret = np.random.default_rng(0).integers(0, 256, 200, dtype=np.uint8).tobytes()
    needles = windows(secret, what="s")
    with pytest.raises(AssertionError, match="found in the clear"):
        assert_clean(b"xx" + secret + b"yy", needles, where="test")
    with pytest.raises(AssertionError, match="as hex"):
        assert_clean(secret.hex().encode(), needles, where="test")
