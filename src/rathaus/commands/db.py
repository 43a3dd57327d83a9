"""``rathaus db``: the database and its schema."""

from __future__ import annotations

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
