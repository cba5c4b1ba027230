"""A gallery under test on the backend a fixture asks for."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from padron.domain.template import Modality
from padron.matching.gallery import Gallery


def gallery_on(
    request: pytest.FixtureRequest,
    backend: str,
    factory: Callable[[], Gallery],
    modality: Modality,
    shards: int,
) -> Iterator[Gallery]:
    """``factory()``'s gallery in this process, or with ``backend == "ray"`` the same gallery as
    ``shards`` Ray shards on the session's Ray instance (closed after the test)."""
    if backend != "ray":
        yield factory()
        return
    request.getfixturevalue("ray_runtime")
    from padron.matching.backends.ray import RayGallery

    gallery = RayGallery(factory, modality=modality, shards=shards)
    yield gallery
    gallery.close()
