"""A batch enrollment in its own process (concurrency and kill -9 tests).

    python -m tests.support.batch_enroll DATABASE_URL FIRST COUNT [SESSION]

Enrolls synthetic identities FIRST..FIRST+COUNT-1 and prints one line per enrollment:
``<identity> <status> <curp-or-duplicate>``, flushed at once so a parent can kill it mid-batch.
"""

from __future__ import annotations

import sys

from padron.domain.access import AccessContext, Purpose
from padron.registry.service import Registry
from tests.support.synthetic import SyntheticIdentity, draft, identity_service


def main() -> None:
    url, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    session = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    registry = Registry.open(url)
    service = identity_service(registry)
    for i in range(first, first + count):
        result = service.enroll(
            draft(i),
            SyntheticIdentity.make(i).capture(session),
            AccessContext.cli("batch", Purpose.ENROLLMENT),
            reason="batch enrollment",
        )
        outcome = result.person.curp if result.person else result.duplicate_of
        print(f"{i} {result.status} {outcome}", flush=True)
    registry.close()


if __name__ == "__main__":
    main()
