"""A polite, same-site web crawler for knowledge-base ingestion.

Fetches start URLs and sitemap entries (optionally following links), honours robots.txt and Crawl-delay,
keeps at least ``delay_seconds`` between requests to one host and never contacts a site that was not given.
Every connection obeys the outbound policy (rathaus.core.outbound): non-public addresses such as loopback or
the intranet are refused unless the operator allow-listed them. Every failure becomes a one-line
``CrawlProblem``; ``crawl()`` itself does not raise for fetch errors.
"""

from __future__ import annotations

import datetime as dt
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

import httpx
import lxml.html
from lxml import etree

from rathaus.core.outbound import OutboundPolicy, OutboundRefused

DEFAULT_USER_AGENT = "rathaus-crawler/0.1 (+https://github.com/rathaus)"
SUPPORTED_CONTENT_TYPES = frozenset({
    "text/html",
    "application/xhtml+xml",
    "application/pdf",
    "text/plain",
    "text/markdown",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
})
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
MAX_SITEMAP_DEPTH = 2  # sitemap index -> sitemap (one extra level tolerated)
SITEMAP_MAX_BYTES = 50_000_000  # sitemaps.org limit for one uncompressed sitemap
ROBOTS_MAX_BYTES = 500_000  # RFC 9309: parse at least 500 KiB; the rest is ignored
MAX_CRAWL_DELAY = 60.0  # an absurd Crawl-delay must not stall ingestion for days
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class FetchedPage:
    url: str  # final URL after redirects
    status: int
    content_type: str | None  # header value as sent, parameters (charset) included
    body: bytes
    last_modified: dt.datetime | None  # from Last-Modified, in UTC
    etag: str | None


@dataclass(frozen=True)
class CrawlProblem:
    url: str
    reason: str  # one readable line


@dataclass
class CrawlResult:
    pages: list[FetchedPage]
    problems: list[CrawlProblem]


# --- helpers -----------------------------------------------------------------------------------------

def normalise_url(url: str, base: str | None = None) -> str | None:
    """Absolute http(s) URL without fragment, lower-case scheme/host, no default port; None if not crawlable."""
    try:
        url = urljoin(base, url.strip()) if base else url.strip()
        url = urldefrag(url).url
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        port = parts.port
    except ValueError:
        return None
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    if "@" in parts.netloc:
        netloc = parts.netloc.rpartition("@")[0] + "@" + netloc
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def site_of(url: str) -> str:
    """scheme://host[:port] of a normalised URL (credentials dropped)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def parse_http_date(value: str | None) -> dt.datetime | None:
    """An HTTP date (Last-Modified) as an aware UTC datetime; None if missing or malformed."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def media_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def _charset(content_type: str | None) -> str | None:
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")
    return None


def extract_links(body: bytes, base_url: str, content_type: str | None = None) -> list[str]:
    """Normalised http(s) targets of ``<a href>`` in an HTML page, in document order, without duplicates."""
    try:
        charset = _charset(content_type)
        parser = lxml.html.HTMLParser(encoding=charset) if charset else None
        doc = lxml.html.document_fromstring(body, parser=parser)
    except (etree.LxmlError, ValueError, LookupError):
        return []
    for meta in doc.iter("meta"):
        if (meta.get("name") or "").strip().lower() == "robots":
            directives = {d.strip() for d in (meta.get("content") or "").lower().split(",")}
            if directives & {"nofollow", "none"}:
                return []
    base = base_url
    for element in doc.iter("base"):
        if element.get("href"):
            base = urljoin(base_url, element.get("href", "").strip())
            break
    links: dict[str, None] = {}
    for anchor in doc.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith("#"):
            continue
        url = normalise_url(href, base)  # mailto:, tel:, javascript: etc. are not http(s) -> None
        if url:
            links.setdefault(url)
    return list(links)


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _size(n: int) -> str:
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= factor:
            return f"{n / factor:g} {unit}"
    return f"{n} bytes"


def _gunzip(data: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise _Failure(f"invalid gzip data ({_one_line(str(exc))})") from None
    if len(out) > limit:
        raise _Failure(f"too large (> {_size(limit)} uncompressed)")
    return out


def _local(tag: object) -> str | None:
    return tag.rpartition("}")[2] if isinstance(tag, str) else None


def parse_sitemap(data: bytes) -> tuple[str, list[str]]:
    """(``"urlset"`` or ``"sitemapindex"``, raw <loc> values); gzip is detected by its magic bytes."""
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, SITEMAP_MAX_BYTES)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser=parser)  # entities, DTDs and network access are disabled
    except etree.XMLSyntaxError as exc:
        raise _Failure(f"invalid sitemap XML ({_one_line(str(exc), 120)})") from None
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise _Failure(f"not a sitemap (root element {kind})")
    locs = []
    for entry in root:
        if _local(entry.tag) in ("url", "sitemap"):
            for child in entry:
                if _local(child.tag) == "loc" and child.text and child.text.strip():
                    locs.append(child.text.strip())
    return kind, locs


