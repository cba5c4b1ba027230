"""`padron serve`: the HTTP API (uvicorn running padron.api.app:create_app)."""

from __future__ import annotations

from typing import Annotated

import typer

from padron.api.config import check_serving_settings
from padron.domain.errors import ErrorCategory, PadronError
from padron.settings import load_settings


class ServerStartError(PadronError):
    code = "PAD-SERVE-002"
    category = ErrorCategory.UNAVAILABLE
    summary = "The HTTP server did not start (the address is in use, or startup failed); its log says why."


class EmbeddedGalleryWorkersError(PadronError):
    code = "PAD-SERVE-003"
    summary = (
        "Several worker processes need the shared Ray gallery (PADRON_GALLERY_BACKEND=ray): the "
        "embedded gallery lives in one process, and one worker serves it with a thread pool."
    )


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 1,
) -> None:
    """Serve the HTTP API until interrupted (Ctrl-C or SIGTERM stop it cleanly)."""
    # the settings are checked here so that a refusal is a coded error, not a worker's traceback
    settings = load_settings()
    check_serving_settings(settings)
    if workers > 1 and settings.gallery_backend != "ray":
        raise EmbeddedGalleryWorkersError(
            f"--workers {workers} with the embedded gallery would load a copy of the national gallery "
            "in every worker; serve with one worker (its threads share the gallery), or set "
            "PADRON_GALLERY_BACKEND=ray so that every worker uses the same named Ray shards",
            workers=workers,
            gallery_backend=settings.gallery_backend,
        )
    import uvicorn  # only this command needs the server

    try:
        uvicorn.run("padron.api.app:create_app", factory=True, host=host, port=port, workers=workers)
    except SystemExit as stopped:
        if stopped.code not in (0, None):
            raise ServerStartError(
                f"the server on {host}:{port} did not start (uvicorn exit status {stopped.code}); "
                "see its log above",
                host=host,
                port=port,
            ) from None
