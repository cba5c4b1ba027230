#!/usr/bin/env python3
"""LEADER variants behind the README's "Tried and dropped" list: speed of the trunk graph, and FVC
accuracy of a variant. One JSON object.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/leader_variants.py --json
        processor ms (best of --repeats, one onnxruntime thread, one 384 x 352 input) of the trunk
        exported at opset 17 (erf GELU, fused by onnxruntime), at opset 20 (one Gelu node: the
        default) and with GELU approximated as x * sigmoid(1.702 x); the largest output
        difference of each against opset 17; PyTorch itself (eager and TorchScript) with --torch
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/leader_variants.py --fvc sigmoid
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/leader_variants.py --fvc exact --margin 16 --min-saving 0
        benchmarks/finger_fvc.py (padron only) with that GELU and crop, extracting into a throwaway
        cache so that nothing cached by the default chain is reused or overwritten

Both switches patch this process only (torch's GELU while exporting, the crop constants of
``padron.biometrics.fingerprint.extract``): they are experiments, not settings.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("KERAS_BACKEND", "torch")

import argparse
import json
import runpy
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _sigmoid_gelu() -> None:
    import torch
    from torch.nn import functional

    functional.gelu = lambda x, *a, **k: x * torch.sigmoid(1.702 * x)


def _trunk(path: Path, opset: int) -> Path:
    from padron.biometrics.fingerprint import leader

    leader.OPSET = opset  # read by leader._export
    leader.convert(path)
    return path


def _timed(run: Any, repeats: int) -> float:
    run()
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return round(1000 * best, 1)


def speed(repeats: int, with_torch: bool) -> dict[str, Any]:
    from padron.biometrics.fingerprint.leader import _session

    image = np.random.default_rng(0).integers(0, 255, (1, 1, 384, 352)).astype(np.float32)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        graphs = {
            "opset17_erf_gelu": _trunk(Path(tmp) / "o17.onnx", 17),
            "opset20_gelu": _trunk(Path(tmp) / "o20.onnx", 20),
        }
        _sigmoid_gelu()  # from here on, exports use x * sigmoid(1.702 x)
        graphs["opset20_sigmoid_gelu"] = _trunk(Path(tmp) / "sig.onnx", 20)
        sessions = {name: _session(path, 1) for name, path in graphs.items()}
        reference = sessions["opset17_erf_gelu"].run(None, {"image": image})
        for name, session in sessions.items():
            result = session.run(None, {"image": image})
            out[name] = {
                "trunk_ms": _timed(lambda s=session: s.run(None, {"image": image}), repeats),
                "max_abs_difference_to_opset17": float(
                    max(np.abs(a - b).max() for a, b in zip(result, reference, strict=True))
                ),
            }
    if with_torch:
        import torch

        from padron.biometrics.fingerprint.leader import build_net
        from padron.biometrics.fingerprint.leader_net import Trunk

        torch.set_num_threads(1)
        module = Trunk(build_net()).eval()
        x = torch.from_numpy(image)
        with torch.no_grad():
            frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(module, x).eval()))  # type: ignore[no-untyped-call]
            out["torch_eager"] = {"trunk_ms": _timed(lambda: module(x), repeats)}
            out["torch_jit_frozen"] = {"trunk_ms": _timed(lambda: frozen(x), repeats)}
    return out


def fvc(gelu: str, margin: int | None, min_saving: float | None) -> None:
    """Run benchmarks/finger_fvc.py --json --no-baseline with this variant (prints its JSON)."""
    os.environ["PADRON_CACHE_DIR"] = tempfile.mkdtemp(prefix="padron-leader-variant-")
    if gelu == "sigmoid":
        _sigmoid_gelu()
    from padron.biometrics.fingerprint import extract

    if margin is not None:
        extract.LEADER_MARGIN = margin
    if min_saving is not None:
        extract.LEADER_CROP_SAVING = min_saving
    sys.argv = ["finger_fvc.py", "--json", "--no-baseline"]
    runpy.run_path(str(ROOT / "benchmarks" / "finger_fvc.py"), run_name="__main__")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=6)
    parser.add_argument("--torch", action="store_true", help="also time the PyTorch module itself")
    parser.add_argument("--fvc", choices=("exact", "sigmoid"), default=None, help="FVC accuracy of a variant")
    parser.add_argument("--margin", type=int, default=None, help="with --fvc: crop margin (px)")
    parser.add_argument("--min-saving", type=float, default=None, help="with --fvc: crop when saving >= this")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.fvc:
        fvc(args.fvc, args.margin, args.min_saving)
        return 0
    result = {
        "input": [384, 352],
        "threads": 1,
        "variants": speed(args.repeats, args.torch),
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
