"""rathaus's job declarations as procrastinate tasks: one task per declared :class:`Job`, its periodic schedule,
retries with exponential backoff, and what a job run stores (progress, result, error).

Two kinds of procrastinate apps are built from the same declarations: one that only defers jobs (synchronous,
on the caller's own database connection, so a job is queued in the caller's transaction), and the worker's
(asynchronous, its own connection pool, LISTEN/NOTIFY).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import procrastinate
from procrastinate import job_context
from procrastinate.exceptions import JobAborted
from procrastinate.jobs import Job as QueuedJob
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from rathaus.core.auth import ADMIN_ROLE, AUDITOR_ROLE, Principal
from rathaus.core.jobs import store
from rathaus.core.jobs.declare import TRANSIENT_ERRORS, Job, schedule
from rathaus.core.jobs.running import Report, reporting
from rathaus.core.settings import Settings

log = logging.getLogger(__name__)

#: the task that queues the jobs of workers that died (no heartbeat for RATHAUS_WORKER_STALLED_SECONDS) again
RETRY_STALLED = "jobs.retry_stalled"
RETRY_STALLED_EVERY = "* * * * *"


def system_principal(settings: Settings) -> Principal:
    """Who scheduled jobs act as: the platform itself, with the administrator's rights (as the CLI has)."""
    return Principal(id="system", kind="local", department=settings.local_department,
                     roles=frozenset({ADMIN_ROLE, AUDITOR_ROLE}), name="rathaus (geplante Aufgabe / scheduled job)")


class Backoff(BaseRetryStrategy):
    """Retry after transient errors ``retries`` times, waiting ``base``, 2×, 4×, … seconds; a job stopped because
    its worker shut down goes back to the queue at once."""

    def __init__(self, retries: int, base_seconds: float):
        self.retries, self.base = retries, base_seconds

    def get_retry_decision(self, *, exception: BaseException, job: QueuedJob) -> RetryDecision | None:
        if job.attempts >= self.retries:
            return None
        if isinstance(exception, JobAborted):  # only asked for aborts by shutdown, never for a user's cancel
            return RetryDecision(retry_in={"seconds": 0})
        if not isinstance(exception, TRANSIENT_ERRORS):
            return None
        return RetryDecision(retry_in={"seconds": self.base * 2 ** job.attempts})


def execute(job: Job, runtime: Any, job_id: int | None, kwargs: dict[str, Any], *,
            should_abort: Callable[[], bool] = lambda: False, report: Report | None = None,
            principal: Principal | None = None) -> Any:
    """Run one job in this thread, storing progress, result or error under ``job_id`` (None: store nothing;
    progress goes to ``report`` then, e.g. a progress bar, and the job acts as ``principal``)."""
    db = runtime.db
    call = {k: v for k, v in kwargs.items() if k in job.parameters or "*" in job.parameters}
    if "principal" in job.parameters:
        if job_id is not None:
            with db.session() as session:
                principal = store.requester(session, job_id)
        call["principal"] = principal or system_principal(runtime.settings)

    def write(done: int | None, total: int | None, message: str | None) -> None:
        if job_id is not None:
            with db.session() as session:
                store.write_progress(session, job_id, done, total, message)
        elif report is not None:
            report(done, total, message)

    try:
        with reporting(write, should_abort):
            result = job.function(runtime, **call)
    except BaseException as exc:
        if job_id is not None:
            text = "abgebrochen / cancelled" if isinstance(exc, JobAborted) else f"{type(exc).__name__}: {exc}"
            try:
                with db.session() as session:
                    store.write_outcome(session, job_id, error=text[:2000])
            except Exception:  # the database itself may be what failed
                log.warning("could not store the error of job %s", job_id, exc_info=True)
        raise
    if job_id is not None:
        with db.session() as session:
            store.write_outcome(session, job_id, result=result)
    return result


def _runner(job: Job) -> Any:
    def run(context: job_context.JobContext, **kwargs: Any) -> Any:
        runtime = context.additional_context["runtime"]
        t0 = time.perf_counter()
        result = execute(job, runtime, context.job.id, kwargs, should_abort=context.should_abort)
        log.info("job %s[%s] done in %.1f s", job.name, context.job.id, time.perf_counter() - t0)
        return result if isinstance(result, str | int | float | None) else "(stored)"

    run.__name__ = run.__qualname__ = job.name.replace(".", "_")
    return run


async def _retry_stalled(context: job_context.JobContext, timestamp: int) -> str:
    """Queue again the jobs of workers without a heartbeat for RATHAUS_WORKER_STALLED_SECONDS (killed, lost)."""
    seconds = context.additional_context["stalled_seconds"]
    manager = context.app.job_manager
    retried = []
    for stalled in await manager.get_stalled_jobs(seconds_since_heartbeat=seconds):
        if stalled.id == context.job.id:
            continue
        try:
            await manager.retry_job(stalled)
        except Exception:  # another run got there first
            log.debug("stalled job %s not retried", stalled.id, exc_info=True)
            continue
        retried.append(stalled.id)
        log.warning("job %s[%s] of a stalled worker queued again", stalled.task_name, stalled.id)
    await manager.prune_stalled_workers(seconds)
    outcome = f"{len(retried)} queued again" if retried else "none stalled"
    await context.app.connector.execute_query_async(
        "INSERT INTO job_progress (job_id, result) VALUES (%(job_id)s, %(result)s::jsonb) "
        "ON CONFLICT (job_id) DO UPDATE SET result = EXCLUDED.result, updated_at = now()",
        job_id=context.job.id, result=json.dumps(outcome))
    return outcome


def build_app(connector: Any, declarations: Iterable[Job], settings: Settings, *, worker: bool,
              periodic: bool = True) -> procrastinate.App:
    """A procrastinate app with one task per declaration; a worker's also gets the periodic schedules and the
    stalled-job check (unless ``periodic`` is off)."""
    worker = worker and periodic
    app = procrastinate.App(connector=connector)
    retry = Backoff(settings.jobs_retries, settings.jobs_retry_seconds)
    for job in declarations:
        task = app.task(name=job.name, pass_context=True, retry=retry)(_runner(job))
        cron = schedule(job, settings.jobs_schedule)
        if worker and cron:
            app.periodic(cron=cron, periodic_id=job.name, queueing_lock=job.name)(task)
    stalled = app.task(name=RETRY_STALLED, pass_context=True)(_retry_stalled)
    cron = schedule(Job(RETRY_STALLED, "rathaus.core.jobs.tasks:_retry_stalled", every=RETRY_STALLED_EVERY),
                    settings.jobs_schedule)
    if worker and cron:
        app.periodic(cron=cron, periodic_id=RETRY_STALLED, queueing_lock=RETRY_STALLED)(stalled)
    return app
