"""Issue 19, faults survived: a remote model that fails goes to a fallback cleared for the same data class, behind a
circuit breaker per model; every failover and breaker change is audited and counted.

The remote models are small OpenAI-compatible servers on loopback (tests/openai_server.py) that the tests switch
to 500s, closed connections and broken streams; the gateway talks to them over real HTTP, with the real database,
audit log and metering. The end-to-end test goes through rathaus' own HTTP API and gets its answer from the shipped
embedded model."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from pydantic import ValidationError

from openai_server import OpenAIServer, openai_servers
from rathaus.app import create_app
from rathaus.core.auth import Principal
from rathaus.core.classification import DataClass
from rathaus.core.errors import ModelUnavailable, UpstreamError
from rathaus.core.schema import AuditRecord, UsageEvent
from rathaus.core.settings import Settings
from rathaus.models.catalog import Catalog
from rathaus.models.gateway import CallContext, ChatOutcome
from rathaus.models.types import ChatMessage, ChatParams, StreamDelta
from rathaus.runtime import Runtime

ASK = [ChatMessage("user", "Wie spät ist es?")]
PRINCIPAL = Principal(id="svc", kind="service", department="IT")


def remote(name: str, url: str, classes: list[str], **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": "chat", "provider": "openai", "base_url": url, "remote_model": name,
            "context_length": 2048, "max_output_tokens": 16, "parameters_b": 8, "data_classes": classes,
            "hosting": "eu-cloud", "location": "loopback", **extra}


def embedder(name: str, url: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": "embedding", "provider": "openai", "base_url": url, "remote_model": name,
            "dimensions": 8, "parameters_b": 0.1, "data_classes": ["oeffentlich", "intern", "vertraulich"],
            "hosting": "city-data-centre", "location": "loopback", **extra}


def catalogue(base: Path, path: Path, models: list[dict[str, Any]], default_chat: str) -> Path:
    """The test catalogue's embedded embedders (and its embedded chat model if it is the default) plus ``models``."""
    raw = yaml.safe_load(base.read_text())
    keep = [m for m in raw["models"] if m["provider"] == "embedded"
            and (m["kind"] == "embedding" or m["name"] == default_chat)]
    raw["models"] = keep + models
    raw["defaults"]["chat"] = default_chat
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return path


@pytest.fixture
def servers() -> Iterator[dict[str, OpenAIServer]]:
    with openai_servers("primary", "public", "backup", "other") as found:
        yield found


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def gateway_runtime(make_settings: Callable[..., Settings], models_file: Path, tmp_path: Path,
                    servers: dict[str, OpenAIServer]) -> Iterator[tuple[Runtime, Clock]]:
    s = servers
    models = [
        remote("primary", s["primary"].url, ["oeffentlich", "intern", "vertraulich"],
               fallbacks=["public-only", "backup"]),
        remote("public-only", s["public"].url, ["oeffentlich"]),
        remote("backup", s["backup"].url, ["oeffentlich", "intern", "vertraulich"]),
        embedder("emb-a", s["primary"].url, vector_space="e5-small", fallbacks=["emb-b"]),
        embedder("emb-b", s["backup"].url, vector_space="e5-small"),
        embedder("emb-other", s["other"].url),  # other weights, same dimensions: never a fallback for emb-a
        embedder("emb-lonely", s["primary"].url),
    ]
    path = catalogue(models_file, tmp_path / "models.yaml", models, "primary")
    rt = Runtime(make_settings(models_file=path, breaker_failures=2, breaker_cooldown_seconds=30,
                               model_failover="auto"))
    clock = Clock()
    rt.gateway.breakers.clock = clock
    try:
        yield rt, clock
    finally:
        rt.close()


def ctx(data_class: DataClass) -> CallContext:
    return CallContext(principal=PRINCIPAL, data_class=data_class, use_case="test")


