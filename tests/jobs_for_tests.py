"""Jobs for tests/test_jobs.py (importable by the worker subprocesses, which put tests/ on their path).

Each writes what it did to a file, so a test sees every run, including those of killed workers."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from rathaus.core.jobs import Job, Transient, progress


def _note(path: str, **entry: Any) -> None:
    with Path(path).open("a") as out:
        out.write(json.dumps({"pid": os.getpid(), "at": time.time(), **entry}) + "\n")


def notes(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def slow(runtime: Any, marker: str, steps: int = 3, pause: float = 0.2) -> dict[str, Any]:
    """``steps`` steps of ``pause`` seconds, reporting each; the pid that finished it."""
    _note(marker, event="start")
    for i in range(steps):
        progress(i, steps, f"Schritt {i + 1} in {os.getpid()}")
        time.sleep(pause)
    progress(steps, steps, "fertig")
    _note(marker, event="done")
    return {"steps": steps, "pid": os.getpid()}


def flaky(runtime: Any, marker: str, failures: int) -> int:
    """Fails transiently ``failures`` times, then succeeds; the number of the successful attempt."""
    attempt = len(notes(Path(marker))) + 1
    _note(marker, event="attempt", attempt=attempt)
    if attempt <= failures:
        raise Transient(f"Dienst kurz weg (Versuch {attempt})")
    return attempt


def broken(runtime: Any, marker: str) -> None:
    _note(marker, event="attempt")
    raise ValueError("kaputt")


def tick(runtime: Any, timestamp: int) -> dict[str, Any]:
    """A periodic job: which worker ran which tick."""
    return {"tick": timestamp, "pid": os.getpid()}


TEST_JOBS = (
    Job("test.slow", "jobs_for_tests:slow", lock="test.slow:{marker}"),
    Job("test.flaky", "jobs_for_tests:flaky"),
    Job("test.broken", "jobs_for_tests:broken"),
    Job("test.tick", "jobs_for_tests:tick", every="* * * * * */1"),
)
