from __future__ import annotations

import numpy as np
import pytest

from padron.biometrics.fingerprint.errors import FingerprintTemplateError
from padron.biometrics.fingerprint.params import CylinderParameters
from padron.biometrics.fingerprint.template import (
    ALGORITHM,
    TEMPLATE_VERSION,
    decode,
    encode,
    from_envelope,
    to_envelope,
)
from padron.domain.template import Modality, Template, TemplateMismatchError

from ._synth import random_minutiae, template_of


def test_template_bytes_round_trip_exactly(rng: np.random.Generator) -> None:
    t = template_of(random_minutiae(rng))
    data = encode(t)
    back = decode(data)
    assert encode(back) == data
    for name in ("x", "y", "angle", "kind", "quality"):
        assert np.array_equal(getattr(back.minutiae, name), getattr(t.minutiae, name)), name
    assert np.array_equal(back.valid, t.valid) and np.array_equal(back.bits, t.bits)
    assert back.nfiq2 == 60 and back.chain == t.chain
    assert t.cylinder_count > 20  # most of 40 well-spread minutiae get a valid cylinder


def test_envelope_carries_quality_and_refuses_other_algorithms(rng: np.random.Generator) -> None:
    envelope = to_envelope(template_of(random_minutiae(rng)))
    again = Template.from_bytes(envelope.to_bytes())
    assert again.quality == 60 and again.algorithm == ALGORITHM and again.version == TEMPLATE_VERSION
    assert encode(from_envelope(again)) == envelope.payload
    other = Template(Modality.FINGERPRINT, ALGORITHM, TEMPLATE_VERSION + 1, envelope.payload)
    with pytest.raises(TemplateMismatchError):
        from_envelope(other)


def test_damaged_payloads_are_refused(rng: np.random.Generator) -> None:
    data = encode(template_of(random_minutiae(rng)))
    for bad in (data[:10], data[:-1], data + b"\0", b"XXXX" + data[4:]):
        with pytest.raises(FingerprintTemplateError) as error:
            decode(bad)
        assert error.value.code == "PAD-FING-005"
    with pytest.raises(FingerprintTemplateError, match="matcher expects"):
        decode(data, CylinderParameters(spatial_cells=16))
