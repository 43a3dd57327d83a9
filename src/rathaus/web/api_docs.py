"""The OpenAPI page ``/docs``: Swagger UI served by this server, so it works offline and needs no inline script.

FastAPI's own page loads Swagger UI from a CDN and starts it with an inline ``<script>``; this one takes the
Swagger UI files shipped in the ``fastapi-offline`` package (mounted at ``/docs-assets``) and starts them from
``/static/api-docs.js``, which the Content-Security-Policy ``script-src 'self'`` allows.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from rathaus.web.pages import templates

ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
ASSETS_URL = "/docs-assets"
router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "").rstrip("/")
    return templates.TemplateResponse(request, "api-docs.html", {
        "title": f"{request.app.title} {request.app.version} – API", "root": root, "assets": root + ASSETS_URL,
        "openapi_url": root + (request.app.openapi_url or "/openapi.json"),
    })
