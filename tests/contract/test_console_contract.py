"""The console's storage on SQLite and PostgreSQL: sessions (opened, resolved, ended, ended with
their key) and the dashboard's figures (grouped by day in the database)."""

from __future__ import annotations

import pytest

from padron.domain.access import AccessContext, Purpose, Role
from padron.domain.errors import InvalidInputError
from padron.registry.keys import KeyStore
from padron.registry.service import Registry
from padron.registry.sessions import ConsoleSessions, SessionError
from padron.registry.stats import enrollment_stats
from tests.support.synthetic import SyntheticIdentity, draft, identity_service

CTX = AccessContext.cli("test:registrar", Purpose.ENROLLMENT)


def test_sessions_open_resolve_and_end(registry: Registry) -> None:
    store = KeyStore(registry)
    issued = store.create("mesa 1", Role.ADJUDICATOR, created_by="test:admin")
    sessions = ConsoleSessions(registry)
    opened = sessions.open(issued.key.key_id, issued.key.name, issued.key.role)
    resolved = sessions.resolve(opened.session_id)
    assert (resolved.key_id, resolved.role, resolved.csrf) == (
        issued.key.key_id,
        Role.ADJUDICATOR,
        opened.csrf,
    )
    sessions.end(resolved)
    with pytest.raises(SessionError):
        sessions.resolve(opened.session_id)
    other = sessions.open(issued.key.key_id, issued.key.name, issued.key.role)
    store.revoke(issued.key.key_id, revoked_by="test:admin")
    with pytest.raises(SessionError):
        sessions.resolve(other.session_id)


def test_dashboard_figures(registry: Registry) -> None:
    service = identity_service(registry)
    for i in range(3):
        result = service.enroll(draft(i), SyntheticIdentity.make(i).capture(1), CTX, reason="alta")
        assert result.status == "issued"
    again = service.enroll(draft(0, given="Anita"), SyntheticIdentity.make(0).capture(2), CTX, reason="alta")
    assert again.status == "refused"
    service.record_enrollment_failure(CTX, InvalidInputError("face: too blurred", slot="face"))
    stats = enrollment_stats(registry)
    assert (stats.attempts, stats.issued, stats.refused, stats.failed) == (4, 3, 1, 1)
    assert stats.days[-1].counts == {"issued": 3, "refused": 1, "failed": 1}
    assert stats.duplicate_rate == 0.25 and stats.fte_rate == 0.2
    assert stats.slot_scores["face"] and stats.thresholds
