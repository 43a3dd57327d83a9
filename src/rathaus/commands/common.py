"""Helpers shared by the CLI command groups."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console

from rathaus.core.settings import get_settings
from rathaus.runtime import Runtime

console = Console()
err_console = Console(stderr=True)


@contextlib.contextmanager
def open_runtime(migrate: bool = True) -> Iterator[Runtime]:
    runtime = Runtime(get_settings(), migrate=migrate)
    try:
        yield runtime
    finally:
        runtime.close()
