"""Matcher for fixed-length, L2-normalized vector templates (faces): similarity = cosine."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from padron.domain.template import Modality, Template
from padron.matching.backends.memory import payload_vector

F32 = npt.NDArray[np.float32]


class _PreparedVector:
    def __init__(self, probe: F32) -> None:
        self.probe = probe

    def scores(self, candidates: F32) -> F32:
        # elementwise products and numpy's pairwise sum per row: the same bits for a candidate
        # wherever it lies in the batch (a BLAS product's last bits depend on the batch's shape)
        out: F32 = np.add.reduce(np.asarray(candidates, dtype=np.float32) * self.probe, axis=-1)
        return out.astype(np.float32)


class CosineMatcher:
    """Inner product of normalized vectors, the face comparison padron's galleries use."""

    def __init__(self, modality: Modality = Modality.FACE) -> None:
        self.modality = modality

    def decode(self, template: Template) -> F32:
        return payload_vector(template)

    def batch(self, decoded: Sequence[F32]) -> F32:
        if not decoded:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack(decoded)

    def prepare(self, probe: Template) -> _PreparedVector:
        return _PreparedVector(self.decode(probe))
