"""JSON read strictly: the one parser behind every JSON input (a person file on the command
line, a request body over HTTP, a field of an upload).

Refused, each with the caller's own error class (``PAD-JSON-001`` on the command line,
``PAD-API-003`` over HTTP) and a message naming the place: text that is not JSON, ``NaN`` and
``Infinity`` (not JSON, though Python's reader takes them), a key given twice in one object (the
last would silently win), and nesting deeper than the caller's limit (a bomb of brackets).
"""

from __future__ import annotations

import json
from typing import Any

from padron.domain.errors import PadronError


def _depth(value: Any, limit: int) -> int:
    """The nesting depth of ``value`` (objects and arrays), counted up to just past ``limit``."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def loads_strict(text: str, *, what: str, max_depth: int, error: type[PadronError]) -> Any:
    """``text`` as JSON, strictly; every refusal is ``error`` with a message about ``what``
    ("the person file", "the request body")."""

    def refuse_constant(name: str) -> Any:
        raise error(f"{name} is not a JSON value (in {what})", value=name)

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise error(f"the field {key!r} appears twice in {what}", field=key)
            out[key] = value
        return out

    try:
        value = json.loads(text, parse_constant=refuse_constant, object_pairs_hook=unique_keys)
    except json.JSONDecodeError as failure:
        raise error(
            f"{what} is not valid JSON: {failure.msg} (line {failure.lineno}, column {failure.colno})",
            line=failure.lineno,
            column=failure.colno,
        ) from None
    except RecursionError:
        raise error(f"{what} is nested too deeply", max_depth=max_depth) from None
    if _depth(value, max_depth) > max_depth:
        raise error(f"{what} is nested deeper than {max_depth} levels", max_depth=max_depth)
    return value
