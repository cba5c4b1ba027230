"""Rendering console pages: the Jinja2 environment (built on first use, never at import), the
security headers every console response carries, and errors as pages.

Errors keep the API's rule: a PadronError's category decides the status
(:func:`padron.api.problems.http_status`); a console page shows the code and the message instead
of problem+json, and a request without a session is sent to the login page. Requests of the
console's own scripts (``Accept: application/json``) get problem+json as over the API.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException

from padron.api import problems
from padron.api.security import ConsoleCall
from padron.domain.access import Role
from padron.domain.errors import ErrorCategory, PadronError
from padron.registry.sessions import SessionError
from padron.web.i18n import LANG_COOKIE, language, translator

CONSOLE_PREFIX: Final = "/console"

#: every console response: nothing from elsewhere, no framing, no caching of personal data
SECURITY_HEADERS: Final[Mapping[str, str]] = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

#: the console's sections, the roles that see each in the navigation, and their paths
SECTIONS: Final = (
    ("nav.enrollment", "/console/enrollment", frozenset({Role.REGISTRAR})),
    ("nav.adjudication", "/console/adjudication", frozenset({Role.ADJUDICATOR, Role.AUDITOR})),
    ("nav.gateway", "/console/gateway", frozenset({Role.OFFICER, Role.AUDITOR})),
    ("nav.audit", "/console/audit", frozenset({Role.AUDITOR})),
    ("nav.dashboard", "/console/dashboard", frozenset({Role.ADMIN, Role.AUDITOR})),
)


def _when(value: datetime | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("padron.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    return env


def page_language(request: Request) -> str:
    return language(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE))


def with_headers(response: Response, request: Request) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    lang = request.query_params.get("lang")
    if lang is not None and lang == page_language(request) and request.cookies.get(LANG_COOKIE) != lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path=CONSOLE_PREFIX, samesite="strict")
    return response


def render(
    request: Request,
    template: str,
    call: ConsoleCall | None = None,
    *,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    """A console page: ``template`` with the page's language, the session (its role's sections
    and its CSRF token) and ``values``."""
    lang = page_language(request)
    role = call.session.role if call is not None else None
    sections = [(key, path) for key, path, roles in SECTIONS if role in roles]
    html = (
        environment()
        .get_template(template)
        .render(
            t=translator(lang),
            lang=lang,
            other_lang="en" if lang == "es" else "es",
            path=request.url.path,
            session=call.session if call is not None else None,
            csrf=call.session.csrf if call is not None else None,
            sections=sections,
            **values,
        )
    )
    response = HTMLResponse(html, status_code=status_code)
    with_headers(response, request)
    return response


def error_page(request: Request, error: PadronError, *, call: ConsoleCall | None = None) -> Response:
    """A PadronError as a console page (or a redirect to the login page without a session)."""
    status = problems.http_status(error)
    wants_json = "application/json" in request.headers.get("accept", "")
    if wants_json:
        return with_headers(problems.problem_response(error), request)
    if isinstance(error, SessionError) and request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        redirect = RedirectResponse(f"{CONSOLE_PREFIX}/login?next={quote(target, safe='')}", status_code=303)
        return with_headers(redirect, request)
    if status >= 500:  # logged under an incident id; the page says no more than the code's summary
        problems.problem_response(error)
        message, code = error.summary, error.code
    else:
        message, code = error.message, error.code
    lang = page_language(request)
    html = (
        environment()
        .get_template("error.html")
        .render(
            t=translator(lang),
            lang=lang,
            other_lang="en" if lang == "es" else "es",
            path=request.url.path,
            session=call.session if call is not None else None,
            csrf=None,
            sections=[],
            status=status,
            code=code,
            message=message,
            login=error.category is ErrorCategory.UNAUTHENTICATED,
        )
    )
    response = HTMLResponse(html, status_code=status)
    if error.category is ErrorCategory.UNAUTHENTICATED:
        response.headers["WWW-Authenticate"] = 'Bearer realm="padron"'
    with_headers(response, request)
    return response


def install_console_handlers(app: FastAPI) -> None:
    """Console paths render errors as pages; every other path keeps problem+json."""
    handlers = dict(app.exception_handlers)

    def dispatch(kind: type[Exception] | int) -> Any:
        api_handler = handlers[kind]

        async def handler(request: Request, exc: Exception) -> Response:
            if not request.url.path.startswith(CONSOLE_PREFIX):
                response: Response = await api_handler(request, exc)
                return response
            if isinstance(exc, PadronError):
                error = exc
            elif isinstance(exc, RequestValidationError):
                error = problems.validation_error(exc.errors())
            elif isinstance(exc, HTTPException):
                error = problems._http_error(request, exc)
            else:
                await api_handler(request, exc)  # logged with its traceback under an incident id
                from padron.domain.errors import InternalError

                error = InternalError(f"unexpected {type(exc).__name__} on {request.url.path}")
            return error_page(request, error)

        return handler

    for kind in (PadronError, RequestValidationError, HTTPException, Exception):
        app.add_exception_handler(kind, dispatch(kind))
