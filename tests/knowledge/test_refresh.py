"""Web collections: ingest from a sitemap on a local server, then refresh when pages change or vanish."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from rathaus.core.auth import Principal
from rathaus.core.jobs import EmbeddedWorker
from rathaus.core.outbound import OutboundPolicy
from rathaus.core.settings import Settings
from rathaus.knowledge import collections, search
from rathaus.knowledge.crawler import Crawler
from rathaus.knowledge.refresh import due_collections, refresh_collection
from rathaus.runtime import Runtime

ADMIN = Principal(id="admin", kind="user", department="IT", roles=frozenset({"admin"}))
LOCAL = OutboundPolicy(("127.0.0.1",))  # the test site runs on loopback, which is refused by default


@pytest.fixture
def runtime(make_settings: Callable[..., Settings]) -> Iterator[Runtime]:
    """The operator allow-lists loopback, so the scheduled refresh may crawl the local test site."""
    rt = Runtime(make_settings(outbound_allow=["127.0.0.1"]))
    try:
        yield rt
    finally:
        rt.close()


class Site:
    """A tiny city website: pages can be changed or removed between crawls."""

    def __init__(self) -> None:
        self.pages = {
            "/dienste/pass.html": "<html lang=de><head><title>Reisepass</title></head><body><main><h1>Reisepass</h1>"
                                  "<p>Den Reisepass beantragen Sie persönlich im Bürgerbüro.</p></main></body></html>",
            "/dienste/hund.html": "<html lang=de><head><title>Hundesteuer</title></head><body><main><h1>Hundesteuer"
                                  "</h1><p>Hunde sind binnen zwei Wochen anzumelden.</p></main></body></html>",
            "/privat/intern.html": "<html><body><p>Interne Notiz, nicht für Suchmaschinen.</p></body></html>",
        }
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/robots.txt":
                    body, kind = b"User-agent: *\nDisallow: /privat/\n", "text/plain"
                elif self.path == "/sitemap.xml":
                    urls = "".join(f"<url><loc>http://127.0.0.1:{site.port}{p}</loc></url>" for p in site.pages)
                    body = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()
                    kind = "application/xml"
                elif self.path in site.pages:
                    body, kind = site.pages[self.path].encode(), "text/html; charset=utf-8"
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.server.shutdown()


def test_sitemap_ingest_and_refresh(runtime: Runtime, site: Site) -> None:
    sitemap = f"http://127.0.0.1:{site.port}/sitemap.xml"
    with runtime.db.session() as s:
        collections.create(s, ADMIN, "web", sources={"sitemap": sitemap}, refresh_hours=24)
    crawler = Crawler(delay_seconds=0.0, outbound=LOCAL)
    first = refresh_collection(runtime, ADMIN, "web", crawler=crawler)
    assert first.counts["added"] == 2
    assert any(i.status == "failed" and "robots.txt" in i.detail for i in first.items)
    hit = search(runtime, ADMIN, "Wo beantrage ich den Reisepass?", collection_names=["web"]).hits[0]
    assert hit.url == f"http://127.0.0.1:{site.port}/dienste/pass.html" and hit.title == "Reisepass"
    assert due_collections(runtime) == []  # just refreshed
    # the site changes: one page edited, one removed
    site.pages["/dienste/hund.html"] = site.pages["/dienste/hund.html"].replace("zwei Wochen", "einem Monat")
    del site.pages["/dienste/pass.html"]
    second = refresh_collection(runtime, ADMIN, "web", crawler=crawler)
    assert (second.counts["updated"], second.counts["removed"]) == (1, 1)
    assert "einem Monat" in search(runtime, ADMIN, "Hund anmelden", collection_names=["web"]).hits[0].text
    # a site that is down does not empty the collection
    site.server.shutdown()
    site.server.server_close()
    third = refresh_collection(runtime, ADMIN, "web", crawler=Crawler(delay_seconds=0.0, timeout_seconds=2,
                                                                                  outbound=LOCAL))
    assert third.counts["removed"] == 0 and third.counts["failed"] >= 1
    with runtime.db.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM kb_documents")) == 1


def test_scheduler_refreshes_due_collections(runtime: Runtime, site: Site) -> None:
    sitemap = f"http://127.0.0.1:{site.port}/sitemap.xml"
    with runtime.db.session() as s:
        collections.create(s, ADMIN, "web", sources={"sitemap": sitemap, "delay_seconds": 0},
                           refresh_hours=24)
    assert due_collections(runtime) == ["web"]  # never refreshed
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)
    # the scheduled job (knowledge.refresh) on a worker, every second instead of every ten minutes
    runtime.settings.jobs_schedule = {"knowledge.refresh": "* * * * * */1"}
    worker = EmbeddedWorker(runtime).start()
    try:
        deadline = time.time() + 60
        while time.time() < deadline and due_collections(runtime):
            time.sleep(0.2)
    finally:
        worker.stop()
    assert due_collections(runtime) == [] and due_collections(runtime, now=later) == ["web"]
    with runtime.db.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM kb_documents")) == 2
