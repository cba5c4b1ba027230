"""Face sample quality from the 5 landmarks and the aligned face chip: a 0-100 score with reasons.

Each measure becomes a factor in [0, 1] through a linear ramp between a "bad" and a "good" value
(all in :class:`QualityParameters`); the score is 100 x the product of the factors, so one bad
measure is enough to sink a sample, and each factor below 1 adds a reason a person can act on.

Measures:

- inter-eye distance: pixels between the two eye centres in the original image (resolution);
- sharpness: variance of the Laplacian of the 150x150 aligned grey chip (scale-normalized);
- exposure: mean grey level and share of clipped pixels in the chip's central region;
- frontal pose: yaw from the nose's offset from the eye midpoint along the eye line, pitch from
  its distance below the eye line (both over the inter-eye distance), roll from the eye line's angle;
- several faces: when a second face is at least half as wide as the largest, the subject is ambiguous.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from padron.biometrics.face.errors import FaceParameterError


@dataclass(frozen=True, slots=True)
class Ramp:
    """Factor 0 at ``bad``, 1 at ``good`` (either order), linear between."""

    bad: float
    good: float

    def __call__(self, value: float) -> float:
        if self.good == self.bad:
            return 1.0 if value >= self.good else 0.0
        return float(min(1.0, max(0.0, (value - self.bad) / (self.good - self.bad))))


@dataclass(frozen=True, slots=True)
class QualityParameters:
    """Tuning constants of the quality score, in one place."""

    #: enrollment refuses a sample whose score is below this
    enrollment_floor: float = 50.0
    inter_eye_px: Ramp = field(default_factory=lambda: Ramp(bad=20.0, good=45.0))
    sharpness: Ramp = field(default_factory=lambda: Ramp(bad=15.0, good=80.0))
    brightness_low: Ramp = field(default_factory=lambda: Ramp(bad=30.0, good=70.0))
    brightness_high: Ramp = field(default_factory=lambda: Ramp(bad=235.0, good=195.0))
    clipped: Ramp = field(default_factory=lambda: Ramp(bad=0.30, good=0.05))
    yaw: Ramp = field(default_factory=lambda: Ramp(bad=0.45, good=0.20))
    pitch_low: Ramp = field(default_factory=lambda: Ramp(bad=0.25, good=0.45))
    pitch_high: Ramp = field(default_factory=lambda: Ramp(bad=1.10, good=0.90))
    roll_deg: Ramp = field(default_factory=lambda: Ramp(bad=40.0, good=20.0))
    #: factor applied when a second face is at least ``second_face_ratio`` of the largest's width
    second_face_penalty: float = 0.7
    second_face_ratio: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.enrollment_floor <= 100.0:
            raise FaceParameterError(
                f"enrollment_floor must lie in 0-100, got {self.enrollment_floor}",
                field="enrollment_floor",
            )
        if not 0.0 <= self.second_face_penalty <= 1.0:
            raise FaceParameterError("second_face_penalty must lie in 0-1", field="second_face_penalty")


@dataclass(frozen=True, slots=True)
class QualityReport:
    score: float  # 0-100
    reasons: tuple[str, ...]
    faces_found: int
    inter_eye_px: float
    sharpness: float
    brightness: float
    clipped: float
    yaw: float
    pitch: float
    roll_deg: float
    factors: dict[str, float]

    def to_dict(self) -> dict[str, object]:
        return {
            "score": round(self.score, 1),
            "reasons": list(self.reasons),
            "faces_found": self.faces_found,
            "inter_eye_px": round(self.inter_eye_px, 1),
            "sharpness": round(self.sharpness, 1),
            "brightness": round(self.brightness, 1),
            "clipped": round(self.clipped, 3),
            "yaw": round(self.yaw, 3),
            "pitch": round(self.pitch, 3),
            "roll_deg": round(self.roll_deg, 1),
            "factors": {k: round(v, 3) for k, v in self.factors.items()},
        }


def eye_centres(points: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(left-in-image, right-in-image) eye centres from dlib's 5 points (two corners per eye)."""
    a = points[0:2].mean(axis=0)
    b = points[2:4].mean(axis=0)
    return (a, b) if a[0] <= b[0] else (b, a)


def geometry(points: npt.NDArray[np.float64]) -> tuple[float, float, float, float]:
    """(inter-eye px, yaw, pitch, roll degrees) from the 5 landmarks (x, y rows; 4 = nose)."""
    left, right = eye_centres(points)
    axis = right - left
    ied = float(np.hypot(*axis))
    if ied <= 0.0:
        return 0.0, math.inf, 0.0, 0.0
    unit = axis / ied
    normal = np.array([-unit[1], unit[0]])  # points "down" the face when roll is small
    offset = points[4] - (left + right) / 2.0
    yaw = float(abs(offset @ unit) / ied)
    pitch = float((offset @ normal) / ied)
    roll = float(math.degrees(math.atan2(axis[1], axis[0])))
    return ied, yaw, pitch, roll


def laplacian_variance(grey: npt.NDArray[np.float64]) -> float:
    lap = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4.0 * grey[1:-1, 1:-1]
    return float(lap.var())


