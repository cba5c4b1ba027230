"""LEADER minutiae extraction on onnxruntime.

pyfing's ``Leader.run`` runs its Keras 3 model on the PyTorch backend: 0.6-2.4 s of processor
time per print here. :class:`FastLeader` runs the same network (:mod:`leader_net`, weights copied
from pyfing's Keras model) as an ONNX graph in onnxruntime, on one thread by default, and then does
exactly what ``Leader.run`` does around it: pad to multiples of 32 with the image's corner grey,
crop the output back, keep the pixels whose non-maximum-suppressed position score reaches the
threshold, and read direction and type there.

The ONNX file is made on first use and cached, never downloaded and never shipped:
``$PADRON_CACHE_DIR/leader`` or ``~/.cache/padron/leader``, named by the SHA-256 of pyfing's
``LEADER.weights.h5``, of ``leader_net.py`` and :data:`CONVERTER_VERSION`, so a new pyfing wheel
or a change in the conversion makes a new file. Conversion (Keras model -> torch module -> ``torch.onnx.export``)
takes a few seconds once per machine; the file is written to a temporary name and renamed, so
concurrent first uses cannot leave a torn file. A file that onnxruntime cannot load is converted
again. Caching instead of shipping keeps 4 MB of derived weights out of the repository and makes
the graph always match the installed pyfing weights.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

#: Bump when leader_net.py or the export changes the graph (it names the cached file).
CONVERTER_VERSION = "1"
#: pyfing's LeaderParameters defaults: inputs are padded to multiples of 32.
SIZE_MULTIPLE = 32
#: pyfing's type threshold: above it a minutia is an ending, else a bifurcation.
TYPE_THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class LeaderMinutia:
    """One minutia as pyfing's ``Minutia`` (x, y in pixels; direction in radians; 'E' or 'B')."""

    x: int
    y: int
    direction: float
    type: str
    quality: float


def weights_file() -> Path:
    """pyfing's LEADER weights, shipped inside its wheel."""
    import importlib.util

    spec = importlib.util.find_spec("pyfing")
    if spec is None or spec.origin is None:
        from padron.biometrics.fingerprint.errors import FingerprintDependencyError

        raise FingerprintDependencyError("pyfing is not installed")
    return Path(spec.origin).parent / "models" / "LEADER.weights.h5"


def weights_digest(path: Path | None = None) -> str:
    return hashlib.sha256((path or weights_file()).read_bytes()).hexdigest()


def model_dir() -> Path:
    root = os.environ.get("PADRON_CACHE_DIR")
    return Path(root) / "leader" if root else Path.home() / ".cache" / "padron" / "leader"


def model_path(digest: str | None = None) -> Path:
    """The cached ONNX file for these weights, this module's :data:`CONVERTER_VERSION` and the
    current source of :mod:`leader_net` (so an edited network never meets a stale file)."""
    from padron.biometrics.fingerprint import leader_net

    source = hashlib.sha256(Path(leader_net.__file__).read_bytes()).hexdigest()
    return model_dir() / f"leader-{(digest or weights_digest())[:16]}-{source[:8]}-c{CONVERTER_VERSION}.onnx"


