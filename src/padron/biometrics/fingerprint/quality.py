"""NFIQ 2 quality scores (0-100, higher is better) through nbis-py's bundled NFIQ 2 implementation."""

from __future__ import annotations

import threading
from typing import Any

from padron.biometrics.fingerprint.errors import FingerprintDependencyError, FingerprintQualityError
from padron.biometrics.fingerprint.image import NOMINAL_DPI, FingerprintImage, encode_png

#: Default enrollment floor. NFIQ 2 scores below ~20 are usually unusable impressions; the floor is a
#: setting (``QualityGate(floor=...)``), not a verdict from this module.
DEFAULT_NFIQ2_FLOOR = 20

_lock = threading.Lock()
_extractor: Any = None


def _nfiq2_extractor() -> Any:
    global _extractor
    with _lock:
        if _extractor is None:
            try:
                import nbis
            except ImportError as error:  # pragma: no cover - depends on the installed extra
                raise FingerprintDependencyError(f"nbis-py is not installed: {error}") from None
            settings = nbis.NbisExtractorSettings(
                min_quality=0.0,
                get_center=False,
                check_fingerprint=False,
                compute_nfiq2=True,
                ppi=float(NOMINAL_DPI),
            )
            _extractor = nbis.new_nbis_extractor(settings)
        return _extractor


def nfiq2(image: FingerprintImage) -> int | None:
    """The NFIQ 2 unified quality score of a 500-dpi impression, None when NFIQ 2 cannot compute one
    (it refuses some images, e.g. small sweep-sensor reconstructions)."""
    import nbis

    try:
        result = _nfiq2_extractor().extract_minutiae(encode_png(image)).quality()
    except nbis.NbisError:
        return None
    return int(result.score)


class QualityGate:
    """Refuses impressions whose NFIQ 2 score is below ``floor`` (FingerprintQualityError)."""

    def __init__(self, floor: int = DEFAULT_NFIQ2_FLOOR) -> None:
        if not 0 <= floor <= 100:
            raise ValueError(f"NFIQ 2 floor must be 0-100, got {floor}")
        self.floor = floor

    def check(self, score: int | None) -> None:
        if score is None:
            raise FingerprintQualityError(
                "NFIQ 2 could not score this impression (too small or no ridge structure found); "
                "capture it again",
                nfiq2=None,
                floor=self.floor,
            )
        if score < self.floor:
            raise FingerprintQualityError(
                f"NFIQ 2 score {score} is below the enrollment floor {self.floor}: "
                "the impression is too poor (dry, smudged, partial or moved); capture it again",
                nfiq2=score,
                floor=self.floor,
            )
