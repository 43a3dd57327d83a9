"""How a capability declares a background job: a name, a plain function given by import path, an optional cron
schedule, and what may not run at the same time.

The function is ``run(runtime, **kwargs)``; it may also take ``principal`` (the one who asked for the job; the
system principal for scheduled runs). It returns a short text, a JSON-able dict, or None; that is stored as the
job's result. It reports progress with :func:`rathaus.core.jobs.running` and raises :class:`Transient` (or any
error in :data:`TRANSIENT_ERRORS`) for errors worth retrying later.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

import httpx
import sqlalchemy.exc

from rathaus.core.cron import OFF, valid_cron
from rathaus.core.errors import DatabaseUnavailable, ModelBusy, ModelUnavailable, StorageFull

__all__ = ["OFF", "TRANSIENT_ERRORS", "Job", "Transient", "owned_by_rathaus", "schedule", "valid_cron"]

NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_-]*)+$")
class Transient(Exception):
    """Raise to have the job retried later with exponential backoff (RATHAUS_JOBS_RETRIES times)."""


#: errors after which a job is retried: the database or a web site away for a moment, time-outs
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    Transient, DatabaseUnavailable, ModelBusy, ModelUnavailable, StorageFull, sqlalchemy.exc.OperationalError,
    ConnectionError, TimeoutError, httpx.TransportError,
)  # ModelBusy: interactive users hold the model's slots now; ModelUnavailable: its breaker is open; StorageFull:
#    a full disk (nothing was half-written); the job tries again later


@dataclass(frozen=True)
class Job:
    """A background job.

    ``name``: dotted, capability first ("library.train"). ``run``: "module:function". ``every``: cron expression
    for periodic jobs (run once per tick however many workers run), None for jobs only run on demand.
    ``lock``: jobs whose lock is equal do not run at the same time (later ones wait); a template over the job's
    keyword arguments, e.g. "knowledge.collection:{collection_id}". ``unique``: at most one such job waits in
    the queue (another request while one waits is refused); periodic jobs always are.
    """

    name: str
    run: str
    every: str | None = None
    lock: str | None = None
    unique: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if not NAME.match(self.name):
            raise ValueError(f"job name {self.name!r}: lowercase, dotted, capability first (e.g. 'library.train')")
        module, _, attr = self.run.partition(":")
        if not module or not attr:
            raise ValueError(f"job {self.name}: run must be 'module:function', not {self.run!r}")
        if self.every is not None and not valid_cron(self.every):
            raise ValueError(f"job {self.name}: {self.every!r} is not a cron expression")

    @cached_property
    def function(self) -> Callable[..., Any]:
        module, _, attr = self.run.partition(":")
        fn = getattr(importlib.import_module(module), attr)
        if not callable(fn):
            raise TypeError(f"job {self.name}: {self.run} is not callable")
        return cast(Callable[..., Any], fn)

    @cached_property
    def parameters(self) -> frozenset[str]:
        """Keyword parameters of the function (besides the runtime); ``**kwargs`` counts as any."""
        params = list(inspect.signature(self.function).parameters.values())[1:]
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            return frozenset({"*"})
        return frozenset(p.name for p in params)

    def lock_for(self, kwargs: dict[str, Any]) -> str | None:
        if self.lock is None:
            return None
        try:
            return self.lock.format(**kwargs)
        except KeyError as exc:
            raise ValueError(f"job {self.name}: its lock needs the argument {exc.args[0]!r}") from None


def owned_by_rathaus(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
    """Alembic's ``include_name`` hook: procrastinate's tables (``procrastinate_*``, created by migration 0012
    from procrastinate's own SQL) are not rathaus's models, so autogenerate and schema checks leave them alone."""
    table = name if type_ == "table" else parent_names.get("table_name")
    return not (table or "").startswith("procrastinate_")


def schedule(job: Job, overrides: dict[str, str]) -> str | None:
    """The cron expression a job runs on: the operator's override (RATHAUS_JOBS_SCHEDULE; 'off' = never), else
    its declaration."""
    cron = overrides.get(job.name, job.every)
    if cron is None or cron.strip().lower() == OFF:
        return None
    return cron
