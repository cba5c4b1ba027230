"""The production matchers: padron's face and fingerprint algorithms behind the gallery's
:class:`~padron.matching.gallery.Matcher` interface. Nothing heavy happens at import: the
biometric libraries load when a matcher is first built."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

    # --- the packed form galleries keep (PackingMatcher) ------------------------------------------

    @property
    def packed_fields(self) -> dict[str, tuple[str, tuple[int, ...]]]:
        """Per valid cylinder: its packed bits and spatial mask, the minutia's x, y and angle
        code (what the matcher reads of a candidate; no other part of the template)."""
        p = self._comparator.cylinder_params
        return {
            "bits": ("|u1", (p.bits // 8,)),
            "mask": ("|u1", (p.spatial_bits // 8,)),
            "x": ("<f4", ()),
            "y": ("<f4", ()),
            "angle": ("<u2", ()),
        }

    def pack(self, decoded: Any) -> dict[str, npt.NDArray[Any]]:
        from padron.biometrics.fingerprint.template import angle_codes

        v = decoded.valid
        m = decoded.minutiae
        return {
            "bits": np.ascontiguousarray(decoded.bits[v]),
            "mask": np.ascontiguousarray(decoded.mask[v]),
            "x": m.x[v].astype("<f4"),
            "y": m.y[v].astype("<f4"),
            "angle": angle_codes(m.angle[v]),
        }

    def batch_packed(
        self, fields: Mapping[str, npt.NDArray[Any]], counts: npt.NDArray[np.int64], *, once: bool = False
    ) -> Any:
        """The candidates of packed templates (``counts`` cylinders each, one after the other):
        what :meth:`batch` (or, ``once``, :meth:`batch_once`) gives for the same templates."""
        from padron.biometrics.fingerprint.template import code_angles

        return self._comparator.candidates_packed(
            fields["bits"],
            fields["mask"],
            fields["x"].astype(np.float32),
            fields["y"].astype(np.float32),
            code_angles(fields["angle"]),
            counts,
            pairwise=not once,
        )

    def extend_packed(
        self, batch: Any, fields: Mapping[str, npt.NDArray[Any]], counts: npt.NDArray[np.int64]
    ) -> Any:
        """``batch`` followed by more packed candidates (galleries grow their cached batch)."""
        return self._comparator.extend(batch, self.batch_packed(fields, counts))

    def packed_signature(self) -> dict[str, Any]:
        """What a saved packed form depends on: the template algorithm and the cylinders."""
        from dataclasses import asdict

        from padron.biometrics.fingerprint.template import ALGORITHM, TEMPLATE_VERSION

        return {
            "algorithm": ALGORITHM,
            "version": TEMPLATE_VERSION,
            "cylinders": asdict(self._comparator.cylinder_params),
            "fields": {k: [d, list(s)] for k, (d, s) in self.packed_fields.items()},
        }

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
