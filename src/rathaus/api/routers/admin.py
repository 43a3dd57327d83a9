"""Usage reports, budgets and the audit log over HTTP, with department and role checks."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import asdict
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from rathaus.api.problems import PROBLEM_SCHEMA
from rathaus.core import admin, audit, budgets, metering
from rathaus.core.auth import ADMIN_ROLE, AUDITOR_ROLE
from rathaus.core.errors import BadRequest, Forbidden
from rathaus.http.deps import PrincipalDep, RuntimeDep

router = APIRouter(prefix="/api/v1", tags=["Administration"])
ERRORS: dict[int | str, dict[str, Any]] = {code: PROBLEM_SCHEMA for code in (400, 401, 403, 404, 422, 503)}
MonthQuery = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]
DEPT_PATTERN = r"^[\w .&/-]{1,100}$"


@router.get("/me", responses=ERRORS)
def me(principal: PrincipalDep) -> dict[str, Any]:
    """Who the platform thinks you are."""
    return {"id": principal.id, "kind": principal.kind, "department": principal.department,
            "roles": sorted(principal.roles), "name": principal.name}


@router.get("/usage", responses=ERRORS)
def usage(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    by: Annotated[str, Query(pattern="^(department|model|use-case|data-class|principal)$")] = "department",
    month: MonthQuery = None,
    department: Annotated[str | None, Query(pattern=DEPT_PATTERN)] = None,
) -> dict[str, Any]:
    """Usage of a month grouped by department, model, use case, data class or principal.

    Without the admin or auditor role only the caller's own department is visible.
    """
    month = month or budgets.current_month()
    if department is None and not principal.can_read_department("*"):
        department = principal.department
    if department is not None and not principal.can_read_department(department):
        raise Forbidden(f"you may read usage of your own department ({principal.department}) only")
    if by == "principal" and not principal.can_read_department("*"):
        raise Forbidden("usage per person needs the admin or auditor role")
    with runtime.db.session() as session:
        rows = metering.report(session, by, month, department)  # type: ignore[arg-type]
    return {"month": month, "by": by, "department": department,
            "rows": [{k: float(v) if isinstance(v, Decimal) else v for k, v in asdict(r).items()} for r in rows]}


class BudgetIn(BaseModel):
    """The limits are checked by rathaus.core.admin (the same checks and messages as ``rathaus budget set``)."""

    eur_per_month: Decimal | None = Field(default=None, description="€ per month, 0 – 10,000,000, at most four "
                                          "decimal places; null: no limit",
                                          json_schema_extra={"minimum": 0, "maximum": 10_000_000})
    tokens_per_month: int | None = Field(default=None, description="tokens per month, 0 – 10^13; null: no limit",
                                         json_schema_extra={"minimum": 0, "maximum": 10**13})


def _budget_json(state: budgets.BudgetStatus) -> dict[str, Any]:
    return {k: float(v) if isinstance(v, Decimal) else v for k, v in asdict(state).items()}


@router.get("/budgets/{department}", responses=ERRORS)
def get_budget(runtime: RuntimeDep, principal: PrincipalDep, department: str, month: MonthQuery = None
               ) -> dict[str, Any]:
    """Budget and spending of a department in a month."""
    if not principal.can_read_department(department):
        raise Forbidden(f"you may read the budget of your own department ({principal.department}) only")
    with runtime.db.session() as session:
        return _budget_json(budgets.status(session, department, month))


@router.put("/budgets/{department}", responses=ERRORS)
def put_budget(runtime: RuntimeDep, principal: PrincipalDep, department: str, body: BudgetIn) -> dict[str, Any]:
    """Set a department's monthly limits (admin role)."""
    with runtime.db.session() as session:
        state = admin.set_budget(session, principal, department, body.eur_per_month, body.tokens_per_month,
                                 audit_key=runtime.gateway.audit_key)
        return _budget_json(state)


@router.get("/audit/verify", responses=ERRORS)
def audit_verify(runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """Check the audit log's hash chain (admin or auditor role)."""
    principal.require_role(ADMIN_ROLE, AUDITOR_ROLE)
    with runtime.db.session() as session:
        result = audit.verify_all(session, runtime.gateway.audit)
    return {"ok": result.ok, "checked": result.checked, "first_seq": result.first_seq,
            "last_seq": result.last_seq, "problems": result.problems, "warnings": result.warnings,
            "checkpoints": result.checkpoints}


@router.get("/audit/export", responses={200: {"content": {"application/x-ndjson": {}}}, **ERRORS})
def audit_export(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    start: Annotated[dt.date, Query(alias="from")],
    end: Annotated[dt.date, Query(alias="to")],
) -> StreamingResponse:
    """Audit records from ``from`` (inclusive) to ``to`` (inclusive) as JSON Lines (admin or auditor role)."""
    principal.require_role(ADMIN_ROLE, AUDITOR_ROLE)
    if end < start:
        raise BadRequest("'to' lies before 'from'")
    lo = dt.datetime.combine(start, dt.time(), tzinfo=budgets.CITY_TZ)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=budgets.CITY_TZ)

    def lines() -> Iterator[str]:
        with runtime.db.session() as session:
            for item in audit.export(session, lo, hi):
                yield json.dumps(item, ensure_ascii=False, default=str) + "\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.get("/admin/overview", responses=ERRORS)
def admin_overview(runtime: RuntimeDep, principal: PrincipalDep, month: MonthQuery = None) -> dict[str, Any]:
    """Usage per department, assistant and model (chats, messages, tokens, €, Wh, gCO2e) and published
    assistants for moderation (admin or auditor)."""
    from rathaus.assistants.usage import overview

    principal.require_role(ADMIN_ROLE, AUDITOR_ROLE)
    with runtime.db.session() as session:
        return overview(session, month)
