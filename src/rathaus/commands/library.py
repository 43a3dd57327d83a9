"""``rathaus library``: import, train, recommend, similar, opt-out/opt-in and eval of library recommendations.

Reader ids given on the command line are turned into pseudonyms at once and never printed or logged."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rathaus.commands.common import cli_principal, console, err_console, import_files, open_runtime, print_import_report
from rathaus.core.errors import BadRequest
from rathaus.library.vocabulary import CatalogueFormat, ImportKind

library_app = typer.Typer(help="Bibliothek / library recommendations: import, train, recommend, similar, opt-out, "
                               "eval.", no_args_is_help=True)

MediaOpt = Annotated[str | None, typer.Option("--media-type", help="Only this media type (buch, film, hoerbuch …).")]
LanguageOpt = Annotated[str | None, typer.Option("--language", help="Only this language (ISO 639-2: ger, eng …).")]
AgeOpt = Annotated[str | None, typer.Option("--age-group", help="Only kinder, jugend or erwachsene.")]
KOpt = Annotated[int, typer.Option("--k", help="How many items (1–100).")]


@library_app.command("import")
def import_command(
    files: Annotated[list[Path], typer.Argument(help="Catalogue (CSV or MARC21), loans or searches files.",
                                                show_default=False)],
    kind: Annotated[ImportKind, typer.Option("--kind", help="What the files hold.")],
    format: Annotated[CatalogueFormat, typer.Option(
        "--format", help="Catalogue format (auto: MARC21 by its leader, else CSV).")] = CatalogueFormat.AUTO,
) -> None:
    """Import files: one summary line per file with counts and the first problems (re-import is safe)."""
    from rathaus.library.store import ImportReport, import_file

    with open_runtime() as rt:
        user = cli_principal(rt.settings).id

        def one(path: Path) -> ImportReport:
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise BadRequest(f"{path}: nicht lesbar / cannot read: {exc.strerror}") from None
            return import_file(rt.db, kind, data, path.name, user=user, fmt=format)

        import_files(files, one, lambda report: print_import_report(report, "/api/v1/library/imports"))


@library_app.command("train")
def train_command(
    no_embed: Annotated[bool, typer.Option("--no-embed", help="Metadata TF-IDF instead of the embedder.")] = False,
) -> None:
    """Train the recommendation model on the stored loans and catalogue and make it the current one."""
    from rathaus.library.training import train

    with open_runtime() as rt, Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                        TimeElapsedColumn(), console=err_console, transient=True) as progress:
        tasks: dict[str, Any] = {}

        def step(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = progress.add_task(label, total=total)
            progress.update(tasks[label], completed=done, total=total)

        report = train(rt, progress=step, embed=not no_embed)
    weights = ", ".join(f"{k} {v:.1f}" for k, v in report.weights.items())
    console.print(f"Modell / model {report.model_id}\n"
                  f"  Medien / items: {report.items} ({report.cold_items} ohne Ausleihe / without loans)\n"
                  f"  Leser / readers: {report.readers}\n  Ausleihen / loans: {report.loans}\n"
                  f"  Gewichte / weights: {weights}" + (" (fest / fixed)" if not report.tuned else " (tuned)") + "\n"
                  f"  Inhalt / content: {report.content} ({report.embed_seconds:.1f} s)\n"
                  f"  Sekunden / seconds: {report.seconds:.1f}", markup=False, highlight=False)
    for note in report.notes:
        console.print(f"  Hinweis / note: {note}", markup=False)


def _table(items: list[dict[str, Any]], explain: bool) -> Table:
    table = Table(show_lines=False)
    for column in ("#", "id", "Titel / title", "Autor / author", "Typ", "Score", *(["Warum / why"] if explain
                                                                                   else [])):
        table.add_column(column, overflow="fold")
    for n, item in enumerate(items, start=1):
        row = [str(n), item["id"], item["title"], "; ".join(item["authors"][:2]), item["media_type"] or "",
               f"{item['score']:.3f}"]
        if explain:
            row.append(item["explanation"]["de"])
        table.add_row(*row)
    return table


@library_app.command("recommend")
def recommend_command(
    reader_id: Annotated[str, typer.Argument(help="The reader's library card number (never printed).",
                                             show_default=False)],
    k: KOpt = 10,
    media_type: MediaOpt = None,
    language: LanguageOpt = None,
    age_group: AgeOpt = None,
) -> None:
    """Personal recommendations for one reader, with the reason for each."""
    from rathaus.library.service import for_you

    with open_runtime() as rt:
        answer = for_you(rt, reader_id, k, media_type=media_type, language=language, age_group=age_group)
    console.print(_table(answer["items"], True))
    console.print(f"Modell / model {answer['model_id']}, Grundlage / basis: {answer['basis']}", markup=False)


@library_app.command("similar")
def similar_command(
    item_id: Annotated[str, typer.Argument(help="Catalogue id of the item.", show_default=False)],
    k: KOpt = 10,
    media_type: MediaOpt = None,
    language: LanguageOpt = None,
    age_group: AgeOpt = None,
) -> None:
    """"Similar media" for one catalogue item."""
    from rathaus.library.service import similar

    with open_runtime() as rt:
        answer = similar(rt, item_id, k, media_type=media_type, language=language, age_group=age_group)
    console.print(_table(answer["items"], False))


@library_app.command("opt-out")
def opt_out_command(reader_id: Annotated[str, typer.Argument(help="Card number (never printed).",
                                                             show_default=False)]) -> None:
    """Record a reader's objection: their loans and searches are deleted and later imports skip them."""
    from rathaus.library.privacy import opt_out

    with open_runtime() as rt, rt.db.session() as session:
        done = opt_out(session, rt.settings, reader_id)
    console.print(f"Widerspruch gespeichert / opt-out recorded: {done['loans_deleted']} Ausleihen/loans, "
                  f"{done['searches_deleted']} Suchen/searches gelöscht/deleted"
                  + (" (bereits / already opted out)" if done["already_opted_out"] else ""), markup=False)


@library_app.command("opt-in")
def opt_in_command(reader_id: Annotated[str, typer.Argument(help="Card number (never printed).",
                                                            show_default=False)]) -> None:
    """Undo an opt-out (deleted loans come back only with the next import)."""
    from rathaus.library.privacy import opt_in

    with open_runtime() as rt, rt.db.session() as session:
        done = opt_in(session, rt.settings, reader_id)
    console.print("Widerspruch aufgehoben / opt-out removed" if done["was_opted_out"]
                  else "kein Widerspruch gespeichert / the reader had not opted out", markup=False)


@library_app.command("eval")
def eval_command(
    interactions: Annotated[Path, typer.Argument(help="Training file, reader<TAB>item lines.", show_default=False)],
    test: Annotated[Path, typer.Argument(help="Test file, one held-out reader<TAB>item per line.",
                                         show_default=False)],
    k: Annotated[list[int] | None, typer.Option("--k", help="Cut-offs (repeatable), default 10 and 20.")] = None,
) -> None:
    """Leave-one-out evaluation of all models and the blend (no database): HR@k, nDCG@k, train s, latency."""
    from rathaus.library.evaluate import run_eval

    ks = sorted(set(k or [10, 20]))
    if any(not 1 <= v <= 1000 for v in ks):
        raise BadRequest("--k muss 1–1000 sein / must be between 1 and 1000")
    try:
        _, table = run_eval(interactions, test, ks)
    except (ValueError, FileNotFoundError) as exc:
        raise BadRequest(str(exc)) from None
    console.print(table, markup=False, highlight=False)
