"""The learning pages: ``/lernen`` (the modules with your own progress) and ``/lernen/{id}`` (the module's text,
rendered from Markdown, and its check – a form sent to /api/v1/literacy/modules/{id}/attempts by
static/literacy.js; the answers are checked on the server)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from rathaus.http.deps import RuntimeDep
from rathaus.http.markdown import render
from rathaus.literacy import modules as mod
from rathaus.literacy import service
from rathaus.web.pages import PagePrincipalDep, page_context, render_page

router = APIRouter(include_in_schema=False)


@router.get("/lernen", response_class=HTMLResponse)
async def overview(request: Request, runtime: RuntimeDep, principal: PagePrincipalDep) -> HTMLResponse:
    context = page_context(request, runtime, principal)

    def build() -> list[dict[str, object]]:
        with runtime.db.session() as session:
            return service.progress(session, runtime.settings, principal, context["lang"])

    listing = await run_in_threadpool(build)
    return render_page(request, "literacy.html", {**context, "modules": listing,
                                                  "may_read_record": any(r in principal.roles
                                                                         for r in service.READER_ROLES)})


@router.get("/lernen/{module_id}", response_class=HTMLResponse)
async def module_page(module_id: str, request: Request, runtime: RuntimeDep,
                      principal: PagePrincipalDep) -> HTMLResponse:
    context = page_context(request, runtime, principal)
    lang = context["lang"]
    module = mod.find(service.modules(runtime.settings), module_id)

    def mine() -> dict[str, object] | None:
        with runtime.db.session() as session:
            return next((p for p in service.progress(session, runtime.settings, principal, lang)
                         if p["id"] == module.id), None)

    own = await run_in_threadpool(mine)
    return render_page(request, "literacy_module.html", {
        **context, "module": module.as_dict(lang), "html": render(module.body(lang)), "own": own})
