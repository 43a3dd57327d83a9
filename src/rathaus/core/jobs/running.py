"""Progress of the running job: "n of m" and a message, written where the API reads it (``job_progress``).

A job function calls :func:`progress` as often as it likes; writes are throttled (at most one every
:data:`MIN_INTERVAL` seconds, the last one always lands). It is also where a job learns that it was cancelled:
:func:`progress` raises :class:`Cancelled` then, so a job stops at its next step. Outside a job (a function
called directly) it does nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from procrastinate.exceptions import JobAborted

MIN_INTERVAL = 0.5

Report = Callable[[int | None, int | None, str | None], None]


class Cancelled(JobAborted):
    """The job was cancelled (or its worker is shutting down) and stopped at a progress report."""


@dataclass
class _Scope:
    report: Report
    should_abort: Callable[[], bool]
    last_write: float = 0.0
    pending: tuple[int | None, int | None, str | None] | None = None
    state: dict[str, Any] = field(default_factory=lambda: {"done": None, "total": None, "message": None})

    def update(self, done: int | None, total: int | None, message: str | None) -> None:
        if done is not None:
            self.state["done"] = done
        if total is not None:
            self.state["total"] = total
        if message is not None:
            self.state["message"] = message[:500]
        self.pending = (self.state["done"], self.state["total"], self.state["message"])
        now = time.monotonic()
        if now - self.last_write >= MIN_INTERVAL:
            self.flush()

    def flush(self) -> None:
        if self.pending is not None:
            self.report(*self.pending)
            self.pending = None
            self.last_write = time.monotonic()


_current: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("rathaus_job", default=None)


def progress(done: int | None = None, total: int | None = None, message: str | None = None) -> None:
    """Report how far the running job is (any argument may be left out: it keeps its last value).

    Raises :class:`Cancelled` when the job was asked to stop."""
    scope = _current.get()
    if scope is None:
        return
    if scope.should_abort():
        scope.flush()
        raise Cancelled("abgebrochen / cancelled")
    scope.update(done, total, message)


def cancelled() -> bool:
    """Whether the running job was asked to stop (for loops that want to end cleanly themselves)."""
    scope = _current.get()
    return scope is not None and scope.should_abort()


@contextlib.contextmanager
def reporting(report: Report, should_abort: Callable[[], bool] = lambda: False) -> Iterator[None]:
    """Route :func:`progress` calls of the code run inside to ``report`` (the worker: the database; the CLI: a
    progress bar)."""
    scope = _Scope(report=report, should_abort=should_abort)
    token = _current.set(scope)
    try:
        yield
    finally:
        _current.reset(token)
        scope.flush()
