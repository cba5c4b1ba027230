"""Image bytes -> face template, as a straight line of small named steps.

decode -> detect (HOG; CNN "mmod" selectable or as fallback) -> choose the largest face
-> 5-point landmarks -> aligned 150x150 chip -> quality -> 128-d ResNet descriptor -> unit vector.

Models are loaded on the first extraction, never at import.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from padron.biometrics.face import models
from padron.biometrics.face.decode import DecodedImage, decode_image
from padron.biometrics.face.errors import FaceParameterError, LowQualityError, NoFaceError
from padron.biometrics.face.quality import QualityMeasures, QualityParameters, QualityReport, measure, score
from padron.biometrics.face.template import to_template
from padron.domain.template import Template

CHIP_SIZE = 150  # what the ResNet model was trained on
CHIP_PADDING = 0.25


class Detector(StrEnum):
    HOG = "hog"
    MMOD = "mmod"


class Purpose(StrEnum):
    ENROLL = "enroll"  # quality floor enforced
    VERIFY = "verify"  # any acquired face is compared; its quality is reported


@dataclass(frozen=True, slots=True)
class ExtractorParameters:
    detector: Detector = Detector.HOG
    #: when the chosen detector finds nothing, try the CNN detector before declaring failure to acquire
    cnn_fallback: bool = True
    #: detection runs on a copy whose short side is at most this (landmarks use the full image)
    detect_max_side: int = 800
    quality: QualityParameters = field(default_factory=QualityParameters)

    def __post_init__(self) -> None:
        if self.detect_max_side < 64:
            raise FaceParameterError("detect_max_side must be at least 64", field="detect_max_side")

    def cache_key(self) -> str:
        """What changes the vector (quality constants do not; they are recomputed on re-runs)."""
        return f"det={self.detector}+fb={int(self.cnn_fallback)}+max={self.detect_max_side}"


def upsampling_for(short_side: int) -> int:
    """HOG finds faces of about 80 px and up: upsample small images so that a face filling a third
    of the short side is comfortably above that."""
    if short_side >= 600:
        return 0
    if short_side >= 200:
        return 1
    return 2


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


class DescriptorMemo:
    """Descriptors already computed in this process, by (image key, face rectangle).

    The ResNet descriptor is a pure function of the pixels and the landmarks, and the landmarks a pure
    function of the pixels and the rectangle; two pipelines that land on the same rectangle of the same
    image (padron and the baseline in an evaluation run) get the same 128 numbers, so the second one
    reads them here instead of running the network again (and is charged the time it took).
    """

    def __init__(self) -> None:
        self._memo: dict[tuple[str, tuple[int, int, int, int]], tuple[npt.NDArray[np.float64], float]] = {}

    def get(self, key: tuple[str, tuple[int, int, int, int]]) -> tuple[npt.NDArray[np.float64], float] | None:
        return self._memo.get(key)

    def put(
        self, key: tuple[str, tuple[int, int, int, int]], vector: npt.NDArray[np.float64], ms: float
    ) -> None:
        self._memo[key] = (vector, ms)

    def clear(self) -> None:
        self._memo.clear()


def descriptor(
    m: models.DlibModels,
    pixels: npt.NDArray[np.uint8],
    shape: Any,
    *,
    image_key: str | None = None,
    memo: DescriptorMemo | None = None,
) -> tuple[npt.NDArray[np.float64], float]:
    """(128-d ResNet descriptor of the face at ``shape``, milliseconds it took) -- one network pass,
    chip 150x150 with padding 0.25 as dlib aligns it, no jitter."""
    r = shape.rect
    key = (image_key, (r.left(), r.top(), r.right(), r.bottom())) if image_key is not None else None
    if memo is not None and key is not None:
        found = memo.get(key)
        if found is not None:
            return found
    start = time.perf_counter()
    vector = np.asarray(m.resnet.compute_face_descriptor(pixels, shape, 0, CHIP_PADDING), dtype=np.float64)
    ms = 1000.0 * (time.perf_counter() - start)
    if memo is not None and key is not None:
        memo.put(key, vector, ms)
    return vector, ms


class FaceExtractor:
    """``FaceExtractor().extract(image_bytes)`` -> :class:`FaceSample`."""

    def __init__(self, params: ExtractorParameters | None = None, memo: DescriptorMemo | None = None) -> None:
        self.params = params or ExtractorParameters()
        self.memo = memo

    def extract(
        self, data: bytes, purpose: Purpose = Purpose.VERIFY, *, image_key: str | None = None
    ) -> FaceSample:
        start = time.perf_counter()
        image = decode_image(data)
        sample = self.extract_decoded(image, start=start, image_key=image_key)
        if purpose is Purpose.ENROLL and sample.quality.score < self.params.quality.enrollment_floor:
            raise LowQualityError(
                f"face quality {sample.quality.score:.0f} is below the enrollment floor "
                f"{self.params.quality.enrollment_floor:.0f}: " + "; ".join(sample.quality.reasons),
                score=round(sample.quality.score, 1),
                floor=self.params.quality.enrollment_floor,
                reasons=list(sample.quality.reasons),
            )
        return sample

    def extract_decoded(
        self, image: DecodedImage, *, start: float | None = None, image_key: str | None = None
    ) -> FaceSample:
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
        largest = max(boxes, key=lambda b: b.area)
        rect = m.dlib.rectangle(largest.left, largest.top, largest.right, largest.bottom)
        shape = m.landmarks(pixels, rect)
        points = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)
        chip = np.asarray(m.dlib.get_face_chip(pixels, shape, size=CHIP_SIZE, padding=CHIP_PADDING))
        measures = measure(points, chip, [float(b.width) for b in boxes])
        report = score(measures, self.params.quality)
        before = time.perf_counter()
        vector, ms = descriptor(m, pixels, shape, image_key=image_key, memo=self.memo)
        template = to_template(vector, quality=round(report.score, 1))
        # a memo hit is charged the network time it saved, so timings stay comparable
        elapsed = 1000.0 * (before - start) + ms
        return FaceSample(
            template=template,
            quality=report,
            measures=measures,
            box=largest,
            landmarks=tuple((float(x), float(y)) for x, y in points),
            detector=used,
            image_size=(image.width, image.height),
            extract_ms=elapsed,
        )

    def detect(self, pixels: npt.NDArray[np.uint8]) -> tuple[list[FaceBox], str]:
        """Face boxes in full-image coordinates and the detector that found them."""
        small, scale = _shrink(pixels, self.params.detect_max_side)
        upsample = upsampling_for(min(small.shape[:2]))
        order = [self.params.detector]
        if self.params.cnn_fallback and self.params.detector is Detector.HOG:
            order.append(Detector.MMOD)
        for detector in order:
            rects = _run_detector(detector, small, upsample)
            if rects:
                return [_box(r, scale) for r in rects], detector.value
        return [], order[-1].value


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
