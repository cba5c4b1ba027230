"""Public schemas of ``/v1/keys``: a key's public view never holds its token or its hash; the
token is in the answer to its creation only (beside :mod:`padron.api.schemas`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, Strict

from padron.api.schemas import Reason, Text
from padron.domain.access import Role
from padron.registry.keys import ApiKey, KeyState

#: what the answer to a creation says beside the token
TOKEN_WARNING: Final = (
    "this token is shown only now: store it in a password manager or secret store; "
    "padron keeps only its hash and cannot show it again"
)

#: a time as JSON text (strict mode would want a datetime instance)
TimeText = Annotated[datetime, Strict(False)]


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class KeyCreate(_Body):
    name: Text = Field(
        description="Who or what uses the key (unique among keys in use), e.g. 'kiosk-cdmx-01'."
    )
    role: Text = Field(
        description="registrar, verifier, investigator, adjudicator, auditor, admin or partner."
    )
    expires_at: TimeText | None = Field(
        default=None, description="When the key stops working, with a time zone; default: never."
    )
    rate_limit_per_minute: int | None = Field(
        default=None, description="Requests per minute for this key (1-1000000); default: the server's."
    )


class KeyRevoke(_Body):
    reason: Reason = Field(description="Why (kept with the key).")


class KeyPublic(BaseModel):
    """What anyone who manages keys sees of one: never its token, never its hash."""

    key_id: str
    name: str
    role: Role
    state: KeyState
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None
    last_used_at: datetime | None = Field(description="When it last authenticated, to within a minute.")
    rate_limit_per_minute: int | None

    @classmethod
    def of(cls, key: ApiKey, *, at: datetime) -> KeyPublic:
        return cls(
            key_id=key.key_id,
            name=key.name,
            role=key.role,
            state=key.state(at),
            created_at=key.created_at,
            created_by=key.created_by,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
            revoked_by=key.revoked_by,
            revoke_reason=key.revoke_reason,
            last_used_at=key.last_used_at,
            rate_limit_per_minute=key.rate_limit_per_minute,
        )


class IssuedKeyPublic(BaseModel):
    """A new key: its token, here and never again."""

    token: str = Field(description="pdn_<key id>_<secret>: send it as 'Authorization: Bearer <token>'.")
    warning: str = TOKEN_WARNING
    key: KeyPublic


class KeyList(BaseModel):
    keys: list[KeyPublic] = Field(description="In the order they were created.")
