"""Request body limits per route class, counted on the stream (issue 13: chunked bodies passed the limit).

Chunked transfer encoding needs a real HTTP server: uvicorn on loopback in a thread (tests/browser.py), with
httpx sending a generator body (which httpx sends chunked, without Content-Length).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from browser import live_server
from rathaus.api import body_limits
from rathaus.api.middleware import GuardAndMeasure
from rathaus.app import create_app
from rathaus.core.settings import Settings
from rathaus.runtime import Runtime

PROBLEMS = "https://rathaus.example/problems/"
CHUNK = 64 * 1024


class CountingApp:
    """ASGI wrapper that counts the body bytes the application pulled from the server."""

    def __init__(self, app):
        self.app = app
        self.read = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.read += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


@pytest.fixture
def server(make_settings: Callable[..., Settings]) -> Iterator[tuple[Runtime, CountingApp, str]]:
    """A live server whose uploads may have 1 MB per file (so the upload request limit is 2 MB)."""
    runtime = Runtime(make_settings(upload_max_mb=1))
    app = CountingApp(create_app(runtime))
    try:
        with live_server(runtime, app) as url:
            yield runtime, app, url
    finally:
        runtime.close()


def chunks(total: int, piece: bytes = b"a") -> Iterator[bytes]:
    block = piece * CHUNK
    sent = 0
    while sent < total:
        n = min(CHUNK, total - sent)
        yield block[:n]
        sent += n


def multipart(name: str, size: int, boundary: str = "rathaus-test-boundary") -> tuple[Iterator[bytes], str]:
    def body() -> Iterator[bytes]:
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
               "Content-Type: text/plain\r\n\r\n").encode()
        yield from chunks(size, b"Ein Satz aus dem Amtsblatt. ")
        yield f"\r\n--{boundary}--\r\n".encode()

    return body(), f"multipart/form-data; boundary={boundary}"


def count(runtime: Runtime, table: str) -> int:
    with runtime.db.engine.connect() as conn:
        return conn.scalar(sa.text(f"SELECT count(*) FROM {table}"))


def assert_413(resp: httpx.Response, limit: int, setting: str) -> dict:
    assert resp.status_code == 413, resp.text[:300]
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["type"] == PROBLEMS + "request-too-large" and body["status"] == 413 and body["limit"] == limit
    assert f"at most {limit} bytes" in body["detail"] and setting in body["detail"]
    return body


def test_upload_routes_are_found_from_their_parameters(client: TestClient) -> None:
    """Every route that takes files is in the upload class, and nothing else is."""
    found = {r.path for r in body_limits.upload_routes(client.app.routes)}
    assert found == {"/api/v1/chats/{chat_id}/documents", "/api/v1/collections/{name}/documents",
                     "/api/v1/traffic/imports", "/api/v1/library/imports", "/api/v1/checks/packets",
                     "/api/v1/checks/applications/{application_id}/uploads", "/antrag/{type_id}/hochladen"}


def test_chunked_upload_over_the_limit_is_refused_and_nothing_is_stored(server, caplog) -> None:
    runtime, app, url = server
    limit = body_limits.upload_limit(runtime.settings)
    assert limit == 2_000_000
    with httpx.Client(base_url=url, timeout=60) as http:
        chat = http.post("/api/v1/chats", json={"title": "Akten"}).json()
        body, content_type = multipart("amtsblatt.txt", 6_000_000)
        with caplog.at_level(logging.ERROR):
            resp = http.post(f"/api/v1/chats/{chat['id']}/documents", content=body,
                             headers={"content-type": content_type})
        assert "content-length" not in resp.request.headers  # it was sent chunked
        assert_413(resp, limit, "RATHAUS_UPLOAD_MAX_MB")
        assert resp.headers["x-content-type-options"] == "nosniff"
    assert app.read <= limit + 1_000_000  # reading stopped at the limit, not at 6 MB
    for table in ("kb_documents", "kb_chunks", "kb_collections"):
        assert count(runtime, table) == 0, table
    with runtime.db.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT collection_id FROM chats")) is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text  # one response, no errors


def test_chunked_json_is_cut_off_at_the_limit(server, caplog) -> None:
    """30 MB of chunked JSON: 413 as soon as 2 MB have arrived; the rest is never read into the application."""
    runtime, app, url = server
    limit = runtime.settings.max_request_bytes

    def body() -> Iterator[bytes]:
        yield b'{"model": "local-chat", "messages": [{"role": "user", "content": "'
        yield from chunks(30_000_000)
        yield b'"}]}'

    t0 = time.perf_counter()
    with caplog.at_level(logging.ERROR), httpx.Client(base_url=url, timeout=60) as http:
        resp = http.post("/v1/chat/completions", content=body(), headers={"content-type": "application/json"})
    assert "content-length" not in resp.request.headers
    assert_413(resp, limit, "RATHAUS_MAX_REQUEST_BYTES")
    assert time.perf_counter() - t0 < 30
    assert app.read <= limit + 1_000_000, app.read
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_chunked_body_below_the_limit_still_works(server) -> None:
    _, _, url = server
    with httpx.Client(base_url=url, timeout=60) as http:
        resp = http.post("/api/v1/chats", content=iter([b'{"title": ', '"Gestückelt"}'.encode()]),
                         headers={"content-type": "application/json"})
    assert resp.status_code == 201 and resp.json()["title"] == "Gestückelt"


def test_json_over_its_limit_is_refused_even_as_multipart(client: TestClient) -> None:
    """The class follows the route, not the Content-Type: a JSON route never takes upload-sized bodies."""
    body = assert_413(client.post("/v1/chat/completions", content=b"x" * 2_100_000,
                                  headers={"content-type": "application/json"}), 2_000_000,
                      "RATHAUS_MAX_REQUEST_BYTES")
    assert body["instance"] == "/v1/chat/completions"
    assert_413(client.post("/v1/chat/completions", files={"f": ("a.txt", b"x" * 2_100_000, "text/plain")}),
               2_000_000, "RATHAUS_MAX_REQUEST_BYTES")


def test_an_application_that_swallows_the_error_still_answers_413(make_settings: Callable[..., Settings]) -> None:
    """Exactly one response: whatever the application answers to a cut-off body is replaced by the 413."""
    settings = make_settings(max_request_bytes=1024)
    inner = FastAPI()

    @inner.post("/echo")
    async def echo(request: Request) -> dict:
        try:
            return {"n": len(await request.body())}
        except Exception:
            return {"swallowed": True}

    with TestClient(GuardAndMeasure(inner, settings=lambda: settings, routes=lambda: inner.routes)) as c:
        assert c.post("/echo", content=b"x" * 1000).json() == {"n": 1000}
        assert_413(c.post("/echo", content=iter([b"x" * 800, b"x" * 800])), 1024, "RATHAUS_MAX_REQUEST_BYTES")
        assert_413(c.post("/echo", content=b"x" * 1025), 1024, "RATHAUS_MAX_REQUEST_BYTES")


def test_upload_of_5_mb_with_content_length_is_accepted(client: TestClient, runtime: Runtime) -> None:
    """The documented upload limit (20 MB per file) holds, not the 2 MB request limit."""
    chat = client.post("/api/v1/chats", json={"title": "Großes Dokument"}).json()
    filler = "var x = 1;\n" * 500_000  # script text: bulk that extraction drops, so indexing stays quick
    page = (f"<html><head><title>Satzung</title><script>{filler}</script></head><body>"
            "<h1>Satzung über die Benutzung der Stadtbibliothek</h1>"
            "<p>Die Stadtbibliothek ist montags bis freitags von 10 bis 19 Uhr geöffnet.</p></body></html>").encode()
    assert 5_000_000 < len(page) < 20_000_000
    resp = client.post(f"/api/v1/chats/{chat['id']}/documents",
                       files=[("files", ("satzung.html", page, "text/html"))])
    assert resp.status_code == 200, resp.text[:500]
    assert resp.json()["counts"]["added"] == 1
    assert count(runtime, "kb_documents") == 1 and count(runtime, "kb_chunks") >= 1
    # the upload limit follows the setting: 21 MB of files with the default 20 MB is one request too many
    big = client.post(f"/api/v1/chats/{chat['id']}/documents", content=b"x" * 21_100_000,
                      headers={"content-type": "multipart/form-data; boundary=x"})
    assert_413(big, 21_000_000, "RATHAUS_UPLOAD_MAX_MB")
