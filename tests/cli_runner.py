"""Running the `rathaus` command as a user does (a subprocess against a test database), shared by the CLI tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from rathaus.core.settings import Settings

Run = Callable[..., subprocess.CompletedProcess]


def cli_runner(settings: Settings, cwd: Path, *prefix: str, timeout: int = 300) -> Run:
    """A function running ``rathaus <prefix> <args>`` with ``settings``' database, data and models."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        base = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
        base.update({"RATHAUS_DATA_DIR": str(settings.data_dir), "RATHAUS_DATABASE_NAME": settings.database_name,
                     "RATHAUS_MODELS_FILE": str(settings.models_file), "RATHAUS_CACHE_DIR": str(settings.cache_dir),
                     "COLUMNS": "220"})
        base.update(env or {})
        return subprocess.run([sys.executable, "-m", "rathaus.cli", *prefix, *args], capture_output=True, text=True,
                              env=base, cwd=cwd, timeout=timeout)

    return run


def one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    """The command failed with exactly one readable line naming ``fragment`` and no traceback."""
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("rathaus: ") and fragment in lines[0], lines[0]
    assert "Traceback" not in result.stderr
