"""Synthetic fingerprints in the SFinGe tradition (Cappelli, Maio & Maltoni).

The whole API::

    from padron.synth.fingerprint import FingerPosition, generate_finger, impressions
    master = generate_finger(seed=7, position=FingerPosition.RIGHT_THUMB)  # the finger itself
    images = impressions(master, 8, seed=0)   # eight 8-bit 500-dpi images, 480 x 400 (h x w)

A master is made in small named steps: class drawn from per-position frequencies
(:mod:`.params`), fingertip silhouette (:mod:`.shape`), singularities laid out per finger and
a zero-pole orientation field with hairpin loop cores (:mod:`.orientation`), relaxed so that ridges
keep their spacing (:mod:`.flow`), ridge-period map (:mod:`.density`), ridge growth by iterated
Gabor filtering in the frequency domain plus random dislocations (:mod:`.master`). An
impression (:mod:`.impression`) adds pose, skin distortion, dryness/pressure, partial contact,
background and noise. Everything is
deterministic from the seeds; :class:`MasterCache` keeps masters on disk as ``.npz``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from padron.domain.finger import FingerPosition
from padron.synth.errors import SynthParameterError
from padron.synth.fingerprint.cache import MasterCache
from padron.synth.fingerprint.impression import render_impression
from padron.synth.fingerprint.master import MasterPrint, generate_master
from padron.synth.fingerprint.params import (
    GENERATOR_VERSION,
    FingerClass,
    GeneratorParams,
    ImpressionParams,
    MasterParams,
)

__all__ = [
    "GENERATOR_VERSION",
    "FingerClass",
    "FingerPosition",
    "GeneratorParams",
    "ImpressionParams",
    "MasterCache",
    "MasterParams",
    "MasterPrint",
    "SynthParameterError",
    "generate_finger",
    "impressions",
    "render_impression",
]


def generate_finger(
    seed: int,
    position: FingerPosition | int,
    *,
    params: MasterParams | None = None,
    finger_class: FingerClass | None = None,
) -> MasterPrint:
    """The master print of finger ``position`` (1-10, ISO/ANSI codes) of synthetic individual ``seed``."""
    try:
        finger = FingerPosition(int(position))
    except ValueError:
        raise SynthParameterError(
            f"finger position must be 1..10, not {position}", position=position
        ) from None
    return generate_master(seed, finger, params, finger_class=finger_class)


def impressions(
    master: MasterPrint, n: int, seed: int = 0, params: ImpressionParams | None = None
) -> list[NDArray[np.uint8]]:
    """``n`` impressions of ``master``; impression ``i`` of set ``seed`` is the same image whatever
    ``n`` is. Different ``seed`` values give different impressions of the same finger."""
    if n < 0:
        raise SynthParameterError(f"the number of impressions must be >= 0, not {n}", n=n)
    return [render_impression(master, seed, index=i, params=params) for i in range(n)]
