"""The 1:N gallery interface, the same for every backend (in-process, Ray).

A gallery holds, per subject reference (``ref``, e.g. a person's internal id), one or more
templates in named *slots*: ``"face"`` for the face, ``"1"``..``"10"`` for the ISO/ANSI finger
positions. ``search`` compares a probe (one or more slots) with every subject that has at least one
of those slots and returns the best ``k`` subjects, ranked by the gallery's subject score, with the
score of each compared slot so that fusion can weigh them. :func:`slot_modality` names a slot's
modality (an unknown slot is :class:`SampleError`).

Ranking is deterministic: higher score first, ties broken by ``ref``; every backend returns the
same list for the same content (a contract test enforces it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from padron.domain.errors import PadronError
from padron.domain.finger import FingerPosition
from padron.domain.template import Modality, Template

FACE_SLOT = "face"
FINGER_SLOTS = tuple(str(p.value) for p in FingerPosition)
#: every slot a sample is submitted for: the face, then fingers 1-10
SLOTS = (FACE_SLOT, *FINGER_SLOTS)


class SampleError(PadronError):
    code = "PAD-ENR-001"
    summary = "No usable sample, an unknown slot or a template of the wrong modality was submitted."


def slot_modality(slot: str) -> Modality:
    """The modality of a slot's templates (SampleError for a slot that is neither)."""
    if slot == FACE_SLOT:
        return Modality.FACE
    if slot in FINGER_SLOTS:
        return Modality.FINGERPRINT
    raise SampleError(f"unknown slot {slot!r}: use 'face' or finger positions 1-10", slot=slot)


class GalleryError(PadronError):
    code = "PAD-GAL-001"
    summary = "A gallery operation was given templates of the wrong modality or an unknown slot."


@dataclass(frozen=True, slots=True)
class Candidate:
    """One subject returned by a search."""

    ref: str
    #: the gallery's subject score (face: best template; fingers: sum over compared fingers)
    score: float
    #: slot -> best similarity of that slot's templates
    slot_scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "score": self.score, "slot_scores": dict(self.slot_scores)}


def rank(scores: Mapping[str, float], k: int) -> list[str]:
    """The ``k`` best refs: higher score first, ties by ref (deterministic across backends)."""
    return sorted(scores, key=lambda ref: (-scores[ref], ref))[:k]


class Gallery(Protocol):
    """What every gallery backend offers."""

    modality: Modality

    def add(self, ref: str, samples: Mapping[str, Sequence[Template]]) -> None:
        """Add (or replace) a subject's templates, by slot."""

    def remove(self, ref: str) -> None:
        """Forget a subject (no error if absent)."""

    def search(self, probe: Mapping[str, Template], k: int) -> list[Candidate]:
        """The ``k`` best subjects for this probe, best first."""

    def score(self, ref: str, probe: Mapping[str, Template]) -> dict[str, float]:
        """The probe against one subject: slot -> best score, for the slots both have."""

    def __len__(self) -> int:
        """Number of subjects."""

    def refs(self) -> set[str]:
        """Every subject reference held."""


@runtime_checkable
class SharedGallery(Gallery, Protocol):
    """A gallery every worker process of a deployment uses (named Ray shards), which holds the
    gallery journal position it has applied."""

    def position(self) -> int | None:
        """The journal position applied (None: never loaded)."""

    def reset(self) -> None:
        """Empty it, position None (a full reload follows)."""

    def apply(
        self, upto: int, changes: Sequence[tuple[str, Mapping[str, Sequence[Template]] | None]]
    ) -> bool:
        """Apply the changes (a subject's templates, or None to take it out) that bring it to
        journal position ``upto``, unless it is already there or further; whether applied."""


class PreparedProbe(Protocol):
    """A probe template made ready for many comparisons (the hot path)."""

    def scores(self, candidates: Any) -> npt.NDArray[np.floating[Any]]:
        """One similarity per candidate of a batch made by :meth:`Matcher.batch`, in order."""


class Matcher(Protocol):
    """A modality's comparison algorithm as the galleries use it. A matcher may also offer
    ``extend(batch, decoded) -> batch`` (``batch`` followed by more candidates, without packing the
    old ones again); galleries then grow their cached batch instead of rebuilding it. It may also
    offer ``batch_once(decoded) -> batch``, a batch scored by one probe and dropped (a search
    shortlist), cheaper to build and scoring exactly as :meth:`batch`'s."""

    modality: Modality

    def decode(self, template: Template) -> Any:
        """The in-memory form of a stored template (done once, when it enters the gallery)."""

    def batch(self, decoded: Sequence[Any]) -> Any:
        """Many decoded candidates packed for one vectorized scoring call (cached by galleries)."""

    def prepare(self, probe: Template) -> PreparedProbe:
        """Prepare a probe once, then score many candidates."""


@runtime_checkable
class PackingMatcher(Matcher, Protocol):
    """A matcher whose gallery side is a few fixed-width numpy fields per *item* (for the
    fingerprint matcher: per valid cylinder, its packed bits and mask and the minutia's x, y and
    angle code). Galleries then keep every enrolled template as rows of those fields, stored
    column by column, instead of its serialized envelope, and save them as they are (segments)."""

    @property
    def packed_fields(self) -> dict[str, tuple[str, tuple[int, ...]]]:
        """Field name -> (numpy dtype string, shape of one item)."""

    def pack(self, decoded: Any) -> dict[str, npt.NDArray[Any]]:
        """A decoded template's items, one array per field (same first dimension)."""

    def batch_packed(
        self, fields: Mapping[str, npt.NDArray[Any]], counts: npt.NDArray[np.int64], *, once: bool = False
    ) -> Any:
        """Candidates of packed templates (``counts`` items each, one after the other), scoring
        exactly as :meth:`Matcher.batch` of the same templates; ``once`` as ``batch_once``."""

    def extend_packed(
        self, batch: Any, fields: Mapping[str, npt.NDArray[Any]], counts: npt.NDArray[np.int64]
    ) -> Any:
        """``batch`` followed by more packed candidates."""

    def packed_signature(self) -> dict[str, Any]:
        """JSON-able description of what the packed form depends on (saved segments made under
        another signature are not loaded)."""
