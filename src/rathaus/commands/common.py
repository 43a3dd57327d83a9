"""Helpers shared by the CLI command groups."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from rathaus.core.auth import ADMIN_ROLE, AUDITOR_ROLE, Principal
from rathaus.core.errors import BadRequest
from rathaus.core.settings import Settings, get_settings
from rathaus.runtime import Runtime

console = Console()
err_console = Console(stderr=True)

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
