"""The NBIS baseline through nbis-py: mindtct minutiae and its bozorth3-style matcher.

Used only to measure padron against a public reference (``padron evaluate fingerprint --baseline
nbis``). The extractor is built on first use.
"""

from __future__ import annotations

from typing import Any

from padron.biometrics.fingerprint.errors import FingerprintDependencyError
from padron.biometrics.fingerprint.image import NOMINAL_DPI


class NbisBaseline:
    def __init__(self) -> None:
        try:
            import nbis
        except ImportError as error:  # pragma: no cover - depends on the installed extra
            raise FingerprintDependencyError(f"nbis-py is not installed: {error}") from None
        settings = nbis.NbisExtractorSettings(
            min_quality=0.0,
            get_center=False,
            check_fingerprint=False,
            compute_nfiq2=False,
            ppi=float(NOMINAL_DPI),
        )
        self._extractor: Any = nbis.new_nbis_extractor(settings)

    def extract(self, image_bytes: bytes) -> Any:
        """nbis ``Minutiae`` of encoded image bytes (PNG/TIFF/...) at 500 dpi."""
        return self._extractor.extract_minutiae(image_bytes)

    @staticmethod
    def compare(a: Any, b: Any) -> int:
        return int(a.compare(b))
