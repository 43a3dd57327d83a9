"""The crawler against real local HTTP servers (127.0.0.1 only): robots.txt, sitemaps, limits, rate limiting."""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from rathaus.core.outbound import OutboundPolicy
from rathaus.knowledge.crawler import (
    Crawler,
    CrawlResult,
    extract_links,
    normalise_url,
    parse_http_date,
)

HTML = "text/html; charset=utf-8"
LOCAL = OutboundPolicy(("127.0.0.1",))  # the test servers run on loopback, which is refused by default
ROBOTS = """User-agent: *
Disallow: /privat/

User-agent: rathaus-crawler
Disallow: /privat/
Disallow: /nur-menschen/
"""


@dataclass
class Resp:
    status: int = 200
    body: bytes = b""
    content_type: str | None = HTML
    headers: dict[str, str] = field(default_factory=dict)
    sleep: float = 0.0
    send_length: bool = True
    drip: float = 0.0  # pause between body bytes: each read is quick, the whole response slow


def page(*links: str, title: str = "Seite") -> Resp:
    anchors = "".join(f'<a href="{href}">{href}</a>\n' for href in links)
    return Resp(body=f"<!doctype html><html><head><title>{title}</title></head><body>{anchors}</body></html>".encode())


def urlset(*locs: str) -> bytes:
    entries = "".join(f"<url><loc>{loc}</loc><lastmod>2024-05-01</lastmod></url>" for loc in locs)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>').encode()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        site = self.server.site
        site.log.append((self.path, time.monotonic()))
        resp = site.routes.get(self.path, Resp(404, b"not found", "text/plain"))
        try:
            if resp.sleep:
                time.sleep(resp.sleep)
            self.send_response(resp.status)
            if resp.content_type:
                self.send_header("Content-Type", resp.content_type)
            for key, value in resp.headers.items():
                self.send_header(key, value)
            if resp.send_length:
                self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            if resp.drip:
                for byte in resp.body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(resp.drip)
            else:
                self.wfile.write(resp.body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: Site


class Site:
    """A local HTTP server with a route table and a server-side request log (path, monotonic time)."""

    def __init__(self) -> None:
        self.routes: dict[str, Resp] = {}
        self.log: list[tuple[str, float]] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.site = self
        self.port = self._server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def paths(self) -> list[str]:
        return [path for path, _ in self.log]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def servers() -> Iterator[tuple[Site, Site]]:
    """Site A (the city's site) and site B (another site on another port)."""
    a, b = Site(), Site()
    big = b"<html><body>" + b"x" * 5000 + b"</body></html>"
    a.routes = {
        "/robots.txt": Resp(body=ROBOTS.encode(), content_type="text/plain"),
        "/": page("a.html", "/privat/geheim.html", "doc.pdf", "#oben", "mailto:rathaus@example.org", "tel:+4930123",
                  "javascript:void(0)", f"{b.base}/extern.html", "a.html#abschnitt", "b.html?x=1",
                  f"HTTP://127.0.0.1:{a.port}/a.html"),
        "/a.html": page("c.html", "/", "./", "nur-menschen/info.html"),
        "/b.html?x=1": page("/"),
        "/c.html": page("d.html"),
        "/d.html": page(),
        "/privat/geheim.html": page(),
        "/nur-menschen/info.html": page(),
        "/doc.pdf": Resp(body=b"%PDF-1.4\n%fake\n", content_type="application/pdf",
                         headers={"Last-Modified": "Wed, 01 May 2024 12:00:00 GMT", "ETag": '"v1"'}),
        "/bild.png": Resp(body=b"\x89PNG\r\n\x1a\n", content_type="image/png"),
        "/text.txt": Resp(body="Öffnungszeiten".encode(), content_type="text/plain; charset=utf-8"),
        "/notiz.md": Resp(body=b"# Notiz", content_type="text/markdown"),
        "/brief.docx": Resp(body=b"PK\x03\x04",
                            content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        "/daten.json": Resp(body=b"{}", content_type="application/json"),
        "/ohne-typ": Resp(body=b"?", content_type=None),
        "/weg": Resp(302, headers={"Location": f"{b.base}/ziel.html"}),
        "/intern": Resp(301, headers={"Location": "/a.html"}),
        "/schleife": Resp(302, headers={"Location": "/schleife2"}),
        "/schleife2": Resp(302, headers={"Location": "/schleife"}),
        "/langsam": Resp(body=b"<html></html>", sleep=1.0),
        "/tropfen": Resp(body=b"<html></html>", drip=0.1, send_length=False),
        "/gross": Resp(body=big),
        "/gross-stream": Resp(body=big, send_length=False),
        "/sitemap.xml": Resp(body=urlset(a.url("/"), a.url("/doc.pdf"), a.url("/privat/geheim.html"),
                                         a.url("/fehlt.html"), b.url("/extern.html"), a.url("/bild.png")),
                             content_type="application/xml"),
        "/sitemap_index.xml": Resp(body=(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{a.url('/sitemap-seiten.xml.gz')}</loc></sitemap>"
            f"<sitemap><loc>{a.url('/sitemap-mehr.xml')}</loc></sitemap>"
            f"<sitemap><loc>{b.url('/sitemap.xml')}</loc></sitemap>"
            "</sitemapindex>").encode(), content_type="application/xml"),
        "/sitemap-seiten.xml.gz": Resp(body=gzip.compress(urlset(a.url("/a.html"), a.url("/text.txt"))),
                                       content_type="application/gzip"),
        "/sitemap-mehr.xml": Resp(body=urlset(a.url("/notiz.md"), a.url("/brief.docx")), content_type="text/xml"),
    }
    b.routes = {  # no robots.txt: 404 means everything is allowed
        "/extern.html": page(),
        "/ziel.html": page(),
        "/sitemap.xml": Resp(body=urlset(b.url("/extern.html")), content_type="application/xml"),
    }
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def site() -> Callable[[dict[str, Resp]], Site]:
    made: list[Site] = []

    def make(routes: dict[str, Resp]) -> Site:
        s = Site()
        s.routes = routes
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def reasons(result: CrawlResult) -> dict[str, str]:
    found = {p.url: p.reason for p in result.problems}
    assert len(found) == len(result.problems), "a URL was reported twice"
    return found


def urls(result: CrawlResult) -> list[str]:
    return [p.url for p in result.pages]


def fast(**kwargs: object) -> Crawler:
    return Crawler(delay_seconds=0, outbound=LOCAL, **kwargs)  # type: ignore[arg-type]


# --- sitemaps, robots.txt, problems ------------------------------------------------------------------

def test_sitemap_pages_problems_and_robots(servers: tuple[Site, Site]) -> None:
    a, b = servers
    messages: list[str] = []
    result = fast().crawl([], sitemap=a.url("/sitemap.xml"), progress=messages.append)

    assert urls(result) == [a.url("/"), a.url("/doc.pdf")]
    assert reasons(result) == {
        a.url("/privat/geheim.html"): "disallowed by robots.txt",
        a.url("/fehlt.html"): "HTTP 404",
        b.url("/extern.html"): "not same site",
        a.url("/bild.png"): "unsupported content type image/png",
    }
    assert a.paths == ["/robots.txt", "/sitemap.xml", "/", "/doc.pdf", "/fehlt.html", "/bild.png"]
    assert b.paths == []  # the off-site URL was never contacted

    index, pdf = result.pages
    assert (index.status, index.content_type, index.last_modified, index.etag) == (200, HTML, None, None)
    assert b"<title>Seite</title>" in index.body
    assert pdf.content_type == "application/pdf"
    assert pdf.body.startswith(b"%PDF-1.4")
    assert pdf.last_modified == dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
    assert pdf.etag == '"v1"'
    assert f"fetched {a.url('/doc.pdf')}" in messages
    assert f"problem {a.url('/fehlt.html')}: HTTP 404" in messages


def test_gzip_sitemap_via_sitemap_index(servers: tuple[Site, Site]) -> None:
    a, b = servers
    result = fast().crawl([], sitemap=a.url("/sitemap_index.xml"))

    assert urls(result) == [a.url("/a.html"), a.url("/text.txt"), a.url("/notiz.md"), a.url("/brief.docx")]
    assert reasons(result) == {b.url("/sitemap.xml"): "not same site"}
    assert b.paths == []
    assert [p.content_type for p in result.pages][1:] == [
        "text/plain; charset=utf-8", "text/markdown",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"]


def test_sitemap_problems_are_reported(servers: tuple[Site, Site], site: Callable[[dict[str, Resp]], Site]) -> None:
    a, _ = servers
    assert reasons(fast().crawl([], sitemap=a.url("/fehlt.xml"))) == {a.url("/fehlt.xml"): "HTTP 404"}
    broken = site({"/sitemap.xml": Resp(body=b"<urlset><url><loc>", content_type="application/xml"),
                   "/feed.xml": Resp(body=b"<rss/>", content_type="application/xml"),
                   "/kaputt.xml.gz": Resp(body=b"\x1f\x8bnot gzip", content_type="application/gzip")})
    result = fast().crawl([], sitemap=broken.url("/sitemap.xml"))
    assert result.pages == []
    assert result.problems[0].reason.startswith("invalid sitemap XML (")
    assert reasons(fast().crawl([], sitemap=broken.url("/feed.xml"))) == {
        broken.url("/feed.xml"): "not a sitemap (root element rss)"}
    assert reasons(fast().crawl([], sitemap=broken.url("/kaputt.xml.gz")))[broken.url("/kaputt.xml.gz")].startswith(
        "invalid gzip data")


def test_robots_txt_for_our_user_agent(servers: tuple[Site, Site]) -> None:
    a, _ = servers
    target = a.url("/nur-menschen/info.html")
    assert reasons(fast().crawl([target])) == {target: "disallowed by robots.txt"}
    assert "/nur-menschen/info.html" not in a.paths
    other = Crawler(delay_seconds=0, user_agent="anderer-bot/1.0", outbound=LOCAL).crawl([target])
    assert urls(other) == [target]


def test_missing_robots_txt_allows_everything(servers: tuple[Site, Site]) -> None:
    _, b = servers
    result = fast().crawl([b.url("/extern.html"), b.url("/ziel.html")])
    assert urls(result) == [b.url("/extern.html"), b.url("/ziel.html")]
    assert b.paths == ["/robots.txt", "/extern.html", "/ziel.html"]  # robots.txt is fetched once per site


def test_robots_txt_error_means_nothing_is_crawled_on_that_site(
        servers: tuple[Site, Site], site: Callable[[dict[str, Resp]], Site]) -> None:
    a, _ = servers
    down = site({"/robots.txt": Resp(500, b"oops", "text/plain"), "/": page(),
                 "/sitemap.xml": Resp(body=urlset(), content_type="application/xml")})
    result = fast().crawl([down.url("/"), down.url("/seite.html"), a.url("/text.txt")],
                          sitemap=down.url("/sitemap.xml"))
    assert urls(result) == [a.url("/text.txt")]  # the other site is still crawled
    assert reasons(result) == {
        down.url("/sitemap.xml"): "robots.txt unreachable (HTTP 500)",
        down.url("/"): "robots.txt unreachable (HTTP 500)",
        down.url("/seite.html"): "robots.txt unreachable (HTTP 500)",
    }
    assert down.paths == ["/robots.txt"]


def test_unreachable_server_and_connection_errors() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    result = fast().crawl([f"http://127.0.0.1:{port}/"])
    assert reasons(result) == {f"http://127.0.0.1:{port}/": "robots.txt unreachable (connection refused)"}

    def transport(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    with httpx.Client(transport=httpx.MockTransport(transport)) as client:
        result = Crawler(delay_seconds=0, client=client).crawl(["https://stadt.example/seite"])
        assert not client.is_closed  # a client passed in is not closed by the crawler
    assert reasons(result) == {"https://stadt.example/seite": "connection refused"}


def test_invalid_urls_become_problems() -> None:
    result = fast().crawl(["keine url", "ftp://127.0.0.1/datei", "mailto:rathaus@example.org"])
    assert result.pages == []
    assert [p.reason for p in result.problems] == ["invalid URL (only absolute http/https URLs)"] * 3


# --- responses: content types, redirects, limits -----------------------------------------------------

def test_content_types(servers: tuple[Site, Site]) -> None:
    a, _ = servers
    paths = ["/text.txt", "/notiz.md", "/brief.docx", "/doc.pdf", "/daten.json", "/bild.png", "/ohne-typ"]
    result = fast().crawl([a.url(p) for p in paths])
    assert urls(result) == [a.url(p) for p in paths[:4]]
    assert reasons(result) == {
        a.url("/daten.json"): "unsupported content type application/json",
        a.url("/bild.png"): "unsupported content type image/png",
        a.url("/ohne-typ"): "no content type",
    }


def test_redirects(servers: tuple[Site, Site]) -> None:
    a, b = servers
    result = fast().crawl([a.url("/weg"), a.url("/intern"), a.url("/a.html"), a.url("/schleife")])
    assert urls(result) == [a.url("/a.html")]  # final URL after the same-site redirect
    assert reasons(result) == {a.url("/weg"): "redirect to another site", a.url("/schleife"): "redirect loop"}
    assert b.paths == []
    assert Counter(a.paths)["/a.html"] == 1  # reached via /intern, not fetched again as a start URL


def test_timeout_and_size_limit(servers: tuple[Site, Site]) -> None:
    a, _ = servers
    t0 = time.monotonic()
    result = Crawler(delay_seconds=0, timeout_seconds=0.3, max_bytes=1000, outbound=LOCAL).crawl(
        [a.url("/langsam"), a.url("/tropfen"), a.url("/gross"), a.url("/gross-stream"), a.url("/text.txt")])
    assert time.monotonic() - t0 < 1.5
    assert urls(result) == [a.url("/text.txt")]
    assert reasons(result) == {
        a.url("/langsam"): "timeout after 0.3 s",
        a.url("/tropfen"): "timeout after 0.3 s",  # the limit is for the whole response, not each read
        a.url("/gross"): "too large (> 1 kB)",
        a.url("/gross-stream"): "too large (> 1 kB)",
    }


# --- link following ----------------------------------------------------------------------------------

def test_follow_links_depth_one(servers: tuple[Site, Site]) -> None:
    a, b = servers
    result = fast(follow_links=True, max_depth=1).crawl([a.url("/")])
    assert urls(result) == [a.url("/"), a.url("/a.html"), a.url("/doc.pdf"), a.url("/b.html?x=1")]
    assert reasons(result) == {a.url("/privat/geheim.html"): "disallowed by robots.txt"}
    assert b.paths == []  # off-site links are skipped silently
    assert max(Counter(a.paths).values()) == 1  # nothing fetched twice (fragments, case, "./" normalised)
    assert "/c.html" not in a.paths


def test_follow_links_depth_two(servers: tuple[Site, Site]) -> None:
    a, _ = servers
    result = fast(follow_links=True, max_depth=2).crawl([a.url("/")])
    assert a.url("/c.html") in urls(result)
    assert a.url("/d.html") not in urls(result)
    assert "/d.html" not in a.paths
    assert reasons(result) == {a.url("/privat/geheim.html"): "disallowed by robots.txt",
                               a.url("/nur-menschen/info.html"): "disallowed by robots.txt"}
    assert max(Counter(a.paths).values()) == 1


def test_follow_links_off_by_default(servers: tuple[Site, Site]) -> None:
    a, _ = servers
    assert urls(fast().crawl([a.url("/")])) == [a.url("/")]
    assert a.paths == ["/robots.txt", "/"]


def test_max_pages(servers: tuple[Site, Site]) -> None:
    a, _ = servers
    result = fast(follow_links=True, max_depth=10, max_pages=3).crawl([a.url("/")])
    assert urls(result) == [a.url("/"), a.url("/a.html"), a.url("/doc.pdf")]
    assert [p for p in a.paths if p != "/robots.txt"] == ["/", "/a.html", "/doc.pdf"]
    assert result.problems[-1].reason.startswith("page limit (3) reached;")


# --- politeness ------------------------------------------------------------------------------------

def gaps(*sites: Site) -> list[float]:
    times = sorted(t for s in sites for _, t in s.log)
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def test_rate_limit_per_host(servers: tuple[Site, Site], site: Callable[[dict[str, Resp]], Site]) -> None:
    a, _ = servers
    other = site({"/": page()})  # another site (port) on the same host 127.0.0.1: shares the pause
    result = Crawler(delay_seconds=0.2, outbound=LOCAL).crawl(
        [a.url("/"), a.url("/a.html"), other.url("/"), a.url("/doc.pdf")])
    assert len(result.pages) == 4
    assert len(a.log) + len(other.log) == 6  # two robots.txt and four pages
    assert min(gaps(a, other)) >= 0.2  # measured server-side


def test_crawl_delay_from_robots_txt(site: Callable[[dict[str, Resp]], Site]) -> None:
    slow = site({"/robots.txt": Resp(body=b"User-agent: *\nCrawl-delay: 1\n", content_type="text/plain"),
                 "/": page()})
    result = Crawler(delay_seconds=0.05, outbound=LOCAL).crawl([slow.url("/")])
    assert urls(result) == [slow.url("/")]
    assert gaps(slow)[0] >= 1.0


# --- helpers -----------------------------------------------------------------------------------------

def test_normalise_url() -> None:
    assert normalise_url("HTTP://Stadt.Example:80/a?b=1#frag") == "http://stadt.example/a?b=1"
    assert normalise_url("https://stadt.example:8443") == "https://stadt.example:8443/"
    assert normalise_url("../x.html#top", "https://stadt.example/a/b/c.html") == "https://stadt.example/a/x.html"
    for bad in ("mailto:a@b.de", "tel:+49", "javascript:void(0)", "/relativ", "https://stadt.example:99999/"):
        assert normalise_url(bad) is None


def test_parse_http_date() -> None:
    assert parse_http_date("Wed, 01 May 2024 12:00:00 GMT") == dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
    assert parse_http_date("Wed, 01 May 2024 14:00:00 +0200") == dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
    assert parse_http_date("gestern") is None
    assert parse_http_date(None) is None


def test_extract_links() -> None:
    body = b"""<html><head><base href="/neu/"></head><body>
        <a href="a.html">A</a><a href="a.html#x">A again</a><a href="?q=1">Q</a><a name="anker">no href</a>
        <a href="mailto:x@y.de">M</a><a href="#top">T</a></body></html>"""
    assert extract_links(body, "https://stadt.example/alt/seite.html") == [
        "https://stadt.example/neu/a.html", "https://stadt.example/neu/?q=1"]
    nofollow = b'<html><head><meta name="robots" content="noindex, nofollow"></head><a href="/a">a</a></html>'
    assert extract_links(nofollow, "https://stadt.example/") == []
    assert extract_links(b"", "https://stadt.example/") == []
    latin1 = "<a href='/%C3%BC'>ü</a><a href='/straße'>s</a>".encode("latin-1")
    assert len(extract_links(latin1, "https://stadt.example/", "text/html; charset=iso-8859-1")) == 2
