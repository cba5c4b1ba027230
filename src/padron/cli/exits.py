"""The exit statuses of ``padron``: one per outcome a script must tell apart.

The table is :data:`EXIT_MEANINGS` (rendered into docs/errors.md). With ``--json`` the same
number is in the output's ``exit_status`` field next to the outcome.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    DUPLICATE = 3
    PENDING = 4
    NO_MATCH = 5
    INTERNAL = 70


#: one line per status, for docs/errors.md and --help texts
EXIT_MEANINGS = {
    ExitStatus.OK: "done: a CURP issued, a verification matched, a search ran (with or without candidates)",
    ExitStatus.ERROR: "refused with a `PAD-` code; nothing was written",
    ExitStatus.USAGE: "usage error (`PAD-CLI-001`): unknown option, missing or malformed argument",
    ExitStatus.DUPLICATE: "enrollment refused: the person is enrolled already (`duplicate_of`)",
    ExitStatus.PENDING: "enrollment pending adjudication: grey-zone candidates await a human (`cases`)",
    ExitStatus.NO_MATCH: "verification: the samples do not match the claimed identity",
    ExitStatus.INTERNAL: "internal error (`PAD-GEN-001`): a bug; the details are in the log",
}

#: enrollment outcome (EnrollmentResult.status) -> exit status
ENROLLMENT_EXIT = {
    "issued": ExitStatus.OK,
    "refused": ExitStatus.DUPLICATE,
    "pending": ExitStatus.PENDING,
}
