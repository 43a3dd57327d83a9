"""Background jobs over HTTP: list, show, cancel (rathaus.core.jobs).

Who sees and cancels what: rathaus.core.jobs.access. A job one may not see answers 404, as an unknown one.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from rathaus.api.problems import PROBLEM_SCHEMA
from rathaus.core.auth import Principal
from rathaus.core.errors import Forbidden, NotFound
from rathaus.core.jobs import JobInfo
from rathaus.core.jobs.access import job_json, may_cancel, sees_all, visible
from rathaus.http.deps import PrincipalDep, RuntimeDep

router = APIRouter(prefix="/api/v1", tags=["Jobs"])
ERRORS: dict[int | str, dict[str, Any]] = {code: PROBLEM_SCHEMA for code in (401, 403, 404, 409, 422, 503)}
Status = Literal["todo", "doing", "succeeded", "failed", "cancelled", "aborted"]
MAX_ID = 2**63 - 1  # PostgreSQL bigint
JobId = Annotated[int, Path(ge=1, le=MAX_ID, description="the job's id")]


def _visible_job(runtime: Any, principal: Principal, job_id: int) -> JobInfo:
    try:
        job = runtime.jobs.get(job_id)
    except NotFound:
        job = None
    if job is None or not visible(principal, job):
        raise NotFound(f"no job {job_id}")
    return job


@router.get("/jobs", responses=ERRORS)
def list_jobs(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    status: Status | None = None,
    name: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_.-]{0,127}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="only jobs with a smaller id (next page)")]
    = None,
) -> dict[str, Any]:
    """Jobs, newest first, with status, progress ("done" of "total", message), attempts and times.

    admin and auditor: every job; others: the jobs of their own department."""
    department = None if sees_all(principal) else principal.department
    jobs = runtime.jobs.list(department=department, status=status, name=name, limit=limit, before=before)
    return {"jobs": [job_json(principal, j) for j in jobs], "scope": "all" if department is None else "department"}


@router.get("/jobs/{job_id}", responses=ERRORS)
def get_job(job_id: JobId, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """One job: status, progress, result (when it succeeded) or its last error."""
    return job_json(principal, _visible_job(runtime, principal, job_id))


@router.post("/jobs/{job_id}/cancel", responses=ERRORS)
def cancel_job(job_id: JobId, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """Cancel a job: a waiting one at once, a running one at its next progress step (its status then turns
    ``aborted``). 409 when it has already ended."""
    job = _visible_job(runtime, principal, job_id)
    if not may_cancel(principal, job):
        raise Forbidden("only an administrator or the one who started the job may cancel it")
    return job_json(principal, runtime.jobs.cancel(job_id))
