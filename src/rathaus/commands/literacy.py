"""``rathaus literacy``: the record of AI literacy per department (aggregates only; acts as the CLI
administrator)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from rathaus.commands.common import console, open_runtime

literacy_app = typer.Typer(help="KI-Kompetenz / AI literacy of staff", no_args_is_help=True)


@literacy_app.command("report")
def report(month: Annotated[str | None, typer.Option("--month", help="YYYY-MM; default: this month")] = None,
           as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """Modules passed per department and module, with the department's active users; cells below
    RATHAUS_GOVERNANCE_MIN_GROUP_SIZE are suppressed ("< n"). There is no per-person view."""
    from rathaus.literacy import service

    if month is not None:
        service.month_bounds(month)  # bad input → one line, before the database starts
    with open_runtime() as rt, rt.db.session() as session:
        rep = service.record(session, rt.settings, month)
    if as_json:
        typer.echo(json.dumps(rep.as_dict(), ensure_ascii=False, indent=2))
    else:
        console.print(service.render_text(rep), markup=False, highlight=False)


@literacy_app.command("modules")
def list_modules() -> None:
    """The learning modules (id, version, questions, title)."""
    from rathaus.core.settings import get_settings
    from rathaus.literacy import service

    for m in service.modules(get_settings()):
        typer.echo(f"{m.id}\tv{m.version}\t{len(m.questions)} Fragen\t{m.title_de} / {m.title_en}")
