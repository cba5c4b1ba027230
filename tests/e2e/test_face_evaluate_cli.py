"""`padron evaluate face`: figures a user would check, error codes instead of tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from padron.cli.evaluate_cmd import app

REPO = Path(__file__).resolve().parents[2]
LFW = REPO.parent / "shared" / "data" / "faces" / "lfw"
runner = CliRunner()


def needs_lfw() -> Path:
    if not (LFW / "pairs.txt").is_file():
        pytest.skip(f"LFW not found at {LFW} (needs ../shared/data/faces/lfw beside the repository)")
    pytest.importorskip("dlib", reason="dlib is not installed (install padron's `face` extra)")
    return LFW


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["face", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout


def test_missing_lfw_files_give_a_coded_error_not_a_traceback(tmp_path: Path) -> None:
    code, out = run(str(tmp_path), "--protocol", "lfw", "--json", "--no-cache")
    assert code == 1
    error = json.loads(out)["error"]
    assert error["code"] == "PAD-FACE-030"
    assert "Traceback" not in out
    code, out = run(str(tmp_path), "--pairs", "2", "--calibrate", str(tmp_path / "c.json"), "--json")
    assert code == 1
    assert "--calibrate" in json.loads(out)["error"]["message"]
    code, out = run(str(tmp_path), "--protocol", "folders", "--json", "--no-cache")
    assert code == 1
    assert json.loads(out)["error"]["code"] == "PAD-FACE-030"  # no identity sub-folders


def test_folders_protocol_counts_unusable_files_as_failures_to_acquire(tmp_path: Path) -> None:
    pytest.importorskip("dlib", reason="dlib is not installed (install padron's `face` extra)")
    rng = np.random.default_rng(0)
    for person in ("ann", "bob"):
        (tmp_path / person).mkdir()
        for k in range(2):
            pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / person / f"{k}.png")
    (tmp_path / "bob" / "2.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (tmp_path / "bob" / "3.png").write_bytes(b"")
    code, out = run(str(tmp_path), "--protocol", "folders", "--json", "--cache-dir", str(tmp_path / "cache"))
    assert code == 0, out
    result = json.loads(out)
    assert result["templates"] == 0
    assert result["fta"] == 6
    assert result["details"]["fta_codes"] == {"PAD-FACE-001": 1, "PAD-FACE-004": 1, "PAD-FACE-010": 4}
    assert result["eer"] == pytest.approx(0.5)  # nothing acquired: no better than chance


@pytest.mark.shared_data
@pytest.mark.slow
def test_lfw_subset_with_baseline_json_and_plot(tmp_path: Path) -> None:
    lfw = needs_lfw()
    plot = tmp_path / "det.png"
    args = ["--protocol", "lfw", "--pairs", "3", "--baseline", "dlib", "--json", "--plot", str(plot)]
    code, out = run(str(lfw), *args, "--cache-dir", str(tmp_path / "cache"))
    assert code == 0, out
    result = json.loads(out)
    for key in ("accuracy_mean", "accuracy_std", "tar_at_far_1e-3", "fta", "templates", "extract_ms_median"):
        assert key in result and key in result["baseline"]
    assert result["details"]["pairs"] == 60
    assert result["accuracy_mean"] >= 0.9
    assert result["baseline"]["accuracy_mean"] >= 0.9
    images = result["details"]["images"]
    assert result["templates"] + result["fta"] == images
    assert result["fta"] <= 0.05 * images
    assert plot.stat().st_size > 10_000
    assert Image.open(plot).format == "PNG"
    # a second run reads every template from the cache and gives the same figures
    code, again = run(str(lfw), *args, "--cache-dir", str(tmp_path / "cache"))
    assert code == 0
    assert json.loads(again)["accuracy_mean"] == result["accuracy_mean"]


@pytest.mark.shared_data
@pytest.mark.slow
def test_folders_protocol_on_a_dozen_lfw_identities(tmp_path: Path) -> None:
    lfw = needs_lfw()
    people = sorted(p for p in (lfw / "images_deepfunneled").iterdir() if len(list(p.iterdir())) >= 4)[:12]
    for person in people:
        (tmp_path / "set" / person.name).mkdir(parents=True)
        for image in sorted(person.iterdir())[:4]:
            (tmp_path / "set" / person.name / image.name).symlink_to(image)  # links, never copies
    code, out = run(str(tmp_path / "set"), "--protocol", "folders", "--json", "--no-cache")
    assert code == 0, out
    result = json.loads(out)
    assert set(result) >= {"eer", "fmr100", "fmr1000", "rank1", "fta", "templates", "extract_ms_median"}
    assert result["details"]["genuine_pairs"] == 12 * 6
    assert result["details"]["impostor_pairs"] == (48 * 47) // 2 - 72
    assert result["rank1"] >= 0.9
    assert result["eer"] <= 0.1


def test_face_check_reports_each_bad_input_by_code(tmp_path: Path) -> None:
    from padron.cli.face_cmd import app as face_app

    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    # an empty or missing file is refused when it is read, before any decoder sees it
    cases = {empty: "PAD-FILE-003", text: "PAD-FACE-002", tmp_path / "missing.jpg": "PAD-FILE-001"}
    for path, code in cases.items():
        result = runner.invoke(face_app, ["check", str(path), "--json"])
        assert result.exit_code == 1
        assert json.loads(result.stdout)["error"]["code"] == code
    bad = runner.invoke(face_app, ["check", str(empty), "--detector", "yolo", "--json"])
    assert json.loads(bad.stdout)["error"]["code"] == "PAD-FACE-021"


@pytest.mark.shared_data
def test_face_check_accepts_a_real_photo_and_enroll_applies_the_floor() -> None:
    lfw = needs_lfw()
    from padron.cli.face_cmd import app as face_app

    photo = lfw / "images_deepfunneled" / "Abel_Pacheco" / "Abel_Pacheco_0001.jpg"
    ok = runner.invoke(face_app, ["check", str(photo), "--json"])
    assert ok.exit_code == 0, ok.stdout
    report = json.loads(ok.stdout)
    assert report["faces_found"] == 1 and report["template_bytes"] > 512
    score = report["quality"]["score"]
    refused = runner.invoke(
        face_app, ["check", str(photo), "--enroll", "--floor", str(min(100.0, score + 1)), "--json"]
    )
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["error"]["code"] == "PAD-FACE-011"
    cnn = runner.invoke(face_app, ["check", str(photo), "--detector", "mmod", "--json"])
    assert cnn.exit_code == 0
    assert json.loads(cnn.stdout)["detector"] == "mmod"
