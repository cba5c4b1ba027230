"""Images made by the tests with Pillow, and the path of the real LFW data (read-only, never copied)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[4]
LFW = REPO.parent / "shared" / "data" / "faces" / "lfw"


def encode(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def noise_image(width: int = 64, height: int = 48, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB")


def lfw_image(root: Path, name: str, number: int) -> bytes:
    return (root / "images_deepfunneled" / name / f"{name}_{number:04d}.jpg").read_bytes()
