"""``/v1/partners`` and ``/v1/agreements``: the sharing gateway's partners and agreements over
HTTP, as on the command line (``padron partner``, ``padron agreement``). Administrators add and
suspend them; officers and auditors read them, the Cedar policy text included. Every change is
in the audit log (``partner.add``, ``partner.status``, ``agreement.add``, ``agreement.status``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from padron.api.schemas import PROTECTED, WITH_BODY, Reason, Text, problem_responses
from padron.api.security import authenticated
from padron.api.state import services
from padron.domain.access import AccessContext
from padron.sharing.agreements import Partner, Status, agreement_to_json
from padron.sharing.files import parse_agreement
from padron.sharing.store import Sharing, StoredAgreement

Context = Annotated[AccessContext, Depends(authenticated)]


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class PartnerCreate(_Body):
    id: Text = Field(description="The partner's identifier here, e.g. us-dhs (its gateway id).")
    agency: Text
    country: Text = Field(description="ISO 3166-1 alpha-3.")
    contact: Text
    public_key: Text = Field(description="Its gateway's Ed25519 public key, base64 of the raw 32 bytes.")
    url: Text | None = Field(default=None, description="Where its gateway answers: http(s)://host[:port].")


class StatusChange(_Body):
    status: Literal["active", "suspended"]
    reason: Reason


class PartnerPublic(BaseModel):
    id: str
    agency: str
    country: str
    contact: str
    public_key: str
    status: str
    url: str | None

    @classmethod
    def of(cls, partner: Partner) -> PartnerPublic:
        return cls(
            id=partner.id,
            agency=partner.agency,
            country=partner.country,
            contact=partner.contact,
            public_key=partner.public_key,
            status=partner.status.value,
            url=partner.url,
        )


class PartnerList(BaseModel):
    partners: list[PartnerPublic]


class AgreementPublic(BaseModel):
    """An agreement version: its terms, who stored it, and the Cedar policy it compiles to."""

    terms: dict[str, Any]
    created_at: str
    created_by: str
    policy_sha256: str
    policy: str | None = None

    @classmethod
    def of(cls, stored: StoredAgreement, *, policy: bool = True) -> AgreementPublic:
        return cls(
            terms=agreement_to_json(stored.agreement),
            created_at=stored.created_at.isoformat(),
            created_by=stored.created_by,
            policy_sha256=stored.policy_sha256,
            policy=stored.policy if policy else None,
        )


class AgreementList(BaseModel):
    agreements: list[AgreementPublic]


def _sharing(request: Request) -> Sharing:
    return Sharing(services(request).registry)


def add_routes(app: FastAPI) -> None:
    router = app.router

    @router.get(
        "/v1/partners",
        name="list_partners",
        summary="Partner agencies",
        responses=problem_responses(*PROTECTED),
    )
    def list_partners(request: Request, ctx: Context) -> PartnerList:
        return PartnerList(partners=[PartnerPublic.of(p) for p in _sharing(request).partners()])

    @router.post(
        "/v1/partners",
        name="add_partner",
        status_code=201,
        summary="Register a partner agency (a peer running padron, known by its public key)",
        responses=problem_responses(*PROTECTED, *WITH_BODY, 409),
    )
    def add_partner(request: Request, body: PartnerCreate, ctx: Context) -> PartnerPublic:
        partner = Partner(body.id, body.agency, body.country, body.contact, body.public_key, url=body.url)
        return PartnerPublic.of(_sharing(request).add_partner(partner, ctx))

    @router.post(
        "/v1/partners/{partner_id}/status",
        name="partner_status",
        summary="Suspend or reinstate a partner (takes effect on its next request)",
        responses=problem_responses(*PROTECTED, *WITH_BODY, 404),
    )
    def partner_status(request: Request, partner_id: str, body: StatusChange, ctx: Context) -> PartnerPublic:
        changed = _sharing(request).set_partner_status(
            partner_id, Status(body.status), ctx, reason=body.reason
        )
        return PartnerPublic.of(changed)

    @router.get(
        "/v1/agreements",
        name="list_agreements",
        summary="The latest version of every agreement",
        responses=problem_responses(*PROTECTED, 422),
    )
    def list_agreements(
        request: Request, ctx: Context, partner: Annotated[str | None, Query(max_length=63)] = None
    ) -> AgreementList:
        found = _sharing(request).agreements(partner)
        return AgreementList(agreements=[AgreementPublic.of(a, policy=False) for a in found])

    @router.post(
        "/v1/agreements",
        name="add_agreement",
        status_code=201,
        summary="Store the next version of an agreement; the answer shows the Cedar policy it compiles to",
        description="The body is the agreement file of `padron agreement add` (padron.sharing.files).",
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
        },
        responses=problem_responses(*PROTECTED, *WITH_BODY, 404),
    )
    async def add_agreement(request: Request, response: Response, ctx: Context) -> AgreementPublic:
        from starlette.concurrency import run_in_threadpool

        text = (await request.body()).decode("utf-8", errors="replace")
        agreement = parse_agreement(text)
        stored = await run_in_threadpool(_sharing(request).add_agreement, agreement, ctx)
        response.headers["Location"] = f"/v1/agreements/{stored.agreement.id}"
        return AgreementPublic.of(stored)

    @router.get(
        "/v1/agreements/{agreement_id}",
        name="show_agreement",
        summary="One agreement (latest version, or ?version=N) with its Cedar policy text",
        responses=problem_responses(*PROTECTED, 404, 422),
    )
    def show_agreement(
        request: Request, agreement_id: str, ctx: Context, version: Annotated[int | None, Query(ge=1)] = None
    ) -> AgreementPublic:
        return AgreementPublic.of(_sharing(request).agreement(agreement_id, version))

    @router.post(
        "/v1/agreements/{agreement_id}/status",
        name="agreement_status",
        summary="Suspend or reinstate an agreement (takes effect on the next request)",
        responses=problem_responses(*PROTECTED, *WITH_BODY, 404),
    )
    def agreement_status(
        request: Request, agreement_id: str, body: StatusChange, ctx: Context
    ) -> AgreementPublic:
        changed = _sharing(request).set_agreement_status(
            agreement_id, Status(body.status), ctx, reason=body.reason
        )
        return AgreementPublic.of(changed)
