#!/usr/bin/env python3
"""Rewrite the packaged fingerprint calibration (thresholds and LLR model) from the six FVC B
databases, pooled -- the same scores as benchmarks/finger_fvc.py, without the NBIS baseline.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/calibrate_fingerprint.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "fingerprints"
TARGET = ROOT / "src" / "padron" / "biometrics" / "calibrations" / "fingerprint-padron-mcc-v1.json"
DATABASES = {
    "FVC2002/DB1_B": None,
    "FVC2002/DB2_B": 569.0,
    "FVC2002/DB3_B": None,
    "FVC2004/DB1_B": None,
    "FVC2004/DB2_B": None,
    "FVC2004/DB3_B": 512.0,
}


def main() -> None:
    if not DATA.is_dir():
        sys.exit(f"skipped: {DATA} is absent (see ../shared/data/README.md)")
    from padron.biometrics.fingerprint.evaluation import evaluate_padron, fvc_images
    from padron.biometrics.fingerprint.extract import DEFAULT_CHAIN
    from padron.biometrics.fingerprint.template import ALGORITHM, TEMPLATE_VERSION
    from padron.biometrics.metrics import calibrate

    chain = DEFAULT_CHAIN.value
    genuine, impostor = [], []
    for db, dpi in DATABASES.items():
        figures = evaluate_padron(fvc_images(DATA / db), chain=chain, dpi=dpi)
        genuine.append(figures.genuine)
        impostor.append(figures.impostor)
        print(db, f"EER {figures.as_dict()['eer']:.4f}", file=sys.stderr, flush=True)
    calibration = calibrate(
        np.concatenate(genuine),
        np.concatenate(impostor),
        modality="fingerprint",
        algorithm=ALGORITHM,
        template_version=TEMPLATE_VERSION,
        dataset=f"FVC2002 DB1-3_B + FVC2004 DB1-3_B pooled, chain {chain}",
        protocol="FVC all pairs: same-finger pairs genuine, different-finger pairs impostor, each once",
        targets=(1e-2, 1e-3, 1e-4),
    )
    calibration.save(TARGET)
    print(f"wrote {TARGET}: llr {calibration.llr}", file=sys.stderr)


if __name__ == "__main__":
    main()