class _Failure(Exception):
    """A fetch failed; ``reason`` is the one-line problem text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Duplicate(Exception):
    """A redirect led to a URL that was already fetched."""


@dataclass
class _Response:
    url: str
    status: int
    headers: httpx.Headers
    body: bytes


@dataclass
class _Robots:
    parser: RobotFileParser | None  # None: everything allowed
    unreachable: str | None = None  # reason if robots.txt could not be read: crawl nothing
    refused: bool = False  # unreachable because the outbound policy refused the site's address
    crawl_delay: float = 0.0


# --- crawler -----------------------------------------------------------------------------------------

class Crawler:
    """Polite same-site crawler; one instance can run several crawls (state is per ``crawl()``).

    ``outbound`` decides which addresses may be connected to (default: public internet addresses only; pass
    ``OutboundPolicy.from_settings(settings)`` for the operator's allow-list). A ``client`` passed in is used
    as it is: the caller is then responsible for its outbound policy.
    """

    def __init__(self, *, user_agent: str = DEFAULT_USER_AGENT, delay_seconds: float = 1.0,
                 timeout_seconds: float = 10.0, max_pages: int = 500, max_bytes: int = 20_000_000,
                 follow_links: bool = False, max_depth: int = 1, client: httpx.Client | None = None,
                 outbound: OutboundPolicy | None = None) -> None:
        self.user_agent = user_agent
        self.delay_seconds = max(0.0, delay_seconds)
        self.timeout_seconds = timeout_seconds
        self.max_pages = max_pages
        self.max_bytes = max_bytes
        self.follow_links = follow_links
        self.max_depth = max_depth
        self.client = client
        self.outbound = outbound or OutboundPolicy()

    def crawl(self, start: list[str], *, sitemap: str | None = None,
              progress: Callable[[str], None] | None = None) -> CrawlResult:
        """Fetch ``start`` and the sitemap's URLs (and linked pages if ``follow_links``); never raises on fetch errors.

        Exceptions raised by ``progress`` propagate, so a caller can use it to cancel.
        """
        client = self.client or self.outbound.client(headers={"User-Agent": self.user_agent},
                                                     follow_redirects=False, timeout=self.timeout_seconds)
        try:
            return _Run(self, client, progress).run(start, sitemap)
        finally:
            if self.client is None:
                client.close()


class _Run:
    """The state of one crawl: sites, robots.txt cache, request times, seen URLs."""

    def __init__(self, crawler: Crawler, client: httpx.Client, progress: Callable[[str], None] | None) -> None:
        self.c = crawler
        self.client = client
        self.progress = progress
        self.sites: set[str] = set()
        self.robots: dict[str, _Robots] = {}
        self.last_request: dict[str, float] = {}  # host -> monotonic end of the last request
        self.queued: set[str] = set()
        self.requested: set[str] = set()
        self.queue: deque[tuple[str, int]] = deque()
        self.pages: list[FetchedPage] = []
        self.problems: list[CrawlProblem] = []

    # --- bookkeeping ---

    def _say(self, message: str) -> None:
        if self.progress:
            self.progress(message)

    def _problem(self, url: str, reason: str) -> None:
        self.problems.append(CrawlProblem(url, reason))
        self._say(f"problem {url}: {reason}")

    def _enqueue(self, url: str, depth: int, *, report_offsite: bool) -> None:
        if url in self.queued:
            return
        self.queued.add(url)
        if site_of(url) not in self.sites:
            if report_offsite:
                self._problem(url, "not same site")
            return
        self.queue.append((url, depth))

    # --- main loop ---

    def run(self, start: list[str], sitemap: str | None) -> CrawlResult:
        starts: list[str] = []
        for raw in start:
            url = normalise_url(raw)
            if url is None:
                self._problem(raw, "invalid URL (only absolute http/https URLs)")
                continue
            self.sites.add(site_of(url))
            starts.append(url)
        sitemap_url = None
        if sitemap is not None:
            sitemap_url = normalise_url(sitemap)
            if sitemap_url is None:
                self._problem(sitemap, "invalid sitemap URL (only absolute http/https URLs)")
            else:
                self.sites.add(site_of(sitemap_url))
        for url in starts:
            self._enqueue(url, 0, report_offsite=True)
        if sitemap_url:
            for url in self._read_sitemaps(sitemap_url):
                self._enqueue(url, 0, report_offsite=True)

        attempts = 0
        while self.queue:
            url, depth = self.queue.popleft()
            if url in self.requested:
                continue
            if attempts >= self.c.max_pages:
                self._problem(url, f"page limit ({self.c.max_pages}) reached; {len(self.queue) + 1} URLs not crawled")
                break
            page, tried = self._crawl_one(url)
            attempts += tried
            follow = self.c.follow_links and depth < self.c.max_depth
            if page and follow and media_type(page.content_type) in HTML_TYPES:
                try:
                    links = extract_links(page.body, page.url, page.content_type)
                except Exception as exc:  # a broken page must not end the crawl
                    self._problem(page.url, f"links not readable ({_one_line(f'{type(exc).__name__}: {exc}')})")
                    links = []
                for link in links:
                    self._enqueue(link, depth + 1, report_offsite=False)
        return CrawlResult(self.pages, self.problems)

    def _crawl_one(self, url: str) -> tuple[FetchedPage | None, int]:
        """Fetch one page; returns the page (or None) and whether a request was made."""
        before = len(self.requested)
        try:
            response = self._get(url, self.c.max_bytes, self._check_page)
        except _Duplicate:
            return None, 1
        except _Failure as failure:
            self._problem(url, failure.reason)
            return None, int(len(self.requested) > before)
        except Exception as exc:  # a crawl must go on whatever one URL does
            self._problem(url, f"unexpected error ({_one_line(f'{type(exc).__name__}: {exc}')})")
            return None, int(len(self.requested) > before)
        page = FetchedPage(
            url=response.url,
            status=response.status,
            content_type=(response.headers.get("content-type") or "").strip() or None,
            body=response.body,
            last_modified=parse_http_date(response.headers.get("last-modified")),
            etag=response.headers.get("etag"),
        )
        self.pages.append(page)
        self._say(f"fetched {page.url}")
        return page, 1

    def _check_page(self, response: httpx.Response) -> None:
        if not 200 <= response.status_code < 300:
            raise _Failure(f"HTTP {response.status_code}")
        kind = media_type(response.headers.get("content-type"))
        if kind is None:
            raise _Failure("no content type")
        if kind not in SUPPORTED_CONTENT_TYPES:
            raise _Failure(f"unsupported content type {kind}")

    # --- sitemaps ---

    def _read_sitemaps(self, url: str) -> list[str]:
        """All page URLs of a sitemap (following sitemap indexes); problems are recorded, not raised."""
        found: list[str] = []
        seen: set[str] = set()

        def read(sitemap_url: str, level: int) -> None:
            if sitemap_url in seen:
                return
            seen.add(sitemap_url)
            if site_of(sitemap_url) not in self.sites:
                self._problem(sitemap_url, "not same site")
                return
            try:
                response = self._get(sitemap_url, SITEMAP_MAX_BYTES, self._check_ok, dedupe=False)
                kind, locs = parse_sitemap(response.body)
            except _Failure as failure:
                self._problem(sitemap_url, failure.reason)
                return
            except Exception as exc:
                self._problem(sitemap_url, f"unexpected error ({_one_line(f'{type(exc).__name__}: {exc}')})")
                return
            self._say(f"sitemap {sitemap_url}: {len(locs)} entries")
            for loc in locs:
                normalised = normalise_url(loc, sitemap_url)
                if normalised is None:
                    self._problem(loc, "invalid URL in sitemap")
                elif kind == "urlset":
                    found.append(normalised)
                elif level >= MAX_SITEMAP_DEPTH:
                    self._problem(normalised, "sitemap index nested too deeply")
                elif len(found) < self.c.max_pages:  # enough URLs: skip the remaining sitemap files
                    read(normalised, level + 1)

        read(url, 0)
        return found

    @staticmethod
    def _check_ok(response: httpx.Response) -> None:
        if not 200 <= response.status_code < 300:
            raise _Failure(f"HTTP {response.status_code}")

    # --- robots.txt ---

    def _robots_for(self, site: str) -> _Robots:
        robots = self.robots.get(site)
        if robots is None:
            robots = self.robots[site] = self._load_robots(site)
        return robots

    def _load_robots(self, site: str) -> _Robots:
        url = f"{site}/robots.txt"
        for _ in range(MAX_REDIRECTS + 1):
            try:
                with self._stream(url) as response:
                    status = response.status_code
                    location = response.headers.get("location")
                    if status in REDIRECT_STATUSES and location:
                        target = normalise_url(location, url)
                        if target is None or site_of(target) != site:
                            return _Robots(None, "redirect to another site")
                        url = target
                        continue
                    if 400 <= status < 500 and status != 429:  # RFC 9309: no robots.txt, everything allowed
                        return _Robots(None)
                    if not 200 <= status < 300:
                        return _Robots(None, f"HTTP {status}")
                    body = self._read(response, ROBOTS_MAX_BYTES, truncate=True)
            except _Failure as failure:
                return _Robots(None, failure.reason)
            except OutboundRefused as refused:
                return _Robots(None, refused.reason, refused=True)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                return _Robots(None, self._error_reason(exc))
            parser = RobotFileParser(url)
            parser.parse(body.decode("utf-8", errors="replace").splitlines())
            delay = parser.crawl_delay(self.c.user_agent)
            return _Robots(parser, crawl_delay=min(float(delay or 0), MAX_CRAWL_DELAY))
        return _Robots(None, "too many redirects")

    # --- HTTP ---

    def _get(self, url: str, limit: int, check: Callable[[httpx.Response], None], *, dedupe: bool = True) -> _Response:
        """GET with same-site redirects, robots.txt and size limit; raises _Failure / _Duplicate."""
        current = url
        chain = {url}
        for hop in range(MAX_REDIRECTS + 1):
            site = site_of(current)
            if site not in self.sites:
                raise _Failure("redirect to another site" if hop else "not same site")
            robots = self._robots_for(site)
            if robots.refused:
                raise _Failure(robots.unreachable or "refused by the outbound policy")
            if robots.unreachable:
                raise _Failure(f"robots.txt unreachable ({robots.unreachable})")
            if robots.parser and not robots.parser.can_fetch(self.c.user_agent, current):
                raise _Failure("disallowed by robots.txt")
            if dedupe:
                if current in self.requested:
                    raise _Duplicate
                self.requested.add(current)
            try:
                with self._stream(current) as response:
                    location = response.headers.get("location")
                    if response.status_code in REDIRECT_STATUSES and location:
                        target = normalise_url(location, current)
                        if target is None:
                            raise _Failure(f"redirect to an invalid URL ({_one_line(location, 100)})")
                        if target in chain:
                            raise _Failure("redirect loop")
                        chain.add(target)
                        current = target
                        continue
                    check(response)
                    body = self._read(response, limit)
                    return _Response(current, response.status_code, response.headers, body)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise _Failure(self._error_reason(exc)) from None
        raise _Failure("too many redirects")

    @contextmanager
    def _stream(self, url: str) -> Iterator[httpx.Response]:
        """One rate-limited GET; the pause counts from the end of the previous request to the same host."""
        host = urlsplit(url).hostname or ""
        robots = self.robots.get(site_of(url))
        delay = max(self.c.delay_seconds, robots.crawl_delay if robots else 0.0)
        last = self.last_request.get(host)
        if last is not None:
            while (remaining := last + delay - time.monotonic()) > 0:
                time.sleep(remaining)
        try:
            with self.client.stream("GET", url, headers={"User-Agent": self.c.user_agent},
                                    timeout=self.c.timeout_seconds, follow_redirects=False) as response:
                yield response
        finally:
            self.last_request[host] = time.monotonic()

    def _read(self, response: httpx.Response, limit: int, *, truncate: bool = False) -> bytes:
        """The body, at most ``limit`` bytes (decoded); too large or too slow raises _Failure."""
        too_large = _Failure(f"too large (> {_size(limit)})")
        declared = response.headers.get("content-length", "")
        if not truncate and declared.isdigit() and int(declared) > limit:
            raise too_large
        deadline = time.monotonic() + self.c.timeout_seconds
        chunks: list[bytes] = []
        total = 0
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > limit:
                if truncate:
                    chunks.append(chunk[: limit - (total - len(chunk))])
                    break
                raise too_large
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise _Failure(self._timeout_reason())
        return b"".join(chunks)

    def _timeout_reason(self) -> str:
        return f"timeout after {self.c.timeout_seconds:g} s"

    def _error_reason(self, exc: Exception) -> str:
        if isinstance(exc, OutboundRefused):
            return exc.reason
        if isinstance(exc, httpx.TimeoutException):
            return self._timeout_reason()
        text = _one_line(str(exc)) or type(exc).__name__
        if isinstance(exc, httpx.ConnectError):
            return "connection refused" if "refused" in text.lower() else f"connection failed ({text})"
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
            return f"invalid URL ({text})"
        return f"request failed ({type(exc).__name__}: {text})"
