"""The peer pipeline: what most Python users run today through the ``face_recognition`` package.

``face_recognition.face_encodings(image)[0]`` and ``face_distance``: dlib's HOG detector with one
upsample, the first detection, 5-point landmarks, the ResNet descriptor with ``num_jitters=1`` (dlib
treats 0 and 1 alike: one pass, no jitter), and Euclidean distance between the raw vectors (the
package's tolerance is 0.6). Re-implemented here on the same dlib calls so the evaluation can show
every figure beside the peer's without depending on that package. No fallback detector, no quality.

Scores are ``-distance`` so that, like every padron score, higher means more alike.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt

from padron.biometrics.face import models
from padron.biometrics.face.decode import decode_image
from padron.biometrics.face.errors import NoFaceError

PIPELINE_ID = "face_recognition-1.3.0-equivalent"
#: face_recognition's documented default tolerance, as a score (-distance)
DEFAULT_TOLERANCE = 0.6


def baseline_vector(data: bytes) -> tuple[npt.NDArray[np.float64], float]:
    """(raw 128-d vector, milliseconds) the way face_recognition computes it; NoFaceError if none."""
    start = time.perf_counter()
    pixels = decode_image(data).pixels
    m = models.load_models()
    rects = list(m.hog(pixels, 1))
    if not rects:
        raise NoFaceError("no face found by HOG with one upsample (baseline)")
    shape = m.landmarks(pixels, rects[0])
    # face_recognition: face_encoder.compute_face_descriptor(image, landmarks, num_jitters=1)
    vector = np.asarray(m.resnet.compute_face_descriptor(pixels, shape, 1), dtype=np.float64)
    return vector, 1000.0 * (time.perf_counter() - start)


def baseline_scores(probe: npt.ArrayLike, candidates: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """-Euclidean distance from one raw vector to each row of ``candidates``."""
    p = np.asarray(probe, dtype=np.float64)
    c = np.atleast_2d(np.asarray(candidates, dtype=np.float64))
    return np.asarray(-np.linalg.norm(c - p, axis=1), dtype=np.float64)
