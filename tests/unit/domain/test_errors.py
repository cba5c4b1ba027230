"""Every error code is unique, well formed and documented in docs/errors.md."""

from __future__ import annotations

import importlib.util
import re
import sys

import pytest

from padron.domain.errors import PadronError, registered_errors
from tests.conftest import REPO_ROOT

spec = importlib.util.spec_from_file_location("gen_error_docs", REPO_ROOT / "scripts" / "gen_error_docs.py")
assert spec and spec.loader
gen_error_docs = importlib.util.module_from_spec(spec)
sys.modules["gen_error_docs"] = gen_error_docs
spec.loader.exec_module(gen_error_docs)


def all_errors() -> dict[str, type[PadronError]]:
    gen_error_docs.import_all()
    return registered_errors()


def test_codes_are_well_formed_and_summarized() -> None:
    errors = all_errors()
    assert len(errors) >= 30
    for code, cls in errors.items():
        assert re.fullmatch(r"PAD-[A-Z]+-\d{3}", code), code
        assert cls.code == code
        assert cls.summary and cls.summary != PadronError.summary, f"{code} has no summary of its own"


def test_codes_are_unique_across_classes() -> None:
    errors = all_errors()
    assert len({cls for cls in errors.values()}) == len(errors)
    with pytest.raises(TypeError, match="already used"):

        class DuplicateError(PadronError):
            code = "PAD-CURP-003"
            summary = "a second class claiming an existing code"


def test_every_code_is_documented() -> None:
    doc = (REPO_ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    assert doc == gen_error_docs.render(), "docs/errors.md is stale: run scripts/gen_error_docs.py"
    for code in all_errors():
        assert f"`{code}`" in doc
