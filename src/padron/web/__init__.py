"""The web console: server-rendered pages under ``/console`` (Jinja2 templates, a little plain
JavaScript, nothing loaded from outside the server) behind the same keys, roles and use cases
as the API -- every page is declared in :data:`padron.api.roles.ENDPOINT_ACCESS` and calls the
registry's, the biometric service's and the gateway's use cases with channel ``console``."""

from __future__ import annotations

from fastapi import FastAPI


def install_console(app: FastAPI) -> None:
    """Add the console's pages to ``app`` and render errors on its paths as pages."""
    from padron.web import adjudication, audit, console, dashboard, enrollment, gateway
    from padron.web.pages import install_console_handlers

    console.add_routes(app)
    adjudication.add_routes(app)
    gateway.add_routes(app)
    enrollment.add_routes(app)
    audit.add_routes(app)
    dashboard.add_routes(app)
    install_console_handlers(app)
