"""Small decodable images for registry-level tests (the synthetic templates do not come from
them: these stand for the images an enrollment station submitted beside its templates)."""

from __future__ import annotations

import io
from collections.abc import Iterable

import numpy as np
from PIL import Image


def png(seed: int, *, size: int = 64, grey: bool = False) -> bytes:
    rng = np.random.default_rng(seed)
    shape = (size, size) if grey else (size, size, 3)
    image = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), "L" if grey else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def images_for(slots: Iterable[str], seed: int) -> dict[str, bytes]:
    """An image per slot: a colour "face" and grey finger impressions, distinct per seed and slot."""
    return {
        slot: png(seed * 100 + (0 if slot == "face" else int(slot)), grey=slot != "face") for slot in slots
    }
