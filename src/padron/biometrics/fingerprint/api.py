"""The friendly layer: image bytes -> template (envelope), with the enrollment quality gate."""

from __future__ import annotations

from padron.biometrics.fingerprint import iso19794
from padron.biometrics.fingerprint.errors import FingerPositionError, IsoRecordError, TooFewMinutiaeError
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

    def from_iso(self, record: bytes, position: int) -> Template:
        """The template of the minutiae in an ISO/IEC 19794-2:2005 record (a capture device's or
        another system's), for finger ``position`` (1-10): the record's view of that finger, or
        its only view when that view gives no position (0). Coordinates are scaled to 500 dpi by
        the record's resolution; the envelope's quality is the view's finger quality (0-100).

        IsoRecordError: the record is malformed, has no view of this finger, or several; or
        too few minutiae (TooFewMinutiaeError)."""
        parsed = iso19794.read(record)
        views = [v for v in parsed.views if v.finger_position == position]
        if not views and len(parsed.views) == 1 and parsed.views[0].finger_position == 0:
            views = list(parsed.views)
        if len(views) != 1:
            found = sorted({v.finger_position for v in parsed.views})
            raise (FingerPositionError if not views else IsoRecordError)(
                f"the ISO record has {len(views)} views of finger {position} (its views are of "
                f"positions {', '.join(map(str, found))}); send one view of this finger",
                position=position,
                views=found,
            )
        view = views[0]
        minutiae = iso19794.minutiae_from_view(view, parsed.x_resolution)
        if len(minutiae) < MIN_MINUTIAE:
            raise TooFewMinutiaeError(
                f"the ISO record's view of finger {position} holds {len(minutiae)} minutiae "
                f"(need {MIN_MINUTIAE})",
                minutiae=len(minutiae),
                required=MIN_MINUTIAE,
            )
        scale = iso19794.PIXELS_PER_CM_500_DPI / parsed.x_resolution if parsed.x_resolution else 1.0
        # a record may declare no image size (0): the minutiae's extent bounds the image then
        shape = (
            max(round(parsed.height * scale), int(minutiae.y.max()) + 1),
            max(round(parsed.width * scale), int(minutiae.x.max()) + 1),
        )
        template = create(minutiae, shape, self.chain, view.quality or None, self.cylinder_params)
        return to_envelope(template)

    def enroll(self, image: bytes, dpi: float | None = None) -> Template:
        """Like :meth:`extract`, but refuses impressions under the NFIQ 2 floor (FingerprintQualityError)."""
        t = self.template(image, dpi)
        self.gate.check(t.nfiq2)
        return to_envelope(t)
