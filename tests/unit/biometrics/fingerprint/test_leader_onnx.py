"""LEADER on onnxruntime finds the minutiae pyfing's own Keras LEADER finds.

The synthetic-print tests need only the fingerprint extra; the FVC ones also ../shared/data.
"""

from __future__ import annotations

import importlib.util
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("pyfing") is None or importlib.util.find_spec("onnxruntime") is None,
        reason="the fingerprint extra (pyfing, onnxruntime) is not installed",
    ),
    # one xdist worker builds the Keras model and converts the network once for all these tests
    pytest.mark.xdist_group("leader-onnx"),
    # Keras 3.15 on numpy 2 warns on every weight it converts; not ours to fix
    pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword"),
]

FVC = Path(__file__).resolve().parents[4].parent / "shared" / "data" / "fingerprints"
THRESHOLD = 0.3  # padron's raw LEADER threshold (extract.RAW_QUALITY)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A fresh cache: the ONNX file is converted by the code under test, not found lying around."""
    path = tmp_path_factory.mktemp("padron-cache")
    previous = os.environ.get("PADRON_CACHE_DIR")
    os.environ["PADRON_CACHE_DIR"] = str(path)
    yield path
    if previous is None:
        del os.environ["PADRON_CACHE_DIR"]
    else:
        os.environ["PADRON_CACHE_DIR"] = previous


@pytest.fixture(scope="module")
def pyfing_leader() -> Any:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import pyfing

    return pyfing.Leader(pyfing.LeaderParameters(minutia_quality_threshold=THRESHOLD))


@pytest.fixture(scope="module")
def fast(cache_dir: Path, pyfing_leader: Any) -> Any:
    from padron.biometrics.fingerprint.leader import FastLeader, convert, model_path
    from padron.biometrics.fingerprint.leader_net import from_keras

    convert(model_path(), from_keras(pyfing_leader.model))  # the Keras model built once, above
    return FastLeader(THRESHOLD)


def _reference(leader: Any, pixels: npt.NDArray[np.uint8]) -> list[Any]:
    import torch

    with torch.no_grad():
        return list(leader.run(pixels, 500))


def _assert_same(expected: list[Any], found: list[Any]) -> None:
    """Same minutiae: same count, positions within a pixel, directions within 1e-3 rad, types."""
    assert len(found) == len(expected) > 5
    for e, f in zip(expected, found, strict=True):
        assert abs(e.x - f.x) <= 1 and abs(e.y - f.y) <= 1, (e, f)
        assert abs((e.direction - f.direction + math.pi) % (2 * math.pi) - math.pi) < 1e-3, (e, f)
        assert e.type == f.type
        assert abs(e.quality - f.quality) < 1e-3


@pytest.fixture(scope="module")
def synthetic() -> npt.NDArray[np.uint8]:
    """One impression of a synthetic right index finger (padron.synth)."""
    from padron.synth.fingerprint import generate_finger, impressions

    return impressions(generate_finger(3, 2), 1, seed=3)[0]


def test_onnx_leader_matches_pyfing_on_a_synthetic_print(
    pyfing_leader: Any, fast: Any, synthetic: npt.NDArray[np.uint8]
) -> None:
    _assert_same(_reference(pyfing_leader, synthetic), fast.run(synthetic))


def test_the_torch_port_reproduces_the_keras_network_maps(pyfing_leader: Any) -> None:
    import torch

    from padron.biometrics.fingerprint.leader_net import from_keras

    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (1, 96, 128, 1)).astype(np.float32)  # any grey levels, 32-multiples
    with torch.no_grad():
        expected = pyfing_leader.model(image, training=False).numpy()[0]
        got = from_keras(pyfing_leader.model)(torch.from_numpy(image).permute(0, 3, 1, 2)).numpy()[0]
    got = got.transpose(1, 2, 0)
    for channel in (0, 2, 3):  # position, type, quality: probabilities
        assert np.abs(got[..., channel] - expected[..., channel]).max() < 1e-4
    turn = (got[..., 1] - expected[..., 1] + np.pi) % (2 * np.pi) - np.pi  # direction, modulo 2 pi
    assert np.abs(turn).max() < 1e-2


def test_a_damaged_cached_graph_is_converted_again(
    fast: Any, monkeypatch: pytest.MonkeyPatch, synthetic: npt.NDArray[np.uint8]
) -> None:
    from padron.biometrics.fingerprint import leader

    path = leader.model_path()
    good = path.read_bytes()
    path.write_bytes(b"not an onnx graph")
    calls = []

    def convert(target: Path, net: Any = None) -> Path:
        calls.append(target)
        path.write_bytes(good)  # what a conversion writes, without its seconds of export
        return target

    monkeypatch.setattr(leader, "convert", convert)
    _assert_same(fast.run(synthetic), leader.FastLeader(THRESHOLD).run(synthetic))
    assert calls == [path]


@pytest.mark.shared_data
@pytest.mark.skipif(not FVC.is_dir(), reason=f"real fingerprints absent: {FVC}")
@pytest.mark.parametrize("name", ["FVC2004/DB2_B/105_2.tif", "FVC2002/DB3_B/108_1.tif"])
def test_onnx_leader_matches_pyfing_on_fvc_prints(name: str, pyfing_leader: Any, fast: Any) -> None:
    from padron.biometrics.fingerprint.image import decode

    pixels = decode((FVC / name).read_bytes()).pixels
    _assert_same(_reference(pyfing_leader, pixels), fast.run(pixels))


@pytest.mark.shared_data
@pytest.mark.skipif(not FVC.is_dir(), reason=f"real fingerprints absent: {FVC}")
def test_cropping_to_the_foreground_keeps_the_minutiae(fast: Any) -> None:
    """FVC2004 DB1 frames are 640 x 480 with much background: the network sees only the
    foreground's box (+ margin) and finds the same minutiae, within a pixel, but for a few."""
    from padron.biometrics.fingerprint.extract import LEADER_MARGIN, _foreground
    from padron.biometrics.fingerprint.image import decode
    from padron.biometrics.fingerprint.leader import foreground_window

    kept = total = 0
    for name in ("101_1.tif", "108_2.tif"):
        pixels = decode((FVC / "FVC2004" / "DB1_B" / name).read_bytes()).pixels
        window = foreground_window(_foreground(pixels), LEADER_MARGIN)
        assert window is not None
        area = (window[2] - window[0]) * (window[3] - window[1])
        assert area < 0.8 * pixels.size  # the crop does save work here
        whole = [m for m in fast.run(pixels) if m.quality >= 0.5]
        cropped = [m for m in fast.run(pixels, window) if m.quality >= 0.5]
        total += len(whole)
        kept += sum(any(abs(m.x - c.x) <= 1 and abs(m.y - c.y) <= 1 for c in cropped) for m in whole)
    assert total > 40
    assert kept >= 0.95 * total
