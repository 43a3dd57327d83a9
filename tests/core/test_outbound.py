"""Server-side request forgery: every fetch the platform makes for a user obeys the outbound policy.

A local server on 127.0.0.1 plays an internal page with a password on it. DNS answers are simulated by
replacing ``socket.getaddrinfo`` for made-up names; every TCP connection these tests open goes to loopback
(an autouse guard fails any other), so nothing here contacts the internet.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from oidc import Issuer
from rathaus.app import create_app
from rathaus.core.jobs import EmbeddedWorker
from rathaus.core.outbound import GuardedBackend, OutboundPolicy, OutboundRefused, classify
from rathaus.core.settings import Settings
from rathaus.knowledge.crawler import Crawler
from rathaus.runtime import Runtime

SECRET = "Interne Zugangsdaten des Fachverfahrens: Passwort Sommer2024, nur für die IT-Leitstelle."
HINT = "allow it with RATHAUS_OUTBOUND_ALLOW"
PUBLIC_IP = "93.184.215.14"  # a public address; never connected to (the guard below fails such a connection)
_real_getaddrinfo = socket.getaddrinfo
_real_create_connection = socket.create_connection


class Internal:
    """An internal web server on loopback: /index.html is the secret page, /weiter redirects to ``target``."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.target: str | None = None
        server_self = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server_self.log.append(self.path)
                if self.path == "/index.html":
                    body = (f"<html lang=de><head><title>Intranet</title></head><body><main><h1>Zugang</h1>"
                            f"<p>{SECRET}</p></main></body></html>").encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif self.path == "/info.html":
                    body = b"<html lang=de><head><title>Info</title></head><body><main><h1>Kantine</h1><p>Die " \
                           b"Kantine hat montags bis freitags von 11 bis 14 Uhr geoeffnet.</p></main></body></html>"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif self.path == "/weiter" and server_self.target:
                    self.send_response(302)
                    self.send_header("Location", server_self.target)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str = "/index.html", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def pages(self) -> list[str]:
        return [p for p in self.log if p != "/robots.txt"]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def internal() -> Iterator[Internal]:
    server = Internal()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every TCP connection of these tests must go to loopback; anything else fails the test at once."""
    connected: list[tuple[str, int]] = []

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        connected.append((address[0], address[1]))
        try:
            kind = classify(address[0])
        except ValueError:  # a name: the guarded backend only ever connects to addresses
            kind = None
        if kind is None or not kind.startswith("loopback"):
            raise AssertionError(f"test tried to connect to {address}")
        return _real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    return connected


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[str]]:
    """``dns(name, *addresses)`` makes ``name`` resolve to ``addresses`` (in order; none: unknown name) without
    asking a DNS server; returns the lookup log."""
    names: dict[str, tuple[str, ...]] = {}
    looked_up: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if isinstance(host, str) and host.lower() in names:
            looked_up.append(host)
            if not names[host.lower()]:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            out = []
            for address in names[host.lower()]:
                family = socket.AF_INET6 if ":" in address else socket.AF_INET
                sockaddr = (address, int(port or 0), 0, 0) if family == socket.AF_INET6 else (address, int(port or 0))
                out.append((family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
            return out
        return _real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    def register(name: str, *addresses: str) -> list[str]:
        names[name.lower()] = addresses
        return looked_up

    return register


def reasons(crawler: Crawler, *urls: str) -> dict[str, str]:
    result = crawler.crawl(list(urls))
    assert result.pages == [], [p.url for p in result.pages]
    return {p.url: p.reason for p in result.problems}


# --- (a) the attack over the API ----------------------------------------------------------------------------

def bearer(issuer: Issuer, **kw: Any) -> dict[str, str]:
    return {"Authorization": "Bearer " + issuer.token(**kw)}


@pytest.fixture
def api(make_settings: Callable[..., Settings], issuer: Issuer) -> Iterator[Callable[..., tuple[TestClient, Runtime]]]:
    made: list[tuple[TestClient, Runtime, EmbeddedWorker]] = []

    def make(**overrides: Any) -> tuple[TestClient, Runtime]:
        rt = Runtime(make_settings(**issuer.settings(), **overrides))
        client = TestClient(create_app(rt))
        client.__enter__()
        worker = EmbeddedWorker(rt, periodic=False).start()  # runs the ingest jobs the API queues
        made.append((client, rt, worker))
        return client, rt

    yield make
    for client, rt, worker in made:
        worker.stop()
        client.__exit__(None, None, None)
        rt.close()


def finished_run(rt: Runtime, collection: str, timeout: float = 120) -> tuple[str, list[dict[str, Any]]]:
    """Status and stored report of the collection's ingest run, once the background job has finished it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with rt.db.engine.connect() as conn:
            row = conn.execute(sa.text(
                "SELECT r.status, r.report FROM kb_ingest_runs r JOIN kb_collections c ON c.id = r.collection_id "
                "WHERE c.name = :name"), {"name": collection}).one_or_none()
        if row is not None and row.status != "running":
            return row.status, row.report
        time.sleep(0.2)
    raise AssertionError(f"the ingest into {collection} did not finish within {timeout} s")


