"""Image bytes -> face template, as a straight line of small named steps.

decode -> detect (HOG without upsampling first, escalating to more upsampling and then to the CNN
"mmod" detector only when nothing is found) -> choose the subject (the largest face, weighted by its
closeness to the image centre) -> 5-point landmarks -> aligned 150x150 chip -> quality -> 128-d
ResNet descriptor of the chip and of its mirror image, averaged -> unit vector.

The ResNet runs in numpy (:mod:`padron.biometrics.face.resnet`, the same weights and numbers as dlib's
own pass at a fraction of its cost). Models are loaded on the first extraction, never at import.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from padron.biometrics.face import models, resnet
from padron.biometrics.face.decode import DecodedImage, decode_image
from padron.biometrics.face.errors import FaceParameterError, LowQualityError, NoFaceError
from padron.biometrics.face.quality import QualityMeasures, QualityParameters, QualityReport, measure, score
from padron.biometrics.face.template import to_template
from padron.domain.template import Template

CHIP_SIZE = 150  # what the ResNet model was trained on
CHIP_PADDING = 0.25
#: CENTRAL choice: a face's area is weighted by exp(-d^2 / 2 s^2), d its centre's distance from the
#: image centre and s this share of the image's short side
CENTRAL_SIGMA = 0.25


class Detector(StrEnum):
    HOG = "hog"
    MMOD = "mmod"


class FaceChoice(StrEnum):
    """Which face is the subject when several are found."""

    FIRST = "first"  # the detector's first (most confident): what face_recognition's [0] gives
    LARGEST = "largest"
    CENTRAL = "central"  # the largest, weighted by closeness to the image centre


class Purpose(StrEnum):
    ENROLL = "enroll"  # quality floor enforced
    VERIFY = "verify"  # any acquired face is compared; its quality is reported


@dataclass(frozen=True, slots=True)
class ExtractorParameters:
    detector: Detector = Detector.HOG
    #: when the chosen detector finds nothing, try the CNN detector before declaring failure to acquire
    cnn_fallback: bool = True
    #: HOG: start with the least upsampling the image size allows and upsample only when nothing is
    #: found (False: always the most, as :func:`upsampling_for` says)
    escalate: bool = True
    choice: FaceChoice = FaceChoice.CENTRAL
    #: average the descriptors of the chip and of its mirror image (two network passes in one batch)
    mirror: bool = True
    #: detection runs on a copy whose short side is at most this (landmarks use the full image)
    detect_max_side: int = 800
    quality: QualityParameters = field(default_factory=QualityParameters)

    def __post_init__(self) -> None:
        if self.detect_max_side < 64:
            raise FaceParameterError("detect_max_side must be at least 64", field="detect_max_side")

    def cache_key(self) -> str:
        """What changes the vector (quality constants do not; they are recomputed on re-runs)."""
        return (
            f"det={self.detector}+fb={int(self.cnn_fallback)}+esc={int(self.escalate)}"
            f"+choice={self.choice}+mirror={int(self.mirror)}+max={self.detect_max_side}"
        )


def upsampling_for(short_side: int) -> int:
    """HOG finds faces of about 80 px and up: upsample small images so that a face filling a third
    of the short side is comfortably above that."""
    if short_side >= 600:
        return 0
    if short_side >= 200:
        return 1
    return 2


def upsampling_schedule(short_side: int, escalate: bool) -> tuple[int, ...]:
    """The HOG upsampling levels to try in turn: from 0 (1 below 200 px, where a face of a third of
    the image is under HOG's 80 px) up to :func:`upsampling_for`, or only the latter."""
    most = upsampling_for(short_side)
    if not escalate:
        return (most,)
    return tuple(range(0 if short_side >= 200 else 1, most + 1))


@dataclass(frozen=True, slots=True)
class FaceBox:
    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.bottom - self.top)


def choose_face(boxes: Sequence[FaceBox], width: int, height: int, choice: FaceChoice) -> FaceBox:
    """The subject among the detected faces (``boxes`` in the detector's order, not empty)."""
    if choice is FaceChoice.FIRST:
        return boxes[0]
    if choice is FaceChoice.LARGEST:
        return max(boxes, key=lambda b: b.area)
    sigma = CENTRAL_SIGMA * min(width, height)

    def weight(b: FaceBox) -> float:
        dx = (b.left + b.right) / 2.0 - width / 2.0
        dy = (b.top + b.bottom) / 2.0 - height / 2.0
        return b.area * math.exp(-(dx * dx + dy * dy) / (2.0 * sigma * sigma))

    return max(boxes, key=weight)


@dataclass(frozen=True, slots=True)
class FaceSample:
    """The outcome of one extraction: the template and what a registry officer needs to see."""

    template: Template
    quality: QualityReport
    measures: QualityMeasures
    box: FaceBox
    landmarks: tuple[tuple[float, float], ...]
    detector: str
    image_size: tuple[int, int]
    extract_ms: float


