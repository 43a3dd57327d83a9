"""Who may see and cancel which job (the API and the admin page apply the same rules).

The roles admin and auditor see every job; anyone else the jobs asked for by their own department (e.g. the
ingest a kb-editor started, the training a library editor started), never the platform's scheduled ones.
Cancelling: admin, or the one who asked for the job.
"""

from __future__ import annotations

from typing import Any

from rathaus.core.auth import ADMIN_ROLE, AUDITOR_ROLE, Principal
from rathaus.core.jobs.store import JobInfo


def sees_all(principal: Principal) -> bool:
    return bool(principal.roles & {ADMIN_ROLE, AUDITOR_ROLE})


def visible(principal: Principal, job: JobInfo) -> bool:
    return sees_all(principal) or (job.department is not None and job.department == principal.department)


def may_cancel(principal: Principal, job: JobInfo) -> bool:
    return principal.is_admin or (job.requested_by is not None and job.requested_by == principal.id)


def job_json(principal: Principal, job: JobInfo) -> dict[str, Any]:
    """The job as JSON for ``principal``, with whether they may cancel it now."""
    return {**job.as_json(), "can_cancel": may_cancel(principal, job) and not job.finished}
