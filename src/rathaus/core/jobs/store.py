"""Reading jobs (procrastinate's ``procrastinate_jobs`` and ``procrastinate_events``, joined with rathaus's
``job_progress``) and writing their progress, result and error."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from rathaus.core.auth import Principal
from rathaus.core.schema import JobProgress

FINAL = ("succeeded", "failed", "cancelled", "aborted")
STATUSES = ("todo", "doing", *FINAL)


@dataclass(frozen=True)
class JobInfo:
    id: int
    name: str
    status: str  # todo, doing, succeeded, failed, cancelled, aborted
    cancel_requested: bool
    attempts: int
    args: dict[str, Any]
    lock: str | None
    queued_at: dt.datetime | None
    scheduled_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    done: int | None
    total: int | None
    message: str | None
    result: Any
    error: str | None
    requested_by: str | None
    department: str | None

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, dt.datetime):
                out[key] = value.isoformat()
        return out

    @property
    def finished(self) -> bool:
        return self.status in FINAL


_SELECT = """
SELECT j.id, j.task_name, j.status::text AS status, j.abort_requested, j.attempts, j.args, j.lock, j.scheduled_at,
       (SELECT min(e.at) FROM procrastinate_events e WHERE e.job_id = j.id AND e.type = 'deferred') AS queued_at,
       (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id AND e.type = 'started') AS started_at,
       CASE WHEN j.status::text IN ('succeeded', 'failed', 'cancelled', 'aborted') THEN
           (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id) END AS finished_at,
       p.done, p.total, p.message, p.result, p.error, p.requested_by, p.department
  FROM procrastinate_jobs j LEFT JOIN job_progress p ON p.job_id = j.id
"""


def _info(row: Any) -> JobInfo:
    requester = row.requested_by or {}
    return JobInfo(
        id=row.id, name=row.task_name, status=row.status, cancel_requested=bool(row.abort_requested),
        attempts=row.attempts, args=row.args or {},
        lock=row.lock, queued_at=row.queued_at, scheduled_at=row.scheduled_at, started_at=row.started_at,
        finished_at=row.finished_at, done=row.done, total=row.total, message=row.message, result=row.result,
        error=row.error, requested_by=requester.get("id"), department=row.department,
    )


def get(session: Session, job_id: int) -> JobInfo | None:
    row = session.execute(sa.text(_SELECT + " WHERE j.id = :id"), {"id": job_id}).one_or_none()
    return None if row is None else _info(row)


def list_jobs(session: Session, *, department: str | None = None, status: str | None = None,
              name: str | None = None, limit: int = 100, before: int | None = None) -> list[JobInfo]:
    """Newest first; ``department``: only jobs requested by that department; ``before``: ids below (paging)."""
    where: list[str] = []
    params: dict[str, Any] = {"limit": limit}
    if department is not None:
        where.append("p.department = :department")
        params["department"] = department
    if status is not None:
        where.append("j.status::text = :status")
        params["status"] = status
    if name is not None:
        where.append("j.task_name = :name")
        params["name"] = name
    if before is not None:
        where.append("j.id < :before")
        params["before"] = before
    sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY j.id DESC LIMIT :limit"
    return [_info(row) for row in session.execute(sa.text(sql), params)]


def waiting_with_queueing_lock(session: Session, queueing_lock: str) -> int | None:
    found = session.scalar(sa.text("SELECT id FROM procrastinate_jobs WHERE queueing_lock = :lock AND status = 'todo'"),
                           {"lock": queueing_lock})
    return None if found is None else int(found)


def principal_json(principal: Principal) -> dict[str, Any]:
    return {"id": principal.id, "kind": principal.kind, "department": principal.department,
            "roles": sorted(principal.roles), "name": principal.name}


def principal_from_json(data: dict[str, Any]) -> Principal:
    return Principal(id=data["id"], kind=data["kind"], department=data["department"],
                     roles=frozenset(data.get("roles") or ()), name=data.get("name"))


def record_request(session: Session, job_id: int, principal: Principal | None) -> None:
    session.add(JobProgress(job_id=job_id, requested_by=principal_json(principal) if principal else None,
                            department=principal.department if principal else None))


def requester(session: Session, job_id: int) -> Principal | None:
    data = session.scalar(sa.select(JobProgress.requested_by).where(JobProgress.job_id == job_id))
    return principal_from_json(data) if data else None


def _upsert(session: Session, job_id: int, **values: Any) -> None:
    stmt = insert(JobProgress).values(job_id=job_id, **values)
    session.execute(stmt.on_conflict_do_update(index_elements=[JobProgress.job_id],
                                               set_={**values, "updated_at": sa.func.now()}))


def write_progress(session: Session, job_id: int, done: int | None, total: int | None, message: str | None) -> None:
    _upsert(session, job_id, done=done, total=total, message=message)


def write_outcome(session: Session, job_id: int, *, result: Any = None, error: str | None = None) -> None:
    _upsert(session, job_id, result=jsonable(result), error=error)


def jsonable(value: Any) -> Any:
    """A job's return value as JSON (whatever is not JSON becomes its text)."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str))
