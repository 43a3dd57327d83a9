"""The gateway with the real shipped models: routing by data class, metering, audit, streaming."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from conftest import EMBED_DIM
from rathaus.core import audit
from rathaus.core.auth import Principal
from rathaus.core.classification import DataClass
from rathaus.core.errors import ContextLengthExceeded, DataClassNotAllowed, UnknownModel
from rathaus.models.gateway import CallContext, ChatOutcome
from rathaus.models.types import ChatMessage, ChatParams, StreamDelta
from rathaus.runtime import Runtime

ANNA = Principal(id="anna", kind="user", department="KVR", roles=frozenset())
QUESTION = [ChatMessage("user", "Nenne die Hauptstadt von Bayern. Antworte mit einem Wort.")]


def ctx(data_class: DataClass = DataClass.INTERN, **kw) -> CallContext:
    return CallContext(principal=ANNA, data_class=data_class, use_case="test", **kw)


def usage_rows(rt: Runtime) -> list[dict]:
    with rt.db.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text("SELECT * FROM usage_events ORDER BY id")).mappings()]


def audit_rows(rt: Runtime) -> list[dict]:
    with rt.db.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text("SELECT * FROM audit_log ORDER BY seq")).mappings()]


def test_chat_is_answered_metered_and_audited(runtime: Runtime) -> None:
    out = runtime.gateway.chat(ctx(), QUESTION, params=ChatParams(max_tokens=8, temperature=0))
    assert "München" in out.text or "Munich" in out.text
    m = out.metrics
    assert m.prompt_tokens > 20 and 0 < m.completion_tokens <= 8
    # test catalogue prices: 10 € / 1M in, 30 € / 1M out
    assert m.cost_eur == (Decimal(m.prompt_tokens) * 10 + Decimal(m.completion_tokens) * 30) / 1_000_000
    assert m.energy_wh > 0 and m.energy_method == "measured"
    assert m.gco2e == pytest.approx(m.energy_wh / 1000 * 363)
    [row] = usage_rows(runtime)
    assert (row["department"], row["principal"], row["model"], row["status"], row["data_class"]) == (
        "KVR", "anna", "local-chat", "ok", "intern")
    assert row["prompt_tokens"] == m.prompt_tokens and row["cpu_seconds"] > 0
    [record] = audit_rows(runtime)
    assert record["action"] == "model.chat" and record["model_version"].startswith("cc324af0")
    assert record["input_hash"] == audit.content_hash([{"role": "user", "content": QUESTION[0].content}])
    assert record["output_hash"] == audit.content_hash(out.text)
    assert QUESTION[0].content not in str(record) and out.text not in str(record["details"])


def test_prompt_tokens_are_counted_exactly_before_the_call(runtime: Runtime) -> None:
    provider = runtime.gateway.provider(runtime.catalog.get("local-chat"))
    counted = provider.count_tokens(QUESTION)
    out = runtime.gateway.chat(ctx(), QUESTION, params=ChatParams(max_tokens=2, temperature=0))
    assert out.metrics.prompt_tokens == counted


def test_stream_yields_deltas_then_the_outcome(runtime: Runtime) -> None:
    prepared = runtime.gateway.chat_stream(ctx(), QUESTION, params=ChatParams(max_tokens=8, temperature=0))
    events = list(prepared.events())
    deltas = [e.text for e in events if isinstance(e, StreamDelta)]
    outcome = events[-1]
    assert isinstance(outcome, ChatOutcome) and deltas
    assert "".join(deltas) == outcome.text
    assert usage_rows(runtime)[-1]["status"] == "ok"


def test_cancelled_stream_is_metered_and_frees_the_model(runtime: Runtime) -> None:
    prepared = runtime.gateway.chat_stream(ctx(), [ChatMessage("user", "Zähle langsam von 1 bis 100.")],
                                           params=ChatParams(max_tokens=16, temperature=0))
    events = prepared.events()
    assert isinstance(next(events), StreamDelta)
    events.close()  # the client went away
    row = usage_rows(runtime)[-1]
    assert row["status"] == "cancelled" and row["completion_tokens"] >= 1
    # the model lock was released: the next call is served
    assert runtime.gateway.chat(ctx(), QUESTION, params=ChatParams(max_tokens=2)).metrics.completion_tokens >= 1


def test_personal_data_never_reaches_a_cloud_model(runtime: Runtime) -> None:
    with pytest.raises(DataClassNotAllowed) as info:
        runtime.gateway.chat(ctx(DataClass.PERSONENBEZOGEN), QUESTION, model="cloud-chat")
    assert "cleared only for: oeffentlich, intern" in info.value.detail
    assert info.value.extra["allowed_models"] == ["local-chat"]
    [row] = usage_rows(runtime)
    assert row["status"] == "refused" and row["prompt_tokens"] == 0
    [record] = audit_rows(runtime)
    assert record["action"] == "model.refused" and record["safeguards"]["data_class_route"] == "refused"


def test_confidential_data_is_rerouted_when_asked(runtime: Runtime) -> None:
    out = runtime.gateway.chat(ctx(DataClass.VERTRAULICH, reroute=True), QUESTION, model="cloud-chat",
                               params=ChatParams(max_tokens=2))
    assert out.model == "local-chat" and out.rerouted_from == "cloud-chat"
    assert audit_rows(runtime)[-1]["details"]["rerouted_from"] == "cloud-chat"


def test_reroute_policy_from_settings(make_settings) -> None:
    rt = Runtime(make_settings(data_class_policy="reroute"))
    try:
        out = rt.gateway.chat(ctx(DataClass.PERSONENBEZOGEN), QUESTION, model="cloud-chat",
                              params=ChatParams(max_tokens=2))
        assert out.model == "local-chat"
    finally:
        rt.close()


def test_auto_picks_an_allowed_model(runtime: Runtime) -> None:
    out = runtime.gateway.chat(ctx(DataClass.PERSONENBEZOGEN), QUESTION, model="auto", params=ChatParams(max_tokens=2))
    assert out.model == "local-chat"


def test_unknown_and_disabled_models(runtime: Runtime) -> None:
    with pytest.raises(UnknownModel, match="unknown chat model 'gpt-17'"):
        runtime.gateway.chat(ctx(), QUESTION, model="gpt-17")
    with pytest.raises(UnknownModel, match="disabled chat model 'disabled-chat'"):
        runtime.gateway.chat(ctx(DataClass.OEFFENTLICH), QUESTION, model="disabled-chat")
    with pytest.raises(UnknownModel, match="unknown chat model 'local-embed'"):
        runtime.gateway.chat(ctx(), QUESTION, model="local-embed")


def test_prompt_over_the_context_is_refused_before_spending(runtime: Runtime) -> None:
    with pytest.raises(ContextLengthExceeded, match="takes at most 2048"):
        runtime.gateway.chat(ctx(), [ChatMessage("user", "Verwaltung " * 3000)])
    # a prompt that leaves fewer than 16 tokens of room, with 16 asked for
    provider = runtime.gateway.provider(runtime.catalog.get("local-chat"))
    lo, hi = 1, 3000
    while lo < hi:  # the longest prompt that still fits
        mid = (lo + hi + 1) // 2
        if provider.count_tokens([ChatMessage("user", "Hallo " * mid)]) < 2048:
            lo = mid
        else:
            hi = mid - 1
    messages = [ChatMessage("user", "Hallo " * lo)]
    room = 2048 - provider.count_tokens(messages)
    assert 0 < room < 16
    with pytest.raises(ContextLengthExceeded, match=f"ask for at most {room} tokens"):
        runtime.gateway.chat(ctx(), messages, params=ChatParams(max_tokens=16))
    assert usage_rows(runtime) == []


def test_max_tokens_is_capped_by_the_model(runtime: Runtime) -> None:
    out = runtime.gateway.chat(ctx(), [ChatMessage("user", "Schreibe einen langen Aufsatz über Rathäuser.")],
                               params=ChatParams(max_tokens=5000))
    assert out.metrics.completion_tokens <= 16


def test_embeddings_are_normalised_and_metered(runtime: Runtime) -> None:
    out = runtime.gateway.embed(ctx(), ["Wo beantrage ich einen Reisepass?", "Öffnungszeiten des Bürgerbüros"],
                                purpose="passage")
    assert len(out.vectors) == 2 and len(out.vectors[0]) == EMBED_DIM
    assert sum(x * x for x in out.vectors[0]) == pytest.approx(1.0, abs=1e-4)
    assert out.metrics.prompt_tokens > 5
    row = usage_rows(runtime)[-1]
    assert (row["operation"], row["model"], row["status"]) == ("embed", "local-embed", "ok")


def test_query_and_passage_embeddings_match_across_languages(runtime: Runtime) -> None:
    import numpy as np

    q = np.array(runtime.gateway.embed(ctx(), ["Where do I apply for a passport?"], purpose="query").vectors[0])
    docs = ["Den Reisepass beantragen Sie im Bürgerbüro Ihres Wohnorts.", "Der Wertstoffhof ist samstags geöffnet."]
    p = np.array(runtime.gateway.embed(ctx(), docs, purpose="passage").vectors)
    scores = p @ q
    assert scores[0] > scores[1]