def test_url_ingest_needs_the_editor_role(api, issuer: Issuer, internal: Internal) -> None:
    client, _ = api()
    user = bearer(issuer, sub="u1", department="KVR", roles=[])
    assert client.post("/api/v1/collections", headers=user, json={"name": "x", "visibility": "private"}
                       ).status_code == 201
    refused = client.post("/api/v1/collections/x/ingest", headers=user, json={"urls": [internal.url()]})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["type"] == "https://rathaus.example/problems/forbidden"
    assert problem["detail"] == "ingesting web pages (urls, sitemap) needs the role kb-editor or admin"
    # creating a collection with web sources (re-read by the scheduled refresh) needs the role as well
    with_sources = client.post("/api/v1/collections", headers=user, json={
        "name": "y", "visibility": "private", "sitemap": internal.url("/sitemap.xml")})
    assert with_sources.status_code == 403 and "kb-editor" in with_sources.json()["detail"]
    assert client.get("/api/v1/collections/y", headers=user).status_code == 404
    time.sleep(0.3)  # a background crawl would have reached the server by now
    assert internal.log == []
    hits = client.get("/api/v1/search", params={"q": "Passwort", "collection": "x"}, headers=user).json()["hits"]
    assert hits == []


def test_editor_ingest_of_a_loopback_url_is_refused(api, issuer: Issuer, internal: Internal) -> None:
    client, rt = api()
    editor = bearer(issuer, sub="e1", department="KVR", roles=["kb-editor"])
    assert client.post("/api/v1/collections", headers=editor, json={"name": "x", "visibility": "private"}
                       ).status_code == 201
    started = client.post("/api/v1/collections/x/ingest", headers=editor, json={"urls": [internal.url()]})
    assert started.status_code == 202
    status, report = finished_run(rt, "x")
    assert status == "done"
    assert report == [{"source": internal.url(), "status": "failed", "chunks": 0, "pages": 0,
                       "detail": f"address 127.0.0.1 is not public (loopback); {HINT}"}]
    assert internal.log == []  # not even robots.txt was requested
    hits = client.get("/api/v1/search", params={"q": "Passwort", "collection": "x"}, headers=editor).json()["hits"]
    assert hits == []


def test_operator_allow_list_lets_the_editor_ingest_the_intranet(api, issuer: Issuer, internal: Internal) -> None:
    """The control for the test above: the same request with loopback allow-listed finds the page."""
    client, rt = api(outbound_allow=["127.0.0.0/8"])
    editor = bearer(issuer, sub="e1", department="KVR", roles=["kb-editor"])
    client.post("/api/v1/collections", headers=editor, json={"name": "intranet", "visibility": "private"})
    assert client.post("/api/v1/collections/intranet/ingest", headers=editor,
                       json={"urls": [internal.url()]}).status_code == 202
    status, report = finished_run(rt, "intranet")
    assert status == "done" and [(i["source"], i["status"]) for i in report] == [(internal.url(), "added")]
    hits = client.get("/api/v1/search", params={"q": "Passwort", "collection": "intranet"},
                      headers=editor).json()["hits"]
    assert hits and "Sommer2024" in hits[0]["text"]


def test_scheduled_refresh_obeys_the_policy(runtime: Runtime, internal: Internal) -> None:
    from rathaus.core.auth import Principal
    from rathaus.knowledge import collections
    from rathaus.knowledge.refresh import refresh_collection

    admin = Principal(id="admin", kind="user", department="IT", roles=frozenset({"admin"}))
    with runtime.db.session() as s:
        collections.create(s, admin, "web", sources={"urls": [internal.url()]},
                           refresh_hours=24)
    report = refresh_collection(runtime, admin, "web")
    assert [(i.source, i.status, i.detail) for i in report.items] == [
        (internal.url(), "failed", f"address 127.0.0.1 is not public (loopback); {HINT}")]
    assert internal.log == []


