"""The FastAPI application: OpenAI-compatible model door, administration, operations and web pages."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rathaus import __version__
from rathaus.api import body_limits, clients, problems, security_headers
from rathaus.api.routers import admin, assistants, chats, health, jobs, knowledge, library, openai_compat, traffic
from rathaus.assistants.definitions import ASSISTANTS_DIR, load_assistants
from rathaus.core.observability import HTTP_REQUESTS
from rathaus.core.settings import Settings, get_settings
from rathaus.runtime import Runtime
from rathaus.web import api_docs, login, pages, workspace

log = logging.getLogger(__name__)

DESCRIPTION = """\
**rathaus** – souveräne KI-Plattform für Stadtverwaltungen / sovereign AI platform for city administrations.

Every model call carries a *data class* (`oeffentlich`, `intern`, `vertraulich`, `personenbezogen`,
header `X-Rathaus-Data-Class` or body field `data_class`; default: the most protective class) and is
metered (tokens, €, Wh, gCO2e) and written to a hash-chained audit log. Errors are RFC 9457 problem+json.
"""


class GuardAndMeasure:
    """Pure ASGI middleware: limit request bodies, add security headers, time every request.

    Bodies are limited per route class (rathaus.api.body_limits): a declared Content-Length over the limit is
    refused at once; otherwise the bytes are counted as they arrive (chunked or not) and the request is answered
    with 413 as soon as they pass the limit. Whatever the application then tries to answer (FastAPI turns the
    error into a 400 while parsing the body) is replaced by that 413, so there is exactly one response.
    """

    def __init__(self, app: ASGIApp, settings: Callable[[], Settings], routes: Callable[[], Sequence[BaseRoute]]):
        self.app = app
        self.settings = settings
        self.routes = routes
        self._uploads: list[Any] | None = None

    def upload_routes(self) -> list[Any]:
        if self._uploads is None:  # the routes are complete once the first request arrives
            self._uploads = body_limits.upload_routes(self.routes())
        return self._uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = self.settings()
        status = 500
        t0 = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                route = getattr(scope.get("route"), "path", "")
                message["headers"] = security_headers.add_headers(
                    list(message.get("headers", [])), route=route, path=scope["path"],
                    scheme=scope.get("scheme", "http"), settings=settings)
            await send(message)

        async def too_large(limit: int, kind: str) -> None:
            detail = body_limits.describe(limit, kind, settings)
            response = problems.problem_response(413, "request-too-large", "Request too large", detail,
                                                 Request(scope), limit=limit)
            await response(scope, receive, send_with_headers)

        limit, kind = body_limits.limit_for(scope, settings, self.upload_routes())
        length = dict(scope["headers"]).get(b"content-length")
        body = body_limits.CountingReceive(receive, limit, kind)
        started_before_limit = False

        async def send_guarded(message: Message) -> None:
            nonlocal started_before_limit
            if body.exceeded and not started_before_limit:
                return  # the application's answer to the cut-off body; the 413 below replaces it
            if message["type"] == "http.response.start":
                started_before_limit = True
            await send_with_headers(message)

        try:
            if length is not None and (not length.isdigit() or int(length) > limit):
                await too_large(limit, kind)
                return
            try:
                await self.app(scope, body, send_guarded)
            except Exception as exc:
                if not body.exceeded or started_before_limit:
                    raise  # not about the body, or the response is under way: the server drops the connection
                if not isinstance(exc, body_limits.BodyTooLarge):
                    log.debug("%s after the body passed its limit: %r", scope["path"], exc)
            if body.exceeded and not started_before_limit:
                await too_large(limit, kind)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(scope["method"], route, str(status)).observe(time.perf_counter() - t0)


def create_app(runtime: Runtime | None = None, settings: Settings | None = None,
               assistants_dir: Path | None = None) -> FastAPI:
    """Build the app; without a runtime it starts one (database, migrations, catalogue) on startup."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = None
        if getattr(app.state, "runtime", None) is None:
            owned = Runtime(settings or get_settings())
            app.state.runtime = owned
        try:
            yield
        finally:
            if owned is not None:
                owned.close()

    # /docs is rathaus.web.api_docs (Swagger UI served offline); ReDoc and the OAuth2 redirect page would need a
    # CDN and inline scripts, and no route uses OAuth2 flows in Swagger UI
    app = FastAPI(title="rathaus", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None)
    app.state.runtime = runtime
    app.state.assistants = load_assistants(assistants_dir or ASSISTANTS_DIR)
    problems.install(app)

    app.add_middleware(GuardAndMeasure, routes=lambda: app.routes,
                       settings=lambda: app.state.runtime.settings if app.state.runtime else get_settings())
    clients.install(app, (runtime.settings if runtime else settings or get_settings()).trusted_proxies)
    app.include_router(health.router)
    app.include_router(openai_compat.router)
    app.include_router(admin.router)
    app.include_router(knowledge.router)
    app.include_router(assistants.router)
    app.include_router(chats.router)
    app.include_router(traffic.router)
    app.include_router(library.router)
    app.include_router(jobs.router)
    app.include_router(login.router)
    app.include_router(pages.router)
    app.include_router(workspace.router)
    app.include_router(api_docs.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    app.mount(api_docs.ASSETS_URL, StaticFiles(directory=api_docs.ASSETS_DIR), name="docs-assets")
    return app
