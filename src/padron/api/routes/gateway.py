"""The sharing gateway over HTTP.

- ``/v1/partner/requests``: a partner registry's signed requests (RFC 9421, its registered
  Ed25519 key; no API key) and their signed answers. The answer's signature covers the request's
  digest and signature, so it cannot be replayed as the answer to another request.
- ``/v1/gateway/identity``: who this registry is to its partners (identifier, public key).
- ``/v1/gateway/requests``: sharing officers review partners' requests and approve or deny them
  (two distinct officers where the agreement asks); auditors may read them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from padron.api.schemas import PROTECTED, WITH_BODY, problem_responses
from padron.api.schemas_gateway import (
    ApprovalCreate,
    CosignedPublic,
    DenialCreate,
    FlagClear,
    FlagList,
    FlagPublic,
    GatewayIdentityPublic,
    GatewayRequestList,
    GatewayRequestPublic,
    PartnerAnswerPublic,
)
from padron.api.security import PartnerCall, authenticated, signed_partner
from padron.api.state import services
from padron.domain.access import AccessContext
from padron.sharing import vigilance
from padron.sharing.gateway import Answer, RequestStatus, cosigned_note, parse_ask
from padron.sharing.signing import Reply, headers_of, sign_reply

Context = Annotated[AccessContext, Depends(authenticated)]
Partner = Annotated[PartnerCall, Depends(signed_partner)]

#: what a partner endpoint can answer besides its answer
PARTNER_PROBLEMS = (400, 401, 404, 413, 503)


def _signed(request: Request, call: PartnerCall, answer: Answer, status: int) -> Response:
    return signed_body(request, call, answer.body(), status)


def signed_body(request: Request, call: PartnerCall, body: bytes, status: int) -> Response:
    gateway = services(request).require_gateway()
    reply = Reply(status, call.message, headers_of([("Content-Type", "application/json")]))
    sign_reply(reply, body, key_id=gateway.me.id, key=gateway.me.key)
    return Response(
        content=body,
        status_code=status,
        headers={name: value for name, value in reply.headers.items() if name.lower() != "content-type"},
        media_type="application/json",
    )


def add_routes(app: FastAPI) -> None:
    router = app.router

    @router.get(
        "/v1/gateway/identity",
        name="gateway_identity",
        summary="This registry's identifier and public key, for its partners",
        responses=problem_responses(503),
    )
    def gateway_identity(request: Request) -> GatewayIdentityPublic:
        me = services(request).require_gateway().me
        return GatewayIdentityPublic(id=me.id, public_key=me.public_key, algorithm="ed25519")

    @router.post(
        "/v1/partner/requests",
        name="partner_request",
        status_code=200,
        summary="A partner's signed request: decided by its agreement, answered as far as it allows",
        description="The body is JSON (operation, purpose, rung, case_ref, candidates, reference or "
        "curp, probe with base64 samples) signed with RFC 9421 (Content-Digest, Signature-Input "
        "with created, expires, nonce, keyid and tag padron-gateway, Signature). The answer is "
        "signed the same way: 200 when answered or denied (reasons say why), 202 when an "
        "officer must approve first (poll GET /v1/partner/requests/{request_id}).",
        responses={
            202: {"model": PartnerAnswerPublic, "description": "Pending an officer's approval."},
            **problem_responses(*PARTNER_PROBLEMS, 415),
        },
        response_model=PartnerAnswerPublic,
    )
    async def partner_request(request: Request, call: Partner) -> Response:
        gateway = services(request).require_gateway()
        ask = parse_ask(call.body)
        answer = await run_in_threadpool(gateway.receive, call.signed, call.body, ask)
        return _signed(request, call, answer, 202 if answer.status == RequestStatus.PENDING else 200)

    @router.get(
        "/v1/partner/requests/{request_id}",
        name="partner_answer",
        summary="The (signed) answer to one of this partner's requests",
        responses=problem_responses(*PARTNER_PROBLEMS),
        response_model=PartnerAnswerPublic,
    )
    async def partner_answer(request: Request, request_id: str, call: Partner) -> Response:
        gateway = services(request).require_gateway()
        assert call.ctx.partner is not None
        answer = await run_in_threadpool(gateway.answer, call.ctx.partner, request_id)
        return _signed(request, call, answer, 202 if answer.status == RequestStatus.PENDING else 200)

    @router.post(
        "/v1/partner/checkpoints",
        name="partner_cosignature",
        summary="A partner returns our exchange-log checkpoint cosigned (each side keeps the other's)",
        description='The body is JSON {"checkpoint": <signed note>} carrying this registry\'s signature '
        "and the partner's cosignature over a checkpoint of our exchange log with it; it must match "
        "our log at its size (409 PAD-SHARE-019 otherwise). Signed like every partner request.",
        responses=problem_responses(*PARTNER_PROBLEMS, 409),
        response_model=CosignedPublic,
    )
    async def partner_cosignature(request: Request, call: Partner) -> Response:
        gateway = services(request).require_gateway()
        note = cosigned_note(call.body)
        assert call.ctx.partner is not None
        partner = await run_in_threadpool(gateway.sharing.partner, call.ctx.partner)
        kept = await run_in_threadpool(
            gateway.log.keep_cosigned, partner.id, partner.public_key, note, call.ctx
        )
        body = CosignedPublic(partner=partner.id, size=kept.size).model_dump_json().encode("utf-8")
        return signed_body(request, call, body, 200)

    @router.get(
        "/v1/gateway/requests",
        name="gateway_requests",
        summary="Partners' requests, newest first (officers review the pending ones)",
        responses=problem_responses(*PROTECTED, 422),
    )
    def gateway_requests(
        request: Request,
        ctx: Context,
        status: Annotated[str | None, Query(pattern="^(pending|answered|denied)$")] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> GatewayRequestList:
        views = services(request).require_gateway().requests(status=status, limit=limit)
        return GatewayRequestList(requests=[GatewayRequestPublic.of(v) for v in views])

    @router.get(
        "/v1/gateway/requests/{request_id}",
        name="gateway_request",
        summary="One partner request: what was asked, under which agreement, what would be disclosed",
        responses=problem_responses(*PROTECTED, 404),
    )
    def gateway_request(request: Request, request_id: str, ctx: Context) -> GatewayRequestPublic:
        return GatewayRequestPublic.of(services(request).require_gateway().request(request_id))

    @router.get(
        "/v1/gateway/flags",
        name="gateway_flags",
        summary="Anti-fishing flags: repeated probes, one person asked about again and again, enumerations",
        responses=problem_responses(*PROTECTED, 422),
    )
    def gateway_flags(
        request: Request, ctx: Context, include_cleared: Annotated[bool, Query()] = False
    ) -> FlagList:
        registry = services(request).require_gateway().registry
        found = vigilance.flags(registry, open_only=not include_cleared)
        return FlagList(flags=[FlagPublic.model_validate(f.to_json()) for f in found])

    @router.post(
        "/v1/gateway/flags/{flag_id}/clear",
        name="clear_gateway_flag",
        summary="Clear a flag (an enumeration's throttle is lifted)",
        responses=problem_responses(*PROTECTED, *WITH_BODY, 404),
    )
    def clear_gateway_flag(request: Request, flag_id: int, body: FlagClear, ctx: Context) -> FlagPublic:
        gateway = services(request).require_gateway()
        flag = vigilance.clear(gateway.registry, flag_id, ctx, reason=body.reason, now=datetime.now(UTC))
        return FlagPublic.model_validate(flag.to_json())

    @router.post(
        "/v1/gateway/requests/{request_id}/approve",
        name="approve_gateway_request",
        summary="Approve a pending request (the second approver must be another officer)",
        responses=problem_responses(*PROTECTED, *WITH_BODY, 404, 409),
    )
    def approve_gateway_request(
        request: Request, request_id: str, body: ApprovalCreate, ctx: Context
    ) -> GatewayRequestPublic:
        gateway = services(request).require_gateway()
        view = gateway.approve(request_id, ctx, reason=body.reason, embargo_until=body.embargo_until)
        return GatewayRequestPublic.of(view)

    @router.post(
        "/v1/gateway/requests/{request_id}/deny",
        name="deny_gateway_request",
        summary="Deny a pending request: its probe is deleted unsearched",
        responses=problem_responses(*PROTECTED, *WITH_BODY, 404, 409),
    )
    def deny_gateway_request(
        request: Request, request_id: str, body: DenialCreate, ctx: Context
    ) -> GatewayRequestPublic:
        view = services(request).require_gateway().deny(request_id, ctx, reason=body.reason)
        return GatewayRequestPublic.of(view)
