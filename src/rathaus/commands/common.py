"""Helpers shared by the CLI command groups."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console

from rathaus.core.auth import ADMIN_ROLE, AUDITOR_ROLE, Principal
from rathaus.core.settings import Settings, get_settings
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


def cli_principal(settings: Settings) -> Principal:
    """Who the CLI acts as: an operator with database access is trusted as administrator."""
    return Principal(id="cli", kind="local", department=settings.local_department,
                     roles=frozenset({ADMIN_ROLE, AUDITOR_ROLE}), name="rathaus CLI")