@dataclass(frozen=True, slots=True)
class QualityMeasures:
    """The raw measures of one face, before any tuning constant is applied (cacheable)."""

    inter_eye_px: float
    sharpness: float
    brightness: float
    clipped: float
    yaw: float
    pitch: float
    roll_deg: float
    face_widths: tuple[float, ...]  # every face found, largest first

    def to_dict(self) -> dict[str, object]:
        return {
            "inter_eye_px": self.inter_eye_px,
            "sharpness": self.sharpness,
            "brightness": self.brightness,
            "clipped": self.clipped,
            "yaw": self.yaw,
            "pitch": self.pitch,
            "roll_deg": self.roll_deg,
            "face_widths": list(self.face_widths),
        }

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> QualityMeasures:
        widths = d["face_widths"]
        assert isinstance(widths, list)
        return cls(
            inter_eye_px=float(d["inter_eye_px"]),  # type: ignore[arg-type]
            sharpness=float(d["sharpness"]),  # type: ignore[arg-type]
            brightness=float(d["brightness"]),  # type: ignore[arg-type]
            clipped=float(d["clipped"]),  # type: ignore[arg-type]
            yaw=float(d["yaw"]),  # type: ignore[arg-type]
            pitch=float(d["pitch"]),  # type: ignore[arg-type]
            roll_deg=float(d["roll_deg"]),  # type: ignore[arg-type]
            face_widths=tuple(float(w) for w in widths),
        )


def measure(
    points: npt.NDArray[np.float64], chip: npt.NDArray[np.uint8], face_widths: list[float]
) -> QualityMeasures:
    """The raw measures from the landmarks (original image coordinates) and the aligned RGB chip."""
    ied, yaw, pitch, roll = geometry(points)
    grey = chip.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    h, w = grey.shape
    centre = grey[h // 5 : h - h // 5, w // 5 : w - w // 5]
    return QualityMeasures(
        inter_eye_px=ied,
        sharpness=laplacian_variance(grey),
        brightness=float(centre.mean()),
        clipped=float(np.mean((centre <= 8.0) | (centre >= 247.0))),
        yaw=yaw,
        pitch=pitch,
        roll_deg=roll,
        face_widths=tuple(sorted(face_widths, reverse=True)),
    )


def assess(
    points: npt.NDArray[np.float64],
    chip: npt.NDArray[np.uint8],
    face_widths: list[float],
    params: QualityParameters,
) -> QualityReport:
    """Score one face from its landmarks (original image coordinates) and its aligned RGB chip."""
    return score(measure(points, chip, face_widths), params)


def score(m: QualityMeasures, params: QualityParameters) -> QualityReport:
    """The 0-100 score and the reasons, from the raw measures and the tuning constants."""
    ied, sharp, brightness, clipped = m.inter_eye_px, m.sharpness, m.brightness, m.clipped
    yaw, pitch, roll = m.yaw, m.pitch, m.roll_deg
    factors = {
        "inter_eye": params.inter_eye_px(ied),
        "sharpness": params.sharpness(sharp),
        "exposure": min(
            params.brightness_low(brightness), params.brightness_high(brightness), params.clipped(clipped)
        ),
        "pose": min(
            params.yaw(yaw), params.pitch_low(pitch), params.pitch_high(pitch), params.roll_deg(abs(roll))
        ),
    }
    reasons: list[str] = []
    if factors["inter_eye"] < 1.0:
        reasons.append(
            f"low resolution: {ied:.0f} px between the eyes ({params.inter_eye_px.good:.0f} wanted)"
        )
    if factors["sharpness"] < 1.0:
        reasons.append(f"blurred: sharpness {sharp:.0f} ({params.sharpness.good:.0f} wanted)")
    if params.brightness_low(brightness) < 1.0:
        reasons.append(f"under-exposed: mean grey {brightness:.0f} of 255")
    if params.brightness_high(brightness) < 1.0:
        reasons.append(f"over-exposed: mean grey {brightness:.0f} of 255")
    if params.clipped(clipped) < 1.0:
        reasons.append(f"{100 * clipped:.0f}% of the face is clipped black or white")
    if params.yaw(yaw) < 1.0:
        reasons.append(f"head turned sideways (yaw index {yaw:.2f}; look at the camera)")
    if params.pitch_low(pitch) < 1.0 or params.pitch_high(pitch) < 1.0:
        reasons.append(f"head tilted up or down (pitch index {pitch:.2f})")
    if params.roll_deg(abs(roll)) < 1.0:
        reasons.append(f"head tilted to the side by {abs(roll):.0f} degrees")
    widths = m.face_widths
    crowd = 1.0
    if len(widths) > 1:
        reasons.append(f"{len(widths)} faces found; the largest near the centre was used")
        if widths[1] >= params.second_face_ratio * widths[0]:
            crowd = params.second_face_penalty
            reasons.append("another face is nearly as large: make sure only the subject is in the frame")
    factors["single_face"] = crowd
    total = 100.0 * math.prod(factors.values())
    return QualityReport(
        score=total,
        reasons=tuple(reasons),
        faces_found=len(widths),
        inter_eye_px=ied,
        sharpness=sharp,
        brightness=brightness,
        clipped=clipped,
        yaw=yaw,
        pitch=pitch,
        roll_deg=roll,
        factors=factors,
    )
