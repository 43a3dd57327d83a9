"""``rathaus portfolio``: the AI use-case portfolio on the command line (acts as the CLI administrator)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from rathaus.commands.common import cli_principal, console, open_runtime
from rathaus.core.errors import BadRequest
from rathaus.core.yaml_text import load_yaml

portfolio_app = typer.Typer(help="KI-Anwendungsfälle / AI use-case portfolio", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]
FileOpt = Annotated[Path, typer.Option("--file", "-f", help="YAML or JSON file")]


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadRequest(f"{path}: cannot read ({exc.strerror})") from None
    data = load_yaml(text, str(path))
    if not isinstance(data, dict):
        raise BadRequest(f"{path}: expected a mapping of fields, not {type(data).__name__}")
    return data


def _validated(model: Any, path: Path) -> Any:
    from pydantic import ValidationError

    try:
        return model.model_validate(_read(path))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "input"
        raise BadRequest(f"{path}: {field}: {first['msg']} ({len(exc.errors())} problem(s))") from None


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@portfolio_app.command("list")
def list_ideas(as_json: JsonOpt = False) -> None:
    """The prioritised list with every criterion's points, the weights and the score."""
    from rathaus.governance.portfolio import service

    with open_runtime() as rt:
        data = service.prioritised(rt, cli_principal(rt.settings))
    if as_json:
        _print(data)
        return
    w = data["weights"]["weights"]
    table = Table(title="KI-Anwendungsfälle / AI use cases – " + ", ".join(f"{k} {v:g}" for k, v in w.items()))
    for col in ("#", "id", "Titel / title", "Referat", "Status", "Nutzen", "Machb.", "Risiko", "Klima", "Daten",
                "Punkte / score"):
        table.add_column(col)
    for item in data["items"]:
        p = item["points"] or {}
        score = "verboten / prohibited" if item["prohibited"] else (
            f"{item['score']:.1f}" if item["score"] is not None else "–")
        table.add_row(str(item.get("rank", "")), str(item["id"]), item["title"], item["department"], item["status"],
                      *(str(p.get(c, "–")) for c in ("benefit", "feasibility", "risk", "climate", "data_availability")),
                      score)
    console.print(table)


@portfolio_app.command("show")
def show(idea_id: int, as_json: JsonOpt = False) -> None:
    """One idea with its assessment and status history."""
    from rathaus.governance.portfolio import service

    with open_runtime() as rt:
        data = service.get_idea(rt, cli_principal(rt.settings), idea_id)
    if as_json:
        _print(data)
        return
    console.print(f"[bold]#{data['id']} {data['title']}[/] ({data['department']}, {data['status']})")
    console.print(f"Problem: {data['problem']}")
    console.print(data.get("assessment_text") or "noch nicht bewertet / not assessed yet")


@portfolio_app.command("submit")
def submit(file: FileOpt, department: Annotated[str | None, typer.Option(help="submitting department")] = None,
           as_json: JsonOpt = False) -> None:
    """Submit an idea from a YAML file (title, problem, hours_saved_per_year, data_needed, affected_people, urgency,
    contact_name, contact_email)."""
    from rathaus.governance.portfolio import service
    from rathaus.governance.portfolio.inputs import IdeaIn

    idea = _validated(IdeaIn, file)
    with open_runtime() as rt:
        data = service.submit(rt, cli_principal(rt.settings), idea, department=department)
    _print(data) if as_json else console.print(f"Idee / idea #{data['id']} gespeichert / stored ({data['department']})")


@portfolio_app.command("assess")
def assess(idea_id: int, file: FileOpt,
           send: Annotated[bool, typer.Option("--send", help="also e-mail it to the submitter's contact")] = False,
           as_json: JsonOpt = False) -> None:
    """Assess an idea from a YAML file (risk_class, risk_justification, benefit/feasibility/climate/
    data_availability: {points, justification}, summary)."""
    from rathaus.governance.portfolio import service
    from rathaus.governance.portfolio.inputs import AssessmentIn

    assessment = _validated(AssessmentIn, file)
    with open_runtime() as rt:
        principal = cli_principal(rt.settings)
        data = service.assess(rt, principal, idea_id, assessment)
        sent = service.send_assessment(rt, principal, idea_id) if send else None
    if as_json:
        _print({**data, "sent": sent})
        return
    score = "keine / none (prohibited)" if data["score"] is None else f"{data['score']:.1f}"
    console.print(f"Idee / idea #{idea_id} bewertet / assessed: {score}"
                  + (f"; gesendet an / sent to {sent['sent_to']}" if sent else ""))


@portfolio_app.command("send")
def send(idea_id: int) -> None:
    """E-mail the newest assessment to the idea's contact address."""
    from rathaus.governance.portfolio import service

    with open_runtime() as rt:
        sent = service.send_assessment(rt, cli_principal(rt.settings), idea_id)
    console.print(f"gesendet an / sent to {sent['sent_to']}")


@portfolio_app.command("status")
def status(idea_id: int, new: Annotated[str, typer.Argument(help="assessed | pilot | production | retired")],
           register_id: Annotated[str | None, typer.Option("--register-id", help="register entry (production)")]
           = None, note: Annotated[str | None, typer.Option(help="why")] = None) -> None:
    """Move an idea to its next status."""
    from rathaus.governance.portfolio import service
    from rathaus.governance.portfolio.inputs import StatusIn

    change = StatusIn(status=new, register_id=register_id, note=note)
    with open_runtime() as rt:
        data = service.change_status(rt, cli_principal(rt.settings), idea_id, change)
    console.print(f"Idee / idea #{idea_id}: {data['status']}"
                  + (f" → Register {data['register_id']}" if data["register_id"] else ""))


@portfolio_app.command("weights")
def weights(set_file: Annotated[Path | None, typer.Option("--set", help="YAML file with the five weights")] = None,
            as_json: JsonOpt = False) -> None:
    """Show the scoring weights with their history, or set new ones."""
    from rathaus.governance.portfolio import service
    from rathaus.governance.portfolio.inputs import WeightsIn

    new = _validated(WeightsIn, set_file) if set_file else None
    with open_runtime() as rt:
        principal = cli_principal(rt.settings)
        if new is not None:
            service.set_weights(rt, principal, new)
        data = service.current_weights(rt, principal)
    if as_json:
        _print(data)
        return
    console.print(", ".join(f"{k} {v:g}" for k, v in data["weights"].items())
                  + f"  ({data['set_by']}, {data['set_at'] or 'Voreinstellung / default'})")
