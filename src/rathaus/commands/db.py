"""``rathaus db``: the database and its schema."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rathaus.commands.common import console, open_runtime
from rathaus.core.db import describe_url
from rathaus.migrations import current_revision, head_revision, is_current, upgrade

app = typer.Typer(help="Datenbank und Schema / database and schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd() -> None:
    """Apply all migrations (also done on every start)."""
    with open_runtime(migrate=False) as rt:
        upgrade(rt.db.engine)
        console.print(f"schema at revision {current_revision(rt.db.engine)}")


@app.command("status")
def status_cmd() -> None:
    """Show where the database is and whether its schema is current."""
    with open_runtime(migrate=False) as rt:
        current, head = current_revision(rt.db.engine), head_revision()
        kind = f"embedded in {rt.db.embedded.pgdata}" if rt.db.embedded else "external"
        console.print(f"database: {kind} ({describe_url(rt.db.url)})")
        hint = "" if is_current(rt.db.engine) else " – run rathaus db upgrade"
        console.print(f"schema: {current or 'empty'} (latest {head}){hint}")


def backup_cmd(
    file: Annotated[Path, typer.Argument(help="Backup file to write (PostgreSQL custom format), e.g. rathaus.dump")],
) -> None:
    """Back up the database with pg_dump (the embedded default's own); keys in data_dir/secrets are not in it."""
    from rathaus.core.backup import backup, pg_bin_dir

    with open_runtime(migrate=False) as rt:
        with console.status(f"Sicherung / backup → {file}"):
            size = backup(rt.db.url, file.resolve(), pg_bin_dir(rt.db.embedded is not None))
        console.print(f"Sicherung geschrieben / backup written: {file} ({size / 1e6:.1f} MB, schema "
                      f"{current_revision(rt.db.engine)})")
        console.print(f"Schlüssel nicht enthalten / keys not included: back up {rt.settings.data_dir / 'secrets'} "
                      "separately (audit key, reader key)")


def restore_cmd(
    file: Annotated[Path, typer.Argument(help="Backup file written by 'rathaus backup'")],
    yes: Annotated[bool, typer.Option("--yes", help="Replace the database's current contents")] = False,
) -> None:
    """Replace the database's contents by a backup (one transaction: all or nothing), then upgrade its schema."""
    from rathaus.core.backup import check_archive, pg_bin_dir, restore
    from rathaus.core.errors import BadRequest

    with open_runtime(migrate=False) as rt:
        bin_dir = pg_bin_dir(rt.db.embedded is not None)
        check_archive(file, bin_dir)
        if not yes:
            raise BadRequest(f"restoring replaces everything in {describe_url(rt.db.url)}; repeat with --yes")
        rt.db.engine.dispose()  # no pooled connection holds a table the restore drops
        with console.status(f"Wiederherstellung / restore ← {file}"):
            entries = restore(rt.db.url, file, bin_dir)
        upgrade(rt.db.engine)
        console.print(f"wiederhergestellt / restored: {entries} objects from {file}; schema at "
                      f"{current_revision(rt.db.engine)}")


app.command("backup")(backup_cmd)
app.command("restore")(restore_cmd)
