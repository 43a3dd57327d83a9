"""The case worker's inbox page ``/inbox``: the queue with filters, and one message with its routing, extracted
fields, similar messages, its thread and the reply draft (actions go to /api/v1/inbox/… through static/inbox.js)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from rathaus.core.auth import ADMIN_ROLE, Principal
from rathaus.core.errors import NotFound, RathausError
from rathaus.http.deps import RuntimeDep
from rathaus.inbox import access, service, store, takeover
from rathaus.inbox.schema import InboxMessage
from rathaus.inbox.settings import InboxSettings
from rathaus.runtime import Runtime
from rathaus.web.pages import PagePrincipalDep, page_context, render_page

router = APIRouter(include_in_schema=False)
AGES = {"1d": 24, "3d": 72, "7d": 168}
STATUSES = ["received", "triage", "open", "answered", "spam", "closed"]


def _related(runtime: Runtime, principal: Principal, selected: dict[str, Any]) -> None:
    """Subjects for the similar messages (already filtered to the visible ones) and the other visible messages of
    the same case (thread), added to ``selected``."""
    ids = [int(s["id"]) for s in selected.get("similar") or [] if isinstance(s.get("id"), int)]
    case_id = selected.get("case_id")
    with runtime.db.session() as session:
        subjects = dict(session.execute(sa.select(InboxMessage.id, InboxMessage.subject)
                                        .where(InboxMessage.id.in_(ids))).all()) if ids else {}
        thread = []
        if case_id is not None:
            rows = session.execute(
                sa.select(InboxMessage.id, InboxMessage.subject, InboxMessage.received_at)
                .where(access.visible_clause(principal), InboxMessage.id != selected["id"],
                       sa.or_(InboxMessage.case_id == case_id, InboxMessage.id == case_id))
                .order_by(InboxMessage.received_at)).all()
            thread = [{"id": r.id, "subject": r.subject,
                       "received_at": r.received_at.isoformat() if r.received_at else None} for r in rows]
    selected["similar"] = [{**s, "subject": subjects.get(s["id"])} for s in selected.get("similar") or []]
    selected["thread"] = thread


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
    context = page_context(request, runtime, principal)
    selected: dict[str, Any] | None = None
    problem, problem_status = None, 200
    if message is not None:
        try:
            selected = await run_in_threadpool(store.get_message, runtime, principal, message)
            await run_in_threadpool(_related, runtime, principal, selected)
        except NotFound:  # another department's message is not even confirmed to exist
            problem, problem_status = context["t"]["inbox_not_found"].format(id=message), 404
        except RathausError as exc:
            problem, problem_status = exc.detail, exc.status
    de = context["lang"] == "de"
    shown = {"department": department or "", "status": status or "", "category": category or "",
             "urgency": urgency or "", "language": language or "", "age": age or ""}
    keys = [d.key for d in taxonomy.departments]
    # the patterns of the department in view: the filtered one, else the principal's own (all visible for others)
    pattern_department = department if department in keys else principal.department if (
        principal.department in keys and ADMIN_ROLE not in principal.roles) else None
    suffix = urlencode({k: v for k, v in shown.items() if v})
    targets = runtime.settings.section(InboxSettings).inbox_export_targets
    export_target = targets.get(selected["department"]) if selected and selected.get("department") else None
    return render_page(request, "inbox.html", {
        **context, "queue": queue, "selected": selected, "problem": problem, "taxonomy": taxonomy,
        "filters": {**shown, "message": message if selected else ""}, "statuses": STATUSES,
        "query_suffix": "&" + suffix if suffix else "",
        "can_send": bool({access.SEND_ROLE, ADMIN_ROLE} & principal.roles),
        "can_export": bool(set(takeover.EXPORT_ROLES) & principal.roles),
        "export_target": export_target.url if export_target else None,
        "pattern_department": pattern_department, "sees_all": ADMIN_ROLE in principal.roles,
        "dept_names": {d.key: (d.name_de if de else d.name_en) for d in taxonomy.departments},
        "cat_names": {c.key: (c.label_de if de else c.label_en) for c in taxonomy.categories},
        "urg_names": {u.key: (u.label_de if de else u.label_en) for u in taxonomy.urgency},
    }, status=problem_status)
