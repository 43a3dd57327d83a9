"""``rathaus worker`` and ``rathaus jobs``: run background jobs, list, show, cancel, run one in the foreground."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rathaus.commands.common import cli_principal, console, err_console, open_runtime
from rathaus.core.errors import BadRequest
from rathaus.core.jobs import STATUSES, JobInfo

jobs_app = typer.Typer(help="Hintergrundaufträge / background jobs: list, show, cancel, run.", no_args_is_help=True)


def worker(
    concurrency: Annotated[int | None, typer.Option(min=1, max=64, help="Jobs at the same time (default "
                                                                        "RATHAUS_WORKER_CONCURRENCY).")] = None,
    burst: Annotated[bool, typer.Option("--burst", help="Run what is queued, then exit.")] = False,
    periodic: Annotated[bool, typer.Option("--periodic/--no-periodic", help="Also queue the periodic jobs when "
                                           "due (each tick runs once however many workers do).")] = True,
    name: Annotated[str | None, typer.Option(help="Name in logs (default worker@host:pid).")] = None,
) -> None:
    """Run background jobs from the queue in PostgreSQL until Ctrl+C or SIGTERM (start as many as needed)."""
    from rathaus.core.jobs import worker as job_worker

    with open_runtime() as rt:
        console.print(f"Worker läuft / worker running ({concurrency or rt.settings.worker_concurrency} at a time"
                      f"{', periodic jobs' if periodic else ''}); Strg+C / Ctrl+C beendet")
        job_worker.run(rt, concurrency=concurrency, burst=burst, name=name, periodic=periodic)


def _when(value: Any) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "–"


def _progress_text(job: JobInfo) -> str:
    parts = []
    if job.done is not None:
        parts.append(f"{job.done} / {job.total}" if job.total else str(job.done))
    if job.message:
        parts.append(job.message[:60])
    return " ".join(parts) or "–"


@jobs_app.command("list")
def jobs_list(
    status: Annotated[str | None, typer.Option(help=f"Only this status ({', '.join(STATUSES)}).")] = None,
    name: Annotated[str | None, typer.Option(help="Only this job (e.g. knowledge.ingest).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """Jobs, newest first: status, progress, attempts, times."""
    if status is not None and status not in STATUSES:
        raise BadRequest(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
    with open_runtime() as rt:
        jobs = rt.jobs.list(status=status, name=name, limit=limit)
    table = Table(title="Aufträge / jobs")
    for col in ("id", "job", "status", "progress", "attempts", "queued", "finished", "by"):
        table.add_column(col)
    for j in jobs:
        state = j.status + (" (cancel requested)" if j.cancel_requested and not j.finished else "")
        table.add_row(str(j.id), j.name, state, _progress_text(j), str(j.attempts), _when(j.queued_at),
                      _when(j.finished_at), j.requested_by or "system")
    console.print(table)


@jobs_app.command("show")
def jobs_show(job_id: int) -> None:
    """One job with its arguments, progress, result or error (JSON)."""
    with open_runtime() as rt:
        job = rt.jobs.get(job_id)
    typer.echo(json.dumps(job.as_json(), ensure_ascii=False, indent=2, default=str))


@jobs_app.command("cancel")
def jobs_cancel(job_id: int) -> None:
    """Cancel a job: a waiting one at once, a running one at its next progress step."""
    with open_runtime() as rt:
        job = rt.jobs.cancel(job_id)
    console.print(f"job {job.id} ({job.name}): "
                  + ("cancelled" if job.status == "cancelled" else "asked to stop at its next step"))


@jobs_app.command("schedule")
def jobs_schedule() -> None:
    """Every declared job and when it runs (RATHAUS_JOBS_SCHEDULE changes it)."""
    with open_runtime(migrate=False) as rt:
        rows = rt.jobs.schedules()
    table = Table(title="Aufträge und Zeitplan / jobs and schedule")
    for col in ("job", "cron", "what"):
        table.add_column(col)
    for name, cron, description in rows:
        table.add_row(name, cron or "auf Anforderung / on demand", description)
    console.print(table)


def _argument(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key.isidentifier():
        raise BadRequest(f"--arg {text!r}: write key=value (value as JSON, or plain text)")
    try:
        return key, json.loads(raw)
    except ValueError:
        return key, raw


@jobs_app.command("run")
def jobs_run(
    name: str,
    arg: Annotated[list[str] | None, typer.Option("--arg", help="Argument key=value (JSON or text; repeatable), "
                                                  "e.g. --arg stations='[\"0101\"]'.")] = None,
    defer: Annotated[bool, typer.Option("--defer", help="Queue it for a worker instead and print its id.")] = False,
) -> None:
    """Run a job here in the foreground with a progress bar (or queue it with --defer)."""
    kwargs = dict(_argument(a) for a in arg or [])
    with open_runtime() as rt:
        rt.jobs.job(name)  # an unknown name fails before any progress bar shows
        principal = cli_principal(rt.settings)
        if defer:
            job_id = rt.jobs.defer(name, requested_by=principal, **kwargs)
            console.print(f"job {job_id} queued ({name}); follow it with: rathaus jobs show {job_id}")
            return
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("[dim]{task.fields[item]}"), console=err_console, transient=True) as bar:
            task = bar.add_task(name, total=None, item="")

            def report(done: int | None, total: int | None, message: str | None) -> None:
                bar.update(task, completed=done or 0, total=total, item=(message or "")[:60])

            result = rt.jobs.run_here(name, rt, report=report, requested_by=principal, **kwargs)
    if isinstance(result, dict | list):
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    elif result is not None:
        console.print(str(result), markup=False)
    else:
        console.print(f"{name}: done")
