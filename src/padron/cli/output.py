"""Output helpers shared by every command: human text by default, one JSON object with --json."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from enum import Enum
from typing import Any

from rich.console import Console
from rich.markup import escape

from padron.domain.errors import PadronError

#: markup off by default: what is printed may hold user text (a reason, a key name), and
#: "[/]" in it must stay text, not style the terminal or fail; styled lines opt in (markup=True)
console = Console(highlight=False, soft_wrap=True, markup=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def print_json(obj: Any) -> None:
    """One JSON object on stdout (no colour, no wrapping) for machines."""
    sys.stdout.write(json.dumps(obj, default=_default, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def report_error(error: PadronError, *, as_json: bool) -> None:
    """A PadronError as the user sees it: code and message, never a traceback."""
    if as_json:
        print_json({"error": error.to_dict()})
    else:
        # the message may quote user input: escaped, so "[bold]" in a name stays text
        err_console.print(f"[bold red]error[/] {error.code}: {escape(error.message)}", markup=True)
