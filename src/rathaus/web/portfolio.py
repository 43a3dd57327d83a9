"""The portfolio page ``/portfolio``: the submission form (sent to /api/v1/portfolio/ideas by
static/portfolio.js), the prioritised list with every criterion and the weights, and the department's own ideas
with their written assessments."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from rathaus.core.errors import NotFound
from rathaus.governance.portfolio import access, service
from rathaus.governance.portfolio.vocabulary import CRITERIA, JUDGED_CRITERIA, TRANSITIONS
from rathaus.http.deps import RuntimeDep
from rathaus.web.pages import PagePrincipalDep, page_context, render_page

router = APIRouter(include_in_schema=False)


@router.get("/portfolio", response_class=HTMLResponse)
async def portfolio_page(request: Request, runtime: RuntimeDep, principal: PagePrincipalDep,
                         idea: Annotated[int | None, Query(ge=1, le=2**62)] = None) -> HTMLResponse:
    context = page_context(request, runtime, principal)
    listing = await run_in_threadpool(service.prioritised, runtime, principal)
    mine = await run_in_threadpool(service.department_ideas, runtime, principal)
    may_assess = access.may_assess(principal)
    selected: dict[str, Any] | None = None
    status = 200
    if idea is not None and may_assess:  # the assessors' panel for one idea
        try:
            selected = await run_in_threadpool(service.get_idea, runtime, principal, idea)
        except NotFound:
            status = 404
    return render_page(request, "portfolio.html", {
        **context, "listing": listing, "mine": mine, "criteria": CRITERIA, "judged": JUDGED_CRITERIA,
        "may_assess": may_assess, "selected": selected, "not_found": status == 404,
        "next_statuses": [s for s in TRANSITIONS[selected["status"]] if s != "assessed"] if selected else [],
    }, status=status)
