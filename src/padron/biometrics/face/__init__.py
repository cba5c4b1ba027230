"""Face modality: image bytes -> quality-checked template -> calibrated comparison.

The whole user API::

    from padron.biometrics.face import FaceExtractor, FaceComparator, Purpose

    sample = FaceExtractor().extract(jpeg_bytes, Purpose.ENROLL)   # FaceError subclasses say why not
    sample.quality.score, sample.quality.reasons                    # 0-100 and what to fix
    stored = sample.template.to_bytes()                             # versioned, never pickle

    comparator = FaceComparator()
    prepared = comparator.prepare(probe_template)
    scores = prepared.scores(gallery_matrix)                        # one vectorized call
    comparator.decide(score, fmr=1e-4)                              # threshold measured on LFW

dlib and the model files are loaded on the first extraction, never at import.
"""

from __future__ import annotations

from padron.biometrics.face.compare import FaceComparator, PreparedProbe, stack
from padron.biometrics.face.decode import DecodedImage, decode_image
from padron.biometrics.face.extract import (
    Detector,
    ExtractorParameters,
    FaceChoice,
    FaceExtractor,
    FaceSample,
    Purpose,
)
from padron.biometrics.face.quality import QualityParameters, QualityReport
from padron.biometrics.face.template import ALGORITHM, TEMPLATE_VERSION, to_template, vector_of

__all__ = [
    "ALGORITHM",
    "TEMPLATE_VERSION",
    "DecodedImage",
    "Detector",
    "ExtractorParameters",
    "FaceChoice",
    "FaceComparator",
    "FaceExtractor",
    "FaceSample",
    "PreparedProbe",
    "Purpose",
    "QualityParameters",
    "QualityReport",
    "decode_image",
    "stack",
    "to_template",
    "vector_of",
]
