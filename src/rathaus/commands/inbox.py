"""``rathaus inbox``: fetch mail, import messages, train and evaluate routing, classify, list, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from rathaus.commands.common import cli_principal, console, err_console, open_runtime, progress_bar
from rathaus.core.errors import BadRequest
from rathaus.core.files import atomic_write

inbox_app = typer.Typer(help="Posteingang / inbox: fetch, import, train, eval, classify, list, export.",
                        no_args_is_help=True)


@inbox_app.command("fetch")
def fetch_command() -> None:
    """Poll every configured department mailbox once (RATHAUS_INBOX_MAILBOXES) and store new mail."""
    from rathaus.inbox.jobs import fetch

    with open_runtime() as rt:
        reports = fetch(rt)
    if not reports:
        console.print("Keine Postfächer konfiguriert / no mailboxes configured (RATHAUS_INBOX_MAILBOXES)")
    for box, report in reports.items():
        console.print(f"{box}: {report['stored']} gespeichert / stored, {report['failed']} fehlgeschlagen / failed",
                      markup=False)


@inbox_app.command("import")
def import_command(
    files: Annotated[list[Path], typer.Argument(help="E-mail files (.eml, RFC 5322).", show_default=False)],
    mailbox: Annotated[str | None, typer.Option(help="Department mailbox the mail arrived in.")] = None,
) -> None:
    """Store e-mail files as incoming messages (idempotent on their Message-ID), with a progress bar."""
    from rathaus.inbox.intake import store_message
    from rathaus.inbox.mail import MailError, parse_mail
    from rathaus.inbox.settings import InboxSettings

    new = known = 0
    with open_runtime() as rt, progress_bar() as bar:
        max_bytes = rt.settings.section(InboxSettings).inbox_max_attachment_mb * 1_000_000
        task = bar.add_task("Import", total=len(files), item="")
        for i, path in enumerate(files):
            bar.update(task, completed=i, item=path.name)
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raise BadRequest(f"{path}: nicht lesbar / cannot read: {exc.strerror}") from None
            try:
                message = parse_mail(raw, mailbox=mailbox, max_attachment_bytes=max_bytes)
            except MailError as exc:
                raise BadRequest(f"{path}: {exc}") from None
            stored = store_message(rt, message, actor=cli_principal(rt.settings), max_attachment_bytes=max_bytes)
            new, known = new + stored.created, known + (not stored.created)
        bar.update(task, completed=len(files), item="")
    console.print(f"{new} neu / new, {known} schon vorhanden / already stored")


@inbox_app.command("train")
def train_command(
    file: Annotated[Path | None, typer.Argument(
        help="CSV of past requests: text, category[, relevant][, urgency]. Without: retrain on the stored examples "
             "and corrections.")] = None,
) -> None:
    """Import past requests (if given) and train routing on every stored example; the new model becomes current."""
    from rathaus.inbox import learning
    from rathaus.inbox.routing import read_training_csv
    from rathaus.inbox.service import taxonomy

    with open_runtime() as rt:
        tax = taxonomy(rt)
        if file is not None:
            if not file.is_file():
                raise BadRequest(f"no such file: {file}")
            rows, _ = read_training_csv(file, tax)
            learning.store_examples(rt, rows, f"import:{file.name}")
            console.print(f"{file.name}: {len(rows)} Beispiele / examples", markup=False)
        with progress_bar() as bar:
            task = bar.add_task("Training", total=None, item="")
            result = learning.train_current(rt, tax, progress=lambda label: bar.update(task, item=label))
    console.print(f"Modell / model {result['model_id']}: {result['examples']} Beispiele / examples", markup=False)


@inbox_app.command("eval")
def eval_command(
    file: Annotated[Path, typer.Argument(help="Labelled CSV: text, category[, relevant][, urgency].")],
    folds: Annotated[int, typer.Option(min=2, max=20, help="Cross-validation folds.")] = 5,
    plot: Annotated[Path | None, typer.Option(help="Write the confusion matrix as PNG here.")] = None,
    no_embed: Annotated[bool, typer.Option("--no-embed", help="TF-IDF only (no sentence embeddings).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Cross-validated routing quality on any labelled CSV: macro-F1, accuracy, share routed at ≥ 95 % precision."""
    from rathaus.inbox import learning
    from rathaus.inbox.routing import read_training_csv
    from rathaus.inbox.routing.evaluate import evaluate_rows

    if not file.is_file():
        raise BadRequest(f"no such file: {file}")
    with open_runtime() as rt:
        rows, _ = read_training_csv(file)
        embed = None if no_embed else learning.embedder(rt, rt.catalog.defaults.embedding)
        with progress_bar() as bar:
            task = bar.add_task("Evaluation", total=None, item=f"{len(rows)} rows, {folds} folds")
            try:
                figures = evaluate_rows(rows, embed, None, k=folds, plot=plot)
            except ValueError as exc:
                raise BadRequest(str(exc)) from None
            bar.update(task, completed=1, total=1)
    if as_json:
        console.print_json(json.dumps(figures, default=str))
        return
    table = Table("Kennzahl / figure", "Wert / value")
    for key, value in figures.items():
        table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    console.print(table)


