"""``rathaus kb`` (knowledge collections) and ``rathaus eval retrieval``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rathaus.commands.common import advance, cli_principal, console, open_runtime, progress_bar, read_records
from rathaus.core.classification import DataClass
from rathaus.core.errors import BadRequest

kb_app = typer.Typer(help="Wissenssammlungen / knowledge collections.", no_args_is_help=True)


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
    embedder: Annotated[str | None, typer.Option(
        help="Embedding model from the catalogue (default: the catalogue's default; fixed for the collection).")
    ] = None,
) -> None:
    """Create a collection with its access rule."""
    from rathaus.knowledge import collections, embedders

    try:
        dc = DataClass.parse(data_class)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    sources = {k: v for k, v in {"urls": url or [], "sitemap": sitemap}.items() if v}
    with open_runtime() as rt, rt.db.session() as session:
        c = collections.create(session, cli_principal(rt.settings), name, title=title, visibility=visibility,  # type: ignore[arg-type]
                               departments=department, roles=role, data_class=dc, sources=sources,
                               refresh_hours=refresh_hours, embedding_model=embedders.check_embedder(rt, embedder))
        console.print(f"collection {c.name} created ({c.visibility}; departments: {', '.join(c.departments) or '–'}; "
                      f"embedder: {c.embedding_model})")


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
        with progress_bar() as progress:
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


# --- eval --------------------------------------------------------------------------------------------
def eval_retrieval(
    questions: Path,
    collection: Annotated[str, typer.Option("--collection", "-c")],
    mode: Annotated[str, typer.Option(help="hybrid | fts | vector | all")] = "hybrid",
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
) -> None:
    """MRR@10 and Recall@1/5/10 for records {id, question, passage_id} (passage_id = external id)."""
    from rathaus.knowledge.evaluate import evaluate_retrieval

    records = read_records(questions, ("question", "passage_id"))[:limit]
    modes = ["fts", "vector", "hybrid"] if mode == "all" else [mode]
    with open_runtime() as rt:
        principal = cli_principal(rt.settings)
        table = Table(title=f"retrieval on {collection}: {len(records)} questions")
        for col in ("mode", "MRR@10", "R@1", "R@5", "R@10", "p50 ms", "p95 ms"):
            table.add_column(col)
        with progress_bar() as progress:
            for m in modes:
                task = progress.add_task(m, total=len(records), item="")
                r = evaluate_retrieval(rt, principal, collection, records, mode=m,  # type: ignore[arg-type]
                                       progress=advance(progress, task))
                table.add_row(m, f"{r.mrr10:.3f}", f"{r.recall[1]:.3f}", f"{r.recall[5]:.3f}", f"{r.recall[10]:.3f}",
                              f"{r.p50_ms:.1f}", f"{r.p95_ms:.1f}")
    console.print(table)
