"""Background jobs in PostgreSQL (procrastinate): declared once, queued in the database, run by workers.

For the rest of rathaus:

* declare a job: ``Job("library.train", "rathaus.library.jobs:train")`` – a plain function
  ``train(runtime, **kwargs)``; ``every="0 3 * * *"`` makes it periodic (once per tick however many workers run);
* queue it: ``runtime.jobs.defer("library.train", requested_by=principal)`` → the job's id;
* inside a job: ``progress(done, total, message)``; raise :class:`Transient` for errors worth a retry;
* read, cancel, run here: ``runtime.jobs.get(id)``, ``.list()``, ``.cancel(id)``, ``.run_here(name, runtime)``;
* work: :func:`rathaus.core.jobs.worker.run` (``rathaus worker``) or :class:`EmbeddedWorker` (in ``up``/``serve``).

The schema (procrastinate's tables and functions, and ``job_progress``) comes with migration 0012.
"""

from typing import TYPE_CHECKING, Any

from rathaus.core.jobs.declare import TRANSIENT_ERRORS, Job, Transient, owned_by_rathaus, schedule, valid_cron

if TYPE_CHECKING:
    from rathaus.core.jobs.queue import JobQueue
    from rathaus.core.jobs.running import Cancelled, cancelled, progress
    from rathaus.core.jobs.store import STATUSES, JobInfo
    from rathaus.core.jobs.tasks import system_principal
    from rathaus.core.jobs.worker import EmbeddedWorker

__all__ = ["STATUSES", "TRANSIENT_ERRORS", "Cancelled", "EmbeddedWorker", "Job", "JobInfo", "JobQueue", "Transient",
           "cancelled", "owned_by_rathaus", "progress", "schedule", "system_principal", "valid_cron"]

# procrastinate is imported only when the queue is used: declaring a job (every capability does) stays cheap
_LAZY = {"Cancelled": "running", "cancelled": "running", "progress": "running", "JobQueue": "queue",
         "STATUSES": "store", "JobInfo": "store", "system_principal": "tasks", "EmbeddedWorker": "worker"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"rathaus.core.jobs.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'rathaus.core.jobs' has no attribute {name!r}")
