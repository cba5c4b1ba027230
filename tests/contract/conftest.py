"""Shared fixtures of the contract suites."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def ray_runtime() -> Iterator[None]:
    """One local Ray instance (2 CPUs) per test process, shared by every module that needs it
    (starting Ray costs ~15 s); the tests using it share the xdist group "ray"."""
    ray = pytest.importorskip("ray")
    from padron.matching.backends.ray import connect

    connect(num_cpus=2)
    yield
    ray.shutdown()