def audit_rows(rt: Runtime, action: str) -> list[AuditRecord]:
    with rt.db.session() as session:
        return list(session.scalars(sa.select(AuditRecord).where(AuditRecord.action == action)
                                    .order_by(AuditRecord.seq)))


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_failing_model_fails_over_only_to_a_fallback_cleared_for_the_data_class(
        gateway_runtime: tuple[Runtime, Clock], servers: dict[str, OpenAIServer]) -> None:
    rt, _ = gateway_runtime
    servers["primary"].mode = "500"
    before = metric("rathaus_model_failovers_total", from_model="primary", to_model="backup", operation="chat",
                    reason="upstream-error")

    # 'vertraulich': the first listed fallback (cleared for 'oeffentlich' only) is never asked
    out = rt.gateway.chat(ctx(DataClass.VERTRAULICH), ASK, model="primary", params=ChatParams(max_tokens=8))
    assert (out.text, out.model, out.failover_from) == ("Antwort von backup", "backup", "primary")
    assert servers["primary"].requests == 1 and servers["public"].requests == 0 and servers["backup"].requests == 1

    # 'oeffentlich': the first listed fallback is cleared and answers
    out = rt.gateway.chat(ctx(DataClass.OEFFENTLICH), ASK, model="primary")
    assert (out.model, out.failover_from) == ("public-only", "primary")
    assert servers["public"].requests == 1

    failovers = audit_rows(rt, "model.failover")
    assert [(r.model, r.details["from"], r.details["reason"], r.data_class) for r in failovers] == [
        ("backup", "primary", "upstream-error", "vertraulich"), ("public-only", "primary", "upstream-error",
                                                                 "oeffentlich")]
    answered = [r for r in audit_rows(rt, "model.chat") if r.details["status"] == "ok"]
    assert [(r.model, r.details["failover_from"]) for r in answered] == [("backup", "primary"),
                                                                          ("public-only", "primary")]
    with rt.db.session() as session:  # the failed attempt is metered too, under the model that failed
        usage = sorted(session.execute(sa.select(UsageEvent.model, UsageEvent.status)).all())
    assert usage == [("backup", "ok"), ("primary", "error"), ("primary", "error"), ("public-only", "ok")]
    assert metric("rathaus_model_failovers_total", from_model="primary", to_model="backup", operation="chat",
                  reason="upstream-error") == before + 1


def test_no_fallback_is_cleared_the_models_own_error_is_the_answer(gateway_runtime: tuple[Runtime, Clock],
                                                                   servers: dict[str, OpenAIServer]) -> None:
    rt, _ = gateway_runtime
    servers["primary"].mode = "close"
    servers["backup"].mode = "close"
    with pytest.raises(ModelUnavailable, match="not reachable"):
        rt.gateway.chat(ctx(DataClass.INTERN), ASK, model="primary")
    # the public-only model was never asked for 'intern' data, even with every cleared model down
    assert servers["public"].requests == 0 and servers["backup"].requests == 1


