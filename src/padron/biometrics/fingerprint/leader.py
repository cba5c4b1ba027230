"""LEADER minutiae extraction on onnxruntime.

pyfing's ``Leader.run`` runs its Keras 3 model on the PyTorch backend: 0.6-2.4 s of processor
time per print here. :class:`FastLeader` runs the same network (:mod:`leader_net`, weights copied
from pyfing's Keras model) as ONNX graphs in onnxruntime, on one thread by default, and does
what ``Leader.run`` does around it: pad to multiples of 32 with the image's top-left grey, keep
the pixels whose non-maximum-suppressed position score reaches the threshold, and read direction
and type there (computed only around those pixels, see :class:`FastLeader`).

The graphs are made on first use and cached, never downloaded and never shipped:
``$PADRON_CACHE_DIR/leader`` or ``~/.cache/padron/leader``, named by the SHA-256 of pyfing's
``LEADER.weights.h5``, of ``leader_net.py`` and :data:`CONVERTER_VERSION`, so a new pyfing
wheel or a change in the conversion makes new files. Conversion (Keras model -> torch module ->
``torch.onnx.export``) takes about 5 s once per machine; files are written under temporary
names and renamed, so concurrent first uses cannot leave a torn file, and a file onnxruntime
cannot load is converted again. Caching rather than shipping keeps 4 MB of derived weights out of
the repository and guarantees that the graph matches the installed pyfing weights.
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
CONVERTER_VERSION = "2"
#: ONNX opset of the exported graphs: from opset 20 GELU is one ``Gelu`` node, which
#: onnxruntime runs about 4% faster end to end than the erf formula of earlier opsets fused into
#: its contrib ``Gelu`` (same function; outputs equal within 2e-6 on FVC prints)
OPSET = 20
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


def _export(module: Any, example: tuple[Any, ...], path: Path, names: dict[str, dict[int, str]]) -> None:
    import torch

    inputs = [n for n in names if n in ("image", "patches", "mask")]
    outputs = [n for n in names if n not in inputs]
    torch.onnx.export(
        module,
        example,
        str(path),
        input_names=inputs,
        output_names=outputs,
        dynamic_axes=names,
        opset_version=OPSET,
        dynamo=False,
    )


def convert(path: Path, net: Any = None) -> Path:
    """Export the network (``net``, by default :func:`build_net`'s) to ONNX at ``path``
    (atomically: temporary files, then rename): the trunk graph (image -> features, quality map)
    and the patch-heads graph (feature windows -> direction and type), stored side by side as
    ``<path>`` and ``<path>.heads``."""
    import warnings

    import torch

    from padron.biometrics.fingerprint.leader_net import PATCH, PatchHeads, Trunk

    net = build_net() if net is None else net
    path.parent.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}.{threading.get_ident()}.tmp"
    trunk_tmp, heads_tmp = path.with_name(f".{path.name}.{tag}"), path.with_name(f".{path.name}.heads.{tag}")
    side = 2 * SIZE_MULTIPLE
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        _export(
            Trunk(net),
            (torch.zeros((1, 1, side, side)),),
            trunk_tmp,
            {
                "image": {2: "height", 3: "width"},
                "features": {2: "half_height", 3: "half_width"},
                "quality": {2: "height", 3: "width"},
            },
        )
        _export(
            PatchHeads(net),
            (torch.zeros((2, net.feature_channels, PATCH, PATCH)), torch.ones((2, 1, 8, 8))),
            heads_tmp,
            {"patches": {0: "n"}, "mask": {0: "n"}, "direction_type": {0: "n"}},
        )
    heads_tmp.replace(_heads_path(path))
    trunk_tmp.replace(path)
    return path


def _heads_path(path: Path) -> Path:
    return path.with_name(path.name + ".heads")


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
    """LEADER on onnxruntime with ``threads`` intra-op threads (1: the cost on one core).

    The position head runs over the whole image (its non-maximum-suppressed map is the minutia
    quality); the direction and type heads, two thirds of the heads' cost, run only on small
    windows around the pixels that pass the quality threshold, which is all pyfing reads them at.
    """

    def __init__(self, quality_threshold: float, threads: int = 1) -> None:
        from padron.biometrics.fingerprint.errors import FingerprintDependencyError

        try:
            import onnxruntime  # noqa: F401
        except ImportError as error:  # pragma: no cover - depends on the installed extra
            raise FingerprintDependencyError(f"onnxruntime is not installed: {error}") from None
        self.quality_threshold = quality_threshold
        path = model_path()
        sessions = None
        if path.exists() and _heads_path(path).exists():
            try:
                sessions = _session(path, threads), _session(_heads_path(path), threads)
            except Exception:  # a damaged cache file: convert again
                sessions = None
        if sessions is None:
            convert(path)
            sessions = _session(path, threads), _session(_heads_path(path), threads)
        self._trunk, self._heads = sessions

    def run(
        self,
        pixels: npt.NDArray[np.uint8],
        window: tuple[int, int, int, int] | None = None,
        min_saving: float = 0.0,
    ) -> list[LeaderMinutia]:
        """Minutiae of a 500-dpi image, as ``pyfing.Leader.run`` finds them.

        The image is padded as pyfing pads it (to multiples of 32, with its top-left grey). With
        ``window`` (top, left, bottom, right in image pixels, e.g. the foreground's bounding box
        plus a margin) only that part of the padded image goes through the network, widened to
        the padded image's 32-pixel grid so that every pooling step sees the same pixel phases
        as on the whole image. The window is used only if it removes at least ``min_saving`` of
        the padded image's pixels."""
        import cv2

        from padron.biometrics.fingerprint.leader_net import PATCH

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
            if y1 <= y0 or x1 <= x0 or (y1 - y0) * (x1 - x0) > (1.0 - min_saving) * ph * pw:
                y0, x0, y1, x1 = 0, 0, ph, pw
        net_input = padded[np.newaxis, np.newaxis, y0:y1, x0:x1].astype(np.float32)
        features, quality = self._trunk.run(None, {"image": net_input})
        quality = quality[0, 0]
        # candidates: pixels of the image itself (not the padding) at or above the threshold
        inside = np.zeros(quality.shape, dtype=bool)
        inside[max(0, top - y0) : top + h - y0, max(0, left - x0) : left + w - x0] = True
        ys, xs = np.nonzero(inside & (quality >= self.quality_threshold))
        if ys.size == 0:
            return []
        half = PATCH // 2
        grid = np.arange(PATCH)
        padded_features = np.pad(features[0], ((0, 0), (half, half), (half, half)))
        rows = (ys // 2 - 4 + half)[:, None] + grid
        cols = (xs // 2 - 4 + half)[:, None] + grid
        patches = padded_features[:, rows[:, :, None], cols[:, None, :]].transpose(1, 0, 2, 3)
        up = np.arange(8)
        row_ok = ((2 * (ys // 2) - 2)[:, None] + up >= 0) & (
            (2 * (ys // 2) - 2)[:, None] + up < quality.shape[0]
        )
        col_ok = ((2 * (xs // 2) - 2)[:, None] + up >= 0) & (
            (2 * (xs // 2) - 2)[:, None] + up < quality.shape[1]
        )
        mask = (row_ok[:, :, None] & col_ok[:, None, :])[:, None].astype(np.float32)
        heads = self._heads.run(None, {"patches": np.ascontiguousarray(patches), "mask": mask})[0]
        n = np.arange(ys.size)
        direction = heads[n, 0, ys % 2, xs % 2]
        kind = heads[n, 1, ys % 2, xs % 2]
        q = quality[ys, xs]
        return [
            LeaderMinutia(
                int(x) + x0 - left,
                int(y) + y0 - top,
                float(d),
                "E" if t >= TYPE_THRESHOLD else "B",
                float(qq),
            )
            for y, x, d, t, qq in zip(ys.tolist(), xs.tolist(), direction, kind, q, strict=True)
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
