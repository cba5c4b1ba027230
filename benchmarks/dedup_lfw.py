#!/usr/bin/env python3
"""LFW open-set de-duplication with padron's face pipeline and decision policy: one JSON object.

    .venv/bin/python benchmarks/dedup_lfw.py --json

The split is the face evaluation's open-set design (``padron evaluate face --protocol lfw``):
identities with two or more images sorted by name, even-indexed ones enrolled with their first
image, odd-indexed ones not enrolled; every single-image identity enrolled as a distractor. A
*mated* probe is a second enrollment attempt of an enrolled person (another photo); a *non-mated*
probe is a new, unique person. Each probe is searched against the enrolled gallery (padron's
face gallery), its best match turned into an LLR with the packaged face calibration, and decided
as enrollment would: refused above ln(N / fpir_sure), adjudication above ln(N / fpir_grey),
CURP issued below (N = gallery size).

Reports FNIR at FPIR = 0.003 (threshold on the non-mated top scores, as in the face evaluation),
and under the policy: duplicates refused / sent to adjudication / missed, unique persons refused
/ sent to adjudication -- i.e. how many grey-zone cases an adjudicator would see. Templates come
from the face evaluation's cache (run the LFW evaluation first, or this extracts them: ~11 min).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LFW = ROOT.parent / "shared" / "data" / "faces" / "lfw"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lfw", type=Path, default=LFW)
    parser.add_argument("--fpir-sure", type=float, default=1e-4)
    parser.add_argument("--fpir-grey", type=float, default=0.01)
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default output)")
    args = parser.parse_args()
    images = args.lfw / "images_deepfunneled"
    if not images.is_dir():
        sys.exit(f"skipped: {images} is absent (see ../shared/data/README.md)")

    from padron.biometrics.face.cache import TemplateCache, default_cache_dir
    from padron.biometrics.face.evaluation import (
        PadronPipeline,
        extract_images,
        identity_folders,
        lfw_open_set_design,
    )
    from padron.biometrics.metrics import threshold_at_fmr
    from padron.domain.template import Modality
    from padron.matching.backends.memory import VectorGallery
    from padron.matching.fusion import llr_threshold
    from padron.matching.modalities import packaged_llr

    people = identity_folders(images)
    paths = [p for name in sorted(people) for p in people[name]]
    index = {p: i for i, p in enumerate(paths)}
    design = lfw_open_set_design(people, index)
    cache = TemplateCache(default_cache_dir())
    (templates,) = extract_images(paths, [PadronPipeline()], cache)
    cache.close()
    vectors, ok = templates.vectors.astype(np.float32), templates.ok

    gallery = VectorGallery()
    usable = ok[design.gallery]
    gallery.bulk_load([str(i) for i in design.gallery_ids[usable]], vectors[design.gallery[usable]])
    n = len(gallery)
    model = packaged_llr(Modality.FACE)
    sure, grey = llr_threshold(n, args.fpir_sure), llr_threshold(n, args.fpir_grey)

    def top1(probes: np.ndarray) -> tuple[np.ndarray, list[str | None]]:
        probes = probes[ok[probes]]
        results = gallery.search_vectors(vectors[probes], 1)
        scores = np.asarray([r[0].score if r else -1.0 for r in results])
        return scores, [r[0].ref if r else None for r in results]

    mated_scores, mated_refs = top1(design.mated)
    mated_truth = [str(i) for i, m in zip(design.mated_ids, design.mated, strict=True) if ok[m]]
    non_scores, _ = top1(design.nonmated)
    hit = np.asarray([r == t for r, t in zip(mated_refs, mated_truth, strict=True)])
    threshold = threshold_at_fmr(non_scores, 0.003)
    mated_llr, non_llr = model.llrs(mated_scores), model.llrs(non_scores)
    refused = hit & (mated_llr >= sure)
    to_adjudication = hit & (mated_llr >= grey) & (mated_llr < sure)
    unique_grey = (non_llr >= grey) & (non_llr < sure)
    result = {
        "gallery": n,
        "mated_probes": int(hit.size),
        "nonmated_probes": int(non_scores.size),
        "fta": int((~ok).sum()),
        "rank1": float(hit.mean()),
        "fnir_at_fpir_0.003": float(np.mean(~(hit & (mated_scores >= threshold)))),
        "policy": {
            "sure_llr": sure,
            "grey_llr": grey,
            "duplicates_refused": float(refused.mean()),
            "duplicates_to_adjudication": float(to_adjudication.mean()),
            "duplicates_missed": float(np.mean(~(refused | to_adjudication))),
            "unique_refused": float(np.mean(non_llr >= sure)),
            "unique_to_adjudication": float(unique_grey.mean()),
            "adjudication_cases": int(((mated_llr >= grey) & (mated_llr < sure)).sum() + unique_grey.sum()),
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
