"""The case worker's inbox page ``/inbox``: the queue with filters, and one message with its routing, extracted
fields, similar messages and the reply draft (actions go to /api/v1/inbox/… through static/inbox.js)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from rathaus.core.errors import RathausError
from rathaus.http.deps import RuntimeDep
from rathaus.inbox import service, store
from rathaus.web.pages import PagePrincipalDep, page_context, render_page

router = APIRouter(include_in_schema=False)
AGES = {"1d": 24, "3d": 72, "7d": 168}


@router.get("/inbox", response_class=HTMLResponse)
async def inbox_page(
    request: Request, runtime: RuntimeDep, principal: PagePrincipalDep,
    message: Annotated[int | None, Query(ge=1)] = None,
    department: Annotated[str | None, Query(max_length=100)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    urgency: Annotated[str | None, Query(max_length=50)] = None,
    language: Annotated[str | None, Query(max_length=2)] = None,
    age: Annotated[str | None, Query(max_length=3)] = None,
) -> HTMLResponse:
    filters = store.Filters(department=department or None, status=status or None, category=category or None,
                            urgency=urgency or None, language=language or None,
                            older_than_hours=AGES.get(age or ""), limit=100)
    taxonomy = service.taxonomy(runtime)
    queue = await run_in_threadpool(store.list_messages, runtime, principal, filters)
    selected: dict[str, Any] | None = None
    problem = None
    if message is not None:
        try:
            selected = await run_in_threadpool(store.get_message, runtime, principal, message)
        except RathausError as exc:
            problem = exc.detail
    context = page_context(request, runtime, principal)
    return render_page(request, "inbox.html", {
        **context, "queue": queue, "selected": selected, "problem": problem, "taxonomy": taxonomy,
        "filters": {"department": department or "", "status": status or "", "category": category or "",
                    "urgency": urgency or "", "language": language or "", "age": age or ""},
        "statuses": ["received", "triage", "open", "answered", "spam", "closed"],
        "dept_names": {d.key: (d.name_de if context["lang"] == "de" else d.name_en) for d in taxonomy.departments},
        "cat_names": {c.key: (c.label_de if context["lang"] == "de" else c.label_en) for c in taxonomy.categories},
        "urg_names": {u.key: (u.label_de if context["lang"] == "de" else u.label_en) for u in taxonomy.urgency},
    }, status=404 if problem else 200)
