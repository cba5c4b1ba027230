"""A partner request's decision under the agreements in force: allow, pending or deny with the
reasons, the rung lowered and the candidates cut to the agreed ones ("insofar as possible")."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from padron.sharing.agreements import (
    Agreement,
    Rung,
)
from padron.sharing.asks import Ask
from padron.sharing.policy import (
    APPROVAL_REQUIRED,
    CompiledPolicy,
    PartnerRequest,
    Usage,
    Verdict,
    evaluate,
)
from padron.sharing.store import StoredAgreement

# --- decisions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reasons: tuple[str, ...]
    rung: Rung | None = None
    candidates: int = 1
    withheld: tuple[str, ...] = ()
    stored: StoredAgreement | None = None

    @property
    def agreement(self) -> Agreement | None:
        return self.stored.agreement if self.stored is not None else None


_ORDER: Final = {Verdict.ALLOW: 0, Verdict.PENDING: 1, Verdict.DENY: 2}


def decide(
    ask: Ask,
    in_force: Sequence[tuple[StoredAgreement, CompiledPolicy]],
    partner: str,
    day: date,
    used_today: int,
    approvals: int = 0,
) -> Decision:
    """The best decision any agreement in force gives: allow before pending before deny; a rung
    above the agreed one is lowered to the agreed one, more candidates cut to the agreed
    number, and what was withheld says so."""
    if not in_force:
        return Decision(Verdict.DENY, ("no-agreement-in-force",))
    best: Decision | None = None
    for stored, policy in in_force:
        terms = stored.agreement.operations.get(ask.operation)
        withheld: list[str] = []
        candidates = ask.candidates
        if terms is not None and candidates > terms.candidates:
            candidates = terms.candidates
            withheld.append(f"{ask.operation.value}-too-many-candidates")
        rung = ask.rung
        while True:
            request = PartnerRequest(
                partner=partner,
                operation=ask.operation,
                purpose=ask.purpose,
                rung=rung,
                day=day,
                candidates=candidates,
                raw_biometrics=ask.raw_biometrics,
            )
            result = evaluate(policy, request, Usage(used_today=used_today, approvals=approvals))
            lowerable = result.verdict is Verdict.DENY and all(
                r.endswith("-rung-above-agreed") or r.endswith(APPROVAL_REQUIRED) for r in result.reasons
            )
            if not lowerable or rung == Rung.HIT:
                break
            rung = Rung(rung - 1)
            if f"{ask.operation.value}-rung-above-agreed" not in withheld:
                withheld.append(f"{ask.operation.value}-rung-above-agreed")
        if (
            terms is not None
            and ask.attributes is not None
            and not ask.attributes <= terms.attributes
            and result.verdict is not Verdict.DENY
        ):
            # more than the agreement lists is not "insofar as possible": it is refused
            result = dataclasses.replace(
                result, verdict=Verdict.DENY, reasons=(f"{ask.operation.value}-attributes-not-agreed",)
            )
        decision = Decision(
            verdict=result.verdict,
            reasons=result.reasons,
            rung=rung if result.verdict is not Verdict.DENY else None,
            candidates=candidates,
            withheld=tuple(withheld) if result.verdict is not Verdict.DENY else (),
            stored=stored,
        )
        if best is None or _ORDER[decision.verdict] < _ORDER[best.verdict]:
            best = decision
    assert best is not None
    return best
