"""The llama-server engine: an embedded model run by a supervised llama.cpp server child that batches parallel calls.

The real binary (built by ``scripts/install.sh --llama-server`` into the cache) and the real shipped model; the tests
that need the binary are skipped, saying so, where it has not been built. Nothing is built here."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from conftest import MODEL_CACHE, wait_for
from rathaus.app import create_app
from rathaus.core.errors import ConfigError
from rathaus.core.settings import Settings
from rathaus.models.catalog import load_catalog
from rathaus.models.providers.llama_server import CpuShare, LlamaServerChat
from rathaus.runtime import Runtime

BINARY = Path(os.environ.get("RATHAUS_TEST_LLAMA_SERVER", MODEL_CACHE / "bin" / "llama-server"))
needs_binary = pytest.mark.skipif(
    not BINARY.is_file(),
    reason=f"llama-server not built at {BINARY} (scripts/install.sh --llama-server builds it once, ~15-20 min)")


def test_an_unknown_chat_engine_is_refused_in_the_models_file(tmp_path: Path, models_file: Path) -> None:
    text = models_file.read_text().replace("    provider: embedded\n    file: qwen",
                                           "    provider: embedded\n    engine: vllm\n    file: qwen", 1)
    bad = tmp_path / "models.yaml"
    bad.write_text(text)
    with pytest.raises(ConfigError, match=r"model 'local-chat'.*engine is one of llama-cpp-python, llama-server"):
        load_catalog(bad)


def test_a_missing_binary_is_a_503_naming_how_to_build_it(make_settings: Callable[..., Settings],
                                                          tmp_path: Path) -> None:
    rt = Runtime(make_settings(embedded_engine="llama-server", llama_server=tmp_path / "no-such-llama-server"))
    try:
        with TestClient(create_app(rt)) as c:
            resp = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "Hallo"}],
                                                         "max_tokens": 4})
        assert resp.status_code == 503 and resp.headers["content-type"].startswith("application/problem+json")
        assert "scripts/install.sh --llama-server" in resp.json()["detail"]
    finally:
        rt.close()


def test_cpu_time_is_shared_among_the_calls_running_at_once() -> None:
    share = CpuShare()
    share.attach(os.getpid())
    a = share.begin()
    b = share.begin()
    sum(i * i for i in range(2_000_000))  # spend some CPU time while both run
    spent_b = share.end(b)
    spent_a = share.end(a)
    assert spent_a > 0 and spent_b > 0
    assert spent_a == pytest.approx(spent_b, rel=0.5)  # charged equal parts, not each the whole


def _serve(runtime: Runtime) -> Iterator[str]:
    import socket

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: server.started, 30, "uvicorn started")
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture
def batching(make_settings: Callable[..., Settings]) -> Iterator[tuple[Runtime, str]]:
    rt = Runtime(make_settings(embedded_engine="llama-server", llama_server=BINARY, llama_server_parallel=4))
    try:
        yield from ((rt, url) for url in _serve(rt))
    finally:
        rt.close()


def _stream(url: str, i: int, out: dict[int, Any]) -> None:
    body = {"messages": [{"role": "user", "content": f"Nenne eine Farbe ({i})."}], "max_tokens": 8,
            "temperature": 0, "stream": True}
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=300,
                      headers={"X-Rathaus-Use-Case": f"batching-{i}"}) as resp:
        lines = [line for line in resp.iter_lines() if line.startswith("data: ")]
        out[i] = (resp.status_code, lines)


@needs_binary
def test_four_concurrent_chats_are_batched_streamed_and_each_metered(batching: tuple[Runtime, str]) -> None:
    runtime, url = batching
    spec = runtime.catalog.get("local-chat")
    assert spec is not None
    provider = runtime.gateway.chat_provider(spec)
    assert isinstance(provider, LlamaServerChat)
    assert runtime.gateway.concurrency(spec) == 4  # admission slots = the server's parallel slots
    out: dict[int, Any] = {}
    clients = [threading.Thread(target=_stream, args=(url, i, out)) for i in range(4)]
    for t in clients:
        t.start()
    for t in clients:
        t.join()
    for i in range(4):
        status, lines = out[i]
        assert status == 200 and lines[-1] == "data: [DONE]"
        chunks = [json.loads(line[6:]) for line in lines[:-1]]
        assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]).strip()
        assert chunks[-1]["usage"]["completion_tokens"] >= 1
    # the child runs with 4 parallel slots (its own slot table)
    slots = httpx.get(provider.server.ensure() + "/slots", timeout=10)
    assert slots.status_code == 200 and len(slots.json()) == 4
    with runtime.db.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT use_case, status, prompt_tokens, completion_tokens, energy_wh, cpu_seconds FROM usage_events "
            "WHERE use_case LIKE 'batching-%' ORDER BY use_case")).all()
    assert [r.use_case for r in rows] == [f"batching-{i}" for i in range(4)]
    for r in rows:
        assert r.status == "ok" and r.prompt_tokens > 5 and 1 <= r.completion_tokens <= 8
        assert r.cpu_seconds > 0 and r.energy_wh > 0  # measured on the child process, shared among the four


@needs_binary
def test_a_killed_server_is_restarted_and_answers_again(batching: tuple[Runtime, str]) -> None:
    runtime, url = batching
    spec = runtime.catalog.get("local-chat")
    assert spec is not None
    provider = runtime.gateway.chat_provider(spec)
    assert isinstance(provider, LlamaServerChat)
    provider.warm_up()
    pid, restarts = provider.server.pid, provider.server.restarts
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: provider.server.restarts == restarts + 1, 30, "the supervisor noticed the death")
    out: dict[int, Any] = {}
    _stream(url, 9, out)
    status, lines = out[9]
    assert status == 200 and lines[-1] == "data: [DONE]"
    assert provider.server.pid not in (None, pid)


def test_config_check_names_a_missing_binary(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    from rathaus.config_check import Report, check_catalog

    for engine, expected in (("llama-server", 1), ("llama-cpp-python", 0)):
        settings = make_settings(embedded_engine=engine, llama_server=tmp_path / "nope")
        report = Report()
        check_catalog(settings, load_catalog(settings.models_file), report)
        found = [p for p in report.problems if "scripts/install.sh --llama-server" in p]
        assert len(found) == expected, report.problems
        if found:
            assert found[0].startswith("model 'local-chat': engine llama-server, but no binary at ")
