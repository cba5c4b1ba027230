"""schemathesis over the OpenAPI document: for every operation, generated requests -- valid and
invalid, with a key of every role and without one -- never get a 5xx, and every response matches
the schema it is documented with (status codes, problem+json bodies, content types)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, reject, settings
from hypothesis import strategies as st

from padron.api.app import create_app
from padron.domain.access import Role
from padron.registry.service import Registry
from tests.api.conftest import FakeKeyStore, FakeRateLimiter, auth, gateway_identity, synthetic_samples
from tests.support.synthetic import identity_service

# the document is built from an application that has not started (nothing is opened for it)
schema = schemathesis.openapi.from_dict(create_app().openapi())

#: the credential each generated request carries: a key of each role, or none
CREDENTIALS = [None, *Role]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    registry = Registry.open(f"sqlite:///{folder / 'padron.db'}", migrate=True)
    app = create_app(
        registry=registry,
        key_store=FakeKeyStore(),
        rate_limiter=FakeRateLimiter(),
        identity=identity_service,
        samples=synthetic_samples,
        gateway_identity=gateway_identity(),
    )
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            # one person, so that reads of an existing record are part of what is generated
            client.post(
                "/v1/persons",
                json={"given_names": "Ana", "first_surname": "López", "birth_date": "1990-01-02",
                      "sex": "M", "birth_state": "DF", "reason": "alta"},
                headers=auth(Role.REGISTRAR),
            )  # fmt: skip
            yield client
    finally:
        registry.close()


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
@schema.given(credential=st.sampled_from(CREDENTIALS))
def test_no_server_error_and_every_response_as_documented(
    case: schemathesis.Case[Any], credential: Role | None, served: TestClient
) -> None:
    headers = auth(credential) if credential is not None else {}
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    try:
        request = served.build_request(**{k: v for k, v in kwargs.items() if k in _HTTPX_ARGUMENTS})
        request.read()  # a multipart body is a stream; schemathesis reads the request's content
    except (TypeError, AttributeError):
        # negative data for a file part that is not bytes (an integer): no HTTP client can send
        # it, so there is no request to test (malformed multipart bodies: test_biometrics)
        reject()
    response = served.send(request)
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text)
    # the credential is ours, not schemathesis's: its guess at a "bad" credential does not apply
    # (401 / 403 for every role and endpoint are asserted exactly by test_security's matrix);
    # data it generates as "positive" may still break a rule the schema cannot state (a CURP's
    # check digit), so a 4xx answer to it is not a failure either
    case.validate_response(
        response,
        excluded_checks=[
            schemathesis.checks.ignored_auth,
            schemathesis.checks.positive_data_acceptance,
        ],
    )


_HTTPX_ARGUMENTS = {"method", "url", "headers", "params", "json", "content", "data", "files"}