def chip_descriptor(chip: npt.NDArray[np.uint8], *, mirror: bool) -> npt.NDArray[np.float64]:
    """The 128-d descriptor of an aligned 150x150 RGB chip (numpy ResNet); with ``mirror``, the mean
    of the chip's and its mirror image's descriptors (one batch of two)."""
    weights = resnet.load(models.model_file(models.RESNET))
    if not mirror:
        return np.asarray(resnet.descriptors(weights, chip)[0], dtype=np.float64)
    batch = np.stack([chip, chip[:, ::-1]])
    return np.asarray(resnet.descriptors(weights, batch).mean(axis=0), dtype=np.float64)


class FaceExtractor:
    """``FaceExtractor().extract(image_bytes)`` -> :class:`FaceSample`."""

    def __init__(self, params: ExtractorParameters | None = None) -> None:
        self.params = params or ExtractorParameters()

    def extract(self, data: bytes, purpose: Purpose = Purpose.VERIFY) -> FaceSample:
        start = time.perf_counter()
        image = decode_image(data)
        sample = self.extract_decoded(image, start=start)
        if purpose is Purpose.ENROLL and sample.quality.score < self.params.quality.enrollment_floor:
            raise LowQualityError(
                f"face quality {sample.quality.score:.0f} is below the enrollment floor "
                f"{self.params.quality.enrollment_floor:.0f}: " + "; ".join(sample.quality.reasons),
                score=round(sample.quality.score, 1),
                floor=self.params.quality.enrollment_floor,
                reasons=list(sample.quality.reasons),
            )
        return sample

    def extract_decoded(self, image: DecodedImage, *, start: float | None = None) -> FaceSample:
        start = time.perf_counter() if start is None else start
        m = models.load_models()
        pixels = image.pixels
        boxes, used = self.detect(pixels)
        if not boxes:
            raise NoFaceError(
                f"no face found in the {image.width}x{image.height} image (failure to acquire)",
                width=image.width,
                height=image.height,
            )
        chosen = choose_face(boxes, image.width, image.height, self.params.choice)
        rect = m.dlib.rectangle(chosen.left, chosen.top, chosen.right, chosen.bottom)
        shape = m.landmarks(pixels, rect)
        points = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)
        chip = np.asarray(m.dlib.get_face_chip(pixels, shape, size=CHIP_SIZE, padding=CHIP_PADDING))
        others = [float(b.width) for b in boxes if b is not chosen]
        measures = measure(points, chip, [float(chosen.width), *others])
        report = score(measures, self.params.quality)
        vector = chip_descriptor(chip, mirror=self.params.mirror)
        template = to_template(vector, quality=round(report.score, 1))
        return FaceSample(
            template=template,
            quality=report,
            measures=measures,
            box=chosen,
            landmarks=tuple((float(x), float(y)) for x, y in points),
            detector=used,
            image_size=(image.width, image.height),
            extract_ms=1000.0 * (time.perf_counter() - start),
        )

    def detect(self, pixels: npt.NDArray[np.uint8]) -> tuple[list[FaceBox], str]:
        """Face boxes in full-image coordinates (detector order) and the detector that found them,
        e.g. ``"hog0"`` (HOG without upsampling), ``"hog1"``, ``"mmod"``."""
        small, scale = _shrink(pixels, self.params.detect_max_side)
        schedule = upsampling_schedule(min(small.shape[:2]), self.params.escalate)
        attempts: list[tuple[Detector, int]] = []
        if self.params.detector is Detector.HOG:
            attempts += [(Detector.HOG, u) for u in schedule]
            if self.params.cnn_fallback:
                attempts.append((Detector.MMOD, schedule[-1]))
        else:
            attempts.append((Detector.MMOD, schedule[-1]))
        for detector, upsample in attempts:
            rects = _run_detector(detector, small, upsample)
            if rects:
                label = f"hog{upsample}" if detector is Detector.HOG else detector.value
                return [_box(r, scale) for r in rects], label
        return [], attempts[-1][0].value


def _run_detector(detector: Detector, pixels: npt.NDArray[np.uint8], upsample: int) -> list[Any]:
    if detector is Detector.HOG:
        return list(models.load_models().hog(pixels, upsample))
    return [d.rect for d in models.load_mmod()(pixels, upsample)]


def _shrink(pixels: npt.NDArray[np.uint8], max_short_side: int) -> tuple[npt.NDArray[np.uint8], float]:
    short = min(pixels.shape[:2])
    if short <= max_short_side:
        return pixels, 1.0
    from PIL import Image

    scale = max_short_side / short
    h, w = pixels.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR), dtype=np.uint8)
    return np.ascontiguousarray(small), scale


def _box(rect: Any, scale: float) -> FaceBox:
    """Back to full-image coordinates (a box may reach past the border; landmarks cope with that)."""
    return FaceBox(
        left=round(rect.left() / scale),
        top=round(rect.top() / scale),
        right=round(rect.right() / scale),
        bottom=round(rect.bottom() / scale),
    )
