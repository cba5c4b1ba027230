"""Fingerprints: decode -> NFIQ 2 -> minutiae (pyfing) -> MCC template -> comparison.

The whole user API::

    from padron.biometrics.fingerprint import FingerprintExtractor, FingerprintComparator

    extractor = FingerprintExtractor()               # chain "classic" (default) or "leader"
    a = extractor.enroll(open("101_1.tif", "rb").read())   # Template; refuses NFIQ 2 < floor
    b = extractor.extract(open("101_2.tif", "rb").read())
    comparator = FingerprintComparator()
    probe = comparator.prepare(a)                     # once
    scores = comparator.scores(probe, [b, ...])       # many candidates, one call; similarities

Nothing heavy is built at import: pyfing, Keras/PyTorch and NBIS load on first use.
"""

from __future__ import annotations

from padron.biometrics.fingerprint.api import MIN_MINUTIAE, FingerprintExtractor
from padron.biometrics.fingerprint.extract import DEFAULT_CHAIN, Chain
from padron.biometrics.fingerprint.fusion import PersonComparator, PersonScore
from padron.biometrics.fingerprint.matcher import CandidateSet, FingerprintComparator, PreparedProbe
from padron.biometrics.fingerprint.quality import DEFAULT_NFIQ2_FLOOR, QualityGate
from padron.biometrics.fingerprint.template import ALGORITHM, TEMPLATE_VERSION, FingerprintTemplate
from padron.domain.finger import FingerPosition

__all__ = [
    "ALGORITHM",
    "DEFAULT_CHAIN",
    "DEFAULT_NFIQ2_FLOOR",
    "MIN_MINUTIAE",
    "TEMPLATE_VERSION",
    "CandidateSet",
    "Chain",
    "FingerPosition",
    "FingerprintComparator",
    "FingerprintExtractor",
    "FingerprintTemplate",
    "PersonComparator",
    "PersonScore",
    "PreparedProbe",
    "QualityGate",
]
