"""Fixtures for the face tests: real LFW images where ../shared/data is present, dlib where installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.biometrics.face.face_images import LFW


@pytest.fixture
def lfw() -> Path:
    if not (LFW / "pairs.txt").is_file():
        pytest.skip(f"LFW not found at {LFW} (needs ../shared/data/faces/lfw beside the repository)")
    return LFW


@pytest.fixture
def dlib_ready() -> None:
    pytest.importorskip("dlib", reason="dlib is not installed (install padron's `face` extra)")
