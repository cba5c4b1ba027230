#!/usr/bin/env python3
"""Render docs/img/synth_fingerprints.png: two synthetic impressions (rows) of one finger of each
class (columns: arch, tented arch, left loop, right loop, whorl), cropped to 320 x 400 px at
500 dpi, grey levels quantized to 32 steps to keep the file small. Deterministic.

    nice .venv/bin/python scripts/synth_mosaic.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from padron.synth.fingerprint import FingerClass, FingerPosition, generate_finger, impressions

OUT = Path(__file__).resolve().parents[1] / "docs" / "img" / "synth_fingerprints.png"


def main() -> None:
    columns = []
    for i, cls in enumerate(FingerClass):
        master = generate_finger(2026 + i, FingerPosition.RIGHT_INDEX, finger_class=cls)
        # crop 40 px of margin on each side: 320 x 400 per tile
        tiles = [image[40:440, 40:360] for image in impressions(master, 2, seed=0)]
        columns.append(np.vstack(tiles))
    gap = np.full((columns[0].shape[0], 6), 255, dtype=np.uint8)
    mosaic = np.hstack([part for column in columns for part in (column, gap)][:-1])
    mosaic = (mosaic // 8 * 8 + 4).astype(np.uint8)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(mosaic).save(OUT, optimize=True)
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