def test_the_breaker_opens_after_repeated_failures_half_opens_after_the_cool_down_and_closes(
        gateway_runtime: tuple[Runtime, Clock], servers: dict[str, OpenAIServer]) -> None:
    rt, clock = gateway_runtime
    opened = metric("rathaus_model_breaker_transitions_total", model="primary", state="open")
    servers["primary"].mode = "close"
    for _ in range(2):  # two failures (breaker_failures=2) open it
        assert rt.gateway.chat(ctx(DataClass.INTERN), ASK, model="primary").model == "backup"
    assert servers["primary"].requests == 2
    assert metric("rathaus_model_breaker_state", model="primary") == 2
    assert metric("rathaus_model_breaker_transitions_total", model="primary", state="open") == opened + 1

    # open: the model is not called at all, the fallback answers at once
    out = rt.gateway.chat(ctx(DataClass.INTERN), ASK, model="primary")
    assert (out.model, servers["primary"].requests) == ("backup", 2)
    assert audit_rows(rt, "model.failover")[-1].details["reason"] == "breaker-open"

    # the fallback fails too: its own error is the answer; twice, and its breaker opens as well
    servers["backup"].mode = "500"
    for _ in range(2):
        with pytest.raises(UpstreamError, match="server answered 500"):
            rt.gateway.chat(ctx(DataClass.INTERN), ASK, model="primary")
    assert (servers["primary"].requests, servers["backup"].requests) == (2, 5)
    # every breaker cleared for the class open: 503 at once with Retry-After, no model called
    with pytest.raises(ModelUnavailable, match="circuit breaker open") as info:
        rt.gateway.chat(ctx(DataClass.INTERN), ASK, model="primary")
    assert info.value.status == 503 and info.value.headers["Retry-After"] == "30"
    assert (servers["primary"].requests, servers["backup"].requests) == (2, 5)
    servers["backup"].mode = "ok"

    # after the cool-down one trial call goes to the model; it fails: open again (the backup's trial succeeds)
    clock.now += 31
    assert rt.gateway.chat(ctx(DataClass.INTERN), ASK, model="primary").model == "backup"
    assert servers["primary"].requests == 3
    assert rt.gateway.breakers.get("backup").state == "closed"
    # the next cool-down; the model is back: the trial closes the breaker
    servers["primary"].mode = "ok"
    clock.now += 31
    out = rt.gateway.chat(ctx(DataClass.INTERN), ASK, model="primary")
    assert (out.model, out.failover_from, servers["primary"].requests) == ("primary", None, 4)
    assert metric("rathaus_model_breaker_state", model="primary") == 0

    changes = [(r.model, r.details["from"], r.details["to"], r.actor) for r in audit_rows(rt, "model.breaker")
               if r.model == "primary"]
    assert changes == [("primary", "closed", "open", "system"), ("primary", "open", "half-open", "system"),
                       ("primary", "half-open", "open", "system"), ("primary", "open", "half-open", "system"),
                       ("primary", "half-open", "closed", "system")]


def test_a_request_errors_are_not_counted_as_outages(gateway_runtime: tuple[Runtime, Clock],
                                                     servers: dict[str, OpenAIServer]) -> None:
    """A prompt too long for the model is the request's fault: no failover, the breaker stays closed."""
    rt, _ = gateway_runtime
    from rathaus.core.errors import ContextLengthExceeded

    for _ in range(3):
        with pytest.raises(ContextLengthExceeded):
            rt.gateway.chat(ctx(DataClass.INTERN), [ChatMessage("user", "Wort " * 3000)], model="primary")
    assert rt.gateway.breakers.get("primary").state == "closed"
    assert sum(s.requests for s in servers.values()) == 0


def test_a_stream_fails_over_before_its_first_token_never_after(gateway_runtime: tuple[Runtime, Clock],
                                                                 servers: dict[str, OpenAIServer]) -> None:
    rt, _ = gateway_runtime
    servers["primary"].mode = "500"
    stream = rt.gateway.chat_stream(ctx(DataClass.INTERN), ASK, model="primary")
    events = list(stream.events())
    text = "".join(e.text for e in events if isinstance(e, StreamDelta))
    outcome = events[-1]
    assert isinstance(outcome, ChatOutcome)
    assert (text, outcome.model, outcome.failover_from, stream.model) == ("Antwort von backup", "backup", "primary",
                                                                          "backup")

    # the answer had begun when the connection broke: no failover (the user saw the first model's words)
    servers["primary"].mode = "break"
    rt.gateway.breakers.get("primary").success()
    seen: list[str] = []
    with pytest.raises(UpstreamError, match="broke off"):
        for event in rt.gateway.chat_stream(ctx(DataClass.INTERN), ASK, model="primary").events():
            if isinstance(event, StreamDelta):
                seen.append(event.text)
    assert seen == ["Antwort"] and servers["backup"].requests == 1


