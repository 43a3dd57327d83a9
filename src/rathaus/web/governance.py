"""The oversight dashboard ``/governance`` (register link, the four reports, audit-log integrity, retention,
open Annex III confirmations) and the report pages ``/governance/reports/{kind}?month=``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from rathaus.core import budgets
from rathaus.governance.reports import KINDS, READER_ROLES, Report, build_report, check_kind, render_fragment
from rathaus.governance.reports.dashboard import audit_integrity, open_annex_iii, retention_status
from rathaus.http.deps import RuntimeDep
from rathaus.literacy.service import record as literacy_record
from rathaus.web.pages import PagePrincipalDep, page_context, render_page

router = APIRouter(include_in_schema=False)


@router.get("/governance", response_class=HTMLResponse)
async def dashboard(request: Request, runtime: RuntimeDep, principal: PagePrincipalDep) -> HTMLResponse:
    principal.require_role(*READER_ROLES)

    def gather() -> dict[str, object]:
        with runtime.db.session() as session:
            return {"audit": audit_integrity(session, runtime.settings),
                    "retention": retention_status(session, runtime.settings),
                    "annex": open_annex_iii(session),
                    "literacy": literacy_record(session, runtime.settings).as_dict()}

    data = await run_in_threadpool(gather)
    return render_page(request, "governance.html", {**page_context(request, runtime, principal), **data,
                                                    "kinds": KINDS, "month": budgets.current_month()})


@router.get("/governance/reports/{kind}", response_class=HTMLResponse)
async def report_page(kind: str, request: Request, runtime: RuntimeDep, principal: PagePrincipalDep,
                      month: Annotated[str | None, Query(max_length=20)] = None) -> HTMLResponse:
    principal.require_role(*READER_ROLES)
    check_kind(kind)
    month = month or budgets.current_month()

    def build() -> Report:
        with runtime.db.session() as session:
            return build_report(session, runtime.settings, runtime.catalog, kind, month)

    report = await run_in_threadpool(build)
    return render_page(request, "governance_report.html", {
        **page_context(request, runtime, principal), "kind": kind, "kinds": KINDS, "month": report.month,
        "body": render_fragment(report)})
