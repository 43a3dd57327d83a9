"""Knowledge's background jobs: crawling and ingesting web sources into a collection, the scheduled refresh."""

from __future__ import annotations

from typing import Any

from rathaus.core.auth import Principal
from rathaus.core.errors import Conflict
from rathaus.core.jobs import Transient, progress
from rathaus.core.outbound import OutboundPolicy
from rathaus.knowledge.crawler import Crawler
from rathaus.knowledge.ingest import UPLOAD_WAIT_SECONDS, Ingestor
from rathaus.knowledge.refresh import crawl_sources, refresh_due


def ingest(runtime: Any, principal: Principal, collection: str, collection_id: int, urls: list[str] | None = None,
           sitemap: str | None = None, follow_links: bool = False, max_pages: int = 200) -> dict[str, Any]:
    """Crawl ``urls``/``sitemap`` and ingest the pages into the collection, as the one who asked for it."""
    ingestor = Ingestor(runtime, principal, collection)
    if ingestor.collection.id != collection_id:  # renamed or replaced since the job was queued
        raise LookupError(f"collection {collection!r} is no longer the one the job was queued for")
    crawler = Crawler(follow_links=follow_links, max_pages=max_pages,
                      outbound=OutboundPolicy.from_settings(runtime.settings))
    items, problems, scope = crawl_sources({"urls": urls or [], "sitemap": sitemap}, crawler,
                                           progress=lambda url: progress(message=f"crawling {url}"))
    try:  # an upload into the collection runs now: wait for it, then let the queue retry the job later
        report = ingestor.run(items, failures=problems, scope_prefix=scope, wait_seconds=UPLOAD_WAIT_SECONDS,
                              progress=lambda done, total, key: progress(done, total, key))
    except Conflict as exc:
        raise Transient(exc.detail) from None
    return {"collection": collection, "run_id": report.run_id, "counts": report.counts,
            "seconds": round(report.seconds, 3)}


def refresh(runtime: Any, principal: Principal) -> dict[str, Any]:
    """Re-read the web sources of every collection whose refresh is due."""
    return refresh_due(runtime, principal)

