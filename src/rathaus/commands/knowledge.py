"""``rathaus kb``, ``rathaus ask``, ``rathaus assistants`` and ``rathaus eval retrieval|answers``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from rathaus.commands.common import cli_principal, console, open_runtime
from rathaus.core.classification import DataClass
from rathaus.core.errors import BadRequest

kb_app = typer.Typer(help="Wissenssammlungen / knowledge collections.", no_args_is_help=True)
eval_app = typer.Typer(help="Qualität messen / evaluate quality.", no_args_is_help=True)
assistants_app = typer.Typer(help="Bürger-Assistenten / citizen assistants.", no_args_is_help=True)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    TextColumn("[dim]{task.fields[item]}"), console=console)


def _bar(progress: Progress, task: TaskID) -> Callable[[int], None]:
    """A progress callback (items done) that moves one bar."""
    return lambda done: progress.update(task, completed=done)


# --- kb ----------------------------------------------------------------------------------------------
@kb_app.command("create")
def kb_create(
    name: str,
    title: Annotated[str | None, typer.Option(help="Display title.")] = None,
    visibility: Annotated[str, typer.Option(help="public | restricted | private")] = "public",
    department: Annotated[list[str] | None, typer.Option(help="Department that may read (repeatable).")] = None,
    role: Annotated[list[str] | None, typer.Option(help="Role that may read (repeatable).")] = None,
    data_class: Annotated[str, typer.Option(help="Data class of the content.")] = "oeffentlich",
    url: Annotated[list[str] | None, typer.Option(help="Web page to re-read on refresh (repeatable).")] = None,
    sitemap: Annotated[str | None, typer.Option(help="Sitemap to re-read on refresh.")] = None,
    refresh_hours: Annotated[int | None, typer.Option(help="Re-read web sources every N hours.")] = None,
) -> None:
    """Create a collection with its access rule."""
    from rathaus.knowledge import collections

    try:
        dc = DataClass.parse(data_class)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    sources = {k: v for k, v in {"urls": url or [], "sitemap": sitemap}.items() if v}
    with open_runtime() as rt, rt.db.session() as session:
        c = collections.create(session, cli_principal(rt.settings), name, title=title, visibility=visibility,  # type: ignore[arg-type]
                               departments=department, roles=role, data_class=dc, sources=sources,
                               refresh_hours=refresh_hours, embedding_model=rt.catalog.defaults.embedding)
        console.print(f"collection {c.name} created ({c.visibility}; departments: {', '.join(c.departments) or '–'})")


@kb_app.command("ingest")
def kb_ingest(
    name: str,
    paths: Annotated[list[Path] | None,
                     typer.Argument(help="Files, folders or JSONL files {id, text, title?, url?}.")] = None,
    url: Annotated[list[str] | None, typer.Option(help="Web page (repeatable).")] = None,
    sitemap: Annotated[str | None, typer.Option(help="Sitemap URL.")] = None,
    follow_links: Annotated[bool, typer.Option(help="Follow same-site links one level deep.")] = False,
    max_pages: Annotated[int, typer.Option(min=1, max=100_000)] = 500,
    delay: Annotated[float, typer.Option(help="Seconds between requests to one host.")] = 1.0,
    remove_missing: Annotated[bool, typer.Option(help="Delete documents no longer in these sources.")] = False,
) -> None:
    """Ingest files, folders, JSONL records, URLs or a sitemap; unchanged documents are skipped."""
    from rathaus.core.outbound import OutboundPolicy
    from rathaus.knowledge.crawler import Crawler
    from rathaus.knowledge.ingest import Ingestor, sources_from_paths
    from rathaus.knowledge.refresh import crawl_sources

    if not paths and not url and not sitemap:
        raise BadRequest("give files/folders, --url or --sitemap to ingest")
    with open_runtime() as rt:
        principal = cli_principal(rt.settings)
        ingestor = Ingestor(rt, principal, name)
        sources, problems = sources_from_paths(paths or [])
        scope = None
        if url or sitemap:
            with console.status("crawling …") as status:
                crawler = Crawler(follow_links=follow_links, max_pages=max_pages, delay_seconds=delay,
                                  outbound=OutboundPolicy.from_settings(rt.settings))
                found, crawl_problems, scope = crawl_sources({"urls": url or [], "sitemap": sitemap}, crawler,
                                                             progress=lambda u: status.update(f"crawling {u}"))
            sources += found
            problems += crawl_problems
        if paths and len(paths) == 1 and paths[0].is_dir():
            scope = f"file:{paths[0].expanduser().resolve()}/"
        with _progress() as progress:
            task = progress.add_task(f"ingesting into {name}", total=len(sources), item="")
            report = ingestor.run(sources, failures=problems, remove_missing=remove_missing, scope_prefix=scope,
                                  progress=lambda done, total, key: progress.update(task, completed=done,
                                                                                    item=key[-60:]))
    for item in report.items:
        if item.status in ("failed", "duplicate"):
            typer.echo(f"{item.status}: {item.source}: {item.detail}", err=True)
        elif item.detail:
            typer.echo(f"warning: {item.source}: {item.detail}", err=True)
    c = report.counts
    pages_per_s = c["pages"] / report.seconds if report.seconds and c["pages"] else 0
    console.print(f"{name}: {c['added']} added, {c['updated']} updated, {c['unchanged']} unchanged, "
                  f"{c['removed']} removed, {c['duplicate']} duplicates, {c['failed']} failed; {c['chunks']} chunks "
                  f"in {report.seconds:.1f} s" + (f" ({pages_per_s:.1f} pages/s)" if pages_per_s else ""))
    if c["failed"]:  # scripts and schedulers must see a partial failure, not only a total one
        total = sum(c[k] for k in ("added", "updated", "unchanged", "duplicate", "failed"))
        typer.echo(f"rathaus: {c['failed']} of {total} sources failed (listed above); the others were ingested",
                   err=True)
        raise typer.Exit(1)


@kb_app.command("status")
def kb_status(name: Annotated[str | None, typer.Argument()] = None) -> None:
    """Documents, chunks, languages and the last ingest of each readable collection."""
    from rathaus.knowledge import collections

    with open_runtime() as rt, rt.db.session() as session:
        principal = cli_principal(rt.settings)
        rows = ([collections.get_readable(session, principal, name)] if name
                else collections.readable(session, principal))
        states = [collections.status(session, c) for c in rows]
    table = Table(title="Sammlungen / collections")
    for col in ("name", "visibility", "readers", "documents", "chunks", "pages", "languages", "last ingest"):
        table.add_column(col)
    for s in states:
        last = f"{s.last_ingest['status']} {s.last_ingest['started_at'][:16]}" if s.last_ingest else "–"
        table.add_row(s.name, s.visibility, ", ".join(s.departments + s.roles) or "–", str(s.documents),
                      str(s.chunks), str(s.pages), ", ".join(f"{k} {v}" for k, v in s.languages.items()) or "–", last)
    console.print(table)


@kb_app.command("search")
def kb_search(
    query: str,
    collection: Annotated[list[str] | None, typer.Option("--collection", "-c", help="Repeatable; default all.")] = None,
    k: Annotated[int, typer.Option(min=1, max=100)] = 5,
    mode: Annotated[str, typer.Option(help="hybrid | fts | vector")] = "hybrid",
    language: Annotated[str | None, typer.Option(help="Only passages in this language.")] = None,
) -> None:
    """Hybrid search over the collections you may read."""
    from rathaus.knowledge import search

    if mode not in ("hybrid", "fts", "vector"):
        raise BadRequest(f"--mode must be hybrid, fts or vector, not {mode!r}")
    with open_runtime() as rt:
        result = search(rt, cli_principal(rt.settings), query, collection_names=collection, k=k, mode=mode,  # type: ignore[arg-type]
                        language=language)
    if not result.hits:
        console.print("keine Treffer / no results")
    for i, hit in enumerate(result.hits, 1):
        where = " › ".join([hit.title, *hit.heading_path[1:]]) if hit.heading_path else hit.title
        score = f"cos {hit.vector_score:.2f}" if hit.vector_score is not None else ""
        console.print(f"[bold]{i}. {where}[/] [dim]({hit.collection}, {hit.url or hit.source}; {score})[/]")
        console.print("   " + " ".join(hit.text.split())[:400])


@kb_app.command("delete")
def kb_delete(name: str, yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False) -> None:
    """Delete a collection with all documents, chunks and vectors."""
    from rathaus.knowledge import collections

    if not yes:
        typer.confirm(f"Delete collection {name} with all its documents?", abort=True)
    with open_runtime() as rt, rt.db.session() as session:
        count = collections.delete(session, cli_principal(rt.settings), name)
    console.print(f"collection {name} deleted ({count} documents)")


@kb_app.command("refresh")
def kb_refresh(name: Annotated[str | None, typer.Argument(help="One collection; default: all due.")] = None) -> None:
    """Re-read web sources now (one collection, or all whose refresh is due)."""
    from rathaus.knowledge.refresh import refresh_collection, refresh_due

    with open_runtime() as rt:
        principal = cli_principal(rt.settings)
        if name:
            counts = refresh_collection(rt, principal, name).counts
            console.print(f"{name}: {counts}")
        else:
            done = refresh_due(rt, principal)
            console.print(done or "nothing due")


# --- assistants & ask --------------------------------------------------------------------------------
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


# --- eval --------------------------------------------------------------------------------------------
def _records(path: Path, required: tuple[str, ...]) -> list[dict]:
    if not path.is_file():
        raise BadRequest(f"no such file: {path}")
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise BadRequest(f"{path.name}:{number}: not JSON") from None
        missing = [k for k in required if k not in record]
        if missing:
            raise BadRequest(f"{path.name}:{number}: missing {', '.join(missing)}")
        records.append(record)
    if not records:
        raise BadRequest(f"{path.name} has no records")
    return records


@eval_app.command("retrieval")
def eval_retrieval(
    questions: Path,
    collection: Annotated[str, typer.Option("--collection", "-c")],
    mode: Annotated[str, typer.Option(help="hybrid | fts | vector | all")] = "hybrid",
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
) -> None:
    """MRR@10 and Recall@1/5/10 for records {id, question, passage_id} (passage_id = external id)."""
    from rathaus.knowledge.evaluate import evaluate_retrieval

    records = _records(questions, ("question", "passage_id"))[:limit]
    modes = ["fts", "vector", "hybrid"] if mode == "all" else [mode]
    with open_runtime() as rt:
        principal = cli_principal(rt.settings)
        table = Table(title=f"retrieval on {collection}: {len(records)} questions")
        for col in ("mode", "MRR@10", "R@1", "R@5", "R@10", "p50 ms", "p95 ms"):
            table.add_column(col)
        with _progress() as progress:
            for m in modes:
                task = progress.add_task(m, total=len(records), item="")
                r = evaluate_retrieval(rt, principal, collection, records, mode=m,  # type: ignore[arg-type]
                                       progress=_bar(progress, task))
                table.add_row(m, f"{r.mrr10:.3f}", f"{r.recall[1]:.3f}", f"{r.recall[5]:.3f}", f"{r.recall[10]:.3f}",
                              f"{r.p50_ms:.1f}", f"{r.p95_ms:.1f}")
    console.print(table)


@eval_app.command("answers")
def eval_answers(
    questions: Path,
    assistant: Annotated[str, typer.Option("--assistant", "-a")],
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
) -> None:
    """Share of answers with verified quotes, abstentions and gold answers, for records {question, answers}."""
    from rathaus.assistants.definitions import get_assistant, load_assistants
    from rathaus.assistants.evaluate import evaluate_answers

    records = _records(questions, ("question",))[:limit]
    definition = get_assistant(load_assistants(), assistant)
    with open_runtime() as rt, _progress() as progress:
        task = progress.add_task(f"asking {assistant}", total=len(records), item="")
        r = evaluate_answers(rt, definition, records, progress=lambda i: progress.update(task, completed=i))
    console.print(f"{r.questions} questions: {r.verified_share:.1%} answered with verified quotes, "
                  f"{r.abstention_rate:.1%} abstained, {r.gold_share:.1%} contain a gold answer "
                  f"({r.gold_share_answered:.1%} of the answered); model phrasing kept in "
                  f"{r.model_phrasing_share:.1%}; "
                  f"p50 {r.p50_s:.1f} s, p95 {r.p95_s:.1f} s per answer")