@inbox_app.command("classify")
def classify_command(
    text: Annotated[str, typer.Argument(help="The message text (subject and body).")],
) -> None:
    """What the current routing model suggests for a text (JSON)."""
    from rathaus.inbox import learning

    with open_runtime() as rt:
        model = learning.current_model(rt)
        if model is None:
            raise BadRequest("noch kein Routing-Modell / no routing model yet: run 'rathaus inbox train FILE'")
        suggestion = model.predict([text])[0]
    console.print_json(json.dumps(suggestion.as_dict(), default=str))


@inbox_app.command("list")
def list_command(
    department: Annotated[str | None, typer.Option(help="Only this department ('-' = triage queue).")] = None,
    status: Annotated[str | None, typer.Option(help="received, triage, open, answered, spam, closed")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 30,
) -> None:
    """The queue, newest first."""
    from rathaus.inbox.store import Filters, list_messages

    with open_runtime() as rt:
        page = list_messages(rt, cli_principal(rt.settings), Filters(department=department, status=status,
                                                                      limit=limit))
    table = Table("id", "Eingang / received", "Stand / status", "Referat / dept.", "Kategorie / category",
                  "Dringlichkeit / urgency", "Betreff / subject")
    for m in page["items"]:
        table.add_row(str(m["id"]), (m["received_at"] or "")[:16], m["status"], m["department"] or "–",
                      m["category"] or "–", m["urgency"] or "–", (m["subject"] or "")[:60])
    console.print(table)
    console.print(f"{page['total']} insgesamt / in total", markup=False)


@inbox_app.command("process")
def process_command() -> None:
    """Process every message still waiting (what the job inbox.sweep does each minute)."""
    from rathaus.inbox import processing

    with open_runtime() as rt:
        waiting = processing.pending(rt, older_than_seconds=0)
        failed = 0
        with progress_bar() as bar:
            task = bar.add_task("Verarbeitung / processing", total=len(waiting), item="")
            for i, message_id in enumerate(waiting):
                bar.update(task, completed=i, item=str(message_id))
                try:
                    processing.process(rt, message_id)
                except Exception as exc:  # recorded on the message; reported here
                    failed += 1
                    err_console.print(f"message {message_id}: {type(exc).__name__}: {exc}", markup=False)
            bar.update(task, completed=len(waiting))
    console.print(f"{len(waiting) - failed} verarbeitet / processed, {failed} fehlgeschlagen / failed")
    if failed:
        raise typer.Exit(1)


@inbox_app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="JSON Lines file to write.")],
    department: Annotated[str | None, typer.Option(help="Only this department.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 1000,
) -> None:
    """The data takeover of routed messages as JSON Lines (schema: rathaus/inbox/extraction.schema.json), for a
    specialist procedure; every exported message is audited."""
    from rathaus.inbox.service import extraction_of
    from rathaus.inbox.store import MAX_PAGE, Filters, list_messages

    with open_runtime() as rt:
        principal = cli_principal(rt.settings)
        ids: list[int] = []
        while len(ids) < limit:  # the queue comes in pages of at most MAX_PAGE
            want = min(limit - len(ids), MAX_PAGE)
            page = list_messages(rt, principal, Filters(department=department, status="open", offset=len(ids),
                                                        limit=want))["items"]
            ids += [m["id"] for m in page]
            if len(page) < want:
                break
        rows: list[dict[str, Any]] = [extraction_of(rt, principal, i) for i in ids]
    atomic_write(out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    console.print(f"{len(rows)} Nachrichten / messages → {out}", markup=False)
