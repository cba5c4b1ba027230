"""Who may call what: every endpoint of the API, its roles and the purpose of each role's calls.

This table is the one place roles are declared. ``create_app`` refuses to build an application
whose routes and this table differ (a route missing here, an entry without a route), and the
``authenticated`` dependency admits a key only for its route's roles here. The purpose is what
the access is recorded under (audit log, resident's access history): a registrar reading a
record reads it to correct it, an auditor to audit it.

Public endpoints carry no personal data: liveness, readiness, the OpenAPI document and its page,
the console's login page and its style sheet and script.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from padron.domain.access import Purpose, Role


@dataclass(frozen=True)
class EndpointAccess:
    """The roles an endpoint admits, each with the purpose its calls are recorded under; no
    roles: a public endpoint (no key needed)."""

    purposes: Mapping[Role, Purpose] = field(default_factory=dict)
    #: authenticated by the partner's RFC 9421 signature (its registered Ed25519 key), not by
    #: an API key: the sharing gateway's partner endpoints
    signed: bool = False
    #: a page of the web console (padron.web): authenticated by the console's session cookie
    #: (opened with an API key at /console/login), not by an API key in the request
    console: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "purposes", MappingProxyType(dict(self.purposes)))
        if self.signed and set(self.purposes) != {Role.PARTNER}:
            raise ValueError("a signed endpoint is for partners only")
        if self.console and (self.signed or Role.PARTNER in self.purposes):
            raise ValueError("partners have no console")

    @property
    def public(self) -> bool:
        return not self.purposes

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(self.purposes)


PUBLIC: Final = EndpointAccess()
#: a partner's signed request to the sharing gateway
PARTNER_SIGNED: Final = EndpointAccess({Role.PARTNER: Purpose.PARTNER_REQUEST}, signed=True)


def protected(purpose: Purpose, *roles: Role) -> EndpointAccess:
    """An endpoint for ``roles``, all calling it for one ``purpose``."""
    return EndpointAccess(dict.fromkeys(roles, purpose))


#: a console page anyone may open (the login page, the style sheet and script)
CONSOLE_PUBLIC: Final = EndpointAccess(console=True)

#: every role that may open a console session, with the purpose of its pages that are for
#: everyone (the start page, logout): no personal data is shown there
CONSOLE_ROLES: Final[Mapping[Role, Purpose]] = MappingProxyType(
    {
        Role.REGISTRAR: Purpose.ENROLLMENT,
        Role.VERIFIER: Purpose.VERIFICATION,
        Role.INVESTIGATOR: Purpose.INVESTIGATION,
        Role.ADJUDICATOR: Purpose.ADJUDICATION,
        Role.AUDITOR: Purpose.AUDIT,
        Role.ADMIN: Purpose.ADMINISTRATION,
        Role.OFFICER: Purpose.PARTNER_REQUEST,
    }
)


def console(purposes: Mapping[Role, Purpose]) -> EndpointAccess:
    """A console page for the roles of ``purposes``, each recorded under its purpose."""
    return EndpointAccess(purposes, console=True)


def console_for(purpose: Purpose, *roles: Role) -> EndpointAccess:
    """A console page for ``roles``, all using it for one ``purpose``."""
    return EndpointAccess(dict.fromkeys(roles, purpose), console=True)


#: (method, path template) -> access; HEAD follows GET
ENDPOINT_ACCESS: Final[Mapping[tuple[str, str], EndpointAccess]] = MappingProxyType(
    {
        # --- operations (no personal data) ---
        ("GET", "/health"): PUBLIC,
        ("GET", "/ready"): PUBLIC,
        ("GET", "/openapi.json"): PUBLIC,
        ("GET", "/docs"): PUBLIC,
        # request counts and latencies by route template: no personal data, but they describe the
        # installation's use, so only its administrators read them
        ("GET", "/metrics"): protected(Purpose.ADMINISTRATION, Role.ADMIN),
        # --- persons ---
        ("GET", "/v1/persons/{curp}"): EndpointAccess(
            {
                Role.REGISTRAR: Purpose.CORRECTION,
                Role.ADJUDICATOR: Purpose.ADJUDICATION,
                Role.AUDITOR: Purpose.AUDIT,
            }
        ),
        ("GET", "/v1/persons/{curp}/history"): EndpointAccess(
            {Role.REGISTRAR: Purpose.CORRECTION, Role.AUDITOR: Purpose.AUDIT}
        ),
        ("POST", "/v1/persons"): protected(Purpose.ENROLLMENT, Role.REGISTRAR),
        ("PATCH", "/v1/persons/{curp}"): protected(Purpose.CORRECTION, Role.REGISTRAR),
        ("POST", "/v1/persons/{curp}/merge"): protected(Purpose.CORRECTION, Role.REGISTRAR),
        # --- the audit log: read, verified and cosigned by auditors (reading it is recorded) ---
        ("GET", "/v1/audit/entries"): protected(Purpose.AUDIT, Role.AUDITOR),
        ("GET", "/v1/audit/entries/{seq}/proof"): protected(Purpose.AUDIT, Role.AUDITOR),
        ("GET", "/v1/audit/verify"): protected(Purpose.AUDIT, Role.AUDITOR),
        ("GET", "/v1/audit/checkpoints"): protected(Purpose.AUDIT, Role.AUDITOR),
        ("POST", "/v1/audit/checkpoints/cosigned"): protected(Purpose.AUDIT, Role.AUDITOR),
        # --- biometrics: enrollment by registrars, 1:1 by verifiers (a decision, no scores),
        # 1:N by investigators only (with a case reference, checked by the use case) ---
        ("POST", "/v1/enrollments"): protected(Purpose.ENROLLMENT, Role.REGISTRAR),
        ("POST", "/v1/verifications"): protected(Purpose.VERIFICATION, Role.VERIFIER),
        ("POST", "/v1/identifications"): protected(Purpose.INVESTIGATION, Role.INVESTIGATOR),
        # --- adjudication: adjudicators decide; auditors may read the queue and the cases ---
        ("GET", "/v1/adjudication/cases"): EndpointAccess(
            {Role.ADJUDICATOR: Purpose.ADJUDICATION, Role.AUDITOR: Purpose.AUDIT}
        ),
        ("GET", "/v1/adjudication/cases/{case_id}"): EndpointAccess(
            {Role.ADJUDICATOR: Purpose.ADJUDICATION, Role.AUDITOR: Purpose.AUDIT}
        ),
        # the raw images: adjudicators only (they compare them side by side)
        ("GET", "/v1/adjudication/cases/{case_id}/images"): protected(Purpose.ADJUDICATION, Role.ADJUDICATOR),
        ("GET", "/v1/adjudication/cases/{case_id}/images/{side}/{slot}"): protected(
            Purpose.ADJUDICATION, Role.ADJUDICATOR
        ),
        ("POST", "/v1/adjudication/cases/{case_id}/decision"): protected(
            Purpose.ADJUDICATION, Role.ADJUDICATOR
        ),
        # --- the resident's own access history, at a kiosk or desk whose key verifies ---
        ("POST", "/v1/residents/accesses"): protected(Purpose.RESIDENT_ACCESS, Role.VERIFIER),
        # --- the sharing gateway: partners' signed requests (no API key: the partner's registered
        # Ed25519 key), this registry's public identity, and sharing officers' decisions ---
        ("GET", "/v1/gateway/identity"): PUBLIC,
        ("POST", "/v1/partner/requests"): PARTNER_SIGNED,
        ("GET", "/v1/partner/requests/{request_id}"): PARTNER_SIGNED,
        ("POST", "/v1/partner/checkpoints"): PARTNER_SIGNED,
        ("GET", "/v1/gateway/requests"): EndpointAccess(
            {Role.OFFICER: Purpose.PARTNER_REQUEST, Role.AUDITOR: Purpose.AUDIT}
        ),
        ("GET", "/v1/gateway/requests/{request_id}"): EndpointAccess(
            {Role.OFFICER: Purpose.PARTNER_REQUEST, Role.AUDITOR: Purpose.AUDIT}
        ),
        ("GET", "/v1/gateway/flags"): EndpointAccess(
            {Role.OFFICER: Purpose.PARTNER_REQUEST, Role.AUDITOR: Purpose.AUDIT}
        ),
        ("POST", "/v1/gateway/flags/{flag_id}/clear"): protected(Purpose.PARTNER_REQUEST, Role.OFFICER),
        ("POST", "/v1/gateway/requests/{request_id}/approve"): protected(
            Purpose.PARTNER_REQUEST, Role.OFFICER
        ),
        ("POST", "/v1/gateway/requests/{request_id}/deny"): protected(Purpose.PARTNER_REQUEST, Role.OFFICER),
        # --- the customs exchange: customs officers record, import and push cargo inspections (no
        # personal data); auditors may read them; partners push theirs signed ---
        ("POST", "/v1/customs/inspections"): protected(Purpose.CUSTOMS, Role.CUSTOMS),
        ("GET", "/v1/customs/inspections"): EndpointAccess(
            {Role.CUSTOMS: Purpose.CUSTOMS, Role.AUDITOR: Purpose.AUDIT}
        ),
        ("GET", "/v1/customs/inspections/{inspection_id}"): EndpointAccess(
            {Role.CUSTOMS: Purpose.CUSTOMS, Role.AUDITOR: Purpose.AUDIT}
        ),
        ("POST", "/v1/customs/imports"): protected(Purpose.CUSTOMS, Role.CUSTOMS),
        ("GET", "/v1/customs/pushes"): EndpointAccess(
            {Role.CUSTOMS: Purpose.CUSTOMS, Role.AUDITOR: Purpose.AUDIT}
        ),
        ("POST", "/v1/customs/pushes/send"): protected(Purpose.CUSTOMS, Role.CUSTOMS),
        ("POST", "/v1/partner/customs/inspections"): PARTNER_SIGNED,
        # --- partners and agreements: administrators change them; officers and auditors read ---
        ("GET", "/v1/partners"): EndpointAccess(
            {
                Role.ADMIN: Purpose.ADMINISTRATION,
                Role.OFFICER: Purpose.PARTNER_REQUEST,
                Role.AUDITOR: Purpose.AUDIT,
            }
        ),
        ("POST", "/v1/partners"): protected(Purpose.ADMINISTRATION, Role.ADMIN),
        ("POST", "/v1/partners/{partner_id}/status"): protected(Purpose.ADMINISTRATION, Role.ADMIN),
        ("GET", "/v1/agreements"): EndpointAccess(
            {
                Role.ADMIN: Purpose.ADMINISTRATION,
                Role.OFFICER: Purpose.PARTNER_REQUEST,
                Role.AUDITOR: Purpose.AUDIT,
            }
        ),
        ("POST", "/v1/agreements"): protected(Purpose.ADMINISTRATION, Role.ADMIN),
        ("GET", "/v1/agreements/{agreement_id}"): EndpointAccess(
            {
                Role.ADMIN: Purpose.ADMINISTRATION,
                Role.OFFICER: Purpose.PARTNER_REQUEST,
                Role.AUDITOR: Purpose.AUDIT,
            }
        ),
        ("POST", "/v1/agreements/{agreement_id}/status"): protected(Purpose.ADMINISTRATION, Role.ADMIN),
        # --- API keys: administrators only (creation and revocation are recorded) ---
        ("POST", "/v1/keys"): protected(Purpose.ADMINISTRATION, Role.ADMIN),
        ("GET", "/v1/keys"): protected(Purpose.ADMINISTRATION, Role.ADMIN),
        ("POST", "/v1/keys/{key_id}/revoke"): protected(Purpose.ADMINISTRATION, Role.ADMIN),
        # --- the web console (padron.web): the same use cases and roles behind a session cookie
        # opened with an API key; every form carries the session's CSRF token ---
        ("GET", "/console/login"): CONSOLE_PUBLIC,
        ("POST", "/console/login"): CONSOLE_PUBLIC,
        ("GET", "/console/static/{name}"): CONSOLE_PUBLIC,
        ("GET", "/console"): console(CONSOLE_ROLES),
        # the enrollment desk: registrars
        ("GET", "/console/enrollment"): console_for(Purpose.ENROLLMENT, Role.REGISTRAR),
        ("POST", "/console/enrollment/preview"): console_for(Purpose.ENROLLMENT, Role.REGISTRAR),
        ("POST", "/console/enrollment/quality"): console_for(Purpose.ENROLLMENT, Role.REGISTRAR),
        ("POST", "/console/enrollment"): console_for(Purpose.ENROLLMENT, Role.REGISTRAR),
        # a person's record, as GET /v1/persons/{curp} (the desk links a duplicate to it)
        ("GET", "/console/persons/{curp}"): console(
            {
                Role.REGISTRAR: Purpose.CORRECTION,
                Role.ADJUDICATOR: Purpose.ADJUDICATION,
                Role.AUDITOR: Purpose.AUDIT,
            }
        ),
        # adjudication: the queue for adjudicators and auditors, the cases (with their images)
        # and the decisions for adjudicators
        ("GET", "/console/adjudication"): console(
            {Role.ADJUDICATOR: Purpose.ADJUDICATION, Role.AUDITOR: Purpose.AUDIT}
        ),
        ("GET", "/console/adjudication/{case_id}"): console_for(Purpose.ADJUDICATION, Role.ADJUDICATOR),
        ("GET", "/console/adjudication/{case_id}/images/{side}/{slot}"): console_for(
            Purpose.ADJUDICATION, Role.ADJUDICATOR
        ),
        ("POST", "/console/adjudication/{case_id}/decision"): console_for(
            Purpose.ADJUDICATION, Role.ADJUDICATOR
        ),
        # partners' requests: officers decide, auditors read
        ("GET", "/console/gateway"): console(
            {Role.OFFICER: Purpose.PARTNER_REQUEST, Role.AUDITOR: Purpose.AUDIT}
        ),
        ("GET", "/console/gateway/{request_id}"): console(
            {Role.OFFICER: Purpose.PARTNER_REQUEST, Role.AUDITOR: Purpose.AUDIT}
        ),
        ("POST", "/console/gateway/{request_id}/approve"): console_for(Purpose.PARTNER_REQUEST, Role.OFFICER),
        ("POST", "/console/gateway/{request_id}/deny"): console_for(Purpose.PARTNER_REQUEST, Role.OFFICER),
        # the audit explorer: auditors (every query is itself recorded)
        ("GET", "/console/audit"): console_for(Purpose.AUDIT, Role.AUDITOR),
        ("GET", "/console/audit/resident"): console_for(Purpose.AUDIT, Role.AUDITOR),
        # the dashboard: figures without personal data, for administrators and auditors
        ("GET", "/console/dashboard"): console(
            {Role.ADMIN: Purpose.ADMINISTRATION, Role.AUDITOR: Purpose.AUDIT}
        ),
        ("GET", "/console/dashboard/{chart}"): console(
            {Role.ADMIN: Purpose.ADMINISTRATION, Role.AUDITOR: Purpose.AUDIT}
        ),
        # (last: the role matrix logs its sessions out at the end)
        ("POST", "/console/logout"): console(CONSOLE_ROLES),
    }
)
