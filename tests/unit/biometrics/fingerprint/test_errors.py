from __future__ import annotations

import re

import padron.biometrics.fingerprint.errors as errors_module
from padron.domain.errors import PadronError, registered_errors


def test_fingerprint_error_codes_are_unique_documented_and_in_their_area() -> None:
    classes = [
        c
        for c in vars(errors_module).values()
        if isinstance(c, type) and issubclass(c, PadronError) and c.__module__ == errors_module.__name__
    ]
    assert len(classes) >= 10
    codes = [c.code for c in classes]
    assert len(set(codes)) == len(codes)
    for c in classes:
        assert re.fullmatch(r"PAD-FING-\d{3}", c.code), c
        assert c.summary and c.summary != PadronError.summary and "\n" not in c.summary
        assert registered_errors()[c.code] is c
