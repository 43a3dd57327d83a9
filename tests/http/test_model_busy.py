"""A busy model answers 429 with Retry-After instead of queueing for minutes, and a refused turn stores nothing
(issue 19: fair use of scarce models). Real embedded model and database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from oidc import Issuer
from rathaus.app import create_app
from rathaus.core.auth import local_principal
from rathaus.core.classification import DataClass
from rathaus.models.gateway import CallContext
from rathaus.models.types import ChatMessage, ChatParams
from rathaus.runtime import Runtime

HELLO = {"messages": [{"role": "user", "content": "Sag nur: Servus"}], "max_tokens": 4, "temperature": 0}


@pytest.fixture
def app_client(make_settings, issuer: Issuer) -> Iterator[tuple[Runtime, TestClient]]:
    rt = Runtime(make_settings(**issuer.settings()))
    rt.gateway.admission.gate("local-chat", 1, 0, 5.0)  # one slot, no waiting room: the second caller is refused
    with TestClient(create_app(rt)) as c:
        yield rt, c
    rt.close()


def hold_the_model(rt: Runtime):
    ctx = CallContext(principal=local_principal(rt.settings), data_class=DataClass.INTERN, use_case="test")
    return rt.gateway.chat_stream(ctx, [ChatMessage("user", "Zähle bis drei.")], params=ChatParams(max_tokens=4))


def test_busy_model_gives_429_with_retry_after_and_the_slot_returns_when_the_stream_is_closed(
        app_client, issuer: Issuer) -> None:
    rt, c = app_client
    auth = {"Authorization": "Bearer " + issuer.token(sub="anna", department="KVR", roles=[])}
    stream = hold_the_model(rt)
    busy = c.post("/v1/chat/completions", json=HELLO, headers=auth)
    assert busy.status_code == 429 and busy.headers["content-type"].startswith("application/problem+json")
    body = busy.json()
    assert body["type"].endswith("/model-busy") and body["model"] == "local-chat"
    assert int(busy.headers["Retry-After"]) == body["retry_after"] >= 1
    with rt.db.session() as s:  # the refusal is audited and metered like every refusal
        reasons = s.execute(sa.text("SELECT safeguards->>'reason' FROM audit_log WHERE action = 'model.refused'")
                            ).scalars().all()
        assert reasons == ["model-busy"]
    events = stream.events()
    next(events)  # the first piece of the answer: the stream runs
    events.close()  # the client went away: its slot is free again
    ok = c.post("/v1/chat/completions", json=HELLO, headers=auth)
    assert ok.status_code == 200, ok.text
    assert ok.json()["choices"][0]["message"]["content"].strip()


def test_a_refused_chat_turn_stores_nothing(app_client, issuer: Issuer) -> None:
    rt, c = app_client
    anna = {"Authorization": "Bearer " + issuer.token(sub="anna", department="KVR", roles=[])}
    chat = c.post("/api/v1/chats", json={"data_class": "intern"}, headers=anna).json()
    stream = hold_the_model(rt)
    refused = c.post(f"/api/v1/chats/{chat['id']}/messages", headers=anna,
                     json={"content": "Nenne eine Farbe.", "version": chat["version"], "stream": False})
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    after = c.get(f"/api/v1/chats/{chat['id']}", headers=anna).json()
    assert after["version"] == chat["version"] and after["messages"] == []  # a retry can send the same turn
    del stream  # never read: the slot is given back
    sent = c.post(f"/api/v1/chats/{chat['id']}/messages", headers=anna,
                  json={"content": "Nenne eine Farbe.", "version": chat["version"], "stream": False})
    assert sent.status_code == 200, sent.text
    assert sent.json()["message"]["content"].strip()


def test_health_probe_answers_while_chats_wait_for_the_model(make_settings) -> None:
    """45 chats waiting for a busy model (more than the server's 40 pool threads); /healthz must still answer (it
    ran in that pool and stalled for 13 s under 50 waiting chats before issue 19; waiting calls now have threads
    of their own, rathaus.http.model_threads)."""
    import threading

    import httpx

    from browser import live_server

    rt = Runtime(make_settings())
    gate = rt.gateway.admission.gate("local-chat", 1, 100, 20.0)  # they all wait, then give up with 429
    held = [hold_the_model(rt)]
    codes: list[int] = []
    try:
        with live_server(rt) as url:
            def ask() -> None:
                codes.append(httpx.post(url + "/v1/chat/completions", json=HELLO, timeout=120).status_code)

            threads = [threading.Thread(target=ask) for _ in range(45)]  # more than the pool's 40 threads
            for t in threads:
                t.start()
            deadline = threading.Event()
            for _ in range(200):
                if gate.queued >= 40:
                    break
                deadline.wait(0.05)
            assert gate.queued >= 40, gate.status()
            health = httpx.get(url + "/healthz", timeout=10)  # before any waiting chat gives up
            assert health.status_code == 200 and health.json()["status"] == "ok"
            for t in threads:
                t.join(120)
    finally:
        held.clear()
        rt.close()
    assert codes.count(429) == 45  # each told to come back later, none generated behind the held model


def test_a_stream_that_never_ran_gives_back_its_slot_and_its_budget(app_client) -> None:
    """A client that leaves before the answer begins: the response's close hook frees the model at once (not at
    garbage collection) and returns the budget reservation."""
    import anyio

    from rathaus.api.routers.openai_compat import ClosingStreamingResponse
    from rathaus.core import budgets

    rt, _ = app_client
    stream = hold_the_model(rt)
    with rt.db.session() as s:
        assert budgets.status(s, local_principal(rt.settings).department).tokens_used > 0  # reserved

    async def never_read():  # the body generator of a response whose client is gone
        yield "data: x\n\n"

    async def gone(message):
        raise OSError("client went away")

    async def receive():
        return {"type": "http.disconnect"}

    response = ClosingStreamingResponse(never_read(), media_type="text/event-stream", on_close=stream.close)
    with pytest.raises(Exception):  # noqa: B017 – Starlette reports the lost client its own way
        anyio.run(response, {"type": "http", "asgi": {"spec_version": "2.4"}, "method": "POST"}, receive, gone)
    gate = rt.gateway.admission.gate("local-chat", 1, 0, 5.0)
    assert gate.status()["running"] == 0  # while `stream` is still referenced
    with rt.db.session() as s:
        assert budgets.status(s, local_principal(rt.settings).department).tokens_used == 0
    stream.close()  # twice is harmless
    with pytest.raises(RuntimeError, match="already run or was closed"):
        next(stream.events())