def test_refresh_keeps_documents_of_a_site_that_is_no_longer_allowed(make_settings, dns, internal: Internal) -> None:
    """Withdrawing an allow-list entry must not look like the pages vanished: nothing is deleted."""
    from rathaus.core.auth import Principal
    from rathaus.knowledge import collections
    from rathaus.knowledge.refresh import refresh_collection

    dns("intranet.stadt.example", "127.0.0.1")
    admin = Principal(id="admin", kind="user", department="IT", roles=frozenset({"admin"}))
    urls = [internal.url(), internal.url("/info.html", host="intranet.stadt.example")]
    before = make_settings(outbound_allow=["127.0.0.1", "intranet.stadt.example"])
    with Runtime(before) as rt:
        with rt.db.session() as s:
            collections.create(s, admin, "web", sources={"urls": urls, "delay_seconds": 0},
                               refresh_hours=24)
        assert refresh_collection(rt, admin, "web").counts["added"] == 2
    after = make_settings(database_name=before.database_name, outbound_allow=["intranet.stadt.example"])
    with Runtime(after) as rt:
        report = refresh_collection(rt, admin, "web")
        assert [(i.source, i.status) for i in report.items] == [(urls[0], "failed"), (urls[1], "unchanged")]
        assert report.counts["removed"] == 0
        with rt.db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM kb_documents")) == 2


# --- (b) names and address spellings that lead to loopback --------------------------------------------------

def test_public_looking_name_resolving_to_loopback_is_refused(dns, internal: Internal) -> None:
    dns("portal.stadt.example", "127.0.0.1")
    url = internal.url(host="portal.stadt.example")
    assert reasons(Crawler(delay_seconds=0), url) == {
        url: f"portal.stadt.example resolves to 127.0.0.1, which is not public (loopback); {HINT}"}
    assert internal.log == []


def test_localhost_and_other_spellings_of_loopback_are_refused(internal: Internal) -> None:
    crawler = Crawler(delay_seconds=0)
    found = reasons(crawler, internal.url(host="localhost"), internal.url(host="[::ffff:127.0.0.1]"),
                    internal.url(host="127.1.2.3"), internal.url(host="0.0.0.0"))
    assert found[internal.url(host="localhost")].startswith("localhost resolves to ")
    assert found[internal.url(host="localhost")].endswith(f"which is not public (loopback); {HINT}")
    assert found[internal.url(host="[::ffff:127.0.0.1]")] == (
        f"address ::ffff:127.0.0.1 is not public (loopback, as IPv4-mapped IPv6); {HINT}")
    assert found[internal.url(host="127.1.2.3")] == f"address 127.1.2.3 is not public (loopback); {HINT}"
    assert found[internal.url(host="0.0.0.0")] == f"address 0.0.0.0 is not public (unspecified); {HINT}"
    assert internal.log == []


# --- (c) redirects ------------------------------------------------------------------------------------------

def test_redirect_from_an_allowed_host_to_loopback_is_refused(dns, internal: Internal) -> None:
    secret = Internal()
    try:
        dns("cms.stadt.example", "127.0.0.1")
        internal.target = secret.url()  # the allow-listed CMS redirects to another port on loopback
        policy = OutboundPolicy(("cms.stadt.example",))
        start = internal.url("/weiter", host="cms.stadt.example")
        with policy.client(follow_redirects=True) as client, pytest.raises(OutboundRefused) as refused:
            client.get(start)
        assert refused.value.reason == f"address 127.0.0.1 is not public (loopback); {HINT}"
        assert isinstance(refused.value, httpx.HTTPError)  # callers that catch httpx errors catch it too
        # the crawler refuses the redirect to another site before it even connects
        assert reasons(Crawler(delay_seconds=0, outbound=policy), start) == {start: "redirect to another site"}
        assert internal.log.count("/weiter") == 2 and secret.log == []
    finally:
        secret.close()


