"""The FastAPI application: OpenAI-compatible model door, administration, operations and web pages."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rathaus import __version__
from rathaus.api import clients, problems
from rathaus.api.routers import admin, assistants, chats, health, knowledge, library, openai_compat, traffic
from rathaus.assistants.definitions import ASSISTANTS_DIR, load_assistants
from rathaus.core.observability import HTTP_REQUESTS
from rathaus.core.settings import Settings, get_settings
from rathaus.runtime import Runtime
from rathaus.web import login, pages, workspace

log = logging.getLogger(__name__)

DESCRIPTION = """\
**rathaus** – souveräne KI-Plattform für Stadtverwaltungen / sovereign AI platform for city administrations.

Every model call carries a *data class* (`oeffentlich`, `intern`, `vertraulich`, `personenbezogen`,
header `X-Rathaus-Data-Class` or body field `data_class`; default: the most protective class) and is
metered (tokens, €, Wh, gCO2e) and written to a hash-chained audit log. Errors are RFC 9457 problem+json.
"""


class GuardAndMeasure:
    """Pure ASGI middleware: refuse oversized bodies early, time every request, add safe headers."""

    def __init__(self, app: ASGIApp, limit: Callable[[], int]):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit()
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            response = problems.problem_response(413, "request-too-large", "Request too large",
                                                 f"the request body may have at most {limit} bytes",
                                                 Request(scope))
            await response(scope, receive, send)
            return
        status = 500
        t0 = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-content-type-options", b"nosniff")]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
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

    app = FastAPI(title="rathaus", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.assistants = load_assistants(assistants_dir or ASSISTANTS_DIR)
    problems.install(app)

    app.add_middleware(GuardAndMeasure, limit=lambda: (app.state.runtime.settings if app.state.runtime
                                                         else get_settings()).max_request_bytes)
    clients.install(app, (runtime.settings if runtime else settings or get_settings()).trusted_proxies)
    app.include_router(health.router)
    app.include_router(openai_compat.router)
    app.include_router(admin.router)
    app.include_router(knowledge.router)
    app.include_router(assistants.router)
    app.include_router(chats.router)
    app.include_router(traffic.router)
    app.include_router(library.router)
    app.include_router(login.router)
    app.include_router(pages.router)
    app.include_router(workspace.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    return app
