"""The production matchers: padron's face and fingerprint algorithms behind the gallery's
:class:`~padron.matching.gallery.Matcher` interface. Nothing heavy happens at import: the
biometric libraries load when a matcher is first built."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from padron.domain.template import Modality, Template
from padron.matching.fusion import LlrModel

if TYPE_CHECKING:
    from padron.biometrics.metrics import Calibration


class FaceMatcher:
    """dlib ResNet vectors, cosine similarity (padron.biometrics.face)."""

    modality = Modality.FACE

    def __init__(self) -> None:
        from padron.biometrics.face import FaceComparator

        self._comparator = FaceComparator()

    def decode(self, template: Template) -> npt.NDArray[np.float32]:
        from padron.biometrics.face import vector_of

        return vector_of(template)

    def batch(self, decoded: Sequence[npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
        return np.stack(decoded) if decoded else np.zeros((0, 128), dtype=np.float32)

    def prepare(self, probe: Template) -> Any:
        return self._comparator.prepare(probe)


@dataclass(frozen=True)
class _PreparedFinger:
    comparator: Any
    probe: Any

    def scores(self, candidates: Any) -> npt.NDArray[np.float64]:
        out: npt.NDArray[np.float64] = self.comparator.scores(self.probe, candidates)
        return out


class FingerprintMatcher:
    """padron's Minutia Cylinder-Code matcher (padron.biometrics.fingerprint)."""

    modality = Modality.FINGERPRINT

    def __init__(self) -> None:
        from padron.biometrics.fingerprint import FingerprintComparator

        self._comparator = FingerprintComparator()

    def decode(self, template: Template) -> Any:
        from padron.biometrics.fingerprint.template import from_envelope

        return from_envelope(template)

    def batch(self, decoded: Sequence[Any]) -> Any:
        return self._comparator.candidates(list(decoded))

    def batch_once(self, decoded: Sequence[Any]) -> Any:
        """A batch scored by one probe and dropped (a search shortlist): cheaper to build than
        :meth:`batch`, same scores (see ``FingerprintComparator.candidates``)."""
        return self._comparator.candidates(list(decoded), pairwise=False)

    def extend(self, batch: Any, decoded: Sequence[Any]) -> Any:
        """``batch`` followed by more decoded candidates (galleries grow their cached batch)."""
        return self._comparator.extend(batch, list(decoded))

    def prepare(self, probe: Template) -> _PreparedFinger:
        return _PreparedFinger(self._comparator, self._comparator.prepare(probe))

    @property
    def cylinder_size(self) -> int:
        """Bits per cylinder (the pre-selection hashes these)."""
        return int(self._comparator.cylinder_params.bits)

    def cylinder_bits(self, decoded: Any) -> npt.NDArray[np.bool_]:
        """The valid cylinders of a decoded template, unpacked: (cylinders, bits) booleans."""
        count = self.cylinder_size
        packed = decoded.bits[decoded.valid]
        out: npt.NDArray[np.bool_] = np.unpackbits(packed, axis=1, bitorder="little", count=count).astype(
            bool
        )
        return out


def packaged_calibration(modality: Modality) -> Calibration:
    """The modality's packaged calibration (thresholds, measured error rates, LLR model)."""
    from padron.biometrics.face.compare import CALIBRATION_NAME as FACE_CALIBRATION
    from padron.biometrics.metrics import Calibration

    name = {
        Modality.FACE: FACE_CALIBRATION,
        Modality.FINGERPRINT: "fingerprint-padron-mcc-v1",
    }[modality]
    return Calibration.packaged(name)


def packaged_llr(modality: Modality) -> LlrModel:
    """The LLR model in the modality's packaged calibration file."""
    calibration = packaged_calibration(modality)
    if not calibration.llr:
        raise KeyError(f"calibration {calibration.algorithm} has no LLR model")
    return LlrModel(slope=calibration.llr["slope"], intercept=calibration.llr["intercept"])
