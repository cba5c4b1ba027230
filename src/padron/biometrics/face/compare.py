"""1:1 and 1:many face comparison: cosine similarity of unit vectors (higher = more alike, -1..1).

The hot path: ``prepared = comparator.prepare(probe)`` once, then ``prepared.scores(matrix)`` over a
gallery held as an (n, 128) float32 matrix, one matrix-vector product. Score and decision are kept
apart: :meth:`FaceComparator.decide` applies a threshold measured for a target false-match rate in
the packaged calibration file (see ``padron/biometrics/calibrations/``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from padron.biometrics.face.template import ALGORITHM, DIMENSIONS, TEMPLATE_VERSION, vector_of
from padron.biometrics.metrics import Calibration
from padron.domain.template import Template, TemplateFormatError

CALIBRATION_NAME = f"face-{ALGORITHM}-v{TEMPLATE_VERSION}"


def stack(templates: Sequence[Template]) -> npt.NDArray[np.float32]:
    """An (n, 128) matrix of the templates' unit vectors, for :meth:`PreparedProbe.scores`."""
    if not templates:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.stack([vector_of(t) for t in templates])


@dataclass(frozen=True)
class PreparedProbe:
    vector: npt.NDArray[np.float32]

    def scores(self, candidates: npt.NDArray[np.float32] | Sequence[Template]) -> npt.NDArray[np.float64]:
        """Similarity to each candidate (a matrix from :func:`stack`, or templates)."""
        matrix = candidates if isinstance(candidates, np.ndarray) else stack(candidates)
        if matrix.ndim != 2 or matrix.shape[1] != DIMENSIONS:
            raise TemplateFormatError(f"candidates must be an (n, {DIMENSIONS}) matrix, got {matrix.shape}")
        return np.clip(matrix.astype(np.float64) @ self.vector.astype(np.float64), -1.0, 1.0)


class FaceComparator:
    """Compare face templates; decide at a calibrated false-match rate."""

    def prepare(self, probe: Template) -> PreparedProbe:
        return PreparedProbe(vector=vector_of(probe))

    def compare(self, probe: Template, candidate: Template) -> float:
        return float(self.prepare(probe).scores([candidate])[0])

    @cached_property
    def calibration(self) -> Calibration:
        return Calibration.packaged(CALIBRATION_NAME)

    def threshold(self, fmr: float) -> float:
        """The similarity threshold measured for this target false-match rate (KeyError if none)."""
        return self.calibration.threshold(fmr)

    def decide(self, score: float, fmr: float = 1e-4) -> bool:
        """Match when the score reaches the threshold calibrated for ``fmr``."""
        return score >= self.threshold(fmr)
