"""Every face error has its own stable code and a one-line summary for docs/errors.md."""

from __future__ import annotations

import padron.biometrics.face.errors as face_errors
from padron.domain.errors import PadronError, registered_errors


def test_each_face_error_has_a_unique_code_and_a_summary() -> None:
    classes: list[type[PadronError]] = [
        c
        for c in vars(face_errors).values()
        if isinstance(c, type)
        and issubclass(c, PadronError)
        and c.__module__ == face_errors.__name__
        and "code" in c.__dict__
    ]
    assert len(classes) == 12
    codes = [c.code for c in classes]
    assert len(set(codes)) == len(codes)
    registry = registered_errors()
    for c in classes:
        assert c.code.startswith("PAD-FACE-")
        assert registry[c.code] is c
        assert c.summary and c.summary != PadronError.summary and "\n" not in c.summary
