"""Keeping web collections current: re-read their sources (URLs, sitemap) when due, e.g. every 24 h.

The periodic job ``knowledge.refresh`` (every ten minutes, run by any job worker, once however many run) checks
which collections are due; a PostgreSQL advisory lock also keeps two refreshes from overlapping.
``rathaus kb refresh`` does the same once, by hand.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from rathaus.core.auth import Principal
from rathaus.core.errors import RathausError
from rathaus.core.outbound import REFUSED_HINT, OutboundPolicy
from rathaus.knowledge import collections
from rathaus.knowledge.crawler import Crawler
from rathaus.knowledge.ingest import Ingestor, IngestReport, ItemResult, source_from_bytes
from rathaus.knowledge.schema import Collection

if TYPE_CHECKING:
    from rathaus.runtime import Runtime

log = logging.getLogger(__name__)
REFRESH_LOCK = 0x72686B62  # "rhkb"


def crawl_sources(sources: dict[str, Any], crawler: Crawler | None = None,
                  progress: Callable[[str], None] | None = None, *, outbound: OutboundPolicy | None = None
                  ) -> tuple[list[Any], list[ItemResult], str | None]:
    """Fetch a collection's web sources; returns (ingest sources, problems, scope prefix for removals).

    Without a ``crawler``, one is made with ``outbound`` (default: public addresses only).
    """
    urls = list(sources.get("urls") or [])
    sitemap = sources.get("sitemap")
    crawler = crawler or Crawler(follow_links=bool(sources.get("follow_links")),
                                 max_pages=int(sources.get("max_pages") or 500),
                                 delay_seconds=float(sources.get("delay_seconds") or 1.0), outbound=outbound)
    result = crawler.crawl(urls, sitemap=sitemap, progress=progress)
    items = [source_from_bytes(_name(p.url), p.body, p.content_type, url=p.url, modified=p.last_modified, key=p.url)
             for p in result.pages]
    problems = [ItemResult(p.url, "failed", p.reason) for p in result.problems]
    first = sitemap or (urls[0] if urls else None)
    scope = None
    if first:
        parts = urlsplit(first)
        scope = f"{parts.scheme}://{parts.netloc}/"
    return items, problems, scope


def _name(url: str) -> str:
    path = urlsplit(url).path.rstrip("/")
    return path.rsplit("/", 1)[-1] or "index.html"


def refresh_collection(runtime: Runtime, principal: Principal, collection: str, *,
                       crawler: Crawler | None = None) -> IngestReport:
    with runtime.db.session() as session:
        row = collections.get_readable(session, principal, collection)  # the collection the Ingestor takes
        sources = dict(row.sources)
    items, problems, scope = crawl_sources(sources, crawler, outbound=OutboundPolicy.from_settings(runtime.settings))
    # only remove documents when the crawl itself worked; a site that is down (or no longer allowed by the
    # outbound policy) must not empty a collection
    complete = bool(items) and not any(p.detail.startswith("robots.txt unreachable") or p.detail.endswith(REFUSED_HINT)
                                       for p in problems)
    return Ingestor(runtime, principal, collection).run(items, failures=problems, remove_missing=complete,
                                                        scope_prefix=scope)


def due_collections(runtime: Runtime, now: dt.datetime | None = None) -> list[str]:
    now = now or dt.datetime.now(dt.UTC)
    with runtime.db.session() as session:
        rows = session.execute(sa.select(Collection.name, Collection.refresh_hours, Collection.last_refresh,
                                         Collection.sources).where(Collection.refresh_hours.is_not(None))).all()
    due = []
    for name, hours, last, sources in rows:
        if not (sources.get("urls") or sources.get("sitemap")):
            continue
        if last is None or now - last >= dt.timedelta(hours=hours):
            due.append(name)
    return due


def refresh_due(runtime: Runtime, principal: Principal) -> dict[str, dict[str, int] | str]:
    """Refresh every due collection, if no other process is doing it right now."""
    done: dict[str, dict[str, int] | str] = {}
    with runtime.db.engine.connect() as conn:
        if not conn.scalar(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": REFRESH_LOCK}):
            return done
        try:
            for name in due_collections(runtime):
                try:
                    done[name] = refresh_collection(runtime, principal, name).counts
                except RathausError as exc:
                    done[name] = exc.detail
                    log.warning("refresh of %s failed: %s", name, exc.detail)
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": REFRESH_LOCK})
            conn.commit()
    return done
