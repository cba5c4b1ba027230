"""A disk cache of master prints: one compressed ``.npz`` per finger (no pickle), keyed by the
generator version, a digest of the master parameters, the seed and the finger position.

Layout: ``<directory>/v<GENERATOR_VERSION>-<params digest>/<seed>-<position>[-s<scale>].npz``
(the digest leaves out the finger's scale, which names the file when it is not 1) holding
``pattern`` (int8, pattern x 127), ``mask`` (bool) and ``meta`` (a JSON string: class, mean period,
cores, deltas). Writes go to a temporary file renamed into place, so concurrent writers are safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from padron.domain.finger import FingerPosition
from padron.synth.fingerprint.master import MasterPrint, generate_master
from padron.synth.fingerprint.orientation import Singularities
from padron.synth.fingerprint.params import GENERATOR_VERSION, FingerClass, MasterParams


def params_digest(params: MasterParams) -> str:
    return hashlib.sha256(repr(params).encode()).hexdigest()[:12]


class MasterCache:
    def __init__(self, directory: Path, params: MasterParams | None = None) -> None:
        self.params = params or MasterParams()
        unscaled = replace(self.params, scale=1.0)
        self.directory = Path(directory) / f"v{GENERATOR_VERSION}-{params_digest(unscaled)}"

    def path(self, seed: int, position: FingerPosition) -> Path:
        scale = "" if self.params.scale == 1.0 else f"-s{self.params.scale:.3f}"
        return self.directory / f"{seed}-{int(position):02d}{scale}.npz"

    def get(self, seed: int, position: FingerPosition) -> MasterPrint:
        """The master from the cache, or generated and stored."""
        path = self.path(seed, position)
        if path.exists():
            return self.load(path, seed, position)
        master = generate_master(seed, position, self.params)
        self.store(master)
        return master

    def store(self, master: MasterPrint) -> Path:
        path = self.path(master.seed, master.position)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "finger_class": master.finger_class.value,
            "mean_period": master.mean_period,
            "cores": [list(c) for c in master.singularities.cores],
            "deltas": [list(d) for d in master.singularities.deltas],
        }
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez_compressed(
                    handle,
                    pattern=np.rint(master.pattern * 127).astype(np.int8),
                    mask=master.mask,
                    meta=np.array(json.dumps(meta)),
                )
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @staticmethod
    def load(path: Path, seed: int, position: FingerPosition) -> MasterPrint:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            pattern = (data["pattern"].astype(np.float32) / 127).astype(np.float32)
            mask = data["mask"].astype(bool)
        return MasterPrint(
            seed=seed,
            position=position,
            finger_class=FingerClass(meta["finger_class"]),
            pattern=pattern,
            mask=mask,
            mean_period=float(meta["mean_period"]),
            singularities=Singularities(
                tuple((float(x), float(y)) for x, y in meta["cores"]),
                tuple((float(x), float(y)) for x, y in meta["deltas"]),
            ),
        )
