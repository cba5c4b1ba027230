"""Finger classes, finger positions and every tuning constant of the synthetic generator.

All figures in pixels are at 500 dpi (1 px = 50.8 um). Parameters are immutable dataclasses that
validate themselves at construction; an invalid value raises :class:`SynthParameterError`.

Class frequencies (assumption, stated here so that it can be audited)
---------------------------------------------------------------------
The marginal frequencies of the five Henry classes in NIST Special Database 4 / 14, as quoted by
Cappelli, Maio & Maltoni for SFinGe ("Synthetic fingerprint generation", Handbook of Fingerprint
Recognition, 2nd ed., ch. 6) are about arch 3.7%, tented arch 2.9%, left loop 33.8%, right loop
31.7%, whorl 27.9%. Those databases mix fingers without recording the position. A person's ten
fingers are not alike: whorls are most frequent on thumbs and ring fingers, arches and radial
loops on index fingers, ulnar loops (right loops on the right hand, left loops on the left hand,
as the print is seen on the sensor) dominate middle and little fingers (Cummins & Midlo,
"Finger prints, palms and soles", 1943; Henry's classification statistics). The per-position table
below is our own rounding of those qualitative tendencies, tuned so that its average over the ten
positions is arch 3.8%, tented arch 2.8%, left loop 32.2%, right loop 32.2%, whorl 29.0% --
within 2 points of the NIST marginals (a unit test checks this). The fingers of one person are
drawn independently: the real correlation between a person's fingers is not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType

from padron.domain.finger import FingerPosition
from padron.synth.errors import SynthParameterError

#: bump when a change alters the pixels of a master for the same seed (keys the master cache)
GENERATOR_VERSION = 3

DPI = 500


class FingerClass(StrEnum):
    ARCH = "arch"
    TENTED_ARCH = "tented_arch"
    LEFT_LOOP = "left_loop"
    RIGHT_LOOP = "right_loop"
    WHORL = "whorl"


#: right hand, by digit (thumb..little): P(arch, tented arch, left loop, right loop, whorl).
#: The left hand mirrors it (left and right loops swap). See the module docstring.
_RIGHT_HAND_CLASS_P: dict[int, tuple[float, float, float, float, float]] = {
    1: (0.02, 0.01, 0.04, 0.55, 0.38),
    2: (0.08, 0.08, 0.16, 0.36, 0.32),
    3: (0.05, 0.03, 0.03, 0.70, 0.19),
    4: (0.02, 0.01, 0.02, 0.55, 0.40),
    5: (0.02, 0.01, 0.01, 0.80, 0.16),
}
_CLASS_ORDER = (
    FingerClass.ARCH,
    FingerClass.TENTED_ARCH,
    FingerClass.LEFT_LOOP,
    FingerClass.RIGHT_LOOP,
    FingerClass.WHORL,
)


def class_probabilities(position: FingerPosition) -> MappingProxyType[FingerClass, float]:
    """P(class | finger position)."""
    a, ta, ll, rl, w = _RIGHT_HAND_CLASS_P[position.digit]
    if not position.is_right_hand:
        ll, rl = rl, ll
    return MappingProxyType(dict(zip(_CLASS_ORDER, (a, ta, ll, rl, w), strict=True)))


def marginal_class_probabilities() -> dict[FingerClass, float]:
    """P(class) averaged over the ten finger positions."""
    total = dict.fromkeys(_CLASS_ORDER, 0.0)
    for position in FingerPosition:
        for cls, p in class_probabilities(position).items():
            total[cls] += p / len(FingerPosition)
    return total


def _check(condition: bool, message: str, **details: object) -> None:
    if not condition:
        raise SynthParameterError(message, **details)


@dataclass(frozen=True, slots=True)
class FlowRelaxation:
    """Weights of the flow relaxation (:func:`padron.synth.fingerprint.flow.relax_flow`); lengths
    in px at 500 dpi, scaled with the finger."""

    #: grid step of the solve (px): the correction is smooth, so a node every 12 px (8 px cost
    #: twice the time for no gain measured on the impostor tail)
    step: int = 12
    #: smoothness of the orientation correction (alpha) and its pull towards zero (beta). Less
    #: smoothness lets the flow straighten more and lightens the impostor tail: on 40 fingers x 4
    #: (8-px grid) alpha 0.3 / 0.1 / 0.05 put 4.7x / 2.3x / 1.2x FVC's rate of impostor pairs above
    #: FVC's 99th percentile; on the 12-px grid 0.03 went below FVC's rate (0.5x, 0.45x on two
    #: seeds), 0.05 gives 0.6x. Sets that small vary by about +-0.5x between seeds.
    smoothness: float = 0.05
    shrink: float = 1e-3
    #: smoothness of the log-period (lambda) and its pull towards the finger's mean (mu)
    period_smoothness: float = 1.0
    period_shrink: float = 1e-3
    #: divergence (1/px) above which a grid node counts less: near cores and deltas
    singular_divergence: float = 0.05
    iterations: int = 2

    def __post_init__(self) -> None:
        _check(2 <= self.step <= 32 and 0 <= self.iterations <= 5, "bad flow relaxation grid")
        _check(
            min(self.smoothness, self.shrink, self.period_smoothness, self.period_shrink) >= 0
            and self.singular_divergence > 0,
            "flow relaxation weights must be >= 0",
        )


@dataclass(frozen=True, slots=True)
class MasterParams:
    """How a master fingerprint (the finger's ridge pattern, before any contact) is made."""

    height: int = 480
    width: int = 400
    #: a finger's mean ridge period in px (inter-ridge distance), drawn per finger; on the FVC B
    #: sets the median period of a print (pyfing's XSFFE) ranges over about 8-10.5 px
    period_mean: float = 8.9
    period_sd: float = 0.6
    period_min: float = 7.8
    period_max: float = 10.8
    #: relative amplitude of the smooth random variation of the period inside one finger (on top
    #: of the variation that follows the flow, see flow.py)
    period_variation: float = 0.03
    #: the period inside a finger stays within these factors of its mean
    period_spread: tuple[float, float] = (0.8, 1.35)
    #: growth and refinement interpolate per pixel between Gabor banks at this many periods
    #: spanning the finger's range (3 cost 25% more of a master's time for no gain measured)
    period_levels: int = 2
    #: Gabor bank: orientation bins (responses are interpolated between the two nearest bins)
    orientation_bins: int = 12
    #: Gabor spatial standard deviations across / along the ridges, as fractions of the period
    sigma_across: float = 0.5
    sigma_along: float = 0.8
    #: growth iterations with one frequency, then refinement iterations following the period map
    growth_iterations: int = 8
    refine_iterations: int = 4
    #: growth and refinement run at 1/growth_scale resolution (4x fewer FFT operations for 2),
    #: then final_iterations passes at full resolution restore smooth ridge edges; fingers whose
    #: ridge period would fall below 6 px (small children) grow at full resolution
    growth_scale: int = 2
    final_iterations: int = 1
    #: initial random seeds: one per this many square px of fingertip area
    seed_area: float = 900.0
    #: smoothing of the orientation field (std of the Gaussian on the doubled-angle vectors, px)
    orientation_smoothing: float = 6.0
    #: amplitude (rad) of the smooth random perturbation that individualizes the flow. 0.12 made
    #: fingers of one class too alike: with padron's matcher 48% of same-class impostor pairs
    #: scored above the FVC impostors' 99th percentile (14% of different-class pairs); 0.35 brings
    #: same-class pairs to 29% and adds no singularity (README, "Realism"; benchmarks/synth_realism.py)
    orientation_noise: float = 0.35
    #: the flow's divergence is relaxed (flow.py) so that ridges keep their spacing instead of
    #: multiplying into minutiae that all point one way (the cause of v2's heavy impostor tail)
    flow: FlowRelaxation = field(default_factory=FlowRelaxation)
    #: random dislocations (a ridge inserted between two minutiae of opposite polarity): one pair
    #: per this many square px of fingertip, separated by 1-3 ridge periods in a random direction
    dislocation_area: float = 6000.0
    dislocation_separation: tuple[float, float] = (1.0, 3.0)
    #: the class's layout of cores and deltas made individual (orientation.vary_singularities):
    #: shift (x, y px), rotation about the core (degrees), stretch of the core-delta distances,
    #: jitter of each point (sd, px)
    singularity_shift: tuple[float, float] = (25.0, 30.0)
    singularity_rotation: float = 15.0
    singularity_stretch: tuple[float, float] = (0.8, 1.25)
    singularity_jitter: float = 8.0
    #: strength of the hairpin correction of loop cores (orientation.hairpin), drawn per finger
    loop_hairpin: tuple[float, float] = (0.4, 1.0)
    #: size of the finger relative to an average adult's: ridge period, fingertip, distances
    #: between singularities and smoothing all scale with it (children's fingers grow
    #: isotropically, Gottschlich et al. 2011; see padron.synth.population.finger_scale)
    scale: float = 1.0

    def effective(self) -> MasterParams:
        """These parameters with ``scale`` applied to every length (and scale 1)."""
        k = self.scale
        if k == 1.0:
            return self
        return replace(
            self,
            period_mean=self.period_mean * k,
            period_sd=self.period_sd * k,
            period_min=self.period_min * k,
            period_max=self.period_max * k,
            seed_area=self.seed_area * k * k,
            dislocation_area=self.dislocation_area * k * k,
            orientation_smoothing=self.orientation_smoothing * k,
            growth_scale=self.growth_scale if self.period_min * k / self.growth_scale >= 3.0 else 1,
            scale=1.0,
        )

    def __post_init__(self) -> None:
        _check(64 <= self.height <= 2048 and 64 <= self.width <= 2048, "image size must be 64..2048 px")
        _check(
            2.5 <= self.period_min <= self.period_mean <= self.period_max <= 20.0, "bad ridge period range"
        )
        _check(4 <= self.orientation_bins <= 64, "orientation_bins must be 4..64")
        _check(self.growth_iterations >= 1 and self.refine_iterations >= 0, "bad iteration counts")
        _check(self.growth_scale in (1, 2) and self.final_iterations >= 0, "growth_scale must be 1 or 2")
        _check(0.35 <= self.scale <= 1.3, "scale must be 0.35..1.3 (an infant's to a large adult finger)")
        _check(self.period_min * self.scale >= 2.5, "the scaled ridge period must stay >= 2.5 px")
        _check(self.seed_area > 0 and self.period_sd >= 0 and self.period_variation >= 0, "bad densities")
        _check(0.5 <= self.period_spread[0] <= 1.0 <= self.period_spread[1] <= 2.0, "bad period_spread")
        _check(1 <= self.period_levels <= 8, "period_levels must be 1..8")
        _check(self.dislocation_area >= 0, "dislocation_area must be >= 0 (0: none)")
        _check(
            min(*self.singularity_shift, self.singularity_rotation, self.singularity_jitter) >= 0,
            "singularity variation must be >= 0",
        )
        _check(0.3 <= self.singularity_stretch[0] <= self.singularity_stretch[1] <= 3.0, "bad stretch")
        _check(0.0 <= self.loop_hairpin[0] <= self.loop_hairpin[1] <= 1.0, "loop_hairpin must lie in 0..1")
        _check(
            0 < self.dislocation_separation[0] <= self.dislocation_separation[1] <= 10,
            "bad dislocation_separation",
        )


@dataclass(frozen=True, slots=True)
class ImpressionParams:
    """How one impression (one contact of the finger with a sensor) is simulated from a master."""

    #: translation (px, uniform in +-) and rotation (degrees, uniform in +-) of the finger
    max_shift: float = 25.0
    max_rotation: float = 15.0
    #: non-linear skin distortion: number of Gaussian bumps and their displacement (px, sd). With
    #: 6 px two impressions of a finger scored a median 0.44 with padron's matcher against FVC's
    #: 0.10-0.31 (medians of the six B sets); 12 px gives about 0.27
    distortion_bumps: int = 5
    distortion_amplitude: float = 12.0
    distortion_radius: float = 90.0
    #: ridge thickness: threshold on the master pattern (-1..1); >0 dry/light, <0 wet/heavy
    dryness_mean: float = 0.0
    dryness_sd: float = 0.22
    #: share of the ridge pixels broken by dryness at the driest setting
    dry_breaks: float = 0.25
    #: contact region: ellipse half-axes as a fraction of the fingertip's, uniform in this range
    contact_min: float = 0.70
    contact_max: float = 1.05
    #: grey levels and noise
    ridge_grey: tuple[int, int] = (5, 70)
    valley_grey: tuple[int, int] = (205, 245)
    background_grey: tuple[int, int] = (220, 252)
    blur_sigma: tuple[float, float] = (0.6, 1.1)
    noise_sd: tuple[float, float] = (4.0, 11.0)
    spots: int = 6

    def __post_init__(self) -> None:
        _check(self.max_shift >= 0 and 0 <= self.max_rotation <= 90, "bad pose range")
        _check(self.distortion_bumps >= 0 and self.distortion_amplitude >= 0, "bad distortion")
        _check(self.distortion_radius > 0, "distortion_radius must be positive")
        _check(0 < self.contact_min <= self.contact_max <= 2.0, "bad contact range")
        _check(0 <= self.dry_breaks <= 1 and self.dryness_sd >= 0, "bad dryness")
        for lo, hi in (self.ridge_grey, self.valley_grey, self.background_grey):
            _check(0 <= lo <= hi <= 255, "grey ranges must lie in 0..255")
        _check(0 <= self.blur_sigma[0] <= self.blur_sigma[1], "bad blur range")
        _check(0 <= self.noise_sd[0] <= self.noise_sd[1], "bad noise range")


@dataclass(frozen=True, slots=True)
class GeneratorParams:
    master: MasterParams = field(default_factory=MasterParams)
    impression: ImpressionParams = field(default_factory=ImpressionParams)
