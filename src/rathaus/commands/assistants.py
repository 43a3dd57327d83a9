"""``rathaus assistants``, ``rathaus ask`` and ``rathaus eval answers``: citizen assistants from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rathaus.commands.common import console, open_runtime, progress_bar, read_records

assistants_app = typer.Typer(help="Bürger-Assistenten / citizen assistants.", no_args_is_help=True)


@assistants_app.command("list")
def assistants_list() -> None:
    """The configured citizen assistants."""
    from rathaus.assistants.definitions import load_assistants

    table = Table(title="Assistenten / assistants")
    for col in ("name", "title", "collections", "department", "languages", "EU AI Act Annex III"):
        table.add_column(col)
    for a in load_assistants().values():
        table.add_row(a.name, a.title["de"], ", ".join(a.collections), a.department, ", ".join(a.languages),
                      a.annex_iii or "–")
    console.print(table)


def ask(
    question: str,
    assistant: Annotated[str, typer.Option("--assistant", "-a", help="Assistant name.")] = "ki-roadmap",
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
) -> None:
    """Ask a citizen assistant; the answer cites verified quotes or says it does not know."""
    from rathaus.assistants.answer import Answerer
    from rathaus.assistants.definitions import get_assistant, load_assistants

    definition = get_assistant(load_assistants(), assistant)
    with open_runtime() as rt:
        answer = Answerer(rt, definition, channel="cli").answer(question)
    if as_json:
        typer.echo(json.dumps(answer.as_dict(), ensure_ascii=False, indent=2))
        return
    console.print(answer.text)
    for c in answer.citations:
        console.print(f"  [{c.n}] {c.title} ({c.url or c.source}): «{c.quote}»")
    if answer.disclaimer:
        console.print(f"[dim]{answer.disclaimer}[/]")
    console.print(f"[dim]{answer.notice}[/]")
    m = answer.metrics
    console.print(f"[dim]{m['total_tokens']} tokens · {m['cost_eur']:.6f} € · {m['energy_wh']:.4f} Wh · "
                  f"{m['gco2e']:.4f} g CO₂e · {m['latency_ms'] / 1000:.1f} s[/]")



def eval_answers(
    questions: Path,
    assistant: Annotated[str, typer.Option("--assistant", "-a")],
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
) -> None:
    """Share of answers with verified quotes, abstentions and gold answers, for records {question, answers}."""
    from rathaus.assistants.definitions import get_assistant, load_assistants
    from rathaus.assistants.evaluate import evaluate_answers

    records = read_records(questions, ("question",))[:limit]
    definition = get_assistant(load_assistants(), assistant)
    with open_runtime() as rt, progress_bar() as progress:
        task = progress.add_task(f"asking {assistant}", total=len(records), item="")
        r = evaluate_answers(rt, definition, records, progress=lambda i: progress.update(task, completed=i))
    console.print(f"{r.questions} questions: {r.verified_share:.1%} answered with verified quotes, "
                  f"{r.abstention_rate:.1%} abstained, {r.gold_share:.1%} contain a gold answer "
                  f"({r.gold_share_answered:.1%} of the answered); model phrasing kept in "
                  f"{r.model_phrasing_share:.1%}; "
                  f"p50 {r.p50_s:.1f} s, p95 {r.p95_s:.1f} s per answer")


def eval_thresholds(
    questions: Path,
    assistant: Annotated[str, typer.Option("--assistant", "-a")],
    off_topic: Annotated[Path | None, typer.Option(
        "--off-topic", help="JSON Lines {question} the assistant should turn away.")] = None,
    max_wrong: Annotated[float, typer.Option(
        min=0, max=1, help="Share of questions that may be answered from other entries only.")] = 0.05,
    min_off_topic_abstention: Annotated[float, typer.Option(
        min=0, max=1, help="Share of the off-topic questions that must be turned away.")] = 0.0,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions of each file.")] = None,
) -> None:
    """Answer thresholds for an assistant from records {question, passage_id} (passage_id = the external id
    of the entry that answers it): the most answers from the right entry with at most --max-wrong answered
    from other entries. Prints the lines for the assistant's YAML file."""
    from rathaus.assistants.answer import MIN_EVIDENCE_SIMILARITY, MIN_PASSAGE_SIMILARITY
    from rathaus.assistants.calibrate import calibrate, collect, measure
    from rathaus.assistants.definitions import get_assistant, load_assistants

    records = read_records(questions, ("question", "passage_id"))[:limit]
    away_records = read_records(off_topic, ("question",))[:limit] if off_topic else []
    definition = get_assistant(load_assistants(), assistant)
    with open_runtime() as rt, progress_bar() as progress:
        task = progress.add_task(f"asking {assistant}", total=len(records) + len(away_records), item="")
        signals = collect(rt, definition, records, progress=lambda i: progress.update(task, completed=i))
        away = collect(rt, definition, away_records,
                       progress=lambda i: progress.update(task, completed=len(records) + i))
    result = calibrate(signals, away, max_wrong=max_wrong, min_off_topic_abstention=min_off_topic_abstention)
    current = measure(signals, away, definition.min_similarity if definition.min_similarity is not None
                      else MIN_PASSAGE_SIMILARITY, definition.min_evidence_similarity
                      if definition.min_evidence_similarity is not None else MIN_EVIDENCE_SIMILARITY)
    table = Table(title=f"{assistant}: {len(records)} questions, {len(away_records)} off-topic")
    for col in ("thresholds", "right entry", "wrong entry", "abstained", "off-topic abstained"):
        table.add_column(col)
    for label, o in (("current", current), ("calibrated", result.outcomes)):
        table.add_row(label, f"{o.right_share:.1%}", f"{o.wrong_share:.1%}", f"{o.abstention_rate:.1%}",
                      "–" if o.off_topic_abstention_rate is None else f"{o.off_topic_abstention_rate:.1%}")
    console.print(table)
    typer.echo(result.yaml(), nl=False)
