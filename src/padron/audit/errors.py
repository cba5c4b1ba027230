"""Errors of the audit log (codes PAD-AUDIT-NNN).

``verify_log`` does not raise these for a tampered log: it reports findings. They are raised by
the functions that must refuse to go on: building or decoding an entry, loading a key, opening
a checkpoint, proving an entry, cosigning.
"""

from __future__ import annotations

from padron.domain.errors import PadronError


class MalformedNoteError(PadronError):
    code = "PAD-AUDIT-001"
    summary = "A checkpoint or signed note is malformed (not UTF-8, no signature line, a bad size or root)."


class SignatureError(PadronError):
    code = "PAD-AUDIT-002"
    summary = "A signature on a checkpoint from a known key does not verify: the note was altered."


class UnknownSignerError(PadronError):
    code = "PAD-AUDIT-003"
    summary = "A checkpoint carries no signature from any of the keys it is checked against."


class MalformedEntryError(PadronError):
    code = "PAD-AUDIT-004"
    summary = "Stored audit entry bytes are not an entry in canonical form (bad JSON, field, type or time)."


class InvalidEntryError(PadronError):
    code = "PAD-AUDIT-005"
    summary = (
        "An audit entry cannot be built: a naive time, an empty field, or details that are not small JSON."
    )


class KeyFormatError(PadronError):
    code = "PAD-AUDIT-006"
    summary = "A signing or verifier key is malformed (not a 32-byte Ed25519 key, bad base64, bad key name)."


class NotCheckpointedError(PadronError):
    code = "PAD-AUDIT-007"
    summary = "The entry is not covered by a signed checkpoint yet (or does not exist); it cannot be proved."


class LogMismatchError(PadronError):
    code = "PAD-AUDIT-008"
    summary = "The stored log does not hash to its signed checkpoint: entries changed after it was signed."


class InclusionProofError(PadronError):
    code = "PAD-AUDIT-009"
    summary = "An inclusion proof does not lead from the entry to the checkpoint's root."


class InconsistentCheckpointError(PadronError):
    code = "PAD-AUDIT-010"
    summary = "A newer checkpoint does not extend an older one: the log was rewritten, rolled back or forked."
