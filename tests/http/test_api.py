"""The HTTP API: OpenAI-compatible endpoints with the real models, problem+json for every bad input."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openai import OpenAI

from conftest import EMBED_DIM
from rathaus.runtime import Runtime

HELLO = {"messages": [{"role": "user", "content": "Sag nur: Servus"}], "max_tokens": 4, "temperature": 0}


def problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert {"type", "title", "status", "detail"} <= body.keys() and body["status"] == status
    assert "Traceback" not in resp.text
    return body


def test_chat_completion_with_metering_fields(client: TestClient) -> None:
    resp = client.post("/v1/chat/completions", json={**HELLO, "data_class": "intern"},
                       headers={"X-Rathaus-Use-Case": "fachverfahren-test"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["object"] == "chat.completion" and body["model"] == "local-chat"
    assert body["choices"][0]["message"]["content"].strip()
    r = body["rathaus"]
    assert r["data_class"] == "intern" and r["energy_wh"] > 0 and r["cost_eur"] > 0
    assert r["total_tokens"] == body["usage"]["total_tokens"]
    assert float(resp.headers["X-Rathaus-Cost-EUR"]) == pytest.approx(r["cost_eur"])


def test_streaming_sends_chunks_usage_and_done(client: TestClient) -> None:
    with client.stream("POST", "/v1/chat/completions", json={**HELLO, "stream": True}) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in resp.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    final = chunks[-1]
    assert text.strip() and final["choices"][0]["finish_reason"] in ("stop", "length")
    assert final["usage"]["completion_tokens"] >= 1 and final["rathaus"]["gco2e"] > 0


def test_openai_python_client_works_against_rathaus(client: TestClient) -> None:
    oa = OpenAI(base_url="http://testserver/v1", api_key="unused", http_client=client)
    out = oa.chat.completions.create(model="local-chat", messages=HELLO["messages"], max_tokens=4,
                                     extra_headers={"X-Rathaus-Data-Class": "oeffentlich"})
    assert out.choices[0].message.content
    emb = oa.embeddings.create(model="local-embed", input=["Bürgerbüro", "Kfz-Zulassung"])
    assert len(emb.data) == 2 and len(emb.data[0].embedding) == EMBED_DIM
    models = {m.id for m in oa.models.list().data}
    assert {"local-chat", "local-embed", "cloud-chat"} <= models and "disabled-chat" not in models


def test_embeddings_base64(client: TestClient) -> None:
    import base64
    import struct

    resp = client.post("/v1/embeddings", json={"input": "Rathaus", "encoding_format": "base64"})
    raw = base64.b64decode(resp.json()["data"][0]["embedding"])
    assert len(struct.unpack(f"<{len(raw) // 4}f", raw)) == EMBED_DIM


def test_data_class_refused_with_403(client: TestClient, runtime: Runtime) -> None:
    body = problem(client.post("/v1/chat/completions", json={**HELLO, "model": "cloud-chat"},
                               headers={"X-Rathaus-Data-Class": "personenbezogen"}), 403)
    assert body["type"].endswith("/data-class-not-allowed") and body["allowed_models"] == ["local-chat"]
    # without any class the most protective one applies
    problem(client.post("/v1/chat/completions", json={**HELLO, "model": "cloud-chat"}), 403)
    with runtime.db.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM usage_events WHERE status = 'refused'")) == 2


def test_reroute_header(client: TestClient) -> None:
    resp = client.post("/v1/chat/completions", json={**HELLO, "model": "cloud-chat"},
                       headers={"X-Rathaus-Data-Class": "vertraulich", "X-Rathaus-Reroute": "true"})
    assert resp.status_code == 200 and resp.json()["rathaus"]["rerouted_from"] == "cloud-chat"


@pytest.mark.parametrize(
    ("kwargs", "status", "fragment"),
    [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "not valid JSON"),
        ({"json": {"messages": []}}, 422, "messages"),
        ({"json": {"messages": [{"role": "robot", "content": "x"}]}}, 422, "role"),
        ({"json": {**HELLO, "temperature": 7}}, 422, "temperature"),
        ({"json": {**HELLO, "model": "gpt-17"}}, 404, "unknown chat model 'gpt-17'"),
        ({"json": {**HELLO, "data_class": "streng geheim"}}, 400, "unknown data class"),
        ({"json": {"messages": [{"role": "system", "content": "x"}]}}, 400, "non-empty user message"),
        ({"json": {"messages": [{"role": "user", "content": "Hallo " * 5000}]}}, 400, "takes at most 2048"),
        ({"json": {**HELLO, "n": 3}}, 422, "n"),
    ],
    ids=["malformed-json", "no-messages", "bad-role", "temperature", "unknown-model", "bad-class", "no-user",
         "too-long", "n"],
)
def test_bad_chat_requests(client: TestClient, kwargs: dict, status: int, fragment: str) -> None:
    body = problem(client.post("/v1/chat/completions", **kwargs), status)
    assert fragment in body["detail"]


@pytest.mark.parametrize(
    ("payload", "status", "fragment"),
    [
        ({"input": []}, 422, "must not be empty"),
        ({"input": ["ok", "   "]}, 422, "must not be empty"),
        ({"input": [1, 2, 3]}, 422, "input"),
        ({"input": "x", "model": "local-chat"}, 404, "unknown embedding model"),
    ],
)
def test_bad_embedding_requests(client: TestClient, payload: dict, status: int, fragment: str) -> None:
    assert fragment in problem(client.post("/v1/embeddings", json=payload), status)["detail"]


def test_oversized_body_is_413(client: TestClient) -> None:
    body = problem(client.post("/v1/chat/completions", content=b"x" * 2_100_000,
                               headers={"content-type": "application/json"}), 413)
    assert "at most 2000000 bytes" in body["detail"]


def test_budget_exhausted_is_429(client: TestClient) -> None:
    assert client.put("/api/v1/budgets/lokal", json={"tokens_per_month": 10}).status_code == 200
    body = problem(client.post("/v1/chat/completions", json=HELLO), 429)
    assert body["type"].endswith("/budget-exhausted") and "lokal" in body["detail"]


def test_unknown_route_and_method(client: TestClient) -> None:
    problem(client.get("/v1/nothing"), 404)
    problem(client.get("/v1/chat/completions"), 405)


def test_health_ready_metrics_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["checks"]["schema"] == "ok"
    client.post("/v1/chat/completions", json=HELLO)
    metrics = client.get("/metrics").text
    assert 'rathaus_model_requests_total{model="local-chat",operation="chat",status="ok"}' in metrics
    spec = client.get("/openapi.json").json()
    assert {"/v1/chat/completions", "/v1/embeddings", "/v1/models", "/api/v1/usage"} <= spec["paths"].keys()


def test_readyz_and_requests_report_a_lost_database(client: TestClient, runtime: Runtime) -> None:
    from sqlalchemy.orm import sessionmaker

    good_engine, good_sessions = runtime.db.engine, runtime.db.sessionmaker
    lost = sa.create_engine("postgresql+psycopg://x@127.0.0.1:1/x", connect_args={"connect_timeout": 1})
    runtime.db.engine, runtime.db.sessionmaker = lost, sessionmaker(lost)  # the server went away
    try:
        resp = client.get("/readyz")
        assert resp.status_code == 503 and "unreachable" in resp.json()["checks"]["database"]
        body = problem(client.post("/v1/chat/completions", json=HELLO), 503)
        assert body["type"].endswith("/database-unavailable")
    finally:
        runtime.db.engine, runtime.db.sessionmaker = good_engine, good_sessions
    assert client.get("/readyz").status_code == 200


def test_usage_report_over_http(client: TestClient) -> None:
    client.post("/v1/chat/completions", json=HELLO, headers={"X-Rathaus-Use-Case": "a"})
    client.post("/v1/embeddings", json={"input": "x"}, headers={"X-Rathaus-Use-Case": "b"})
    rows = {r["key"]: r for r in client.get("/api/v1/usage?by=use-case").json()["rows"]}
    assert rows["a"]["requests"] == 1 and rows["b"]["requests"] == 1 and rows["a"]["energy_wh"] > 0
    problem(client.get("/api/v1/usage?month=2026-13"), 422)
    problem(client.get("/api/v1/usage?by=color"), 422)


def test_audit_over_http(client: TestClient) -> None:
    client.post("/v1/chat/completions", json=HELLO)
    assert client.get("/api/v1/audit/verify").json()["ok"] is True
    lines = client.get("/api/v1/audit/export", params={"from": "2026-01-01", "to": "2099-12-31"}).text.splitlines()
    assert json.loads(lines[0])["action"] == "model.chat"
    problem(client.get("/api/v1/audit/export", params={"from": "2026-02-01", "to": "2026-01-01"}), 400)


def test_missing_or_corrupt_model_file_is_503(make_settings, tmp_path) -> None:
    from rathaus.app import create_app

    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    rt = Runtime(make_settings(cache_dir=cache))
    try:
        with TestClient(create_app(rt)) as c:
            body = problem(c.post("/v1/chat/completions", json=HELLO), 503)
            assert "file missing" in body["detail"]
            (cache / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf").write_bytes(b"GGUF" + b"\0" * 64)
            body = problem(c.post("/v1/chat/completions", json=HELLO), 503)
            assert body["type"].endswith("/model-unavailable") and "corrupt" in body["detail"]
            # the embedder is unaffected, and nothing was metered as ok
            assert c.post("/v1/embeddings", json={"input": "Rathaus"}).status_code == 200
    finally:
        rt.close()


def test_nul_characters_never_reach_the_database(client: TestClient, runtime: Runtime) -> None:
    """Found by schemathesis: PostgreSQL text cannot hold NUL; names with it are stored replaced."""
    problem(client.post("/v1/chat/completions", json={**HELLO, "model": "\u0000"}), 404)
    assert client.post("/v1/embeddings", json={"input": "x", "use_case": "a\u0000b"}).status_code == 200
    with runtime.db.engine.connect() as conn:
        cases = set(conn.scalars(sa.text("SELECT use_case FROM usage_events")))
        models = set(conn.scalars(sa.text("SELECT model FROM usage_events")))
    assert "a\ufffdb" in cases and "\ufffd" in models
    assert client.get("/api/v1/audit/verify").json()["ok"]