def build_net() -> Any:
    """pyfing's LEADER network as a :class:`leader_net.LeaderNet` holding pyfing's weights."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import pyfing

    from padron.biometrics.fingerprint.leader_net import from_keras

    return from_keras(pyfing.Leader().model)


def convert(path: Path) -> Path:
    """Export the network to ONNX at ``path`` (atomically: temporary file, then rename)."""
    import warnings

    import torch

    net = build_net()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    example = torch.zeros((1, 1, 2 * SIZE_MULTIPLE, 2 * SIZE_MULTIPLE), dtype=torch.float32)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (example,),
            str(tmp),
            input_names=["image"],
            output_names=["maps"],
            dynamic_axes={"image": {2: "height", 3: "width"}, "maps": {2: "height", 3: "width"}},
            opset_version=17,
            dynamo=False,
        )
    tmp.replace(path)
    return path


def _session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def padded_size(n: int) -> int:
    return (n + SIZE_MULTIPLE - 1) // SIZE_MULTIPLE * SIZE_MULTIPLE


class FastLeader:
    """LEADER on onnxruntime with ``threads`` intra-op threads (1: the cost on one core)."""

    def __init__(self, quality_threshold: float, threads: int = 1) -> None:
        from padron.biometrics.fingerprint.errors import FingerprintDependencyError

        try:
            import onnxruntime  # noqa: F401
        except ImportError as error:  # pragma: no cover - depends on the installed extra
            raise FingerprintDependencyError(f"onnxruntime is not installed: {error}") from None
        self.quality_threshold = quality_threshold
        path = model_path()
        session = None
        if path.exists():
            try:
                session = _session(path, threads)
            except Exception:  # a damaged cache file: convert again
                session = None
        if session is None:
            session = _session(convert(path), threads)
        self._session = session

    def maps(
        self, pixels: npt.NDArray[np.uint8], window: tuple[int, int, int, int] | None = None
    ) -> tuple[npt.NDArray[np.float32], int, int]:
        """The network's four output maps (H, W, 4) for a 500-dpi image padded as pyfing pads it,
        and the image coordinates of their top-left pixel.

        With ``window`` (top, left, bottom, right in image pixels, e.g. the foreground's bounding
        box plus a margin) only that part of the padded image goes through the network, widened to
        the padded image's 32-pixel grid so that every pooling step sees the same pixel phases as
        on the whole image."""
        import cv2

        h, w = pixels.shape
        ph, pw = padded_size(h), padded_size(w)
        top, left = (ph - h) // 2, (pw - w) // 2
        padded = cv2.copyMakeBorder(
            pixels, top, ph - h - top, left, pw - w - left, cv2.BORDER_CONSTANT, value=int(pixels[0, 0])
        )
        y0, x0, y1, x1 = 0, 0, ph, pw
        if window is not None:
            m = SIZE_MULTIPLE
            y0 = max(0, (window[0] + top) // m * m)
            x0 = max(0, (window[1] + left) // m * m)
            y1 = min(ph, -(-(window[2] + top) // m) * m)
            x1 = min(pw, -(-(window[3] + left) // m) * m)
            if y1 <= y0 or x1 <= x0:
                y0, x0, y1, x1 = 0, 0, ph, pw
        net_input = padded[np.newaxis, np.newaxis, y0:y1, x0:x1].astype(np.float32)
        out = self._session.run(None, {"image": net_input})[0][0].transpose(1, 2, 0)
        # keep only the pixels of the image itself
        cy0, cx0 = max(y0, top), max(x0, left)
        cy1, cx1 = min(y1, top + h), min(x1, left + w)
        return np.ascontiguousarray(out[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]), cy0 - top, cx0 - left

    def run(
        self, pixels: npt.NDArray[np.uint8], window: tuple[int, int, int, int] | None = None
    ) -> list[LeaderMinutia]:
        """Minutiae of a 500-dpi image, as ``pyfing.Leader.run`` finds them (in ``window`` only,
        when given; see :meth:`maps`)."""
        out, oy, ox = self.maps(pixels, window)
        rows, cols = np.nonzero(out[..., 3] >= self.quality_threshold)
        return [
            LeaderMinutia(
                int(x) + ox,
                int(y) + oy,
                float(out[y, x, 1]),
                "E" if out[y, x, 2] >= TYPE_THRESHOLD else "B",
                float(out[y, x, 3]),
            )
            for y, x in zip(rows.tolist(), cols.tolist(), strict=True)
        ]


def foreground_window(foreground: npt.NDArray[np.bool_], margin: int) -> tuple[int, int, int, int] | None:
    """Bounding box of the foreground plus ``margin`` pixels (top, left, bottom, right), or None
    when there is no foreground."""
    rows = np.flatnonzero(foreground.any(axis=1))
    cols = np.flatnonzero(foreground.any(axis=0))
    if rows.size == 0:
        return None
    return (
        int(rows[0]) - margin,
        int(cols[0]) - margin,
        int(rows[-1]) + 1 + margin,
        int(cols[-1]) + 1 + margin,
    )
