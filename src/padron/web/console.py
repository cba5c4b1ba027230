"""The console's frame: the login page (an API key for a session cookie), logout, the start
page and the static files (a style sheet and a small script, served from the package: nothing
is loaded from outside the server).

The login form is protected against CSRF by a double-submitted token (a cookie of the login
page and the same value in the form); every form after login carries the session's token
(:func:`padron.registry.sessions.csrf_token`), checked by
:func:`padron.api.security.console_authenticated`.
"""

from __future__ import annotations

import hmac
import secrets
from importlib import resources
from typing import Annotated, Final

from fastapi import Depends, FastAPI, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from padron.api.problems import RouteNotFoundError, UnsupportedMediaTypeError
from padron.api.roles import CONSOLE_ROLES
from padron.api.security import SESSION_COOKIE, ConsoleCall, console_authenticated
from padron.api.state import services
from padron.domain.errors import PadronError
from padron.registry.sessions import CsrfError
from padron.web.pages import CONSOLE_PREFIX, render, with_headers

Console = Annotated[ConsoleCall, Depends(console_authenticated)]

LOGIN_COOKIE: Final = "padron_login"
#: the static files, by name, with their media types
STATIC: Final = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}
#: the longest form field the console reads
MAX_FIELD: Final = 4000


async def form_fields(request: Request) -> dict[str, str]:
    """A urlencoded form's text fields (a console form is never parsed as multipart here:
    Starlette's multipart parser spools files to disk)."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise UnsupportedMediaTypeError(
            f"send the form as application/x-www-form-urlencoded, not {content_type or 'untyped'}",
            content_type=content_type,
        )
    form = await request.form()
    return {name: value[:MAX_FIELD] for name, value in form.items() if isinstance(value, str)}


def _safe_next(value: str | None) -> str:
    safe = value is not None and value.startswith(CONSOLE_PREFIX) and "\\" not in value
    if safe and value is not None and not value.startswith(f"{CONSOLE_PREFIX}/login"):
        return value
    return CONSOLE_PREFIX


def _login_page(request: Request, *, status_code: int = 200, error: PadronError | None = None) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        status_code=status_code,
        login_csrf=token,
        next=_safe_next(request.query_params.get("next")),
        message=error.message if error is not None else None,
        code=error.code if error is not None else None,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path=f"{CONSOLE_PREFIX}/login",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def add_routes(app: FastAPI) -> None:
    router = app.router

    @router.get("/console/static/{name}", include_in_schema=False)
    def console_static(request: Request, name: Annotated[str, Path(max_length=40)]) -> Response:
        if name not in STATIC:
            raise RouteNotFoundError(f"no console file {name[:40]!r}", path=request.url.path)
        data = resources.files("padron.web").joinpath("static", name).read_bytes()
        response = Response(data, media_type=STATIC[name])
        with_headers(response, request)
        response.headers["Cache-Control"] = "no-cache"
        return response

    @router.get("/console/login", include_in_schema=False)
    def console_login_page(request: Request) -> Response:
        return _login_page(request)

    @router.post("/console/login", include_in_schema=False)
    async def console_login(request: Request) -> Response:
        fields = await form_fields(request)
        sent, kept = fields.get("csrf", ""), request.cookies.get(LOGIN_COOKIE, "")
        if not sent or not kept or not hmac.compare_digest(sent, kept):
            error: PadronError = CsrfError("the login form's token is missing or stale: reload the page")
            return _login_page(request, status_code=403, error=error)
        svc = services(request)
        token = fields.get("token", "").strip()
        try:
            key = await run_in_threadpool(svc.gatekeeper.admit, token, frozenset(CONSOLE_ROLES))
        except PadronError as refused:
            from padron.api.problems import http_status

            return _login_page(request, status_code=http_status(refused), error=refused)
        opened = await run_in_threadpool(
            lambda: svc.sessions.open(
                key.key_id, key.name, key.role, key_expires_at=getattr(key, "expires_at", None)
            )
        )
        response = RedirectResponse(_safe_next(fields.get("next")), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            opened.session_id,
            max_age=int((opened.expires_at - opened.created_at).total_seconds()),
            path=CONSOLE_PREFIX,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        response.delete_cookie(LOGIN_COOKIE, path=f"{CONSOLE_PREFIX}/login")
        with_headers(response, request)
        return response

    @router.post("/console/logout", include_in_schema=False)
    async def console_logout(request: Request, call: Console) -> Response:
        await run_in_threadpool(services(request).sessions.end, call.session)
        response = RedirectResponse(f"{CONSOLE_PREFIX}/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=CONSOLE_PREFIX)
        with_headers(response, request)
        return response

    @router.get("/console", include_in_schema=False)
    def console_home(request: Request, call: Console) -> Response:
        return render(request, "home.html", call)