def test_redirect_to_a_name_that_resolves_to_loopback_is_refused(dns, internal: Internal) -> None:
    dns("cms.stadt.example", "127.0.0.1")
    dns("evil.example", "127.0.0.1")
    internal.target = internal.url(host="evil.example")  # same server, other name: only the CMS name is allowed
    policy = OutboundPolicy(("cms.stadt.example",))
    with policy.client(follow_redirects=True) as client, pytest.raises(OutboundRefused) as refused:
        client.get(internal.url("/weiter", host="cms.stadt.example"))
    assert refused.value.reason == f"evil.example resolves to 127.0.0.1, which is not public (loopback); {HINT}"
    assert internal.log == ["/weiter"]


# --- (d) several addresses ----------------------------------------------------------------------------------

def test_name_with_one_public_and_one_private_address_is_refused(dns, loopback_only, internal: Internal) -> None:
    looked_up = dns("zwei.stadt.example", PUBLIC_IP, "127.0.0.1")
    url = internal.url(host="zwei.stadt.example")
    assert reasons(Crawler(delay_seconds=0), url) == {
        url: f"zwei.stadt.example resolves to 127.0.0.1, which is not public (loopback); {HINT}"}
    assert looked_up == ["zwei.stadt.example"] and loopback_only == [] and internal.log == []
    dns("drei.stadt.example", PUBLIC_IP, "10.1.2.3")
    with pytest.raises(OutboundRefused, match=r"drei.stadt.example resolves to 10.1.2.3, which is not public "
                                              r"\(private\)"):
        OutboundPolicy().resolve("drei.stadt.example", 443)


# --- (e) the allow-list -------------------------------------------------------------------------------------

@pytest.mark.parametrize("allow", [("127.0.0.0/8",), ("127.0.0.1",), ("intranet.stadt.example",),
                                   ("*.stadt.example",), ("10.0.0.0/8", "INTRANET.Stadt.Example.")])
def test_allow_list_by_range_and_by_name(dns, internal: Internal, allow: tuple[str, ...]) -> None:
    dns("intranet.stadt.example", "127.0.0.1")
    url = internal.url(host="intranet.stadt.example")
    result = Crawler(delay_seconds=0, outbound=OutboundPolicy(allow)).crawl([url])
    assert [p.url for p in result.pages] == [url] and result.problems == []
    assert SECRET.encode() in result.pages[0].body


def test_allowed_name_does_not_allow_other_names_or_the_address(dns, internal: Internal) -> None:
    dns("intranet.stadt.example", "127.0.0.1")
    dns("stadt.example.evil.example", "127.0.0.1")
    crawler = Crawler(delay_seconds=0, outbound=OutboundPolicy(("*.stadt.example",)))
    other, literal = internal.url(host="stadt.example.evil.example"), internal.url()
    assert reasons(crawler, other, literal) == {
        other: f"stadt.example.evil.example resolves to 127.0.0.1, which is not public (loopback); {HINT}",
        literal: f"address 127.0.0.1 is not public (loopback); {HINT}"}


def test_public_addresses_are_allowed_without_configuration(dns) -> None:
    dns("www.muenchen.example", PUBLIC_IP, "2a00:1450:4001:82a::2004")
    assert OutboundPolicy().resolve("www.muenchen.example", 443) == [PUBLIC_IP, "2a00:1450:4001:82a::2004"]
    assert OutboundPolicy().refusal(PUBLIC_IP, PUBLIC_IP) is None


def test_connects_to_the_checked_address_not_to_a_new_dns_answer(dns, loopback_only, internal: Internal) -> None:
    """DNS rebinding: the name is resolved once; the connection goes to the address that was checked."""
    looked_up = dns("wechsel.stadt.example", "127.0.0.1")
    backend = GuardedBackend(OutboundPolicy(("127.0.0.0/8",)))
    stream = backend.connect_tcp("wechsel.stadt.example", internal.port, timeout=5)
    stream.close()
    assert looked_up == ["wechsel.stadt.example"]
    assert loopback_only == [("127.0.0.1", internal.port)]  # the address, not the name


def test_unix_sockets_and_unknown_names(dns) -> None:
    backend = GuardedBackend(OutboundPolicy())
    with pytest.raises(OutboundRefused, match="Unix sockets"):
        backend.connect_unix_socket("/run/docker.sock")
    dns("gibt-es-nicht.invalid")
    result = Crawler(delay_seconds=0).crawl(["http://gibt-es-nicht.invalid/"])
    assert result.problems[0].reason.startswith("robots.txt unreachable (connection failed (host "
                                                "gibt-es-nicht.invalid not found")


