"""``rathaus eval pii`` (and, later, the content guard's commands): measuring the safeguards."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from rathaus.commands.common import console
from rathaus.core.errors import BadRequest


# --- PII (issue 5) -----------------------------------------------------------------------------------
def eval_pii(
    file: Annotated[Path, typer.Argument(help="GermEval 2014 file (index<TAB>token<TAB>tag, '#' comment lines) "
                                              "or a folder: all its NER-de-*.tsv files.")],
    part: Annotated[str, typer.Option(help="all | test | validation | train (rathaus' hash split)")] = "all",
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N sentences.")] = None,
    high_recall: Annotated[bool, typer.Option(help="The tagger's high-recall operating point.")] = False,
) -> None:
    """Precision, recall and F1 of person (PER) and place (LOC) detection, exact and partial span match."""
    from rathaus.safety.pii.evaluate import evaluate_detector, rathaus_finder
    from rathaus.safety.pii.germeval import read_corpus

    if part not in ("all", "test", "validation", "train"):
        raise BadRequest(f"--part must be all, test, validation or train, not {part!r}")
    sentences = read_corpus(file)
    if part != "all":
        sentences = [s for s in sentences if s.part == part]
    sentences = sentences[:limit]
    if not sentences:
        raise BadRequest(f"{file.name}: no sentences in part {part!r}")
    with console.status("loading the tagger …"):
        rathaus_finder("Frau Anna Schmidt aus Regensburg")  # load models outside the timing
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("tagging", total=len(sentences))
        result = evaluate_detector(sentences, lambda text: rathaus_finder(text, high_recall),
                                   progress=lambda i: progress.update(task, completed=i))
    mode = ", high recall" if high_recall else ""
    table = Table(title=f"PII: {file.name} ({part}{mode}), {result.sentences} sentences, "
                        f"{result.ms_per_sentence:.1f} ms per sentence")
    for col in ("type", "gold", "found", "P", "R", "F1", "partial P", "partial R", "partial F1"):
        table.add_column(col, justify="right" if col != "type" else "left")
    for typ, s in result.scores.items():
        table.add_row(typ, str(s.gold), str(s.predicted), f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}",
                      f"{s.partial_precision:.3f}", f"{s.partial_recall:.3f}", f"{s.partial_f1:.3f}")
    console.print(table)
