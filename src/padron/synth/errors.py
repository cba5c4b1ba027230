"""Errors of the synthetic-data generators (codes PAD-SYNTH-NNN)."""

from __future__ import annotations

from padron.domain.errors import PadronError


class SynthParameterError(PadronError):
    code = "PAD-SYNTH-001"
    summary = "A synthetic-data parameter is out of its valid range (image size, counts, seeds)."


class SynthOutputExistsError(PadronError):
    code = "PAD-SYNTH-002"
    summary = "The output folder of a synthetic data set already holds files; choose an empty or new one."


class SynthDuplicatesError(PadronError):
    code = "PAD-SYNTH-003"
    summary = "More planted duplicates were asked for than there are persons to duplicate."