# --- (f) the address classifier -----------------------------------------------------------------------------

@pytest.mark.parametrize(("address", "kind"), [
    ("10.0.0.1", "private"), ("10.255.255.255", "private"),
    ("172.16.0.1", "private"), ("172.31.255.254", "private"),
    ("192.168.0.1", "private"),
    ("169.254.169.254", "link-local"),  # cloud metadata services
    ("100.64.0.1", "shared address space"), ("100.127.255.254", "shared address space"),
    ("127.0.0.1", "loopback"), ("::1", "loopback"),
    ("fe80::1", "link-local"), ("fe80::1%2", "link-local"),
    ("fc00::1", "private"), ("fd12:3456::1", "private"),
    ("::ffff:127.0.0.1", "loopback, as IPv4-mapped IPv6"), ("::ffff:10.0.0.1", "private, as IPv4-mapped IPv6"),
    ("64:ff9b::7f00:1", "loopback, as NAT64 IPv6"), ("2002:a9fe:a9fe::1", "link-local, as 6to4 IPv6"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"), ("255.255.255.255", "reserved"),
    ("192.0.2.1", "private"),  # documentation range
])
def test_classifier_refuses_non_public_ranges(address: str, kind: str) -> None:
    assert classify(address) == kind


@pytest.mark.parametrize("address", [PUBLIC_IP, "8.8.8.8", "172.32.0.1", "100.128.0.1", "2a00:1450:4001::1",
                                     "::ffff:8.8.8.8"])
def test_classifier_accepts_public_addresses(address: str) -> None:
    assert classify(address) is None


# --- settings and the CLI -----------------------------------------------------------------------------------

def test_setting_takes_a_list_or_json_and_names_a_bad_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATHAUS_OUTBOUND_ALLOW", "intranet.stadt.de, 10.20.0.0/16 *.intern.stadt.de")
    assert Settings(_env_file=None).outbound_allow == ["intranet.stadt.de", "10.20.0.0/16", "*.intern.stadt.de"]
    monkeypatch.setenv("RATHAUS_OUTBOUND_ALLOW", '["localhost", "::1"]')
    assert OutboundPolicy.from_settings(Settings(_env_file=None)).allow == ("localhost", "::1")
    monkeypatch.setenv("RATHAUS_OUTBOUND_ALLOW", "http://intranet.stadt.de/")
    with pytest.raises(ValueError, match=r"'http://intranet\.stadt\.de/' is neither a host name"):
        Settings(_env_file=None)
    monkeypatch.delenv("RATHAUS_OUTBOUND_ALLOW")
    assert Settings(_env_file=None).outbound_allow == []


def test_cli_ingest_refuses_loopback_unless_allow_listed(make_settings, tmp_path: Path, internal: Internal) -> None:
    settings = make_settings()
    src = str(Path(__file__).resolve().parents[2] / "src")

    def cli(*args: str, **env: str) -> subprocess.CompletedProcess:
        base = {k: v for k, v in os.environ.items() if not k.startswith("RATHAUS_")}
        base.update({"RATHAUS_DATA_DIR": str(settings.data_dir), "RATHAUS_DATABASE_NAME": settings.database_name,
                     "RATHAUS_MODELS_FILE": str(settings.models_file), "RATHAUS_CACHE_DIR": str(settings.cache_dir),
                     "COLUMNS": "200", "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])})
        base.update(env)
        return subprocess.run([sys.executable, "-m", "rathaus.cli", *args], capture_output=True, text=True,
                              env=base, cwd=tmp_path, timeout=600)

    assert cli("kb", "create", "intranet").returncode == 0
    refused = cli("kb", "ingest", "intranet", "--url", internal.url(), "--delay", "0")
    assert refused.returncode == 1
    assert f"failed: {internal.url()}: address 127.0.0.1 is not public (loopback); {HINT}" in refused.stderr
    assert internal.log == []
    allowed = cli("kb", "ingest", "intranet", "--url", internal.url(), "--delay", "0",
                  RATHAUS_OUTBOUND_ALLOW="127.0.0.1")
    assert allowed.returncode == 0 and "1 added" in allowed.stdout, allowed.stderr
    assert internal.pages == ["/index.html"]
