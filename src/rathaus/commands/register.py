"""``rathaus register``: the AI system register – list the systems, show a card, enter or change an entry from
YAML, read its history, load the sample entries, export (public HTML, Dutch algorithm register JSON, Annex VIII)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from rathaus.commands.common import console, err_console, open_runtime
from rathaus.core.errors import BadRequest
from rathaus.core.files import atomic_write
from rathaus.core.yaml_text import load_yaml

register_app = typer.Typer(help="KI-Register / AI system register: list, show, set, history, load, export.",
                           no_args_is_help=True)
CLI_ACTOR = "cli"


def _print_json(data: object) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@register_app.command("list")
def list_command(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """Every AI system the platform runs, whether its card is complete and public."""
    from rathaus.governance.register import build_cards

    with open_runtime() as rt, rt.db.session() as session:
        cards = build_cards(rt, session, figures_too=False)
    if as_json:
        _print_json([{"id": c.id, "title_de": c.facts.title_de, "kind": c.facts.kind, "public": c.public,
                      "complete": c.complete, "missing": c.missing, "high_risk": c.facts.high_risk} for c in cards])
        return
    table = Table("Id", "System", "Art / kind", "öffentlich / public", "vollständig / complete", "fehlt / missing")
    for c in cards:
        table.add_row(c.id, c.facts.title_de, c.facts.kind + (" (Anhang III)" if c.facts.high_risk else ""),
                      "ja" if c.public else "nein", "ja" if c.complete else "nein", ", ".join(c.missing[:4])
                      + (" …" if len(c.missing) > 4 else ""))
    console.print(table)


@register_app.command("show")
def show_command(system_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """One system card as JSON: facts, entry, usage, evaluations, audit-log status, what is missing."""
    from rathaus.governance.register import figures, get_card

    with open_runtime() as rt, rt.db.session() as session:
        card = get_card(rt, session, system_id)
        _print_json({**card.as_dict(), "audit_log": figures.audit_status(session, rt.settings)})


@register_app.command("set")
def set_command(
    system_id: Annotated[str, typer.Argument(metavar="ID")],
    file: Annotated[Path, typer.Option("--file", "-f", help="YAML with the entry's fields (id optional).")],
) -> None:
    """Enter or change a system's entry from a YAML file; the change is kept in the history."""
    from rathaus.governance.register import known_ids, parse_entry, store

    if not file.is_file():
        raise BadRequest(f"no such file: {file}")
    data = load_yaml(file.read_text(encoding="utf-8"), file.name)
    if not isinstance(data, dict):
        raise BadRequest(f"{file.name}: expected a mapping of fields")
    if data.setdefault("id", system_id) != system_id:
        raise BadRequest(f"{file.name}: its id {data['id']!r} is not {system_id!r}")
    entry = parse_entry(data, file.name)
    with open_runtime() as rt, rt.db.session() as session:
        result = store.set_entry(session, entry, known_ids=known_ids(rt, session), actor=CLI_ACTOR, source="yaml")
    changed = ", ".join(result["changed"]) or "nichts geändert / nothing changed"
    console.print(f"{system_id}: Version {result['version']} – {changed}")


@register_app.command("history")
def history_command(system_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Who changed the entry when, and which fields (old → new), newest first."""
    from rathaus.governance.register import store

    with open_runtime() as rt, rt.db.session() as session:
        _print_json(store.history(session, system_id))


@register_app.command("load")
def load_command(
    directory: Annotated[Path | None, typer.Argument(help="Folder of *.yaml entries (default: the samples).")] = None,
) -> None:
    """Store the entries of a folder that are not entered yet (what people changed is kept)."""
    from rathaus.governance.register import load_samples

    if directory is not None and not directory.is_dir():
        raise BadRequest(f"no such folder: {directory}")
    with open_runtime() as rt:
        results = load_samples(rt, directory)
    console.print(f"{len(results)} Einträge gespeichert / entries stored")


@register_app.command("export")
def export_command(
    fmt: Annotated[Literal["html", "json", "annex8"], typer.Option("--format", help="html | json | annex8")] = "json",
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file (default: stdout).")] = None,
) -> None:
    """html: the public page; json: the Dutch algorithm register standard 1.0.0; annex8: EU AI Act Annex VIII of
    the high-risk systems. Incomplete systems are not exported but named on stderr (exit code stays 0)."""
    from rathaus.governance.register import annex_viii, build_cards, dutch_standard, organisation, render_html

    with open_runtime() as rt, rt.db.session() as session:
        name, address = organisation(rt)
        cards = build_cards(rt, session, figures_too=fmt == "html", only_public=fmt != "annex8")
        if fmt == "html":
            text = render_html(cards, name)
            incomplete = [{"id": c.id, "missing": c.missing} for c in cards if not c.complete]
        else:
            data = dutch_standard.export(cards, name) if fmt == "json" else annex_viii.export(cards, name, address)
            text = json.dumps(data, ensure_ascii=False, indent=2)
            incomplete = data["incomplete"]
    if out is None:
        typer.echo(text)
    else:
        atomic_write(out, text + "\n")
        err_console.print(f"{out}: {len(text):,} Zeichen / characters")
    for item in incomplete:
        err_console.print(f"unvollständig / incomplete: {item['id']}: {', '.join(item['missing'])}", highlight=False)
