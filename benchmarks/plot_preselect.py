#!/usr/bin/env python3
"""The pre-selection's FNIR against penetration, as a plot: FVC alone (one-finger probes, the
output of ``finger_search.py --fvc-only --json``) and synthetic persons (ten-finger probes, the
output of ``finger_preselect.py --json``), with the gallery's own operating points.

    .venv/bin/python benchmarks/plot_preselect.py docs/finger_fvc_preselect.json \
        docs/finger_preselect_scale.json docs/img/preselect_fnir.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fvc: dict[str, Any] = json.loads(Path(argv[0]).read_text())
    persons: dict[str, Any] = json.loads(Path(argv[1]).read_text())
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for spec, entry in fvc.items():
        if not isinstance(entry, dict) or "preselection_fnir_at_penetration" not in entry:
            continue
        curve = entry["preselection_fnir_at_penetration"]
        xs = [100 * float(p) for p in curve]
        label = f"index {spec} (bands x MinHashes)"
        left.plot(xs, [100 * v for v in curve.values()], marker="o", label=label)
        own = entry.get("indexed_search")
        if own:
            left.scatter(
                [100 * own["penetration"]],
                [100 * own["rank1_fnir"]],
                marker="*",
                s=160,
                color="black",
                zorder=5,
                label=f"gallery's search: rank-1 FNIR {100 * own['rank1_fnir']:.2f} %",
            )
    left.axhline(
        100 * fvc["exhaustive_rank1_fnir"],
        color="grey",
        linestyle="--",
        label=f"exhaustive rank-1 FNIR {100 * fvc['exhaustive_rank1_fnir']:.2f} %",
    )
    left.set_xscale("log")
    left.set_xlabel("penetration (% of the other prints sent to the full matcher)")
    left.set_ylabel("FNIR (%)")
    left.set_title(f"FVC B sets alone: {fvc['prints']} prints, one-finger probes")
    left.legend(fontsize=8)
    left.grid(True, which="both", alpha=0.3)
    for result in persons["results"]:
        curve = result["vote_order_fnir_at_penetration"]
        n = result["persons"]
        right.plot(
            [100 * float(p) for p in curve],
            [100 * v for v in curve.values()],
            marker="o",
            label=f"{n:,} persons (vote order)",
        )
        right.scatter(
            [100 * result["penetration"]],
            [100 * result["preselection_fnir"]],
            marker="*",
            s=160,
            zorder=5,
        )
    right.set_xscale("log")
    right.set_xlabel("penetration (% of the gallery's persons)")
    right.set_ylabel("FNIR (%)")
    right.set_title(f"synthetic persons, ten-finger probes ({persons['mated_probes']} mated)")
    right.legend(fontsize=8, title="stars: the gallery's shortlist", title_fontsize=8)
    right.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    Path(argv[2]).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(argv[2], dpi=110)
    print(argv[2])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
