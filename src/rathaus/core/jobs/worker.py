"""Job workers: ``rathaus worker`` processes, and the worker inside ``rathaus up``/``serve`` (a thread).

A worker takes jobs from the queue (LISTEN/NOTIFY, with polling as a fallback), runs up to
``RATHAUS_WORKER_CONCURRENCY`` at a time in threads, defers the periodic jobs (each tick once, however many
workers run: procrastinate records every tick in the database), and sends a heartbeat; the periodic
``jobs.retry_stalled`` queues the jobs of a worker without heartbeat (killed with ``kill -9``, machine lost)
again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from typing import Any

from procrastinate import PsycopgConnector
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

from rathaus.core.jobs.queue import JobQueue

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_SECONDS = 30


def conninfo(url: str) -> str:
    """A libpq connection string for a SQLAlchemy URL, e.g. the embedded server's
    ``postgresql+psycopg://postgres:@/rathaus?host=/path/to/socket-dir`` or any external server's URL (query
    parameters such as ``sslmode`` pass through)."""
    parsed = make_url(url)
    params: dict[str, Any] = {k: v for k, v in parsed.query.items() if isinstance(v, str)}
    for key, value in (("host", parsed.host), ("port", parsed.port), ("dbname", parsed.database),
                       ("user", parsed.username), ("password", parsed.password)):
        if value not in (None, ""):
            params[key] = value
    return make_conninfo("", **params)


def worker_name(prefix: str = "worker") -> str:
    return f"{prefix}@{socket.gethostname()}:{os.getpid()}"


def worker_options(runtime: Any, *, concurrency: int | None = None, burst: bool = False,
                   name: str | None = None) -> dict[str, Any]:
    settings = runtime.settings
    return {
        "concurrency": concurrency or settings.worker_concurrency,
        "wait": not burst,
        "name": name or worker_name(),
        "fetch_job_polling_interval": settings.jobs_poll_seconds,
        "abort_job_polling_interval": min(settings.jobs_poll_seconds, 5.0),
        "update_heartbeat_interval": settings.worker_heartbeat_seconds,
        "stalled_worker_timeout": settings.worker_stalled_seconds,
        "shutdown_graceful_timeout": SHUTDOWN_GRACE_SECONDS,
        "additional_context": {"runtime": runtime, "stalled_seconds": settings.worker_stalled_seconds},
    }


async def run_async(runtime: Any, queue: JobQueue | None = None, *, concurrency: int | None = None,
                    burst: bool = False, name: str | None = None, periodic: bool = True,
                    install_signal_handlers: bool = True) -> None:
    """Work until stopped (SIGINT/SIGTERM, or this coroutine cancelled); ``burst``: until the queue is empty;
    ``periodic``: also defer the periodic jobs when due (off: only run what others queue)."""
    queue = queue or runtime.jobs
    options = worker_options(runtime, concurrency=concurrency, burst=burst, name=name)
    connector = PsycopgConnector(conninfo=conninfo(runtime.db.url), min_size=1,
                                 max_size=options["concurrency"] + 3,
                                 kwargs={"application_name": "rathaus-worker"})
    app = queue.procrastinate_app(connector, worker=True, periodic=periodic)
    async with app.open_async():
        await app.run_worker_async(install_signal_handlers=install_signal_handlers, **options)


def run(runtime: Any, queue: JobQueue | None = None, **kwargs: Any) -> None:
    """``rathaus worker``: work in the foreground until Ctrl+C or SIGTERM."""
    asyncio.run(run_async(runtime, queue, **kwargs))


class EmbeddedWorker:
    """A worker in a thread of this process (``rathaus up``, ``rathaus serve``, tests)."""

    def __init__(self, runtime: Any, queue: JobQueue | None = None, *, concurrency: int | None = None,
                 name: str | None = None, periodic: bool = True):
        self.runtime, self.queue = runtime, queue or runtime.jobs
        self.concurrency, self.name, self.periodic = concurrency, name or worker_name("embedded"), periodic
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._main, name="job-worker", daemon=True)
        self.error: BaseException | None = None

    def start(self) -> EmbeddedWorker:
        self._thread.start()
        self._started.wait(30)
        return self

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
            self._started.set()
            await run_async(self.runtime, self.queue, concurrency=self.concurrency, name=self.name,
                            periodic=self.periodic, install_signal_handlers=False)

        try:
            asyncio.run(main())
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # logged; the HTTP side goes on
            self.error = exc
            log.exception("the embedded job worker stopped")
        finally:
            self._started.set()

    def stop(self, timeout: float = SHUTDOWN_GRACE_SECONDS + 5) -> None:
        """Stop taking jobs, let running ones finish (or stop at their next progress report), then return."""
        if self._loop is not None and self._task is not None and not self._task.done():
            self._loop.call_soon_threadsafe(self._task.cancel)
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> EmbeddedWorker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
