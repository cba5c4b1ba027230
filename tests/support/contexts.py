"""Access contexts for tests: who a test acts as, and why."""

from __future__ import annotations

from padron.domain.access import AccessContext, Purpose

#: the default test actor on the command line's channel
OFFICER_NAME = "test:officer"


def as_actor(actor: str = OFFICER_NAME, purpose: Purpose = Purpose.ENROLLMENT) -> AccessContext:
    return AccessContext.cli(actor, purpose)


OFFICER = as_actor()
READER = as_actor("test:reader", Purpose.ADMINISTRATION)
VERIFIER = as_actor("test:verifier", Purpose.VERIFICATION)
ADJUDICATOR = as_actor("test:adjudicator", Purpose.ADJUDICATION)
INVESTIGATOR = AccessContext.cli("test:investigator", Purpose.INVESTIGATION, case_ref="CASE-1")
