"""``rathaus eval bias``: gender-bias evaluation with GG-BBQ against a model or assistant, stored per model version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from rathaus.commands.common import cli_principal, console, err_console, open_runtime
from rathaus.core.errors import BadRequest

MAX_PROBLEMS_SHOWN = 20


def _progress(quiet: bool) -> Progress:
    """A progress bar; on stderr when stdout carries JSON."""
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    TextColumn("[dim]{task.fields[item]}"), console=err_console if quiet else console)


def _history(model: str | None, assistant: str | None, as_json: bool) -> None:
    from rathaus.governance.bias import list_runs
    from rathaus.governance.bias.report import pct, score

    with open_runtime() as rt, rt.db.session() as session:
        runs = list_runs(session, model=model, subject=assistant)
    if as_json:
        typer.echo(json.dumps(runs, ensure_ascii=False, indent=2))
        return
    if not runs:
        console.print("keine gespeicherten Läufe / no stored runs")
        return
    table = Table(title="Gender-Bias-Läufe (GG-BBQ) / stored bias runs")
    for col in ("Datum / date", "Subjekt / subject", "Modell / model", "Version", "n", "Gen. mehrd.", "Gen. eind.",
                "s_AMB", "s_DIS", "unlesbar", "seed", "id"):
        table.add_column(col)
    for r in runs:
        table.add_row((r["created_at"] or "")[:16].replace("T", " "), r["subject"], r["model"] or "–",
                      r["model_version"] or "–", str(r["n_items"]), pct(r["acc_ambig"]), pct(r["acc_disambig"]),
                      score(r["bias_ambig"]), score(r["bias_disambig"]), pct(r["unparsable_rate"]), str(r["seed"]),
                      r["id"])
    console.print(table)


def _show(run_id: str, html: Path | None, as_json: bool) -> None:
    from rathaus.governance.bias import entry_from_stored, get_run, terminal_table, write_html

    with open_runtime() as rt, rt.db.session() as session:
        stored = get_run(session, run_id)
    if as_json:
        typer.echo(json.dumps({k: v for k, v in stored.items() if k != "replies"}, ensure_ascii=False, indent=2))
    else:
        console.print(terminal_table([entry_from_stored(stored)]))
    if html:
        path = write_html(html, [entry_from_stored(stored)], stored.get("guard"))
        console.print(f"Bericht / report: {path}")


def eval_bias(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="GG-BBQ JSONL files or folders of them (e.g. .../gg-bbq/subset-2).", show_default=False)] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Catalogue model; default: the default chat "
                                              "model. With --history: only runs of this model.")] = None,
    assistant: Annotated[str | None, typer.Option("--assistant", "-a", help="Citizen assistant: its model with "
                                                  "its persona as system prompt.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Stratified sample of N items (equal ambiguous/"
                                              "disambiguated and negative/non-negative); default: all.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample, the answer order and the bootstrap.")] = 0,
    html: Annotated[Path | None, typer.Option("--html", help="Write a self-contained HTML report here.")] = None,
    history: Annotated[bool, typer.Option("--history", help="List stored runs instead of running.")] = False,
    show: Annotated[str | None, typer.Option("--show", help="Show a stored run by id (with --html: its report).")]
    = None,
    keep_order: Annotated[bool, typer.Option("--keep-order", help="Show the answers in the file's order "
                                             "(default: shuffled per item with the seed).")] = False,
    with_baselines: Annotated[bool, typer.Option("--baselines/--no-baselines",
                                                 help="Show baselines on the same sample (no model calls).")] = True,
    save: Annotated[bool, typer.Option("--save/--no-save", help="Store the run in the database.")] = True,
    guard: Annotated[bool, typer.Option("--guard/--no-guard", help="Include the content guard's false-positive "
                                        "rate, if the guard is installed.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Gender bias (GG-BBQ): accuracy and BBQ bias scores of a model or assistant, stored per model version."""
    from rathaus.assistants.definitions import get_assistant, load_assistants
    from rathaus.governance.bias import (
        BENCHMARK,
        ModelAnswerer,
        baselines,
        describe_sample,
        entry_from_run,
        guard_false_positives,
        load_items,
        run_eval,
        save_run,
        stratified_sample,
        terminal_table,
        write_html,
    )
    from rathaus.governance.bias.report import pct

    if model and assistant:
        raise BadRequest("give either --model or --assistant, not both / entweder --model oder --assistant")
    if history:
        return _history(model, assistant, as_json)
    if show:
        return _show(show, html, as_json)
    if not paths:
        raise BadRequest("give a GG-BBQ file or folder, e.g. rathaus eval bias data/gg-bbq/subset-2 --limit 40 / "
                         "GG-BBQ-Datei oder -Ordner angeben")
    loaded = load_items(paths)
    for problem in loaded.problems[:MAX_PROBLEMS_SHOWN]:
        err_console.print(f"warning: {problem}", markup=False, highlight=False)
    if len(loaded.problems) > MAX_PROBLEMS_SHOWN:
        err_console.print(f"warning: … and {len(loaded.problems) - MAX_PROBLEMS_SHOWN} more bad lines")
    items = stratified_sample(loaded.items, limit, seed)
    sample = describe_sample(items, benchmark=BENCHMARK, files=loaded.files, limit=limit, seed=seed,
                             shuffle=not keep_order, available=len(loaded.items), problems=len(loaded.problems))
    definition = get_assistant(load_assistants(), assistant) if assistant else None
    guard_figures: dict[str, Any] | None = guard_false_positives() if guard else None
    with open_runtime() as rt:
        principal = cli_principal(rt.settings)
        answerer = ModelAnswerer(rt, model=model, assistant=definition, seed=seed, shuffle=not keep_order,
                                 principal=principal)
        with _progress(as_json) as progress:
            task = progress.add_task(f"GG-BBQ → {answerer.subject.label}", total=len(items), item="")
            run = run_eval(items, answerer, sample, seed=seed,
                           progress=lambda done, o: progress.update(task, completed=done, item=o.item.id[-40:]))
        run_id = None
        if save:
            with rt.db.session() as session:
                run_id = save_run(session, run, principal.id, guard_figures)
    entries = [entry_from_run(run)]
    if with_baselines:
        entries += [entry_from_run(run_eval(items, b, sample, seed=seed), examples=0) for b in baselines(seed)]
    if as_json:
        typer.echo(json.dumps({"id": str(run_id) if run_id else None, "subject": run.subject.label,
                               "model": run.subject.model, "model_version": run.subject.model_version,
                               "figures": run.figures(), "sample": sample, "guard": guard_figures,
                               "baselines": {e["label"]: e["figures"] for e in entries[1:]}},
                              ensure_ascii=False, indent=2, default=str))
    else:
        console.print(terminal_table(entries))
        if run.errors:
            err_console.print(f"warning: {run.errors} model calls failed and count as unparsable")
        if guard and guard_figures is None:
            console.print("[dim]Inhaltsfilter nicht installiert / content guard not installed[/]")
        elif guard_figures and "error" in guard_figures:
            err_console.print(f"warning: content guard not measured: {guard_figures['error']}", markup=False)
        elif guard_figures:
            rate = guard_figures.get("rate", guard_figures.get("false_positive_rate"))
            console.print(f"Inhaltsfilter, Fehlalarme bei neutralen Erwähnungen / content guard false positives on "
                          f"neutral mentions: {pct(rate) if isinstance(rate, float) else rate}")
    out = err_console if as_json else console
    if html:
        out.print(f"Bericht / report: {write_html(html, entries, guard_figures)}")
    if run_id:
        out.print(f"gespeichert / stored: {run_id} (rathaus eval bias --history)")
