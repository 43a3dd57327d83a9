"""Helpers shared by the CLI command groups."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from rathaus.core.auth import ADMIN_ROLE, AUDITOR_ROLE, Principal
from rathaus.core.errors import BadRequest, RathausError
from rathaus.core.imports import ImportReport
from rathaus.core.settings import Settings, get_settings
from rathaus.runtime import Runtime

console = Console()
err_console = Console(stderr=True)
PROBLEMS_SHOWN = 5  # per imported file; the rest is in the import's report over the API
Report = TypeVar("Report", bound=ImportReport)

#: ``rathaus eval …``: the group every capability adds its quality measurements to (``Command("eval bias", …)``)
eval_app = typer.Typer(help="Qualität messen / evaluate quality.", no_args_is_help=True)


def advance(progress: Progress, task: TaskID) -> Callable[[int], None]:
    """A progress callback (items done) that moves one bar."""
    return lambda done: progress.update(task, completed=done)


def progress_bar() -> Progress:
    """The progress bar of long CLI work: description, bar, n/m, time left and the current item."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    TextColumn("[dim]{task.fields[item]}"), console=console)


@contextlib.contextmanager
def open_runtime(migrate: bool = True) -> Iterator[Runtime]:
    runtime = Runtime(get_settings(), migrate=migrate)
    try:
        yield runtime
    finally:
        runtime.close()


def cli_principal(settings: Settings) -> Principal:
    """Who the CLI acts as: an operator with database access is trusted as administrator."""
    return Principal(id="cli", kind="local", department=settings.local_department,
                     roles=frozenset({ADMIN_ROLE, AUDITOR_ROLE}), name="rathaus CLI")


def read_records(path: Path, required: tuple[str, ...]) -> list[dict[str, Any]]:
    """JSON Lines records of an evaluation file, each with the ``required`` keys; BadRequest naming the line."""
    if not path.is_file():
        raise BadRequest(f"no such file: {path}")
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise BadRequest(f"{path.name}:{number}: not JSON") from None
        missing = [k for k in required if k not in record]
        if missing:
            raise BadRequest(f"{path.name}:{number}: missing {', '.join(missing)}")
        records.append(record)
    if not records:
        raise BadRequest(f"{path.name} has no records")
    return records
# --- imports ---------------------------------------------------------------------------------------------------

def print_import_report(report: ImportReport, imports_url: str, notes: Iterable[str] = (),
                        shown: int = PROBLEMS_SHOWN) -> None:
    """One file's import: its summary line, ``notes`` (indented), the first ``shown`` problems and
    "… k more (GET imports_url/ID)". Problems never change the exit code: the file was imported."""
    console.print(report.summary_line() + f" (Import {report.import_id}, {report.seconds:.1f} s)",
                  markup=False, highlight=False, soft_wrap=True)
    for note in notes:
        console.print(f"  {note}", markup=False, highlight=False, soft_wrap=True)
    for problem in report.problems[:shown]:
        console.print(f"  {problem}", markup=False, highlight=False, soft_wrap=True)
    if report.problems_total > shown:
        console.print(f"  … {report.problems_total - shown} weitere Probleme / more problems "
                      f"(GET {imports_url}/{report.import_id})", markup=False)


def import_files(paths: Sequence[Path], import_one: Callable[[Path], Report],
                 show: Callable[[Report], None]) -> None:
    """Import each file and ``show`` its report. Exit rules: one file that cannot be read ends the command
    with its error (exit 1); of several files the others are still imported, each unreadable one is named on
    stderr, and the command ends with exit 1 saying how many failed."""
    failed: list[str] = []
    for path in paths:
        try:
            report = import_one(path)
        except RathausError as exc:
            if len(paths) == 1:
                raise
            failed.append(exc.detail)
            err_console.print(f"rathaus: {exc.detail}", markup=False, highlight=False, soft_wrap=True)
            continue
        show(report)
    if failed:
        raise BadRequest(f"{len(failed)} von {len(paths)} Dateien nicht lesbar / of the files could not be read")
