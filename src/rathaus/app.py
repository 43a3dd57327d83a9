"""The app factory: the FastAPI application with every capability's routers (rathaus.core.capability), the
problem+json errors, the request middleware (rathaus.api.middleware) and the static files of the web UI."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from rathaus import __version__
from rathaus.api import problems
from rathaus.api.middleware import GuardAndMeasure
from rathaus.assistants.definitions import ASSISTANTS_DIR, load_assistants
from rathaus.core import capability
from rathaus.core.settings import Settings, get_settings
from rathaus.http import clients
from rathaus.runtime import Runtime
from rathaus.web import api_docs, pages

log = logging.getLogger(__name__)

DESCRIPTION = """\
**rathaus** – souveräne KI-Plattform für Stadtverwaltungen / sovereign AI platform for city administrations.

Every model call carries a *data class* (`oeffentlich`, `intern`, `vertraulich`, `personenbezogen`,
header `X-Rathaus-Data-Class` or body field `data_class`; default: the most protective class) and is
metered (tokens, €, Wh, gCO2e) and written to a hash-chained audit log. Errors are RFC 9457 problem+json.
"""



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
    for cap in capability.capabilities():
        for router in cap.routers:
            app.include_router(capability.load(router))
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    app.mount(api_docs.ASSETS_URL, StaticFiles(directory=api_docs.ASSETS_DIR), name="docs-assets")
    return app
