"""The numpy ResNet against dlib's own pass, the weights file check, face choice and HOG upsampling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from padron.biometrics.face import models, resnet
from padron.biometrics.face.errors import FaceModelUnavailableError
from padron.biometrics.face.extract import (
    FaceBox,
    FaceChoice,
    chip_descriptor,
    choose_face,
    upsampling_schedule,
)


@pytest.mark.usefixtures("dlib_ready")
def test_numpy_resnet_equals_dlibs_pass_on_any_chip() -> None:
    """Same weights, same arithmetic: dlib's compute_face_descriptor on a 150x150 chip, to 1e-5."""
    m = models.load_models()
    weights = resnet.load(models.model_file(models.RESNET))
    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, (15, 15, 3), dtype=np.uint8)
    chips = [
        np.ascontiguousarray(
            np.kron(base, np.ones((10, 10, 1), dtype=np.uint8))
        ),  # blocky, face-sized detail
        rng.integers(0, 256, (150, 150, 3), dtype=np.uint8),
    ]
    ours = resnet.descriptors(weights, np.stack(chips))
    for chip, mine in zip(chips, ours, strict=True):
        theirs = np.asarray(m.resnet.compute_face_descriptor(chip), dtype=np.float64)
        assert np.abs(mine - theirs).max() < 1e-5
    assert not np.allclose(ours[0], ours[1], atol=1e-3)  # different chips, different descriptors


@pytest.mark.usefixtures("dlib_ready")
def test_mirror_descriptor_is_the_mean_of_the_chip_and_its_mirror() -> None:
    rng = np.random.default_rng(4)
    chip = rng.integers(0, 256, (150, 150, 3), dtype=np.uint8)
    mirror = np.ascontiguousarray(chip[:, ::-1])
    one, flipped = chip_descriptor(chip, mirror=False), chip_descriptor(mirror, mirror=False)
    both = chip_descriptor(chip, mirror=True)
    assert np.allclose(both, (one + flipped) / 2.0, atol=1e-5)
    assert np.allclose(both, chip_descriptor(mirror, mirror=True), atol=1e-5)  # blind to a flip


def test_a_file_that_is_not_dlibs_face_resnet_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "fake.dat"
    fake.write_bytes(b"\x01\x15input_rgb_image_sized" + bytes(64))
    with pytest.raises(FaceModelUnavailableError) as caught:
        resnet.parse(fake)
    assert caught.value.code == "PAD-FACE-020"
    empty = tmp_path / "empty.dat"
    empty.write_bytes(b"")
    with pytest.raises(FaceModelUnavailableError):
        resnet.parse(empty)


def test_choice_of_face_first_largest_central() -> None:
    """A 400x300 photo: a large face cut at the left edge, the subject a little smaller and centred."""
    edge = FaceBox(left=-20, top=80, right=130, bottom=230)  # 150 px wide, centre 145 px off centre
    subject = FaceBox(left=140, top=90, right=260, bottom=210)  # 120 px wide, at the centre
    small = FaceBox(left=330, top=10, right=370, bottom=50)
    boxes = [small, edge, subject]  # detector order
    assert choose_face(boxes, 400, 300, FaceChoice.FIRST) == small
    assert choose_face(boxes, 400, 300, FaceChoice.LARGEST) == edge
    assert choose_face(boxes, 400, 300, FaceChoice.CENTRAL) == subject
    # a lone face is chosen wherever it is
    assert choose_face([edge], 400, 300, FaceChoice.CENTRAL) == edge


def test_hog_upsampling_escalates_from_none_on_photos_of_200_px_and_more() -> None:
    assert upsampling_schedule(250, escalate=True) == (0, 1)
    assert upsampling_schedule(250, escalate=False) == (1,)
    assert upsampling_schedule(150, escalate=True) == (1, 2)
    assert upsampling_schedule(1200, escalate=True) == (0,)
