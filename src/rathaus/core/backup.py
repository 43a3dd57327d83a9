"""Backup and restore of rathaus' database with PostgreSQL's own tools (pg_dump / pg_restore, custom format).

The embedded default uses the binaries shipped with its server (pgserver); an external database those on the
PATH (or ``RATHAUS_PG_BIN_DIR``-style: ``pg_bin`` given by the caller). A backup is written to ``FILE.partial`` and
renamed when pg_dump succeeded, so an interrupted backup never looks complete. A restore first checks that the
file is a pg_dump archive (``pg_restore --list``), then replaces the database's objects in one transaction: it
either lands whole or changes nothing. Keys kept outside the database (``data_dir/secrets``: the audit log's key,
the library's reader key) are not in the dump – back them up with the data directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from rathaus.core.errors import BadRequest, ConfigError, RathausError, StorageFull

TIMEOUT_S = 6 * 3600


class BackupFailed(RathausError):
    status, code, title = 500, "backup-failed", "Backup or restore failed"


def pg_bin_dir(embedded: bool) -> Path | None:
    """Where pg_dump/pg_restore are: the embedded server's own, else the PATH's (None)."""
    if not embedded:
        return None
    import pgserver

    return Path(pgserver.__file__).resolve().parent / "pginstall" / "bin"


def _tool(name: str, bin_dir: Path | None) -> str:
    path = str(bin_dir / name) if bin_dir else shutil.which(name)
    if not path or not Path(path).exists():
        raise ConfigError(f"{name} not found{f' in {bin_dir}' if bin_dir else ' on the PATH'}; install the "
                          "PostgreSQL client tools of the server's major version")
    return path


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for the tools, the password passed in the environment (not on the command line)."""
    u = make_url(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = u.password
    dsn = u.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return dsn, env


def _run(args: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=TIMEOUT_S)  # noqa: S603 – fixed tool, argument list, no shell
    if done.returncode != 0:
        reason = next((line for line in reversed(done.stderr.splitlines()) if line.strip()), "no message")
        if "No space left on device" in done.stderr or "Disk quota exceeded" in done.stderr:
            raise StorageFull(f"{what} failed: the disk is full ({reason.strip()}); nothing was kept – free space "
                              "and retry")
        raise BackupFailed(f"{what} failed: {reason.strip()}")
    return done


def backup(url: str, target: Path, bin_dir: Path | None) -> int:
    """Dump the database to ``target`` (custom format); returns its size in bytes. Never leaves a partial file."""
    if target.is_dir():
        raise BadRequest(f"{target} is a folder; name the backup file, e.g. {target / 'rathaus.dump'}")
    if not target.parent.is_dir():
        raise BadRequest(f"folder {target.parent} does not exist")
    dsn, env = _libpq(url)
    partial = target.with_name(target.name + ".partial")
    try:
        _run([_tool("pg_dump", bin_dir), "--format=custom", "--no-owner", "--no-privileges",
              f"--file={partial}", dsn], env, "pg_dump")
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size


def check_archive(source: Path, bin_dir: Path | None) -> int:
    """The number of entries of a pg_dump archive; BadRequest when ``source`` is not one."""
    if not source.is_file():
        raise BadRequest(f"backup file {source} not found")
    args = [_tool("pg_restore", bin_dir), "--list", str(source)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600)  # noqa: S603 – argument list, no shell
    if done.returncode != 0:
        raise BadRequest(f"{source} is not a rathaus backup (pg_dump custom format); nothing was restored")
    return sum(1 for line in done.stdout.splitlines() if line and not line.startswith(";"))


def restore(url: str, source: Path, bin_dir: Path | None) -> int:
    """Replace the database's contents by the backup, in one transaction; returns the archive's entry count."""
    entries = check_archive(source, bin_dir)
    dsn, env = _libpq(url)
    _run([_tool("pg_restore", bin_dir), "--clean", "--if-exists", "--no-owner", "--no-privileges",
          "--single-transaction", "--exit-on-error", f"--dbname={dsn}", str(source)], env, "pg_restore")
    return entries
