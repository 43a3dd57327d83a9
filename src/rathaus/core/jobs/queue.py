"""The job queue as the rest of rathaus sees it: defer a declared job, read and cancel jobs, run one here.

``runtime.jobs`` is one of these. Deferring uses the caller's database (the same engine and, when given, the
same session and transaction as the caller's other writes): no second connection pool in API processes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.sync_psycopg_connector import SyncPsycopgConnector
from sqlalchemy.orm import Session

from rathaus.core.auth import Principal
from rathaus.core.db import Database, session_scope
from rathaus.core.errors import BadRequest, Conflict, NotFound
from rathaus.core.jobs import store
from rathaus.core.jobs.declare import Job, schedule
from rathaus.core.jobs.running import Report
from rathaus.core.jobs.tasks import RETRY_STALLED, RETRY_STALLED_EVERY, build_app, execute
from rathaus.core.settings import Settings

#: legacy setting of the audit checkpoint's interval (before it was a job): the default is the declared schedule
_DEFAULT_CHECKPOINT_SECONDS = 60


def _cron_every(seconds: float) -> str:
    """A cron expression for "every n seconds" (rounded to what cron can say)."""
    s = max(1, round(seconds))
    if s < 60:
        return f"* * * * * */{s}"
    minutes = max(1, round(s / 60))
    if minutes < 60:
        return f"*/{minutes} * * * *"
    return f"0 */{min(23, max(1, round(minutes / 60)))} * * *"


class JobQueue:
    """Declared jobs and the queue in the database."""

    def __init__(self, db: Database, settings: Settings, declarations: Iterable[Job] = ()):
        self.db, self.settings = db, settings
        self._jobs: dict[str, Job] = {}
        self._defer_app: Any = None
        self.declare(*declarations)

    # --- declarations -------------------------------------------------------------------------------------------
    def declare(self, *jobs: Job) -> None:
        for job in jobs:
            if job.name in self._jobs or job.name == RETRY_STALLED:
                raise ValueError(f"job {job.name} is declared twice")
            self._jobs[job.name] = job
        self._defer_app = None

    @property
    def declarations(self) -> tuple[Job, ...]:
        return tuple(self._jobs.values())

    def job(self, name: str) -> Job:
        try:
            return self._jobs[name]
        except KeyError:
            raise NotFound(f"no job named {name!r}; known: {', '.join(sorted(self._jobs))}") from None

    def overrides(self) -> dict[str, str]:
        overrides = dict(self.settings.jobs_schedule)
        seconds = self.settings.audit_checkpoint_seconds
        if "audit.checkpoint" not in overrides and seconds != _DEFAULT_CHECKPOINT_SECONDS:
            overrides["audit.checkpoint"] = _cron_every(seconds)
        return overrides

    def schedules(self) -> list[tuple[str, str | None, str]]:
        """(name, cron or None, description) of every declared job, the stalled-job check included."""
        overrides = self.overrides()
        rows = [(j.name, schedule(j, overrides), j.description) for j in self._jobs.values()]
        stalled = overrides.get(RETRY_STALLED, RETRY_STALLED_EVERY)
        rows.append((RETRY_STALLED, None if stalled.strip().lower() == "off" else stalled,
                     "Aufträge abgestürzter Worker neu einreihen / queue jobs of dead workers again"))
        return sorted(rows)

    def procrastinate_app(self, connector: Any, *, worker: bool, periodic: bool = True) -> Any:
        settings = self.settings.model_copy(update={"jobs_schedule": self.overrides()})
        return build_app(connector, self._jobs.values(), settings, worker=worker, periodic=periodic)

    # --- the queue ----------------------------------------------------------------------------------------------
    def defer(self, name: str, *, requested_by: Principal | None = None, session: Session | None = None,
              **kwargs: Any) -> int:
        """Queue job ``name`` with keyword arguments (JSON values); its id. In ``session``'s transaction when
        given (the job exists only if that commits). Raises Conflict when a unique job already waits."""
        job = self.job(name)
        self._check_arguments(job, kwargs)
        try:
            json.dumps(kwargs)
        except (TypeError, ValueError) as exc:
            raise BadRequest(f"job {name}: arguments must be JSON values ({exc})") from None
        if self._defer_app is None:
            self._defer_app = self.procrastinate_app(SyncPsycopgConnector(), worker=False)
        queueing_lock = job.name if job.unique or schedule(job, self.overrides()) else None
        with session_scope(session or self.db) as s:
            savepoint = s.begin_nested()
            connection = s.connection().connection.driver_connection
            deferrer = self._defer_app.configure_task(name, lock=job.lock_for(kwargs), queueing_lock=queueing_lock,
                                                      connection=connection)
            try:
                job_id = deferrer.defer(**kwargs)
            except AlreadyEnqueued:
                savepoint.rollback()
                waiting = store.waiting_with_queueing_lock(s, job.name)
                raise Conflict(f"job {name} is already waiting" + (f" (job {waiting})" if waiting else "")) from None
            savepoint.commit()
            store.record_request(s, job_id, requested_by)
            s.flush()
        return int(job_id)

    @staticmethod
    def _check_arguments(job: Job, kwargs: dict[str, Any]) -> None:
        if "principal" in kwargs:
            raise BadRequest(f"job {job.name}: the principal is who asked for the job (requested_by)")
        unknown = set(kwargs) - job.parameters if "*" not in job.parameters else set()
        if unknown:
            raise BadRequest(f"job {job.name} takes no argument {', '.join(sorted(unknown))}")

    def get(self, job_id: int) -> store.JobInfo:
        with self.db.session() as session:
            info = store.get(session, job_id)
        if info is None:
            raise NotFound(f"no job {job_id}")
        return info

    def list(self, *, department: str | None = None, status: str | None = None, name: str | None = None,
             limit: int = 100, before: int | None = None) -> list[store.JobInfo]:
        with self.db.session() as session:
            return store.list_jobs(session, department=department, status=status, name=name, limit=limit,
                                   before=before)

    def cancel(self, job_id: int) -> store.JobInfo:
        """A waiting job is cancelled at once; a running one is asked to stop (at its next progress report)."""
        info = self.get(job_id)
        if info.finished:
            raise Conflict(f"job {job_id} has already ended ({info.status})")
        if self._defer_app is None:
            self._defer_app = self.procrastinate_app(SyncPsycopgConnector(), worker=False)
        with self.db.session() as s:
            connection = s.connection().connection.driver_connection
            done = self._defer_app.job_manager.cancel_job_by_id(job_id, abort=True, connection=connection)
        if not done:
            raise Conflict(f"job {job_id} has already ended")
        return self.get(job_id)

    def run_here(self, name: str, runtime: Any, *, report: Report | None = None, requested_by: Principal | None = None,
                 **kwargs: Any) -> Any:
        """Run job ``name`` in this process, now, without the queue (``rathaus jobs run``), as ``requested_by``
        (default: the system principal); its result."""
        job = self.job(name)
        self._check_arguments(job, kwargs)
        return execute(job, runtime, None, kwargs, report=report, principal=requested_by)
