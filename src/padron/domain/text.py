"""Free text that the registry records beside a change: who made it (actor) and why (reason).

Both end up in histories, audit entries and terminal tables, so they are one line of printable
text: normalized to NFC, trimmed, and refused when they hold control characters (a terminal
escape, a newline that forges a second history line), invisible formatting characters (bidi
overrides that reorder what a reader sees) or more characters than the registry stores.
"""

from __future__ import annotations

import unicodedata

from padron.domain.errors import ReasonRequiredError, RecordTextError

MAX_ACTOR_LENGTH = 200
MAX_REASON_LENGTH = 2000

#: Unicode categories refused: control, format, surrogate, private use, line/paragraph separators
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


def clean_line(value: str, field: str, *, max_length: int) -> str:
    """``value`` as one printable line (NFC, trimmed); RecordTextError names what is wrong."""
    text = unicodedata.normalize("NFC", value).strip()
    for position, ch in enumerate(text):
        if unicodedata.category(ch) in _REFUSED_CATEGORIES:
            raise RecordTextError(
                f"the {field} holds the control or formatting character U+{ord(ch):04X} at position "
                f"{position + 1}; use printable text on one line",
                field=field,
                character=f"U+{ord(ch):04X}",
                position=position + 1,
            )
    if len(text) > max_length:
        raise RecordTextError(
            f"the {field} is {len(text)} characters long; at most {max_length}",
            field=field,
            length=len(text),
            max_length=max_length,
        )
    return text


def require_actor_reason(actor: str, reason: str) -> tuple[str, str]:
    """The actor and reason of a change, both required and both clean lines."""
    actor = clean_line(actor, "actor", max_length=MAX_ACTOR_LENGTH)
    reason = clean_line(reason, "reason", max_length=MAX_REASON_LENGTH)
    if not actor or not reason:
        raise ReasonRequiredError("every change needs an actor and a reason", actor=actor, reason=reason)
    return actor, reason
