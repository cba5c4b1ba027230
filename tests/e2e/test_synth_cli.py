"""`padron synth fingerprints|population` as a user runs them: files, JSON, error codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from padron.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_synth_fingerprints_writes_an_fvc_style_folder(capsys, tmp_path: Path) -> None:
    out = tmp_path / "set"
    code, stdout, _ = run(
        capsys,
        "synth",
        "fingerprints",
        "--fingers",
        "2",
        "--impressions",
        "2",
        "--out",
        str(out),
        "--seed",
        "9",
        "--json",
    )
    assert code == 0 and json.loads(stdout)["images"] == 4
    assert sorted(p.name for p in out.glob("*.png")) == ["1_1.png", "1_2.png", "2_1.png", "2_2.png"]
    image = Image.open(out / "1_1.png")
    assert image.mode == "L" and image.size == (400, 480)
    assert tuple(round(d) for d in image.info["dpi"]) == (500, 500)
    manifest = json.loads((out / "fingers.json").read_text())
    assert [f["finger"] for f in manifest["fingers_detail"]] == [1, 2]
    # the same seed writes the same bytes
    again = tmp_path / "again"
    assert (
        run(
            capsys,
            "synth",
            "fingerprints",
            "--fingers",
            "1",
            "--impressions",
            "1",
            "--out",
            str(again),
            "--seed",
            "9",
            "--json",
        )[0]
        == 0
    )
    assert (again / "1_1.png").read_bytes() == (out / "1_1.png").read_bytes()
    tif = tmp_path / "tif"
    assert (
        run(
            capsys,
            "synth",
            "fingerprints",
            "--fingers",
            "1",
            "--impressions",
            "1",
            "--out",
            str(tif),
            "--seed",
            "9",
            "--format",
            "tif",
            "--json",
        )[0]
        == 0
    )
    assert np.array_equal(np.asarray(Image.open(tif / "1_1.tif")), np.asarray(Image.open(out / "1_1.png")))
    code, stdout, _ = run(
        capsys,
        "synth",
        "fingerprints",
        "--fingers",
        "1",
        "--out",
        str(tmp_path / "bmp"),
        "--format",
        "bmp",
        "--json",
    )
    assert code == 1 and json.loads(stdout)["error"]["code"] == "PAD-SYNTH-001"
    assert not np.array_equal(
        np.asarray(Image.open(out / "1_1.png")), np.asarray(Image.open(out / "2_1.png"))
    )


def test_synth_population_without_images_and_its_errors(capsys, tmp_path: Path) -> None:
    out = tmp_path / "pop"
    code, stdout, _ = run(
        capsys,
        "synth",
        "population",
        "--people",
        "20",
        "--duplicates",
        "3",
        "--no-images",
        "--out",
        str(out),
        "--json",
    )
    assert code == 0
    summary = json.loads(stdout)
    assert summary["records"] == 23 and summary["images"] == 0
    assert len((out / "persons.jsonl").read_text(encoding="utf-8").splitlines()) == 23
    assert len(json.loads((out / "ground_truth.json").read_text())["duplicates"]) == 3

    code, stdout, _ = run(capsys, "synth", "population", "--people", "2", "--out", str(out), "--json")
    assert code == 1 and json.loads(stdout)["error"]["code"] == "PAD-SYNTH-002"
    code, _, stderr = run(
        capsys, "synth", "population", "--people", "2", "--duplicates", "3", "--out", str(tmp_path / "x")
    )
    assert code == 1 and "PAD-SYNTH-003" in stderr
