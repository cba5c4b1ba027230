"""Fixtures of the HTTP API tests: a migrated SQLite registry, a fake key store with one key per
role, a fake rate limiter, and a TestClient on the application (its lifespan running)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.testclient import TestClient

from padron.api.app import create_app
from padron.api.problems import PROBLEM_MEDIA_TYPE
from padron.api.state import Samples
from padron.api.uploads import Upload
from padron.domain.access import Role
from padron.domain.errors import ErrorCategory, InvalidInputError, PadronError, registered_errors
from padron.domain.template import Template
from padron.registry.service import Registry
from padron.sharing.keys import GatewayIdentity
from padron.sharing.references import References, new_key
from tests.support.sample_images import images_for
from tests.support.synthetic import SyntheticIdentity, identity_service

#: a person body that passes every check
PERSON: dict[str, Any] = {
    "given_names": "Ana",
    "first_surname": "López",
    "second_surname": "Ruiz",
    "birth_date": "1990-01-02",
    "sex": "M",
    "birth_state": "DF",
}

#: a token the fake key store makes crash (an internal error of the credential layer)
CRASHING_TOKEN = "pdn_crash_secret"


# the fakes' errors have no code of their own, so they are not registered (the suite checks that
# every registered code is documented); they stand for padron.registry.keys' errors
class FakeUnknownKeyError(PadronError):
    category = ErrorCategory.UNAUTHENTICATED
    summary = "Fake: the key is unknown."


class FakeRateLimitedError(PadronError):
    category = ErrorCategory.RATE_LIMITED
    summary = "Fake: too many requests."


@dataclass(frozen=True)
class FakeKey:
    """The shape of padron.registry.keys.ApiKey."""

    key_id: str
    name: str
    role: Role
    created_at: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    created_by: str = "cli:test"
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    rate_limit_per_minute: int | None = None


def token_for(role: Role) -> str:
    return f"pdn_{role.value}id_secret{role.value}"


def auth(role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(role)}"}


class FakeKeyStore:
    def __init__(self) -> None:
        self.keys = {
            token_for(r): FakeKey(key_id=f"{r.value}id", name=f"{r.value} desk", role=r) for r in Role
        }

    def authenticate(self, token: str) -> FakeKey:
        if token == CRASHING_TOKEN:
            raise RuntimeError("secret internals: connection string postgresql://admin:hunter2@db")
        try:
            return self.keys[token]
        except KeyError:
            raise FakeUnknownKeyError("no such API key") from None


@dataclass
class FakeRateLimiter:
    #: key ids whose requests are refused
    exhausted: set[str] = field(default_factory=set)
    checked: list[str] = field(default_factory=list)

    def check(self, key: FakeKey) -> None:
        self.checked.append(key.key_id)
        if key.key_id in self.exhausted:
            raise FakeRateLimitedError("too many requests for this key", retry_after=2.5)


@pytest.fixture
def sqlite_registry(tmp_path: Path) -> Iterator[Registry]:
    registry = Registry.open(f"sqlite:///{tmp_path / 'padron.db'}", migrate=True)
    try:
        yield registry
    finally:
        registry.close()


@pytest.fixture
def key_store() -> FakeKeyStore:
    return FakeKeyStore()


@pytest.fixture
def rate_limiter() -> FakeRateLimiter:
    return FakeRateLimiter()


def synthetic_image(seed: int, session: int, *, cosine: float | None = None) -> bytes:
    """An "image" the synthetic sample reader understands: a capture of synthetic person
    ``seed`` (tests.support.synthetic) in ``session``; with ``cosine``, a face exactly that
    similar to the person's."""
    return f"synthetic:{seed}:{session}".encode() + (f":{cosine}".encode() if cosine is not None else b"")


def synthetic_samples(upload: Upload, enroll: bool) -> Samples:
    """A sample reader for the API tests: each image names a synthetic capture (cosine
    templates), so the routes run the real use cases without the real extractors; the images
    kept are small PNGs standing for the capture (tests.support.sample_images)."""
    out: dict[str, Template] = {}
    seeds: dict[str, int] = {}
    parts = dict(upload.fingers)
    if upload.face is not None:
        parts["face"] = upload.face
    for slot, data in parts.items():
        try:
            kind, seed, session, *cosine = data.decode().split(":")
            assert kind == "synthetic"
            identity = SyntheticIdentity.make(int(seed))
            seeds[slot] = int(seed) * 10 + int(session)
        except (ValueError, AssertionError, UnicodeDecodeError):
            raise InvalidInputError(f"{slot}: not a synthetic test image", slot=slot) from None
        if cosine:  # a face at an exact cosine to the person's (the grey zone)
            out[slot] = identity.face_at(float(cosine[0]), int(session))["face"]
        elif slot == "face":
            out[slot] = identity.capture(int(session), fingers=())[slot]
        else:
            out[slot] = identity.capture(int(session), face=False, fingers=(slot,))[slot]
    images = {slot: images_for([slot], seed)[slot] for slot, seed in seeds.items()}
    return Samples(templates=out, images=images)


def gateway_identity(name: str = "mx-renapo") -> GatewayIdentity:
    """A sharing gateway's identity with fresh keys."""
    return GatewayIdentity(name, Ed25519PrivateKey.generate(), References(new_key()))


def make_app(registry: Registry, key_store: FakeKeyStore, rate_limiter: FakeRateLimiter) -> FastAPI:
    return create_app(
        registry=registry,
        key_store=key_store,
        rate_limiter=rate_limiter,
        identity=identity_service,
        samples=synthetic_samples,
        gateway_identity=gateway_identity(),
    )


@pytest.fixture
def client(
    sqlite_registry: Registry, key_store: FakeKeyStore, rate_limiter: FakeRateLimiter
) -> Iterator[TestClient]:
    with TestClient(make_app(sqlite_registry, key_store, rate_limiter), raise_server_exceptions=False) as c:
        yield c


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """``response`` is an RFC 9457 problem with ``status`` and ``code``; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE), response.headers
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:padron:error:{code}"
    assert body["title"] and body["detail"]
    if code in registered_errors():
        assert body["category"] == registered_errors()[code].category.value
    assert "Traceback" not in response.text
    return dict(body)


def enroll(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/persons", json={**PERSON, **fields}, headers=auth(Role.REGISTRAR))
    assert response.status_code == 201, response.text
    return dict(response.json())


def person_upload(seed: int, session: int = 1) -> dict[str, Any]:
    """``files=`` for an upload of a face and two fingers of synthetic person ``seed``."""
    return {
        "face": ("face.png", synthetic_image(seed, session), "image/png"),
        "finger_2": ("2.png", synthetic_image(seed, session), "image/png"),
        "finger_7": ("7.png", synthetic_image(seed, session), "image/png"),
    }
