"""``/docs``: the API reference as one self-contained HTML page rendered from the OpenAPI document.

FastAPI's own /docs loads Swagger UI from a CDN; a padron server may run on a closed network and
must not make its users' browsers fetch code from outside, so this page has no script, no style
sheet and no image from anywhere: a table of the endpoints with their roles, and a link to
/openapi.json for tools.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

_STYLE = (
    "body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em;line-height:1.4}"
    "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3em .5em;"
    "text-align:left;vertical-align:top}code{font-size:95%}"
)
_METHODS = ("get", "post", "put", "patch", "delete")


def render_docs(schema: dict[str, Any]) -> str:
    info = schema.get("info", {})
    rows = []
    for path, item in sorted(schema.get("paths", {}).items()):
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            roles = operation.get("x-padron-roles") or []
            statuses = ", ".join(sorted(str(s) for s in operation.get("responses", {})))
            rows.append(
                "<tr>"
                f"<td><code>{escape(method.upper())}</code></td>"
                f"<td><code>{escape(path)}</code></td>"
                f"<td>{escape(operation.get('summary', ''))}</td>"
                f"<td>{escape(', '.join(roles) or 'public')}</td>"
                f"<td>{escape(statuses)}</td>"
                "</tr>"
            )
    paragraphs = [p for p in str(info.get("description", "")).split("\n\n") if p]
    # the status table is Markdown: shown as written
    description = "".join(
        f"<pre>{escape(p)}</pre>" if p.startswith("|") else f"<p>{escape(p)}</p>" for p in paragraphs
    )
    title = escape(str(info.get("title", "API")))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{title} <small>{escape(str(info.get('version', '')))}</small></h1>"
        f"{description}"
        "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a> (OpenAPI).</p>"
        "<table><thead><tr><th>method</th><th>path</th><th>what</th><th>roles</th><th>statuses</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></body></html>"
    )


def add_docs_route(app: FastAPI) -> None:
    async def docs() -> HTMLResponse:
        return HTMLResponse(render_docs(app.openapi()))

    app.add_api_route("/docs", docs, methods=["GET"], include_in_schema=False, name="docs")
