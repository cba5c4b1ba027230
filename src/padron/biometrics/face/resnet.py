"""dlib's face-recognition ResNet, run with numpy instead of dlib's own convolution code.

Why: the ``dlib-bin`` wheel is built without BLAS, and its network pass costs about 105 ms of processor
time per face on one core -- more than the whole 100 ms extraction budget. The same network as a chain
of im2col + matrix products in numpy (whose OpenBLAS is vectorized) gives the same 128 numbers (to
float32 rounding; a test checks them against dlib's) in a fraction of that, and a batch of chips (a face
and its mirror image) in one product per layer.

The weights are read from the very file dlib loads (``dlib_face_recognition_resnet_model_v1.dat`` in
the ``face-recognition-models`` wheel): dlib's serialization writes the layers input first, each
layer's parameter tensor as a header of packed integers followed by little-endian float32 values.
Only parameter tensors and convolution geometry are read; the architecture is the one of dlib's
``dnn_face_recognition_ex.cpp`` (29 convolutions, 14 residual blocks), checked against the file.

Loaded on first use, once per process (never at import).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from padron.biometrics.face.errors import FaceModelUnavailableError

Array = npt.NDArray[np.float32]

#: (channels, stride) of the 14 residual blocks, input side first
BLOCKS: tuple[tuple[int, int], ...] = (
    *((32, 1),) * 3,
    (64, 2),
    *((64, 1),) * 3,
    (128, 2),
    *((128, 1),) * 2,
    (256, 2),
    *((256, 1),) * 2,
    (256, 2),
)
CHIP = 150


@dataclass(frozen=True, slots=True)
class Conv:
    weights: Array  # (filters, channels * rows * cols)
    bias: Array  # (filters,)
    size: int
    stride: int
    padding: int


@dataclass(frozen=True, slots=True)
class Affine:
    gamma: Array  # (channels,)
    beta: Array


@dataclass(frozen=True, slots=True)
class ResNetWeights:
    mean_rgb: tuple[float, float, float]
    convs: tuple[Conv, ...]
    affines: tuple[Affine, ...]
    fc: Array  # (256, 128)


class _Reader:
    """dlib's serialization: integers packed as (size | sign << 7, little-endian bytes)."""

    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos

    def int(self) -> int:
        head = self.data[self.pos]
        size = head & 0x0F
        value = int.from_bytes(self.data[self.pos + 1 : self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if head & 0x80 else value

    def float(self) -> float:
        mantissa = self.int()
        exponent = self.int()
        return float(mantissa) * 2.0**exponent

    def tensor(self) -> Array:
        version = self.int()
        if version != 2:
            raise ValueError(f"tensor serialization version {version}")
        n, k, rows, cols = self.int(), self.int(), self.int(), self.int()
        count = n * k * rows * cols
        end = self.pos + 4 * count
        if count <= 0 or end > len(self.data):
            raise ValueError("tensor past the end of the file")
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos).astype(np.float32)
        self.pos = end
        return values.reshape(n, k * rows * cols) if k * rows * cols > 1 else values

    def find(self, name: bytes) -> bool:
        marker = bytes([1, len(name)]) + name
        at = self.data.find(marker, self.pos)
        if at < 0:
            return False
        self.pos = at + len(marker)
        return True


def parse(path: Path) -> ResNetWeights:
    """The network's parameters from dlib's ``.dat`` file (FaceModelUnavailableError if it is not the
    face-recognition ResNet)."""
    data = path.read_bytes()
    try:
        r = _Reader(data, 0)
        if not r.find(b"input_rgb_image_sized"):
            raise ValueError("no input_rgb_image_sized layer")
        mean = (r.float(), r.float(), r.float())
        if (r.int(), r.int()) != (CHIP, CHIP):
            raise ValueError(f"input is not {CHIP}x{CHIP}")
        convs: list[Conv] = []
        affines: list[Affine] = []
        channels = 3
        for _ in range(1 + 2 * len(BLOCKS)):
            if not r.find(b"con_4"):
                raise ValueError(f"{len(convs)} convolutions, 29 expected")
            params = r.tensor().reshape(-1)
            filters, rows, cols, sy, sx, py, px = (r.int() for _ in range(7))
            if rows != cols or sy != sx or py != px or params.size != filters * (channels * rows * cols + 1):
                raise ValueError(f"convolution {len(convs)} has an unexpected geometry")
            w = params[: filters * channels * rows * cols].reshape(filters, channels * rows * cols)
            convs.append(Conv(np.ascontiguousarray(w), params[-filters:].copy(), rows, sy, py))
            if not r.find(b"affine_"):
                raise ValueError("missing affine layer")
            ab = r.tensor().reshape(-1)
            if ab.size != 2 * filters:
                raise ValueError(f"affine layer {len(affines)} has {ab.size} values, {2 * filters} expected")
            affines.append(Affine(ab[:filters].copy(), ab[filters:].copy()))
            channels = filters
        if not r.find(b"fc_2"):
            raise ValueError("no fully connected layer")
        outputs, inputs = r.int(), r.int()
        fc = r.tensor().reshape(-1)
        if (outputs, inputs) != (128, 256) or fc.size != inputs * outputs:
            raise ValueError("the fully connected layer is not 256 -> 128")
    except (ValueError, IndexError) as error:
        raise FaceModelUnavailableError(
            f"{path.name} is not dlib's face ResNet as expected: {error}"
        ) from None
    expected = [(32, 7, 2)]
    for filters, stride in BLOCKS:
        expected += [(filters, 3, stride), (filters, 3, 1)]
    got = [(c.weights.shape[0], c.size, c.stride) for c in convs]
    if got != expected:
        raise FaceModelUnavailableError(f"{path.name}: layer geometry {got} differs from dlib's face ResNet")
    return ResNetWeights(
        mean, tuple(convs), tuple(affines), np.ascontiguousarray(fc.reshape(inputs, outputs))
    )


_lock = threading.Lock()


@cache
def _weights(path: str) -> ResNetWeights:
    return parse(Path(path))


def load(path: Path) -> ResNetWeights:
    with _lock:
        return _weights(str(path))


# --- forward pass ---------------------------------------------------------------------------------


def _conv(x: Array, c: Conv) -> Array:
    """(n, channels, h, w) -> (n, filters, h', w'): cross-correlation as im2col + one matrix product."""
    if c.padding:
        x = np.pad(x, ((0, 0), (0, 0), (c.padding, c.padding), (c.padding, c.padding)))
    n, ch = x.shape[:2]
    windows = np.lib.stride_tricks.sliding_window_view(x, (c.size, c.size), axis=(2, 3))
    windows = windows[:, :, :: c.stride, :: c.stride]  # (n, ch, ho, wo, k, k)
    ho, wo = windows.shape[2:4]
    cols = windows.transpose(1, 4, 5, 0, 2, 3).reshape(ch * c.size * c.size, n * ho * wo)
    out = c.weights @ cols  # (filters, n * ho * wo)
    out += c.bias[:, None]
    return np.ascontiguousarray(out.reshape(-1, n, ho, wo).transpose(1, 0, 2, 3))


def _affine(x: Array, a: Affine) -> Array:
    x *= a.gamma[None, :, None, None]
    x += a.beta[None, :, None, None]
    return x


def _pool(x: Array, size: int, stride: int, reduce: str) -> Array:
    windows = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(2, 3))[:, :, ::stride, ::stride]
    if reduce == "max":
        return np.ascontiguousarray(windows.max(axis=(4, 5)))
    return np.ascontiguousarray(windows.mean(axis=(4, 5), dtype=np.float32))


