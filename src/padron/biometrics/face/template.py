"""The persistent face template: the domain :class:`Template` envelope around a unit float32 vector.

Payload: 128 little-endian float32 values, L2-normalized. The algorithm id names the model and the
pipeline; bump ``TEMPLATE_VERSION`` whenever a change would make old and new vectors incomparable.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from padron.domain.template import Modality, Template, TemplateFormatError

ALGORITHM = "dlib-resnet-v1"
#: 1: one network pass, largest face. 2: mean of the chip's and its mirror image's descriptors, the
#: central large face, HOG escalating from no upsampling (vectors differ from version 1's)
TEMPLATE_VERSION = 2
DIMENSIONS = 128

Vector = npt.NDArray[np.float32]


def normalize(vector: npt.ArrayLike) -> Vector:
    v = np.asarray(vector, dtype=np.float64).reshape(-1)
    norm = float(np.linalg.norm(v))
    if v.size != DIMENSIONS or not np.isfinite(norm) or norm == 0.0:
        raise TemplateFormatError(f"a face vector must be {DIMENSIONS} finite values, not all zero")
    return (v / norm).astype(np.float32)


def to_template(vector: npt.ArrayLike, quality: float | None) -> Template:
    payload = normalize(vector).astype("<f4").tobytes()
    return Template(
        modality=Modality.FACE,
        algorithm=ALGORITHM,
        version=TEMPLATE_VERSION,
        payload=payload,
        quality=quality,
    )


def vector_of(template: Template) -> Vector:
    """The unit vector in a face template (TemplateMismatchError / TemplateFormatError if not one)."""
    template.require(Modality.FACE, ALGORITHM, TEMPLATE_VERSION)
    if len(template.payload) != 4 * DIMENSIONS:
        raise TemplateFormatError(
            f"a face payload is {4 * DIMENSIONS} bytes, got {len(template.payload)}",
            expected=4 * DIMENSIONS,
            actual=len(template.payload),
        )
    vector = np.frombuffer(template.payload, dtype="<f4").astype(np.float32)
    if not np.all(np.isfinite(vector)):
        raise TemplateFormatError("a face payload holds NaN or infinite values")
    return vector
