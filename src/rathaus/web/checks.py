"""The case worker's application checks page ``/pruefung``: upload a packet, the department's packets, and one
packet's checklist grouped by status with evidence (document, page, text, image crop), the Annex III notice, the
applicant letter and the confirmation (actions go to /api/v1/checks/… through static/checks.js)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from rathaus.checks import access, service
from rathaus.checks.model import STATUSES
from rathaus.checks.settings import ChecksSettings
from rathaus.core.errors import NotFound, RathausError
from rathaus.http.deps import RuntimeDep
from rathaus.web.pages import PagePrincipalDep, page_context, render_page

router = APIRouter(include_in_schema=False)
GROUP_ORDER = ("missing", "invalid", "unsure", "satisfied")
assert set(GROUP_ORDER) == set(STATUSES)


def _grouped(selected: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    return [(status, [i for i in selected["items"] if i.get("status") == status]) for status in GROUP_ORDER]


@router.get("/pruefung", response_class=HTMLResponse)
async def checks_page(request: Request, runtime: RuntimeDep, principal: PagePrincipalDep,
                      packet: Annotated[int | None, Query(ge=1, le=2**62)] = None) -> HTMLResponse:
    context = page_context(request, runtime, principal)
    lang = context["lang"]
    t = context["t"]
    settings = runtime.settings.section(ChecksSettings)
    base = {**context, "types": [], "packets": {"total": 0, "items": []}, "selected": None, "groups": [],
            "problem": None, "today": dt.date.today().isoformat(), "max_files": settings.checks_max_files,
            "max_mb": settings.checks_max_file_mb, "letter_languages": ["de", "en"]}
    if not access.may_use(principal):
        return render_page(request, "checks.html", {**base, "problem": f"{t['forbidden']}: "
                                                    f"{access.REVIEW_ROLE}"}, status=403)
    known = service.types(runtime)
    allowed = [ty for ty in known.values() if principal.is_admin or ty.department == principal.department]
    packets = await run_in_threadpool(service.list_packets, runtime, principal, limit=100, lang=lang)
    selected, problem, status = None, None, 200
    if packet is not None:
        try:
            selected = await run_in_threadpool(service.get_packet, runtime, principal, packet, lang)
        except NotFound:
            problem, status = t["checks_not_found"].format(id=packet), 404
        except RathausError as exc:
            problem, status = exc.detail, exc.status
    languages = ["de", "en"]
    if selected and selected["language"] not in languages:
        languages.append(selected["language"])
    selected_type = known.get(selected["type_id"]) if selected else None
    return render_page(request, "checks.html", {
        **base, "types": [service.type_summary(ty, lang) for ty in allowed], "packets": packets,
        "selected": selected, "groups": _grouped(selected) if selected else [], "problem": problem,
        "letter_languages": languages,
        "type_sources": [s.model_dump() for s in selected_type.sources] if selected_type else [],
    }, status=status)
