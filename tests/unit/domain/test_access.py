"""Access contexts and error categories: what every use case and every channel builds on."""

from __future__ import annotations

import pytest

from padron.domain.access import AccessContext, Channel, Purpose, Role
from padron.domain.errors import (
    AccessContextError,
    ConcurrentUpdateError,
    CurpCheckDigitError,
    DatabaseUnavailableError,
    ErrorCategory,
    InternalError,
    PadronError,
    PersonNotFoundError,
    PersonStatusError,
    RecordTextError,
    registered_errors,
)


def test_a_context_is_parsed_and_cleaned() -> None:
    ctx = AccessContext(
        actor=" api:clerk-17 ", role="Registrar", channel="api", purpose="enrollment",  # type: ignore[arg-type]
        legal_basis=" LGP art. 91 ", case_ref="",
    )  # fmt: skip
    assert ctx.role is Role.REGISTRAR and ctx.channel is Channel.API and ctx.purpose is Purpose.ENROLLMENT
    assert ctx.actor == "api:clerk-17" and ctx.legal_basis == "LGP art. 91" and ctx.case_ref is None
    assert ctx.to_dict()["role"] == "registrar"
    cli = AccessContext.cli("cli:root", Purpose.CORRECTION)
    assert (cli.role, cli.channel) == (Role.ADMIN, Channel.CLI)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"role": "superuser"}, "role"),
        ({"channel": "fax"}, "channel"),
        ({"purpose": "curiosity"}, "purpose"),
        ({"actor": "  "}, "actor"),
        ({"channel": "partner"}, "partner"),  # a partner request names its partner
        ({"partner": "DHS"}, "partner"),  # and only a partner request does
    ],
)
def test_an_incomplete_context_is_refused(changes: dict[str, str], field: str) -> None:
    base = {"actor": "api:clerk", "role": "verifier", "channel": "api", "purpose": "verification"}
    with pytest.raises(AccessContextError) as refused:
        AccessContext(**{**base, **changes})  # type: ignore[arg-type]
    assert refused.value.details["field"] == field


def test_context_text_cannot_carry_control_characters() -> None:
    with pytest.raises(RecordTextError):
        AccessContext("api:x", Role.AUDITOR, Channel.API, Purpose.AUDIT, case_ref="A-1\x1b[2J")


@pytest.mark.parametrize(
    ("error", "category"),
    [
        (CurpCheckDigitError, ErrorCategory.INVALID),
        (PersonNotFoundError, ErrorCategory.NOT_FOUND),
        (PersonStatusError, ErrorCategory.CONFLICT),
        (ConcurrentUpdateError, ErrorCategory.CONFLICT),
        (DatabaseUnavailableError, ErrorCategory.UNAVAILABLE),
        (InternalError, ErrorCategory.INTERNAL),
    ],
)
def test_errors_carry_their_category(error: type[PadronError], category: ErrorCategory) -> None:
    assert error.category is category
    assert error("x").to_dict()["category"] == category.value


def test_not_found_and_unavailable_errors_say_so() -> None:
    import importlib
    import pkgutil

    import padron

    for module in pkgutil.walk_packages(padron.__path__, "padron."):
        if ".migrations." not in module.name:
            importlib.import_module(module.name)
    for code, cls in registered_errors().items():
        if cls.__name__.endswith("NotFoundError"):
            assert cls.category is ErrorCategory.NOT_FOUND, code
        if "Unavailable" in cls.__name__ or "Dependency" in cls.__name__:
            assert cls.category is ErrorCategory.UNAVAILABLE, code