def test_embeddings_fail_over_only_within_one_vector_space(gateway_runtime: tuple[Runtime, Clock],
                                                           servers: dict[str, OpenAIServer]) -> None:
    rt, _ = gateway_runtime
    servers["primary"].mode = "500"
    out = rt.gateway.embed(ctx(DataClass.INTERN), ["Rathaus"], model="emb-a")
    assert (out.model, out.failover_from, len(out.vectors[0])) == ("emb-b", "emb-a", 8)

    # no model with the same vectors: a clear 503, even in 'auto' mode with other 8-dimensional embedders up
    with pytest.raises(ModelUnavailable, match="never mixed") as info:
        rt.gateway.embed(ctx(DataClass.INTERN), ["Rathaus"], model="emb-lonely")
    assert info.value.status == 503 and info.value.extra["vector_space"] == "emb-lonely/8"
    assert servers["other"].requests == 0


def test_the_catalogue_refuses_fallbacks_of_another_kind_or_vector_space(models_file: Path) -> None:
    raw = yaml.safe_load(models_file.read_text())
    embedded = [m for m in raw["models"] if m["provider"] == "embedded"]
    cases = {
        "fallback 'local-e5' has other vectors": {"name": "local-embed", "fallbacks": ["local-e5"]},
        "fallback 'local-chat' is a chat model": {"name": "local-embed", "fallbacks": ["local-chat"]},
        "fallback 'nowhere' is not defined": {"name": "local-chat", "fallbacks": ["nowhere"]},
    }
    for message, change in cases.items():
        models = [dict(m, **change) if m["name"] == change["name"] else m for m in embedded]
        with pytest.raises(ValidationError, match=message):
            Catalog.model_validate({**raw, "models": models})


def test_failover_end_to_end_over_the_http_api_answered_by_the_embedded_model(
        make_settings: Callable[..., Settings], models_file: Path, tmp_path: Path) -> None:
    """A client asks rathaus for a remote model that is down; the shipped embedded model answers, named in the
    response, its headers and the usage records; the failover is in the audit log and in /metrics."""
    with openai_servers("flaky") as found:
        flaky = found["flaky"]
        flaky.mode = "close"
        path = catalogue(models_file, tmp_path / "models.yaml",
                         [remote("flaky", flaky.url, ["oeffentlich", "intern"], fallbacks=["local-chat"])],
                         "local-chat")
        rt = Runtime(make_settings(models_file=path))
        try:
            with TestClient(create_app(rt)) as client:
                headers = {"X-Rathaus-Data-Class": "intern"}
                ask = {"model": "flaky", "messages": [{"role": "user", "content": "Sag nur: Servus"}],
                       "max_tokens": 4, "temperature": 0}
                resp = client.post("/v1/chat/completions", json=ask, headers=headers)
                assert resp.status_code == 200, resp.text
                body = resp.json()
                assert body["model"] == "local-chat" and resp.headers["X-Rathaus-Model"] == "local-chat"
                assert body["rathaus"]["failover_from"] == "flaky" and body["rathaus"]["energy_method"] == "measured"
                assert body["choices"][0]["message"]["content"].strip()  # a real answer of the embedded model

                with client.stream("POST", "/v1/chat/completions", json={**ask, "stream": True},
                                   headers=headers) as stream:
                    assert stream.headers["X-Rathaus-Model"] == "local-chat"
                    chunks = [json.loads(line[6:]) for line in stream.iter_lines()
                              if line.startswith("data: {")]
                assert {c["model"] for c in chunks} == {"local-chat"}
                assert chunks[-1]["rathaus"]["failover_from"] == "flaky"
                assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]).strip()

                rows = {r["key"]: r for r in client.get("/api/v1/usage?by=model").json()["rows"]}
                assert rows["local-chat"]["requests"] == 2 and rows["flaky"]["requests"] == 2
                metrics = client.get("/metrics").text
                assert ('rathaus_model_failovers_total{from_model="flaky",operation="chat",'
                        'reason="model-unavailable",to_model="local-chat"}') in metrics
            assert flaky.requests == 2
            assert [r.details["from"] for r in audit_rows(rt, "model.failover")] == ["flaky", "flaky"]
        finally:
            rt.close()
