"""The friendly layer: image bytes -> template (envelope), with the enrollment quality gate."""

from __future__ import annotations

from padron.biometrics.fingerprint.errors import TooFewMinutiaeError
from padron.biometrics.fingerprint.extract import DEFAULT_CHAIN, Chain, parse_chain
from padron.biometrics.fingerprint.params import CylinderParameters
from padron.biometrics.fingerprint.pipeline import extract_bytes
from padron.biometrics.fingerprint.quality import DEFAULT_NFIQ2_FLOOR, QualityGate
from padron.biometrics.fingerprint.template import FingerprintTemplate, create, to_envelope
from padron.domain.template import Template

#: fewer minutiae than this is a failure to enroll / extract
MIN_MINUTIAE = 6


class FingerprintExtractor:
    """``template(image_bytes)`` for comparison; ``enroll(image_bytes)`` also applies the NFIQ 2 floor."""

    def __init__(
        self,
        chain: Chain | str = DEFAULT_CHAIN,
        quality_floor: int = DEFAULT_NFIQ2_FLOOR,
        cylinder_params: CylinderParameters | None = None,
        use_cache: bool = False,
    ) -> None:
        self.chain = parse_chain(chain)
        self.gate = QualityGate(quality_floor)
        self.cylinder_params = cylinder_params or CylinderParameters()
        self.use_cache = use_cache

    def template(self, image: bytes, dpi: float | None = None) -> FingerprintTemplate:
        extraction, nfiq2 = extract_bytes(image, self.chain, dpi, use_cache=self.use_cache)
        if len(extraction.minutiae) < MIN_MINUTIAE:
            raise TooFewMinutiaeError(
                f"only {len(extraction.minutiae)} minutiae found (need {MIN_MINUTIAE}); "
                "capture the finger again",
                minutiae=len(extraction.minutiae),
                required=MIN_MINUTIAE,
            )
        shape = (int(extraction.foreground.shape[0]), int(extraction.foreground.shape[1]))
        return create(extraction.minutiae, shape, extraction.chain, nfiq2, self.cylinder_params)

    def extract(self, image: bytes, dpi: float | None = None) -> Template:
        """The versioned template envelope (quality = NFIQ 2), without the enrollment gate."""
        return to_envelope(self.template(image, dpi))

    def enroll(self, image: bytes, dpi: float | None = None) -> Template:
        """Like :meth:`extract`, but refuses impressions under the NFIQ 2 floor (FingerprintQualityError)."""
        t = self.template(image, dpi)
        self.gate.check(t.nfiq2)
        return to_envelope(t)
