"""Search under load (issue 19): a cached question still searches only the caller's collections, cache hits are
counted in /metrics, searches run in threads of their own (bounded), and /healthz answers while they are busy.
Events, not timing: the searches are held inside the server until the test has looked."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from test_knowledge import ADMIN, KVR, KVR_READER, PASSAGES, SOZ, ingest, make, write_folder

from rathaus.api.routers import knowledge as knowledge_router
from rathaus.app import create_app
from rathaus.knowledge import search
from rathaus.knowledge.access import ANONYMOUS
from rathaus.runtime import Runtime


def hits(model: str) -> float:
    return REGISTRY.get_sample_value("rathaus_query_embedding_cache_total", {"model": model, "result": "hit"}) or 0.0


def test_a_cached_question_still_searches_only_the_callers_collections(runtime: Runtime, tmp_path: Path) -> None:
    make(runtime, "kvr-intern", KVR, visibility="restricted", departments=["KVR"])
    make(runtime, "oeffentlich", ADMIN)
    ingest(runtime, "kvr-intern", [write_folder(tmp_path / "a", {"pass.md": PASSAGES["pass.md"]})], principal=KVR)
    ingest(runtime, "oeffentlich", [write_folder(tmp_path / "b", {"hund.md": PASSAGES["hund.md"]})])
    query = "Wo beantrage ich einen Reisepass?"
    model = runtime.catalog.defaults.embedding
    insider = search(runtime, KVR_READER, query)  # embeds the question and caches its vector
    assert "kvr-intern" in {h.collection for h in insider.hits}
    assert insider.embedding_metrics is not None  # a model call, metered
    for outsider in (SOZ, ANONYMOUS):
        before = hits(model)
        found = search(runtime, outsider, query)
        assert hits(model) == before + 1  # the vector came from the cache ...
        assert found.embedding_metrics is None  # ... so nothing was metered for it
        assert found.collections == ["oeffentlich"]  # ... and the scope is still the caller's
        assert found.hits and all(h.collection == "oeffentlich" for h in found.hits)
    # the ranking from a cached vector equals the ranking from a new one
    runtime.gateway.queries.clear()
    fresh = search(runtime, KVR_READER, query)
    again = search(runtime, KVR_READER, query)
    assert [(h.chunk_id, h.score) for h in fresh.hits] == [(h.chunk_id, h.score) for h in again.hits]
    assert [(h.chunk_id, h.score) for h in fresh.hits] == [(h.chunk_id, h.score) for h in insider.hits]


def test_cache_hits_are_counted_in_the_metrics(client: TestClient, runtime: Runtime, tmp_path: Path) -> None:
    make(runtime, "info")
    ingest(runtime, "info", [write_folder(tmp_path / "d", PASSAGES)])
    for _ in range(2):
        assert client.get("/api/v1/search", params={"q": "Sperrmüll anmelden"}).status_code == 200
    model = runtime.catalog.defaults.embedding
    text = client.get("/metrics").text
    line = next(line for line in text.splitlines()
                if line.startswith("rathaus_query_embedding_cache_total{") and f'model="{model}"' in line
                and 'result="hit"' in line)
    assert float(line.rsplit(" ", 1)[1]) >= 1
    assert "rathaus_query_embedding_batch_size_bucket" in text


class HeldSearches:
    """Stands in for ``search`` in the API router: each call counts itself and waits until released."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()

    def __call__(self, runtime: Runtime, principal: Any, q: str, **kwargs: Any) -> Any:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        self.entered.release()
        try:
            assert self.release.wait(60)
            return search(runtime, principal, q, **kwargs)
        finally:
            with self.lock:
                self.running -= 1


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> HeldSearches:
    fake = HeldSearches()
    monkeypatch.setattr(knowledge_router, "search", fake)
    return fake


@pytest.fixture
def two_threads(make_settings) -> Iterator[TestClient]:
    rt = Runtime(make_settings(knowledge_search_threads=2))
    with TestClient(create_app(rt)) as c:
        yield c
    rt.close()


def test_healthz_answers_while_searches_hold_every_search_thread(two_threads: TestClient, held: HeldSearches,
                                                                 tmp_path: Path) -> None:
    rt = two_threads.app.state.runtime  # type: ignore[attr-defined]
    make(rt, "info")
    ingest(rt, "info", [write_folder(tmp_path / "d", PASSAGES)])
    results: list[int] = []

    def ask() -> None:
        results.append(two_threads.get("/api/v1/search", params={"q": "Hundesteuer"}).status_code)

    askers = [threading.Thread(target=ask) for _ in range(5)]
    for t in askers:
        t.start()
    for _ in range(2):  # both search threads are taken ...
        assert held.entered.acquire(timeout=60)
    # ... and the probe, other endpoints and the API docs are answered meanwhile
    assert two_threads.get("/healthz").status_code == 200
    assert two_threads.get("/metrics").status_code == 200
    assert held.running == 2
    held.release.set()
    for t in askers:
        t.join(120)
    assert results == [200] * 5
    assert held.most == 2  # never more searches at once than RATHAUS_KNOWLEDGE_SEARCH_THREADS


def test_searches_beyond_the_threads_wait_without_a_thread(two_threads: TestClient, held: HeldSearches) -> None:
    """Waiting searches hold no thread of the server's shared pool: a synchronous endpoint still answers."""
    askers = [threading.Thread(target=lambda: two_threads.get("/api/v1/search", params={"q": "x"}))
              for _ in range(6)]
    for t in askers:
        t.start()
    for _ in range(2):
        assert held.entered.acquire(timeout=60)
    shared = two_threads.portal.call(anyio_borrowed)  # type: ignore[union-attr]
    assert shared == 0
    assert two_threads.get("/readyz").status_code == 200  # a sync endpoint, in the shared pool
    held.release.set()
    for t in askers:
        t.join(120)


def test_zero_search_threads_runs_searches_in_the_shared_pool(make_settings, held: HeldSearches) -> None:
    rt = Runtime(make_settings(knowledge_search_threads=0))
    try:
        with TestClient(create_app(rt)) as c:
            asker = threading.Thread(target=lambda: c.get("/api/v1/search", params={"q": "x"}))
            asker.start()
            assert held.entered.acquire(timeout=60)
            shared = c.portal.call(anyio_borrowed)  # type: ignore[union-attr]
            held.release.set()
            asker.join(60)
        assert shared == 1
    finally:
        rt.close()


def anyio_borrowed() -> float:
    """Threads of the server's shared pool in use (called on the event loop)."""
    return anyio.to_thread.current_default_thread_limiter().borrowed_tokens
