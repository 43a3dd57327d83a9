"""Search questions embedded together and cached (rathaus.models.query_embeddings, Gateway.embed_query): batching
gives every caller its own vector, equal to the vector embedded alone; the cache answers repeated questions without
a model call, keyed by the routed model; budget, metering and audit stay per caller."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from conftest import wait_for
from rathaus.core.auth import Principal
from rathaus.core.classification import DataClass
from rathaus.core.errors import UpstreamError
from rathaus.core.schema import AuditRecord, UsageEvent
from rathaus.models.gateway import CallContext
from rathaus.models.query_embeddings import QueryEmbeddings
from rathaus.models.types import EmbeddingResult
from rathaus.runtime import Runtime

QUESTIONS = ["Wo beantrage ich einen Reisepass?", "Hundesteuer",
             "Welche Unterlagen brauche ich für die Anmeldung einer Wohnung in München, wenn ich aus dem Ausland "
             "zuziehe und noch keinen deutschen Pass habe?", "Öffnungszeiten Bürgerbüro Pasing",
             "Wie hoch ist das Wohngeld?"]


def ctx(department: str = "KVR", who: str = "u1") -> CallContext:
    return CallContext(Principal(id=who, kind="user", department=department, roles=frozenset()),
                       DataClass.OEFFENTLICH, use_case="kb-search")


def cache_hits(model: str) -> float:
    return REGISTRY.get_sample_value("rathaus_query_embedding_cache_total", {"model": model, "result": "hit"}) or 0.0


def run_concurrently(fns: list[Callable[[], object]]) -> list[object]:
    out: list[object] = [None] * len(fns)

    def one(i: int) -> None:
        try:
            out[i] = fns[i]()
        except Exception as exc:  # handed to the test
            out[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


class GatedModel:
    """A stand-in provider call that holds its first call until released, so that the other callers queue."""

    def __init__(self, real: Callable[[list[str]], EmbeddingResult] | None = None):
        self.calls: list[list[str]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.real = real

    def __call__(self, texts: list[str]) -> EmbeddingResult:
        self.calls.append(list(texts))
        if len(self.calls) == 1:
            self.entered.set()
            assert self.release.wait(60)
        if self.real is not None:
            return self.real(texts)
        return EmbeddingResult([[float(len(t)), float(ord(t[0]))] for t in texts], 3 * len(texts))


def test_waiting_questions_share_one_model_call_and_each_gets_its_own_vector() -> None:
    q = QueryEmbeddings(cache_size=0, batch=32)
    model = GatedModel()
    first = threading.Thread(target=lambda: q.embed("m", "erste Frage", model))
    first.start()
    assert model.entered.wait(30)
    texts = [f"Frage Nummer {i} " + "x" * (i + 1) for i in range(6)]
    results: dict[str, object] = {}

    def ask(t: str) -> None:
        results[t] = q.embed("m", t, model)

    threads = [threading.Thread(target=ask, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    wait_for(lambda: len(q._queues["m"].waiting) == len(texts), what="the questions to queue")
    model.release.set()
    first.join(30)
    for t in threads:
        t.join(30)
    assert model.calls[0] == ["erste Frage"]
    assert len(model.calls) == 2 and sorted(model.calls[1]) == sorted(texts)  # one call for all who waited
    for t in texts:
        part = results[t]
        assert part.vector == [float(len(t)), float(ord(t[0]))]  # type: ignore[attr-defined]
        assert part.batch_size == len(texts)  # type: ignore[attr-defined]
    assert not q._queues["m"].busy and not q._queues["m"].waiting  # the lead was given up


def test_batches_are_capped_and_the_lead_passes_on() -> None:
    q = QueryEmbeddings(cache_size=0, batch=2)
    model = GatedModel()
    first = threading.Thread(target=lambda: q.embed("m", "a", model))
    first.start()
    assert model.entered.wait(30)
    texts = ["b", "c", "d", "e", "f"]
    out = {}
    threads = [threading.Thread(target=lambda t=t: out.__setitem__(t, q.embed("m", t, model))) for t in texts]
    for t in threads:
        t.start()
    wait_for(lambda: len(q._queues["m"].waiting) == len(texts), what="the questions to queue")
    model.release.set()
    for t in [first, *threads]:
        t.join(30)
    assert [len(c) for c in model.calls] == [1, 2, 2, 1]
    assert sorted(t for c in model.calls for t in c) == ["a", *texts]
    assert {t: out[t].vector[1] for t in texts} == {t: float(ord(t)) for t in texts}


def test_a_failing_call_fails_its_batch_only() -> None:
    q = QueryEmbeddings(cache_size=0, batch=32)
    calls = []

    def flaky(texts: list[str]) -> EmbeddingResult:
        calls.append(texts)
        if len(calls) == 1:
            raise UpstreamError("model down")
        return EmbeddingResult([[1.0] for _ in texts], len(texts))

    with pytest.raises(UpstreamError):
        q.embed("m", "eins", flaky)
    assert q.embed("m", "zwei", flaky).vector == [1.0]  # the queue was not left busy


def test_batched_vectors_equal_the_vectors_embedded_alone(runtime: Runtime) -> None:
    spec = runtime.catalog.get(runtime.catalog.defaults.embedding)
    assert spec is not None
    provider = runtime.gateway.embedding_provider(spec)
    alone = [provider.embed([t], purpose="query").vectors[0] for t in QUESTIONS]
    together = provider.embed(QUESTIONS, purpose="query").vectors
    np.testing.assert_allclose(np.array(together), np.array(alone), atol=1e-5)
    # and through the batcher, with the callers queued behind a held first call
    q = QueryEmbeddings(cache_size=0, batch=32)
    model = GatedModel(lambda texts: provider.embed(texts, purpose="query"))
    first = threading.Thread(target=lambda: q.embed(spec.name, "Rathaus", model))
    first.start()
    assert model.entered.wait(30)
    out: dict[str, object] = {}
    threads = [threading.Thread(target=lambda t=t: out.__setitem__(t, q.embed(spec.name, t, model)))
               for t in QUESTIONS]
    for t in threads:
        t.start()
    wait_for(lambda: len(q._queues[spec.name].waiting) == len(QUESTIONS), what="the questions to queue")
    model.release.set()
    for t in [first, *threads]:
        t.join(60)
    assert len(model.calls) == 2
    for text, vector in zip(QUESTIONS, alone, strict=True):
        np.testing.assert_allclose(out[text].vector, vector, atol=1e-5)  # type: ignore[attr-defined]


def test_concurrent_questions_are_metered_and_audited_per_caller(runtime: Runtime) -> None:
    runtime.gateway.queries.cache_size = 0
    outs = run_concurrently([lambda i=i: runtime.gateway.embed_query(ctx(f"D{i}", f"u{i}"), QUESTIONS[i])
                             for i in range(len(QUESTIONS))])
    assert not [o for o in outs if isinstance(o, Exception)], outs
    with runtime.db.session() as s:
        usage = s.execute(sa.select(UsageEvent.department, UsageEvent.prompt_tokens)
                          .where(UsageEvent.operation == "embed")).all()
        audited = s.scalars(sa.select(AuditRecord.department).where(AuditRecord.action == "model.embed")).all()
    assert sorted(d for d, _ in usage) == sorted(f"D{i}" for i in range(len(QUESTIONS)))
    assert sorted(audited) == sorted(f"D{i}" for i in range(len(QUESTIONS)))
    tokens = {d: n for d, n in usage}
    spec = runtime.catalog.get(runtime.catalog.defaults.embedding)
    assert spec is not None
    provider = runtime.gateway.embedding_provider(spec)
    for i, text in enumerate(QUESTIONS):  # each caller's own tokens, not the batch's
        assert tokens[f"D{i}"] == provider.embed([text], purpose="query").prompt_tokens


def test_a_repeated_question_comes_from_the_cache_without_a_model_call(runtime: Runtime) -> None:
    gw = runtime.gateway
    model = runtime.catalog.defaults.embedding
    alone = gw.embed(ctx(), [QUESTIONS[0]], purpose="query").vectors[0]
    hits0 = cache_hits(model)
    first = gw.embed_query(ctx(), QUESTIONS[0])
    again = gw.embed_query(ctx("SOZ", "u2"), "  " + QUESTIONS[0].replace(" ", "\n  ") + " ")  # same after normalising
    assert not first.cached and again.cached
    assert first.vectors[0] == alone and again.vectors[0] == alone
    assert again.metrics.prompt_tokens == 0 and again.metrics.cost_eur == 0
    assert cache_hits(model) == hits0 + 1
    with runtime.db.session() as s:  # gateway.embed and the first embed_query: two model calls, the hit none
        assert s.scalar(sa.select(sa.func.count()).select_from(UsageEvent)
                        .where(UsageEvent.operation == "embed")) == 2
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditRecord)
                        .where(AuditRecord.action == "model.embed", AuditRecord.department == "SOZ")) == 0
    # another routed model never answers from this model's entry
    other = gw.embed_query(ctx(), QUESTIONS[0], model="local-e5")
    assert not other.cached and other.model == "local-e5"


def test_the_cache_is_bounded_and_can_be_switched_off(make_settings) -> None:
    rt = Runtime(make_settings(query_embedding_cache_size=2))
    try:
        for text in QUESTIONS[:3]:
            rt.gateway.embed_query(ctx(), text)
        assert len(rt.gateway.queries) == 2
        assert not rt.gateway.embed_query(ctx(), QUESTIONS[0]).cached  # the oldest went
        assert rt.gateway.embed_query(ctx(), QUESTIONS[2]).cached
    finally:
        rt.close()
    rt = Runtime(make_settings(query_embedding_cache_size=0, query_embedding_batch=1))
    try:
        assert not rt.gateway.embed_query(ctx(), QUESTIONS[0]).cached
        assert not rt.gateway.embed_query(ctx(), QUESTIONS[0]).cached
        assert len(rt.gateway.queries) == 0
    finally:
        rt.close()
