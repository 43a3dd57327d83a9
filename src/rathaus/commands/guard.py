"""``rathaus eval guard FILE`` and ``rathaus guard check TEXT``: the content guard from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from rathaus.commands.common import console

guard_app = typer.Typer(help="Inhaltsfilter / content guard.", no_args_is_help=True)


def eval_guard(
    file: Annotated[Path, typer.Argument(help="GermEval 2018 format: text<TAB>OFFENSE|OTHER<TAB>fine label.")],
    threshold: Annotated[float | None, typer.Option(min=0.0, max=1.0,
                                                    help="Score threshold; default: the model's.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Macro-F1, precision/recall per class and ms per text of the content guard on a labelled file."""
    from rathaus.safety.guard import check, default_threshold, warm_up
    from rathaus.safety.guard.dataset import read_germeval
    from rathaus.safety.guard.evaluate import evaluate

    examples = read_germeval(file)
    limit = default_threshold() if threshold is None else threshold
    warm_up()  # load the model outside the timed loop
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True, disable=as_json) as progress:
        task = progress.add_task(f"checking {file.name}", total=len(examples))
        result = evaluate(examples, lambda text: check(text, limit).offensive,
                          progress=lambda i: progress.update(task, completed=i), threshold=limit)
    if as_json:
        typer.echo(json.dumps({
            "examples": result.examples, "threshold": limit, "macro_f1": round(result.macro_f1, 4),
            "accuracy": round(result.accuracy, 4), "ms_per_text": round(result.ms_per_text, 3),
            "offense": {k: round(v, 4) for k, v in vars(result.offense).items()},
            "other": {k: round(v, 4) for k, v in vars(result.other).items()}}, indent=2))
        return
    table = Table(title=f"{file.name}: {result.examples} Texte / texts, threshold {limit:.2f}")
    for column in ("class", "precision", "recall", "F1", "support"):
        table.add_column(column)
    for name, figures in (("OFFENSE", result.offense), ("OTHER", result.other)):
        table.add_row(name, f"{figures.precision:.3f}", f"{figures.recall:.3f}", f"{figures.f1:.3f}",
                      str(figures.support))
    console.print(table)
    console.print(f"macro-F1 {result.macro_f1:.3f} · accuracy {result.accuracy:.3f} · "
                  f"{result.ms_per_text:.2f} ms per text")


@guard_app.command("check")
def guard_check(
    text: Annotated[str, typer.Argument(help="Text to check (plain, HTML or Markdown); '-' reads stdin.")],
    threshold: Annotated[float | None, typer.Option(min=0.0, max=1.0)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check one text; exit code 0 = ok, 3 = offensive (for scripts)."""
    import sys

    from rathaus.safety.guard import check

    if text == "-":
        text = sys.stdin.read()
    result = check(text, threshold)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        colour = "red" if result.offensive else "green"
        console.print(f"[{colour}]{result.label}[/] score {result.score:.3f} (threshold {result.threshold:.2f})")
        for reason in result.reasons:
            console.print(f"  – {reason}")
        if result.hidden_text:
            console.print(f"  [dim]versteckt / hidden: {result.hidden_text[:200]}[/]")
    if result.offensive:
        raise typer.Exit(3)
