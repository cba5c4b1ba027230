"""Verification error rates from genuine and impostor score samples (higher score = more alike).

Definitions follow ISO/IEC 19795-1: at threshold t a comparison is a match when score >= t;
FMR(t) is the share of impostor scores >= t, FNMR(t) the share of genuine scores < t.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ErrorCurve:
    """FMR and FNMR at every distinct threshold (thresholds ascending)."""

    thresholds: FloatArray
    fmr: FloatArray
    fnmr: FloatArray


def error_curve(genuine: npt.ArrayLike, impostor: npt.ArrayLike) -> ErrorCurve:
    g = np.sort(np.asarray(genuine, dtype=np.float64))
    i = np.sort(np.asarray(impostor, dtype=np.float64))
    if g.size == 0 or i.size == 0:
        raise ValueError("need at least one genuine and one impostor score")
    thresholds = np.unique(np.concatenate([g, i, [np.inf]]))
    # share of genuine scores strictly below t; share of impostor scores at or above t
    fnmr = np.searchsorted(g, thresholds, side="left") / g.size
    fmr = 1.0 - np.searchsorted(i, thresholds, side="left") / i.size
    return ErrorCurve(thresholds=thresholds, fmr=fmr, fnmr=fnmr)


def eer(genuine: npt.ArrayLike, impostor: npt.ArrayLike) -> float:
    """Equal error rate: where FMR and FNMR cross (mean of the two at the closest threshold)."""
    curve = error_curve(genuine, impostor)
    k = int(np.argmin(np.abs(curve.fmr - curve.fnmr)))
    return float((curve.fmr[k] + curve.fnmr[k]) / 2.0)


def threshold_at_fmr(impostor: npt.ArrayLike, target_fmr: float) -> float:
    """Smallest threshold whose FMR on these impostor scores is <= target_fmr."""
    i = np.sort(np.asarray(impostor, dtype=np.float64))
    allowed = int(np.floor(target_fmr * i.size))  # impostor scores allowed at or above t
    if allowed >= i.size:
        return float(i[0])
    # threshold just above the (allowed+1)-th largest impostor score
    return float(np.nextafter(i[i.size - allowed - 1], np.inf))


def fnmr_at_fmr(genuine: npt.ArrayLike, impostor: npt.ArrayLike, target_fmr: float) -> float:
    """FNMR at the operating point with FMR <= target (FMR100 = target 0.01, FMR1000 = 0.001)."""
    t = threshold_at_fmr(impostor, target_fmr)
    g = np.asarray(genuine, dtype=np.float64)
    return float(np.mean(g < t))


def zero_fmr(genuine: npt.ArrayLike, impostor: npt.ArrayLike) -> float:
    """FNMR at the lowest threshold with no false match at all."""
    return fnmr_at_fmr(genuine, impostor, 0.0)


def supported_fmrs(n_impostor: int, targets: tuple[float, ...] = (1e-3, 1e-4, 1e-5)) -> tuple[float, ...]:
    """The target FMRs that this many impostor comparisons can support (at least 10 errors' worth
    would be ideal; we require that the target is at least 1/n)."""
    return tuple(t for t in targets if t * n_impostor >= 1.0)


@dataclass(frozen=True)
class Calibration:
    """Decision thresholds for one algorithm, measured on a named data set and protocol."""

    modality: str
    algorithm: str
    template_version: int
    dataset: str
    protocol: str
    genuine_pairs: int
    impostor_pairs: int
    #: target FMR (as a string such as "1e-3") -> similarity threshold
    thresholds: dict[str, float]
    measured: dict[str, Any] = field(default_factory=dict)
    #: score -> log-likelihood ratio, ``{"slope": a, "intercept": b}`` (padron.matching.fusion)
    llr: dict[str, float] = field(default_factory=dict)

    def threshold(self, fmr: float) -> float:
        key = fmr_key(fmr)
        if key not in self.thresholds:
            raise KeyError(f"no threshold calibrated for FMR {key}; have {sorted(self.thresholds)}")
        return self.thresholds[key]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        return cls(**json.loads(text))

    def save(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def packaged(cls, name: str) -> Calibration:
        """A calibration shipped in ``padron/biometrics/calibrations/<name>.json``."""
        text = resources.files("padron.biometrics.calibrations").joinpath(f"{name}.json").read_text("utf-8")
        return cls.from_json(text)


def fmr_key(fmr: float) -> str:
    """'1e-3' style key for a target FMR."""
    return f"{fmr:.0e}".replace("e-0", "e-")


def fit_llr(genuine: npt.ArrayLike, impostor: npt.ArrayLike, *, l2: float = 1e-6) -> tuple[float, float]:
    """``(slope, intercept)`` of ``LLR(s) = slope * s + intercept``, the natural-log likelihood ratio
    of same/different person, by logistic regression of same/different on the score, both classes
    weighted equally (so the
    log-odds is the log-likelihood ratio, free of the sample's class proportions).

    Newton-Raphson on a two-parameter model; a small L2 penalty on the slope keeps it finite when
    the classes are perfectly separated.
    """
    g = np.asarray(genuine, dtype=np.float64)
    i = np.asarray(impostor, dtype=np.float64)
    if g.size == 0 or i.size == 0:
        raise ValueError("need genuine and impostor scores")
    x = np.concatenate([g, i])
    y = np.concatenate([np.ones_like(g), np.zeros_like(i)])
    w = np.concatenate([np.full(g.size, 0.5 / g.size), np.full(i.size, 0.5 / i.size)])
    # standardize for a well-conditioned Newton step
    mu, sd = float(x.mean()), float(x.std()) or 1.0
    z = (x - mu) / sd
    a, b = 0.0, 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(a * z + b)))
        grad_a = float(np.sum(w * (p - y) * z)) + l2 * a
        grad_b = float(np.sum(w * (p - y)))
        h = w * p * (1 - p)
        haa, hab, hbb = float(np.sum(h * z * z)) + l2, float(np.sum(h * z)), float(np.sum(h)) + 1e-12
        det = haa * hbb - hab * hab
        da = (hbb * grad_a - hab * grad_b) / det
        db = (haa * grad_b - hab * grad_a) / det
        a, b = a - da, b - db
        if abs(da) < 1e-10 and abs(db) < 1e-10:
            break
    return a / sd, b - a * mu / sd


def calibrate(
    genuine: npt.ArrayLike,
    impostor: npt.ArrayLike,
    *,
    modality: str,
    algorithm: str,
    template_version: int,
    dataset: str,
    protocol: str,
    targets: tuple[float, ...] = (1e-3, 1e-4, 1e-5),
) -> Calibration:
    g = np.asarray(genuine, dtype=np.float64)
    i = np.asarray(impostor, dtype=np.float64)
    thresholds = {fmr_key(t): threshold_at_fmr(i, t) for t in supported_fmrs(i.size, targets)}
    measured = {
        "eer": eer(g, i),
        **{f"fnmr_at_fmr_{fmr_key(t)}": fnmr_at_fmr(g, i, t) for t in supported_fmrs(i.size, targets)},
    }
    return Calibration(
        modality=modality,
        algorithm=algorithm,
        template_version=template_version,
        dataset=dataset,
        protocol=protocol,
        genuine_pairs=int(g.size),
        impostor_pairs=int(i.size),
        thresholds=thresholds,
        measured=measured,
        llr=dict(zip(("slope", "intercept"), fit_llr(g, i), strict=True)),
    )


def _thin(x: FloatArray, y: FloatArray, max_points: int = 4000) -> npt.NDArray[np.intp]:
    """Indices of at most ~2 x max_points curve points that draw the same line (for millions of scores):
    one point per cell of a max_points x max_points grid the curve passes through, in order."""
    if x.size <= max_points:
        return np.arange(x.size)
    step = max(float(np.ptp(x)), float(np.ptp(y)), 1e-9) / max_points
    cx, cy = np.floor(x / step), np.floor(y / step)
    change = np.concatenate([[True], (cx[1:] != cx[:-1]) | (cy[1:] != cy[:-1])])
    change[-1] = True
    return np.flatnonzero(change).astype(np.intp)


def plot_det(
    path: Path,
    curves: Mapping[str, tuple[npt.ArrayLike, npt.ArrayLike]],
    *,
    title: str,
) -> None:
    """DET curves (normal-deviate axes) and score histograms, one row per named system.

    ``curves`` maps a system name to its (genuine, impostor) scores.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def probit(p: npt.ArrayLike) -> FloatArray:
        """Normal deviate of each probability (the DET curve's axis scale)."""
        inv_cdf = np.vectorize(NormalDist().inv_cdf, otypes=[np.float64])
        return np.asarray(inv_cdf(np.asarray(p, dtype=np.float64)), dtype=np.float64)

    n = len(curves)
    fig, axes = plt.subplots(
        1, 1 + n, figsize=(4.5 * n + 7, 5.5), gridspec_kw={"width_ratios": [1.6] + [1.0] * n}, squeeze=False
    )
    axes = axes[0]
    det_ax = axes[0]
    lowest = min(1.0 / max(1, np.asarray(imp, dtype=np.float64).size) for _, imp in curves.values())
    for name, (genuine, impostor) in curves.items():
        c = error_curve(genuine, impostor)
        # a rate of 0 has no normal deviate: draw only the measurable part of the curve
        defined = (c.fmr > 0) & (c.fnmr > 0) & (c.fmr < 1) & (c.fnmr < 1)
        x = probit(c.fmr[defined])
        y = probit(c.fnmr[defined])
        keep = _thin(x, y)
        det_ax.plot(x[keep], y[keep], label=f"{name} (EER {100 * eer(genuine, impostor):.2f}%)")
    x_ticks = np.array([t for t in (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 0.5) if t >= lowest / 2])
    y_ticks = np.array([1e-4, 1e-3, 1e-2, 5e-2, 0.2, 0.5])
    det_ax.set_xticks(probit(x_ticks), [f"{t:g}" for t in x_ticks], fontsize=8)
    det_ax.set_yticks(probit(y_ticks), [f"{t:g}" for t in y_ticks], fontsize=8)
    det_ax.set_xlim(probit(min(5e-5, lowest / 2)), probit(0.6))
    det_ax.set_ylim(probit(5e-4), probit(0.9))
    det_ax.set_xlabel("False match rate")
    det_ax.set_ylabel("False non-match rate")
    det_ax.set_title(f"DET: {title}")
    det_ax.grid(True, alpha=0.3)
    det_ax.legend(fontsize=7, loc="upper right")
    for ax, (name, (genuine, impostor)) in zip(axes[1:], curves.items(), strict=True):
        # scores of -inf (failures to acquire) count in the DET curve but cannot be binned
        imp = np.asarray(impostor, dtype=np.float64)
        gen = np.asarray(genuine, dtype=np.float64)
        ax.hist(imp[np.isfinite(imp)], bins=60, alpha=0.6, density=True, label="impostor")
        ax.hist(gen[np.isfinite(gen)], bins=60, alpha=0.6, density=True, label="genuine")
        ax.set_title(f"scores: {name}", fontsize=9)
        ax.set_xlabel("similarity")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
