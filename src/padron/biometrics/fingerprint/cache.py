"""On-disk cache of extractions, keyed by image content hash + chain version + resolution.

``$PADRON_CACHE_DIR`` or ``~/.cache/padron/fingerprint``; one ``.npz`` per image (plain arrays,
loaded with ``allow_pickle=False``). A damaged entry is ignored and recomputed.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np

from padron.biometrics.fingerprint.extract import EXTRACTOR_VERSIONS, Chain, Extraction
from padron.biometrics.fingerprint.minutiae import Minutiae


def cache_dir() -> Path:
    root = os.environ.get("PADRON_CACHE_DIR")
    base = Path(root) / "fingerprint" if root else Path.home() / ".cache" / "padron" / "fingerprint"
    return base


def cache_key(data: bytes, chain: Chain, dpi: float | None) -> str:
    digest = hashlib.sha256(data).hexdigest()[:32]
    tag = f"{EXTRACTOR_VERSIONS[chain]}|{dpi}"
    return f"{digest}-{hashlib.sha256(tag.encode()).hexdigest()[:12]}"


def load(key: str) -> tuple[Extraction, int | None] | None:
    path = cache_dir() / f"{key}.npz"
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            shape = tuple(int(v) for v in z["shape"])
            foreground = np.unpackbits(z["foreground"])[: shape[0] * shape[1]].reshape(shape).astype(bool)
            minutiae = Minutiae(x=z["x"], y=z["y"], angle=z["angle"], kind=z["kind"], quality=z["quality"])
            extraction = Extraction(
                chain=Chain(str(z["chain"])),
                minutiae=minutiae,
                foreground=foreground,
                seconds=float(z["seconds"]),
            )
            score = int(z["nfiq2"])
            return extraction, None if score < 0 else score
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


def store(key: str, extraction: Extraction, nfiq2: int | None) -> None:
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    m = extraction.minutiae
    tmp = directory / f".{key}.{os.getpid()}.npz"
    np.savez_compressed(
        tmp,
        x=m.x,
        y=m.y,
        angle=m.angle,
        kind=m.kind,
        quality=m.quality,
        shape=np.asarray(extraction.foreground.shape, dtype=np.int64),
        foreground=np.packbits(extraction.foreground.reshape(-1)),
        chain=np.asarray(extraction.chain.value),
        seconds=np.asarray(extraction.seconds),
        nfiq2=np.asarray(-1 if nfiq2 is None else nfiq2),
    )
    tmp.replace(directory / f"{key}.npz")
