"""The access context of a command-line call: the operator of this installation.

The command line runs with the installation's own database and key, so it acts as ``admin`` on
the ``cli`` channel; the actor is ``--actor``, else ``$PADRON_ACTOR``, else ``cli:<user>``. Each
command states its purpose, and 1:N identification its case reference, so the audit log reads
the same whichever channel an access came through.
"""

from __future__ import annotations

from padron.domain.access import AccessContext, Channel, Purpose, Role


def cli_context(
    actor: str | None, purpose: Purpose, *, case_ref: str | None = None, role: Role = Role.ADMIN
) -> AccessContext:
    from padron.settings import load_settings

    who = actor or load_settings().effective_actor
    return AccessContext(actor=who, role=role, channel=Channel.CLI, purpose=purpose, case_ref=case_ref)
