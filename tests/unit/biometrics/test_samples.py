"""A refused sample says which slot it was refused for, with its modality's code."""

from __future__ import annotations

import pytest

from padron.biometrics.samples import extract_samples
from padron.domain.errors import PadronError
from tests.support.malformed_images import malformed_images


def test_a_refused_finger_names_its_position() -> None:
    bad = malformed_images()["png_bomb_declared"]
    with pytest.raises(PadronError) as caught:
        extract_samples(face=None, fingers={"7": bad}, enroll=True)
    assert caught.value.code == "PAD-FING-016"
    assert caught.value.message.startswith("finger 7: ")
    assert caught.value.details["slot"] == "7"
    assert str(caught.value).startswith("PAD-FING-016: finger 7: ")


def test_a_refused_face_names_the_face() -> None:
    with pytest.raises(PadronError) as caught:
        extract_samples(face=malformed_images()["pdf"], fingers={}, enroll=False)
    assert caught.value.code == "PAD-FACE-002"
    assert caught.value.message.startswith("face: the face image is not an image")
    assert caught.value.details["slot"] == "face"
