"""The platform core's own background jobs: audit checkpoints and retention, expired web sessions, old jobs."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa

from rathaus.core import audit, sessions
from rathaus.core.settings import MIN_AUDIT_RETENTION_DAYS

log = logging.getLogger(__name__)


def checkpoint_audit(runtime: Any) -> str | None:
    """Sign a checkpoint of the audit chain's head when it moved; what happened, for the log and tests."""
    config = runtime.gateway.audit
    if config.key is None:
        return None
    with runtime.db.session() as session:
        outcome = audit.checkpoint(session, config)
    if isinstance(outcome, audit.VerifyResult):
        return f"tampered: {len(outcome.problems)} problem(s)"
    return None if outcome is None else f"signed {outcome.seq}"


def purge_audit(runtime: Any) -> str:
    """Delete audit records older than RATHAUS_AUDIT_RETENTION_DAYS (never below six months) and re-anchor the
    chain, as ``rathaus audit purge`` does."""
    days = runtime.settings.audit_retention_days
    if days < MIN_AUDIT_RETENTION_DAYS:
        return f"skipped: retention {days} days is below {MIN_AUDIT_RETENTION_DAYS} (EU AI Act: six months)"
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    with runtime.db.session() as session:
        deleted = audit.purge(session, cutoff, runtime.gateway.audit)
        if deleted:
            audit.append(session, audit.AuditEntry(actor="system", department="-", use_case="administration",
                                                   action="audit.purge", details={"deleted": deleted,
                                                                                  "before": cutoff.isoformat()}),
                         key=runtime.gateway.audit_key)
    return f"{deleted} records before {cutoff:%Y-%m-%d} deleted"


def purge_sessions(runtime: Any) -> int:
    """Remove expired web sessions; how many."""
    with runtime.db.session() as session:
        return sessions.purge_expired(session)


def cleanup_jobs(runtime: Any) -> int:
    """Delete jobs that ended more than RATHAUS_JOBS_KEEP_DAYS ago (successful runs of periodic jobs after a
    day), with their progress; how many."""
    periodic = [j.name for j in runtime.jobs.declarations if runtime.jobs.overrides().get(j.name, j.every)]
    with runtime.db.session() as session:
        deleted = session.execute(sa.text("""
            DELETE FROM procrastinate_jobs j
             WHERE j.status IN ('succeeded', 'failed', 'cancelled', 'aborted')
               AND NOT EXISTS (SELECT 1 FROM procrastinate_periodic_defers d WHERE d.job_id = j.id)
               AND (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id)
                   < now() - CASE WHEN j.status = 'succeeded' AND (j.task_name = ANY(:periodic)
                                                                   OR j.task_name = 'jobs.retry_stalled')
                                  THEN interval '1 day' ELSE make_interval(days => :days) END
        """), {"periodic": periodic, "days": runtime.settings.jobs_keep_days}).rowcount
        session.execute(sa.text("DELETE FROM job_progress p WHERE NOT EXISTS "
                                "(SELECT 1 FROM procrastinate_jobs j WHERE j.id = p.job_id)"))
    return int(deleted)
