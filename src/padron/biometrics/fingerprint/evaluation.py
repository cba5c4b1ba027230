"""The FVC protocol on a folder of ``<finger>_<impression>.<ext>`` images.

Genuine comparisons: every unordered pair of impressions of the same finger. Impostor comparisons:
every unordered pair of impressions of different fingers. A print that fails to enroll (decoding
error or fewer than ``MIN_MINUTIAE`` minutiae) stays in the protocol: its comparisons score 0,
so it counts against FNMR, and it is reported in FTE.

Times (extraction milliseconds, comparisons per second) are processor time of this process, so
that they do not depend on what else the machine is running; pin thread pools to one thread
(OMP_NUM_THREADS=1 etc.) for one-core figures.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from padron.biometrics import metrics
from padron.biometrics.fingerprint.api import MIN_MINUTIAE
from padron.biometrics.fingerprint.errors import FvcLayoutError
from padron.domain.errors import PadronError

IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".bmp", ".jpg", ".jpeg")

#: the six public FVC B sets (folders under ``fingerprints/`` of the data README) and their scan
#: resolution where it is not the nominal 500 dpi (FVC2002 DB2 569 dpi, FVC2004 DB3 512 dpi)
FVC_B_SETS: dict[str, float | None] = {
    "FVC2002/DB1_B": None,
    "FVC2002/DB2_B": 569.0,
    "FVC2002/DB3_B": None,
    "FVC2004/DB1_B": None,
    "FVC2004/DB2_B": None,
    "FVC2004/DB3_B": 512.0,
}

_NAME = re.compile(r"^(\d+)_(\d+)$")

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class FvcImage:
    finger: int
    impression: int
    path: Path


def fvc_images(folder: Path) -> list[FvcImage]:
    found = []
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            match = _NAME.match(path.stem)
            if path.suffix.lower() in IMAGE_SUFFIXES and match:
                found.append(FvcImage(int(match.group(1)), int(match.group(2)), path))
    fingers = {i.finger for i in found}
    if len(found) < 2 or len(fingers) < 2 or len(found) == len(fingers):
        raise FvcLayoutError(
            f"{folder} holds {len(found)} <finger>_<impression> images of {len(fingers)} fingers; "
            "need at least two fingers and one finger with two impressions",
            folder=str(folder),
        )
    return sorted(found, key=lambda i: (i.finger, i.impression))


def fvc_pairs(images: list[FvcImage]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    genuine: list[tuple[int, int]] = []
    impostor: list[tuple[int, int]] = []
    for i in range(len(images)):
        for j in range(i + 1, len(images)):
            (genuine if images[i].finger == images[j].finger else impostor).append((i, j))
    return genuine, impostor


@dataclass
class Figures:
    eer: float
    fmr100: float
    fmr1000: float
    zerofmr: float
    fte: float
    extract_ms_median: float
    comparisons_per_s: float
    genuine_pairs: int
    impostor_pairs: int
    genuine: F64 = field(repr=False)
    impostor: F64 = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "eer": self.eer,
            "fmr100": self.fmr100,
            "fmr1000": self.fmr1000,
            "zerofmr": self.zerofmr,
            "fte": self.fte,
            "extract_ms_median": self.extract_ms_median,
            "comparisons_per_s": self.comparisons_per_s,
            "genuine_pairs": self.genuine_pairs,
            "impostor_pairs": self.impostor_pairs,
        }


def figures(
    genuine: F64, impostor: F64, *, fte: float, extract_ms: list[float], comparisons: int, seconds: float
) -> Figures:
    return Figures(
        eer=metrics.eer(genuine, impostor),
        fmr100=metrics.fnmr_at_fmr(genuine, impostor, 0.01),
        fmr1000=metrics.fnmr_at_fmr(genuine, impostor, 0.001),
        zerofmr=metrics.zero_fmr(genuine, impostor),
        fte=fte,
        extract_ms_median=statistics.median(extract_ms) if extract_ms else float("nan"),
        comparisons_per_s=comparisons / seconds if seconds > 0 else float("nan"),
        genuine_pairs=int(genuine.size),
        impostor_pairs=int(impostor.size),
        genuine=genuine,
        impostor=impostor,
    )


def evaluate_padron(
    images: list[FvcImage],
    *,
    chain: str,
    dpi: float | None,
    use_cache: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> Figures:
    from padron.biometrics.fingerprint.matcher import FingerprintComparator
    from padron.biometrics.fingerprint.pipeline import extract_bytes
    from padron.biometrics.fingerprint.template import FingerprintTemplate, create

    templates: list[FingerprintTemplate | None] = []
    extract_ms: list[float] = []
    for k, image in enumerate(images):
        try:
            extraction, quality = extract_bytes(image.path.read_bytes(), chain, dpi, use_cache=use_cache)
        except PadronError:
            templates.append(None)
            continue
        extract_ms.append(1000.0 * extraction.seconds)
        if len(extraction.minutiae) < MIN_MINUTIAE:
            templates.append(None)
        else:
            shape = (int(extraction.foreground.shape[0]), int(extraction.foreground.shape[1]))
            templates.append(create(extraction.minutiae, shape, extraction.chain, quality))
        if progress:
            progress(k + 1, len(images))
    comparator = FingerprintComparator()
    return _score_all(images, templates, comparator, extract_ms)


def _score_all(
    images: list[FvcImage], templates: list[Any], comparator: Any, extract_ms: list[float]
) -> Figures:
    n = len(images)
    ok = [i for i, t in enumerate(templates) if t is not None]
    matrix = np.zeros((n, n), dtype=np.float64)
    candidates = comparator.candidates([templates[i] for i in ok])
    start = time.process_time()
    computed = 0
    for i in ok:
        probe = comparator.prepare(templates[i])
        row = comparator.scores(probe, candidates)
        matrix[i, ok] = row
        computed += len(ok)
    seconds = time.process_time() - start
    return _protocol_figures(images, matrix, templates, extract_ms, computed, seconds)


def _protocol_figures(
    images: list[FvcImage],
    matrix: F64,
    templates: list[Any],
    extract_ms: list[float],
    computed: int,
    seconds: float,
) -> Figures:
    genuine_pairs, impostor_pairs = fvc_pairs(images)
    # symmetric protocol: each unordered pair once, scored probe = lower index
    g = np.asarray([matrix[i, j] for i, j in genuine_pairs], dtype=np.float64)
    im = np.asarray([matrix[i, j] for i, j in impostor_pairs], dtype=np.float64)
    fte = sum(t is None for t in templates) / len(templates)
    return figures(g, im, fte=fte, extract_ms=extract_ms, comparisons=computed, seconds=seconds)


def evaluate_nbis(images: list[FvcImage], *, dpi: float | None) -> Figures:
    """The baseline: NBIS mindtct minutiae and the bozorth3-style matcher of nbis-py."""
    from padron.biometrics.fingerprint.image import decode, encode_png
    from padron.biometrics.fingerprint.nbis_baseline import NbisBaseline

    baseline = NbisBaseline()
    templates: list[Any] = []
    extract_ms: list[float] = []
    for image in images:
        try:
            png = encode_png(decode(image.path.read_bytes(), dpi))
        except PadronError:
            templates.append(None)
            continue
        start = time.process_time()
        minutiae = baseline.extract(png)
        extract_ms.append(1000.0 * (time.process_time() - start))
        templates.append(minutiae if len(minutiae.get()) >= MIN_MINUTIAE else None)
    n = len(images)
    matrix = np.zeros((n, n), dtype=np.float64)
    ok = [i for i, t in enumerate(templates) if t is not None]
    start = time.process_time()
    computed = 0
    for i in ok:
        for j in ok:
            if j > i:
                matrix[i, j] = float(templates[i].compare(templates[j]))
                computed += 1
    seconds = time.process_time() - start
    return _protocol_figures(images, matrix, templates, extract_ms, computed, seconds)
