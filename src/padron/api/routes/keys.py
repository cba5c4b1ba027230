"""``/v1/keys``: administrators create, list and revoke API keys.

A new key's token is in the answer to its creation and nowhere else (padron keeps only its
hash; the answer is marked ``Cache-Control: no-store``). Creation and revocation are recorded in
the audit log (``key.create``, ``key.revoke``; subject ``key:<key id>``) with the change itself.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Response

from padron.api.schemas import PROTECTED, WITH_BODY, Problem, problem_responses
from padron.api.schemas_keys import IssuedKeyPublic, KeyCreate, KeyList, KeyPublic, KeyRevoke
from padron.api.security import authenticated
from padron.api.state import key_store
from padron.domain.access import AccessContext
from padron.registry.keys import KeyStore

Context = Annotated[AccessContext, Depends(authenticated)]
Keys = Annotated[KeyStore, Depends(key_store)]


def _problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


def add_routes(app: FastAPI) -> None:
    router = app.router

    @router.post(
        "/v1/keys",
        name="create_key",
        status_code=201,
        summary="Create an API key; its token is shown in this answer only",
        responses={
            **problem_responses(*PROTECTED, *WITH_BODY),
            409: _problem("A key in use has this name already (PAD-KEY-006)."),
        },
    )
    def create_key(body: KeyCreate, ctx: Context, keys: Keys, response: Response) -> IssuedKeyPublic:
        issued = keys.create(
            body.name,
            body.role,
            created_by=ctx.actor,
            expires_at=body.expires_at,
            rate_limit_per_minute=body.rate_limit_per_minute,
            ctx=ctx,
        )
        response.headers["Cache-Control"] = "no-store"
        return IssuedKeyPublic(token=issued.token, key=KeyPublic.of(issued.key, at=keys.clock()))

    @router.get(
        "/v1/keys",
        name="list_keys",
        summary="API keys in use and expired ones (revoked ones too on request); never a token",
        responses=problem_responses(*PROTECTED, 422),
    )
    def list_keys(ctx: Context, keys: Keys, include_revoked: Annotated[bool, Query()] = False) -> KeyList:
        now = keys.clock()
        return KeyList(keys=[KeyPublic.of(k, at=now) for k in keys.list(include_revoked=include_revoked)])

    @router.post(
        "/v1/keys/{key_id}/revoke",
        name="revoke_key",
        summary="Revoke an API key: it stops working at once, for good",
        responses={
            **problem_responses(*PROTECTED, *WITH_BODY),
            404: _problem("No API key has this key id (PAD-KEY-007)."),
            409: _problem("The key is revoked already (PAD-KEY-008)."),
        },
    )
    def revoke_key(key_id: str, body: KeyRevoke, ctx: Context, keys: Keys) -> KeyPublic:
        key = keys.revoke(key_id, revoked_by=ctx.actor, reason=body.reason, ctx=ctx)
        return KeyPublic.of(key, at=keys.clock())
