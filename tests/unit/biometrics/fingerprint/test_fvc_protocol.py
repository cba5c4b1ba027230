from __future__ import annotations

from pathlib import Path

import pytest

from padron.biometrics.fingerprint.errors import FvcLayoutError
from padron.biometrics.fingerprint.evaluation import fvc_images, fvc_pairs


def test_pairs_follow_the_fvc_protocol(tmp_path: Path) -> None:
    for finger in (101, 102, 103):
        for impression in (1, 2, 3):
            (tmp_path / f"{finger}_{impression}.tif").write_bytes(b"")
    (tmp_path / "readme.txt").write_text("ignored")
    (tmp_path / "101_x.tif").write_bytes(b"")  # not <finger>_<impression>: ignored
    images = fvc_images(tmp_path)
    assert len(images) == 9
    genuine, impostor = fvc_pairs(images)
    assert len(genuine) == 3 * 3  # C(3,2) per finger
    assert len(impostor) == 9 * 8 // 2 - 9  # every other unordered pair, once
    assert all(images[i].finger == images[j].finger and i < j for i, j in genuine)
    assert all(images[i].finger != images[j].finger and i < j for i, j in impostor)


def test_the_fvc_b_sets_give_280_genuine_and_2880_impostor_pairs(tmp_path: Path) -> None:
    for finger in range(101, 111):
        for impression in range(1, 9):
            (tmp_path / f"{finger}_{impression}.tif").write_bytes(b"")
    genuine, impostor = fvc_pairs(fvc_images(tmp_path))
    assert (len(genuine), len(impostor)) == (280, 2880)


def test_folders_without_pairs_are_refused(tmp_path: Path) -> None:
    (tmp_path / "101_1.tif").write_bytes(b"")
    (tmp_path / "102_1.tif").write_bytes(b"")  # two fingers, but no finger has two impressions
    with pytest.raises(FvcLayoutError):
        fvc_images(tmp_path)
    with pytest.raises(FvcLayoutError):
        fvc_images(tmp_path / "missing")
