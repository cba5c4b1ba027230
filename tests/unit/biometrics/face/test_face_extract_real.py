"""Extraction on real faces (LFW, read from ../shared/data; skipped where absent) and on images
without a face (made here)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from padron.biometrics.face import (
    ExtractorParameters,
    FaceChoice,
    FaceComparator,
    FaceExtractor,
    Purpose,
    QualityParameters,
    vector_of,
)
from padron.biometrics.face.baseline import baseline_vector
from padron.biometrics.face.errors import LowQualityError, NoFaceError
from tests.unit.biometrics.face.face_images import encode, lfw_image, noise_image

pytestmark = pytest.mark.usefixtures("dlib_ready")


def test_image_without_a_face_is_a_failure_to_acquire() -> None:
    with pytest.raises(NoFaceError) as caught:
        FaceExtractor().extract(encode(noise_image(120, 120), "PNG"))
    assert caught.value.code == "PAD-FACE-010"


@pytest.mark.shared_data
def test_same_person_scores_above_the_calibrated_threshold_and_strangers_below(lfw: Path) -> None:
    extractor, comparator = FaceExtractor(), FaceComparator()
    a1 = extractor.extract(lfw_image(lfw, "Abel_Pacheco", 1)).template
    a4 = extractor.extract(lfw_image(lfw, "Abel_Pacheco", 4)).template
    other = extractor.extract(lfw_image(lfw, "Dean_Barker", 1)).template
    genuine, impostor = comparator.compare(a1, a4), comparator.compare(a1, other)
    assert genuine > impostor
    assert comparator.decide(genuine, fmr=1e-3)
    assert not comparator.decide(impostor, fmr=1e-3)


@pytest.mark.shared_data
def test_blurred_photo_scores_lower_and_enrollment_refuses_it_with_reasons(lfw: Path) -> None:
    data = lfw_image(lfw, "Abel_Pacheco", 1)
    blurred = Image.open(io.BytesIO(data)).filter(ImageFilter.GaussianBlur(3))
    extractor = FaceExtractor(ExtractorParameters(quality=QualityParameters(enrollment_floor=30.0)))
    sharp = extractor.extract(data)
    soft = extractor.extract(encode(blurred, "PNG"))
    assert soft.quality.score < sharp.quality.score
    assert soft.quality.score < 30.0
    with pytest.raises(LowQualityError) as caught:
        extractor.extract(encode(blurred, "PNG"), Purpose.ENROLL)
    assert any("blurred" in r for r in caught.value.details["reasons"])


@pytest.mark.shared_data
def test_two_faces_the_large_central_one_is_used_and_reported(lfw: Path) -> None:
    big = Image.open(io.BytesIO(lfw_image(lfw, "Abel_Pacheco", 1))).convert("RGB")
    small = Image.open(io.BytesIO(lfw_image(lfw, "Dean_Barker", 1))).convert("RGB").resize((200, 200))
    canvas = Image.new("RGB", (460, 250), (128, 128, 128))
    canvas.paste(small, (0, 25))
    canvas.paste(big, (210, 0))
    extractor, comparator = FaceExtractor(), FaceComparator()
    sample = extractor.extract(encode(canvas, "PNG"))
    assert sample.quality.faces_found == 2
    assert any("largest near the centre was used" in r for r in sample.quality.reasons)
    assert sample.box.left >= 210  # the face on the right, the larger one
    alone = extractor.extract(lfw_image(lfw, "Abel_Pacheco", 1)).template
    assert comparator.compare(sample.template, alone) > 0.95


@pytest.mark.shared_data
def test_numpy_resnet_gives_dlibs_descriptor_for_the_same_face(lfw: Path) -> None:
    """padron's network pass (numpy) and the baseline's (dlib's own code) agree on the same face."""
    data = lfw_image(lfw, "Dean_Barker", 1)
    single = FaceExtractor(ExtractorParameters(mirror=False, escalate=False, choice=FaceChoice.FIRST))
    padron = single.extract(data).template
    baseline, _ = baseline_vector(data)
    assert np.allclose(vector_of(padron), baseline / np.linalg.norm(baseline), atol=1e-5)


@pytest.mark.shared_data
def test_a_mirrored_photo_gives_nearly_the_same_template(lfw: Path) -> None:
    """Mirror averaging makes the template (nearly) blind to a left-right flip of the photo; one pass
    is not."""
    data = lfw_image(lfw, "Abel_Pacheco", 1)
    flipped = encode(Image.open(io.BytesIO(data)).transpose(Image.Transpose.FLIP_LEFT_RIGHT), "PNG")
    comparator = FaceComparator()
    scores = {}
    for mirror in (True, False):
        extractor = FaceExtractor(ExtractorParameters(mirror=mirror))
        scores[mirror] = comparator.compare(
            extractor.extract(data).template, extractor.extract(flipped).template
        )
    assert scores[True] > 0.995
    assert scores[True] > scores[False]
