"""The portfolio page ``/portfolio``: the submission form (sent to /api/v1/portfolio/ideas by
static/portfolio.js), the prioritised list with every criterion and the weights, and the department's own ideas
with their written assessments."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from rathaus.governance.portfolio import service
from rathaus.governance.portfolio.vocabulary import CRITERIA
from rathaus.http.deps import RuntimeDep
from rathaus.web.pages import PagePrincipalDep, page_context, render_page

router = APIRouter(include_in_schema=False)


@router.get("/portfolio", response_class=HTMLResponse)
async def portfolio_page(request: Request, runtime: RuntimeDep, principal: PagePrincipalDep) -> HTMLResponse:
    context = page_context(request, runtime, principal)
    listing = await run_in_threadpool(service.prioritised, runtime, principal)
    mine = await run_in_threadpool(service.department_ideas, runtime, principal)
    return render_page(request, "portfolio.html", {**context, "listing": listing, "mine": mine,
                                                   "criteria": CRITERIA})
