"""Template-level synthetic fingerprints: what de-duplication at scale relies on."""

from __future__ import annotations

import numpy as np
import pytest

from padron.biometrics.fingerprint.template import from_envelope
from padron.matching.modalities import FingerprintMatcher
from padron.synth.templates import (
    HEIGHT,
    WIDTH,
    impression_minutiae,
    master_minutiae,
    synthetic_template,
)


@pytest.fixture(scope="module")
def scores() -> tuple[np.ndarray, np.ndarray]:
    """Genuine (two impressions of one finger) and impostor (different fingers) scores, 24 fingers."""
    masters = [master_minutiae(300 + i, 1 + i % 10) for i in range(24)]
    matcher = FingerprintMatcher()
    gallery = matcher.batch([matcher.decode(synthetic_template(m, 1)) for m in masters])
    matrix = np.array([matcher.prepare(synthetic_template(m, 0)).scores(gallery) for m in masters])
    return np.diag(matrix), matrix[~np.eye(len(masters), dtype=bool)]


def test_same_seeds_give_the_same_template_bytes() -> None:
    a = synthetic_template(master_minutiae(7, 3, scale=0.9), 2)
    b = synthetic_template(master_minutiae(7, 3, scale=0.9), 2)
    assert a.payload == b.payload
    assert synthetic_template(master_minutiae(7, 3, scale=0.9), 3).payload != a.payload


def test_impressions_hold_an_fvc_like_number_of_minutiae_inside_the_image() -> None:
    # padron's classic chain finds a median of 36-45 minutiae per FVC 500-dpi print (10th-90th
    # percentile about 20-70); an impression must land in that range, and inside the image
    counts = []
    for i in range(30):
        m = impression_minutiae(master_minutiae(i, 1 + i % 10), 0)
        assert np.all((m.x >= 0) & (m.x < WIDTH) & (m.y >= 0) & (m.y < HEIGHT))
        counts.append(len(m))
    assert 25 <= np.median(counts) <= 60, counts
    assert min(counts) >= 8, counts


def test_impressions_of_one_finger_differ_but_share_most_minutiae() -> None:
    master = master_minutiae(11, 2)
    a, b = impression_minutiae(master, 0), impression_minutiae(master, 1)
    assert len(a) != len(b) or not np.allclose(a.x, b.x)
    assert len(a) < len(master.x) and len(b) < len(master.x)  # partial contact, missed minutiae


def test_genuine_pairs_score_far_above_impostor_pairs(scores: tuple[np.ndarray, np.ndarray]) -> None:
    genuine, impostor = scores
    assert np.median(genuine) > 3 * np.quantile(impostor, 0.99)
    assert np.mean(genuine > impostor.max()) >= 0.9


def test_templates_decode_as_padron_fingerprint_templates() -> None:
    t = from_envelope(synthetic_template(master_minutiae(5, 6), 0))
    assert (t.height, t.width) == (HEIGHT, WIDTH)
    assert t.cylinder_count >= 10
