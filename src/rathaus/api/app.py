"""The FastAPI application: OpenAI-compatible model door, administration, operations and web pages."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from rathaus import __version__
from rathaus.api import problems
from rathaus.api.routers import admin, health, openai_compat
from rathaus.core.observability import HTTP_REQUESTS
from rathaus.core.settings import Settings, get_settings
from rathaus.runtime import Runtime
from rathaus.web import pages

log = logging.getLogger(__name__)

DESCRIPTION = """\
**rathaus** – souveräne KI-Plattform für Stadtverwaltungen / sovereign AI platform for city administrations.

Every model call carries a *data class* (`oeffentlich`, `intern`, `vertraulich`, `personenbezogen`,
header `X-Rathaus-Data-Class` or body field `data_class`; default: the most protective class) and is
metered (tokens, €, Wh, gCO2e) and written to a hash-chained audit log. Errors are RFC 9457 problem+json.
"""


def create_app(runtime: Runtime | None = None, settings: Settings | None = None) -> FastAPI:
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
    problems.install(app)

    @app.middleware("http")
    async def guard_and_measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        limit = (app.state.runtime.settings if app.state.runtime else get_settings()).max_request_bytes
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return problems.problem_response(413, "request-too-large", "Request too large",
                                             f"the request body may have at most {limit} bytes", request)
        t0 = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        HTTP_REQUESTS.labels(request.method, path, str(response.status_code)).observe(time.perf_counter() - t0)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    app.include_router(health.router)
    app.include_router(openai_compat.router)
    app.include_router(admin.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    return app