def _add(a: Array, b: Array) -> Array:
    """dlib's add_prev: tensors of different shapes add over their overlap, zeros elsewhere."""
    if a.shape == b.shape:
        return a + b
    shape = tuple(max(p, q) for p, q in zip(a.shape, b.shape, strict=True))
    out = np.zeros(shape, dtype=np.float32)
    out[: a.shape[0], : a.shape[1], : a.shape[2], : a.shape[3]] += a
    out[: b.shape[0], : b.shape[1], : b.shape[2], : b.shape[3]] += b
    return out


def descriptors(weights: ResNetWeights, chips: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """(n, 128) raw descriptors (as dlib's ``compute_face_descriptor``) of n aligned 150x150 RGB chips."""
    chips = np.asarray(chips)
    if chips.ndim == 3:
        chips = chips[None]
    if chips.shape[1:] != (CHIP, CHIP, 3):
        raise ValueError(f"chips must be (n, {CHIP}, {CHIP}, 3), got {chips.shape}")
    mean = np.asarray(weights.mean_rgb, dtype=np.float32)
    x = np.ascontiguousarray(((chips.astype(np.float32) - mean) / np.float32(256.0)).transpose(0, 3, 1, 2))
    convs, affines = weights.convs, weights.affines
    x = np.maximum(_affine(_conv(x, convs[0]), affines[0]), 0.0)
    x = _pool(x, 3, 2, "max")
    for b, (_, stride) in enumerate(BLOCKS):
        c1, a1, c2, a2 = convs[1 + 2 * b], affines[1 + 2 * b], convs[2 + 2 * b], affines[2 + 2 * b]
        y = np.maximum(_affine(_conv(x, c1), a1), 0.0)
        y = _affine(_conv(y, c2), a2)
        shortcut = x if stride == 1 else _pool(x, 2, 2, "mean")
        x = np.maximum(_add(y, shortcut), 0.0)
    pooled = x.mean(axis=(2, 3), dtype=np.float32)  # (n, 256)
    return np.asarray(pooled @ weights.fc, dtype=np.float64)
