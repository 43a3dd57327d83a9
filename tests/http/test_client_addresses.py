"""Who the client is: forwarded headers only from trusted proxies, and the public rate limits built on it
(per client, plus a cap per assistant over all clients)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import httpx
import pydantic
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from conftest import free_port, wait_for_a_fresh_rate_window
from rathaus.app import create_app
from rathaus.commands import run as run_command
from rathaus.core import ratelimit
from rathaus.core.errors import PROBLEM_BASE
from rathaus.core.settings import Settings
from rathaus.http import clients
from rathaus.runtime import Runtime

ASK = "/public/assistants/ki-roadmap/ask"
EMPTY = {"question": "  "}  # counted, then refused with 400 before any model runs
PROXY = "10.20.30.40"


def ask(client: TestClient | httpx.Client, forwarded_for: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post(ASK, json=EMPTY, headers=headers)


def assert_limited(resp: httpx.Response, scope: str) -> None:
    assert resp.status_code == 429, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert int(resp.headers["retry-after"]) >= 1
    body = resp.json()
    assert body["type"] == PROBLEM_BASE + "rate-limited" and body["limit_scope"] == scope


@pytest.fixture
def limited_runtime(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., Runtime]]:
    """Runtimes whose public assistants take 3 questions per client and minute."""
    made: list[Runtime] = []

    def make(**overrides: Any) -> Runtime:
        wait_for_a_fresh_rate_window()
        rt = Runtime(make_settings(**{"widget_client_limit_per_minute": 3, **overrides}))
        made.append(rt)
        return rt

    yield make
    for rt in made:
        rt.close()


@pytest.fixture
def behind_proxy(limited_runtime: Callable[..., Runtime]) -> Iterator[Callable[..., TestClient]]:
    """Test clients whose socket peer is the reverse proxy at PROXY, which rathaus is told to trust."""
    opened: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        rt = limited_runtime(**{"trusted_proxies": [PROXY], **overrides})
        c = TestClient(create_app(rt), client=(PROXY, 41000))
        c.__enter__()
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.__exit__(None, None, None)


# --- no trusted proxy: forwarded headers are the client's own words ---------------------------------------
def test_spoofed_forwarded_for_without_a_trusted_proxy_shares_one_bucket(limited_runtime) -> None:
    with TestClient(create_app(limited_runtime())) as c:
        assert [ask(c, f"203.0.113.{i}").status_code for i in range(3)] == [400, 400, 400]
        assert_limited(ask(c, "203.0.113.99"), "client")
        assert_limited(ask(c), "client")


def test_a_peer_that_is_not_a_trusted_proxy_cannot_spoof_even_when_others_are_trusted(limited_runtime) -> None:
    rt = limited_runtime(trusted_proxies=["10.0.0.0/8"])
    with TestClient(create_app(rt), client=("198.51.100.5", 5000)) as c:
        assert [ask(c, f"10.9.9.{i}").status_code for i in range(3)] == [400, 400, 400]
        assert_limited(ask(c, "203.0.113.1"), "client")


@contextmanager
def served_like_rathaus_serve(monkeypatch: pytest.MonkeyPatch, runtime: Runtime, command: str) -> Iterator[str]:
    """Run the app in a real uvicorn with exactly the arguments ``rathaus serve``/``up`` give it."""
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append((a, kw)))
    monkeypatch.setattr(run_command, "get_settings", lambda: runtime.settings)
    monkeypatch.setattr(run_command, "Runtime", lambda settings: runtime)
    monkeypatch.setattr(run_command, "ensure_default_model", lambda settings: None)
    monkeypatch.setattr(runtime.gateway, "warm_up", lambda: None)
    monkeypatch.setattr(runtime, "close", lambda: None)
    monkeypatch.setattr(runtime.db, "supervise", lambda: None)  # the shared test server is the session's to stop
    monkeypatch.setattr("rathaus.core.jobs.EmbeddedWorker", lambda *a, **kw: SimpleNamespace(
        start=lambda: None, stop=lambda: None))
    monkeypatch.setattr("rathaus.knowledge.samples.ensure_samples", lambda *a, **kw: SimpleNamespace(
        counts={"added": 0, "updated": 0, "unchanged": 3}))
    monkeypatch.setattr("rathaus.library.demo.ensure_samples", lambda *a, **kw: {"imported": False, "trained": None})
    port = free_port()
    if command == "up":
        run_command.up(host="127.0.0.1", port=port)
    else:
        run_command.serve(host="127.0.0.1", port=port, workers=1)
    (app,), kwargs = calls[0]
    server = uvicorn.Server(uvicorn.Config(app, **kwargs))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.parametrize("command", ["serve", "up"])
def test_rathaus_serve_does_not_believe_forwarded_headers_from_loopback(
        monkeypatch: pytest.MonkeyPatch, limited_runtime, command: str) -> None:
    """uvicorn on its own trusts X-Forwarded-For from 127.0.0.1: 25 asks with 25 made-up addresses all passed."""
    rt = limited_runtime()
    with served_like_rathaus_serve(monkeypatch, rt, command) as url, httpx.Client(base_url=url) as c:
        statuses = [ask(c, f"203.0.113.{i}").status_code for i in range(25)]
    assert statuses[:3] == [400, 400, 400] and set(statuses[3:]) == {429}


def test_serve_with_several_workers_switches_uvicorns_proxy_handling_off(monkeypatch, make_settings) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: calls.append(kw))
    monkeypatch.setattr(run_command, "get_settings", lambda: make_settings())
    run_command.serve(host="127.0.0.1", port=free_port(), workers=2)
    assert calls[0]["factory"] is True and calls[0]["proxy_headers"] is False


# --- behind a trusted proxy -----------------------------------------------------------------------------
def test_clients_behind_a_trusted_proxy_get_their_own_buckets(behind_proxy) -> None:
    c = behind_proxy()
    assert [ask(c, "198.51.100.7").status_code for _ in range(3)] == [400, 400, 400]
    assert_limited(ask(c, "198.51.100.7"), "client")
    assert ask(c, "198.51.100.8").status_code == 400  # another citizen is not blocked
    assert ask(c, "2001:db8:1:2::9").status_code == 400


def test_a_spoofed_left_entry_behind_a_trusted_proxy_does_not_make_a_new_bucket(behind_proxy) -> None:
    """The proxy appends the address it saw; what the client wrote stands left of it and does not count."""
    c = behind_proxy()
    spoofed = [ask(c, f"192.0.2.{i}, 198.51.100.7").status_code for i in range(3)]
    assert spoofed == [400, 400, 400]
    assert_limited(ask(c, "192.0.2.200, 198.51.100.7"), "client")
    assert_limited(ask(c, "198.51.100.7"), "client")


def test_trusted_hops_are_skipped_from_the_right(limited_runtime) -> None:
    rt = limited_runtime(trusted_proxies=["10.0.0.0/8"])  # e.g. an ingress controller's pod network
    with TestClient(create_app(rt), client=("10.1.0.2", 5000)) as c:
        assert [ask(c, f"192.0.2.{i}, 198.51.100.7, 10.2.0.5").status_code for i in range(3)] == [400] * 3
        assert_limited(ask(c, "198.51.100.7, 10.3.3.3"), "client")
        assert ask(c, "198.51.100.8, 10.2.0.5").status_code == 400


def test_ipv6_clients_count_per_64_network(behind_proxy) -> None:
    c = behind_proxy()
    assert [ask(c, f"2001:db8:aa:bb::{i:x}").status_code for i in range(1, 4)] == [400, 400, 400]
    assert_limited(ask(c, "2001:db8:aa:bb:ffff::1"), "client")
    assert ask(c, "2001:db8:aa:bc::1").status_code == 400
    assert ratelimit.address_bucket("2001:db8:aa:bb::1") == "2001:db8:aa:bb::/64"
    assert ratelimit.address_bucket("::ffff:198.51.100.7") == "198.51.100.7"
    assert ratelimit.address_bucket("198.51.100.7") == "198.51.100.7"


def test_the_assistant_cap_stops_a_flood_from_many_addresses(behind_proxy) -> None:
    c = behind_proxy(widget_assistant_limit_per_minute=5)
    assert [ask(c, f"198.51.100.{i}").status_code for i in range(5)] == [400] * 5
    resp = ask(c, "198.51.100.77")  # a sixth, fresh address
    assert_limited(resp, "assistant")
    assert "this assistant is answering more than 5 questions per minute" in resp.json()["detail"]
    assert resp.json()["limit"] == 5 and resp.json()["window_seconds"] == 60
    assert ask(c, "198.51.100.78").status_code == 429
    assert c.get("/public/assistants/tourismus").status_code == 200  # other assistants are not affected
    assert c.post("/public/assistants/tourismus/ask", json=EMPTY,
                  headers={"X-Forwarded-For": "198.51.100.79"}).status_code == 400


def test_a_client_over_its_own_limit_does_not_use_up_the_assistant_cap(behind_proxy) -> None:
    c = behind_proxy(widget_assistant_limit_per_minute=5)
    statuses = [ask(c, "198.51.100.1").status_code for _ in range(10)]
    assert statuses == [400] * 3 + [429] * 7
    assert [ask(c, f"198.51.100.{i}").status_code for i in (2, 3)] == [400, 400]  # 3 + 2 = the cap of 5
    assert_limited(ask(c, "198.51.100.4"), "assistant")


# --- the one place that knows the client -----------------------------------------------------------------
def echo_app(trusted: list[str]) -> FastAPI:
    app = FastAPI()

    @app.get("/who")
    def who(request: Request) -> dict[str, str]:
        return {"client": clients.client_address(request), "scheme": request.url.scheme}

    clients.install(app, trusted)
    return app


@pytest.mark.parametrize(("peer", "trusted", "headers", "client", "scheme"), [
    ("198.51.100.5", [], {"X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https"}, "198.51.100.5", "http"),
    (PROXY, [f"{PROXY}/32"], {"X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https"}, "1.2.3.4", "https"),
    (PROXY, [f"{PROXY}/32"], {}, PROXY, "http"),
    (PROXY, [f"{PROXY}/32"], {"X-Forwarded-For": "6.6.6.6, 1.2.3.4"}, "1.2.3.4", "http"),
    ("10.0.0.2", ["10.0.0.0/8"], {"X-Forwarded-For": "6.6.6.6, 1.2.3.4, 10.0.0.9"}, "1.2.3.4", "http"),
    ("10.0.0.2", ["10.0.0.0/8"], {"X-Forwarded-For": "[2001:db8::5]:4711"}, "2001:db8::5", "http"),
    ("198.51.100.5", ["10.0.0.0/8"], {"X-Forwarded-For": "10.0.0.9"}, "198.51.100.5", "http"),
])
def test_client_address(peer: str, trusted: list[str], headers: dict[str, str], client: str, scheme: str) -> None:
    with TestClient(echo_app(trusted), client=(peer, 1234)) as c:
        assert c.get("/who", headers=headers).json() == {"client": client, "scheme": scheme}


def test_trusted_proxies_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATHAUS_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.5.10,fd00::/8")
    assert Settings(_env_file=None).trusted_proxies == ["10.0.0.0/8", "192.168.5.10/32", "fd00::/8"]
    monkeypatch.setenv("RATHAUS_TRUSTED_PROXIES", '["172.16.0.0/12"]')
    assert Settings(_env_file=None).trusted_proxies == ["172.16.0.0/12"]
    monkeypatch.delenv("RATHAUS_TRUSTED_PROXIES")
    assert Settings(_env_file=None).trusted_proxies == []
    for bad, reason in (("*", "not an IP address"), ("10.0.0.1/8", "host bits set"), ("proxy.local", "not an IP")):
        monkeypatch.setenv("RATHAUS_TRUSTED_PROXIES", bad)
        with pytest.raises(pydantic.ValidationError, match=reason):
            Settings(_env_file=None)
