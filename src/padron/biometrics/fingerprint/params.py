"""Every tuning constant of padron's fingerprint matcher, in one place.

Defaults follow Cappelli, Ferrara & Maltoni, "Minutia Cylinder-Code" (IEEE TPAMI 2010) and its
LSS-R consolidation, with the changes measured on the FVC B sets (see README, "Fingerprint").
Changing a cylinder constant changes the template: bump ``TEMPLATE_VERSION`` in template.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CylinderParameters:
    radius: float = 70.0  # R, pixels at 500 dpi
    spatial_cells: int = 8  # Ns (cells per side; MCC's 16 costs 2x the time for no gain measured here)
    directional_cells: int = 6  # Nd
    sigma_s: float = 28.0 / 3.0
    sigma_d: float = 2.0 * math.pi / 9.0
    mu_psi: float = 0.01  # a cell's bit is 1 when its contribution exceeds this
    hull_margin: float = 50.0  # omega: valid cells lie within this distance of the minutiae's hull
    min_valid_cells_ratio: float = 0.75  # of the cells inside the radius
    min_minutiae: int = 2  # other minutiae that must contribute for a cylinder to be valid

    def __post_init__(self) -> None:
        if (self.spatial_cells * self.spatial_cells) % 8 or not 4 <= self.spatial_cells <= 32:
            raise ValueError("spatial_cells must be 4-32 with spatial_cells**2 a multiple of 8 (bit packing)")
        if not 1 <= self.directional_cells <= 16:
            raise ValueError("directional_cells must be 1-16")
        if self.radius <= 0 or self.sigma_s <= 0 or self.sigma_d <= 0:
            raise ValueError("radius and sigmas must be positive")

    @property
    def cell_size(self) -> float:
        return 2.0 * self.radius / self.spatial_cells

    @property
    def spatial_bits(self) -> int:
        return self.spatial_cells * self.spatial_cells

    @property
    def bits(self) -> int:
        return self.spatial_bits * self.directional_cells


@dataclass(frozen=True, slots=True)
class MatchParameters:
    max_direction_difference: float = math.pi / 2  # delta-theta: cylinders further apart are not compared
    min_common_cells_ratio: float = 0.6  # of the cells inside the radius, valid in both cylinders
    relaxation_pairs: int = 16  # nR cap: pairs entering the relaxation (24 measured: same EER, slower)
    relaxation_iterations: int = 5
    relaxation_weight: float = 0.5  # wR
    mu_1: float = 5.0
    tau_1: float = -8.0 / 5.0
    mu_2: float = math.pi / 12
    tau_2: float = -30.0
    mu_3: float = math.pi / 12
    tau_3: float = -30.0
    min_np: int = 4
    max_np: int = 12
    mu_p: float = 20.0
    tau_p: float = 2.0 / 5.0
    batch_cylinders: int = 8192  # candidate cylinders scored per block (memory vs. speed)

    def __post_init__(self) -> None:
        if self.relaxation_pairs < 2 or self.min_np < 1 or self.max_np < self.min_np:
            raise ValueError("need relaxation_pairs >= 2 and 1 <= min_np <= max_np")
