"""The dashboard's figures, drawn on the server with matplotlib (the Agg canvas of a Figure of
its own per call: no pyplot state shared between requests) and sent as PNG."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any, Final

from padron.registry.stats import EnrollmentStats

#: one colour per outcome (a colour-blind-safe palette) and its label
OUTCOMES: Final = (
    ("issued", "#0072B2"),
    ("refused", "#D55E00"),
    ("merged", "#CC79A7"),
    ("pending", "#E69F00"),
    ("failed", "#555555"),
)


def _png(figure: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=96, bbox_inches="tight")
    return out.getvalue()


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def enrollments_chart(stats: EnrollmentStats, labels: Mapping[str, str]) -> bytes:
    figure = _figure(9, 3.2)
    ax = figure.add_subplot()
    days = [d.day for d in stats.days]
    bottom = [0] * len(days)
    for outcome, colour in OUTCOMES:
        values = [d.counts.get(outcome, 0) for d in stats.days]
        ax.bar(days, values, bottom=bottom, color=colour, label=labels.get(outcome, outcome), width=0.8)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel(labels.get("attempts", "attempts"))
    ax.legend(loc="upper left", fontsize=8, ncols=5)
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _png(figure)


def scores_chart(stats: EnrollmentStats, labels: Mapping[str, str]) -> bytes:
    figure = _figure(9, 3.2)
    panels: Sequence[tuple[str, list[float]]] = (
        (labels.get("face", "face"), stats.slot_scores.get("face", [])),
        (labels.get("fingerprint", "fingerprint"), stats.slot_scores.get("fingerprint", [])),
        (labels.get("llr", "best fused LLR"), stats.best_llrs),
    )
    axes = figure.subplots(1, 3)
    for ax, (title, values) in zip(axes, panels, strict=True):
        if values:
            ax.hist(values, bins=30, color="#0072B2")
        ax.set_title(f"{title} (n={len(values)})", fontsize=10)
        ax.grid(alpha=0.3)
    for name, colour in (("sure_llr", "#D55E00"), ("grey_llr", "#E69F00")):
        if name in stats.thresholds:
            axes[2].axvline(stats.thresholds[name], color=colour, linestyle="--", label=name)
    if stats.thresholds:
        axes[2].legend(fontsize=8)
    return _png(figure)


def det_chart(calibrations: Mapping[str, Any]) -> bytes:
    """FNMR against FMR at the operating points each calibration measured, with its EER."""
    figure = _figure(6, 4)
    ax = figure.add_subplot()
    for (name, calibration), colour in zip(
        calibrations.items(), ("#0072B2", "#D55E00", "#009E73"), strict=False
    ):
        points = sorted(
            (float(key.removeprefix("fnmr_at_fmr_")), float(value))
            for key, value in calibration.measured.items()
            if key.startswith("fnmr_at_fmr_")
        )
        eer = calibration.measured.get("eer")
        if eer is not None:
            points.append((float(eer), float(eer)))
            points.sort()
        if not points:
            continue
        ax.plot(
            [p[0] for p in points], [max(p[1], 1e-4) for p in points], marker="o", color=colour, label=name
        )
        if eer is not None:
            ax.annotate(f"EER {eer:.2%}", (eer, eer), textcoords="offset points", xytext=(6, -10), fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("FMR")
    ax.set_ylabel("FNMR")
    ax.grid(which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    return _png(figure)
