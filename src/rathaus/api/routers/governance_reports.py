"""Oversight reports over HTTP: ``GET /api/v1/reports/{kind}?month=YYYY-MM[&format=json|csv|html][&department=]``.

Readable for the roles admin, auditor, oversight and staff-council (rathaus.governance.reports.READER_ROLES).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from rathaus.api.problems import PROBLEM_SCHEMA
from rathaus.core import budgets
from rathaus.governance.reports import READER_ROLES, build_report, check_kind, render_csv, render_html
from rathaus.http.deps import PrincipalDep, RuntimeDep

router = APIRouter(prefix="/api/v1/reports", tags=["Reports"])
ERRORS: dict[int | str, dict[str, Any]] = {code: PROBLEM_SCHEMA for code in (400, 401, 403, 404, 422)}


@router.get("/{kind}", responses=ERRORS)
async def get_report(
    kind: str,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    month: Annotated[str | None, Query(description="YYYY-MM; default: this month")] = None,
    format: Annotated[Literal["json", "csv", "html"], Query()] = "json",  # the query's name
    department: Annotated[str | None, Query(max_length=200)] = None,
    by: Annotated[str, Query(max_length=50, description="staff report: department | use_case | "
                                                        "department_use_case; per person is refused")] = "department",
) -> Any:
    """One of climate, costs, equality, staff for a month; an empty month gives an empty report."""
    principal.require_role(*READER_ROLES)
    check_kind(kind)

    def build() -> Any:
        with runtime.db.session() as session:
            return build_report(session, runtime.settings, runtime.catalog, kind, month or budgets.current_month(),
                                department, by=by)

    report = await run_in_threadpool(build)
    if format == "csv":
        return Response(render_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{kind}-{report.month}.csv"'})
    if format == "html":
        return HTMLResponse(render_html(report), headers={  # a document to keep: its inline style needs no CSP
            "Content-Disposition": f'attachment; filename="{kind}-{report.month}.html"'})
    return report.as_dict()
