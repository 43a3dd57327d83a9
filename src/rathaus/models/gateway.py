"""The one door to every model: routing by data class, budgets, metering, audit.

Every chat and embedding call of every capability goes through :class:`Gateway`. A call is
(1) routed to a model cleared for its data class, (2) checked against the context length,
(3) reserved against the department's budget, (4) executed, (5) metered (tokens, latency, €, Wh,
gCO2e) and written to the audit log together with the budget settlement in one transaction.

When a model fails (unreachable, 5xx, timeout; a stream before its first token) or its circuit breaker
(:mod:`rathaus.models.breaker`) is open, the call goes to the model's fallbacks – only those cleared for the
request's data class, embeddings only within one vector space – each failover and breaker change audited.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Generator
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal, TypeVar

from rathaus.core import audit, budgets, energy, metering
from rathaus.core.auth import Principal
from rathaus.core.classification import DataClass
from rathaus.core.db import Database
from rathaus.core.errors import (
    BadRequest,
    BudgetExhausted,
    ContextLengthExceeded,
    ModelUnavailable,
    RathausError,
    UpstreamError,
)
from rathaus.core.observability import (
    MODEL_BREAKER_STATE,
    MODEL_BREAKER_TRANSITIONS,
    MODEL_COST_EUR,
    MODEL_ENERGY_WH,
    MODEL_FAILOVERS,
    MODEL_LATENCY,
    MODEL_REQUESTS,
    MODEL_TOKENS,
)
from rathaus.core.settings import Settings
from rathaus.models.admission import Admission, ModelBusy, Slot
from rathaus.models.breaker import STATE_VALUE, Breakers, Transition
from rathaus.models.catalog import Catalog, ModelSpec
from rathaus.models.providers import build_provider
from rathaus.models.query_embeddings import QueryEmbeddings
from rathaus.models.routing import Route, allowed_models, resolve
from rathaus.models.safeguards import RequestSafety
from rathaus.models.types import (
    ChatMessage,
    ChatParams,
    ChatProvider,
    EmbeddingProvider,
    EmbeddingResult,
    StreamDelta,
    StreamEnd,
)
from rathaus.safety.policy import SafetyPolicy

log = logging.getLogger(__name__)
_T = TypeVar("_T")


@dataclass
class CallContext:
    """Who asks, for what, with which data."""

    principal: Principal
    data_class: DataClass
    use_case: str = "api"
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    reroute: bool | None = None
    sources: list[Any] = field(default_factory=list)
    safeguards: dict[str, Any] = field(default_factory=dict)
    policy: SafetyPolicy | None = None  # None: the settings' defaults


@dataclass
class Metrics:
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    cost_eur: Decimal
    energy_wh: float
    gco2e: float
    energy_method: Literal["measured", "estimated"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "latency_ms": round(self.latency_ms, 1),
            "cost_eur": float(self.cost_eur),
            "energy_wh": round(self.energy_wh, 6),
            "gco2e": round(self.gco2e, 6),
            "energy_method": self.energy_method,
        }


@dataclass
class ChatOutcome:
    text: str
    model: str
    finish_reason: str
    data_class: DataClass
    metrics: Metrics
    request_id: str
    rerouted_from: str | None = None
    audit_seq: int | None = None
    failover_from: str | None = None  # the model that failed (or whose breaker was open) before this one answered
    safety: dict[str, Any] = field(default_factory=dict)  # guard verdicts, personal data counts (no values)
    warnings: list[str] = field(default_factory=list)  # e.g. "content-guard:output" in warn mode
    replaced: bool = False  # the answer was withheld by the content guard (text is the refusal)


@dataclass
class EmbedOutcome:
    vectors: list[list[float]]
    model: str
    metrics: Metrics
    request_id: str
    rerouted_from: str | None = None
    failover_from: str | None = None
    cached: bool = False  # the vector came from the query-embedding cache: no model call


def is_outage(exc: BaseException) -> bool:
    """A failure of the model rather than of the request: unreachable, timeout, 5xx, 408/429, a broken stream.
    Counted by the model's breaker and a reason to fail over; a 4xx (too long, refused credentials aside) is not."""
    if isinstance(exc, ModelUnavailable):
        return True
    if isinstance(exc, UpstreamError):
        status = exc.extra.get("upstream_status")
        return not isinstance(status, int) or status >= 500 or status in (408, 429)
    return isinstance(exc, TimeoutError | ConnectionError)


@dataclass
class PreparedCall:
    """One model call between its two steps: what the checks decided (``Gateway._prepare`` for chats) and what
    the accounting (``Gateway._finish``) settles, meters and audits."""

    ctx: CallContext
    route: Route
    reservation: budgets.Reservation
    prompt_tokens: int  # counted (chat) or estimated (embeddings) before the call
    messages: list[ChatMessage] = field(default_factory=list)  # chat: as the model sees them (after safeguards)
    texts: list[str] = field(default_factory=list)  # embeddings: the input texts
    params: ChatParams = field(default_factory=ChatParams)
    safety: RequestSafety | None = None  # chat only
    slot: Slot | None = None  # chat only: the model's slot (rathaus.models.admission), released when it is done
    t0: float = 0.0  # perf_counter when the model was called (see start()); latency is measured from here
    # failover: the route as resolved, the fallbacks still to try, the messages and parameters as asked
    origin: Route | None = None
    fallbacks: list[ModelSpec] = field(default_factory=list)
    original: list[ChatMessage] = field(default_factory=list)
    requested: ChatParams | None = None

    @property
    def model(self) -> str:
        return self.route.spec.name

    @property
    def inputs(self) -> list[ChatMessage] | list[str]:
        """What the model was given, for the audit log."""
        return self.messages if self.messages else self.texts

    def start(self) -> None:
        self.t0 = time.perf_counter()


class PreparedStream:
    """A chat stream whose checks have passed; iterate ``events()`` to run it."""

    def __init__(self, gateway: Gateway, call: PreparedCall):
        self.gateway, self.call = gateway, call
        self._ran = False

    @property
    def model(self) -> str:
        """The model that answers: the routed one, or its fallback when it failed before the first token."""
        return self.call.model

    def close(self) -> None:
        """Give back what a stream that never ran holds: its slot of the model and its budget reservation (a client
        that went away before the answer began). A stream that ran settles itself; calling this again is harmless."""
        if self._ran:
            return
        self._ran = True
        if self.call.slot is not None:
            self.call.slot.release()
        with self.gateway.db.session() as session:
            budgets.settle(session, self.call.reservation, Decimal(0), 0)

    def events(self) -> Generator[StreamDelta | ChatOutcome, None, None]:
        """Deltas as the user may see them (placeholders restored, guard applied), then the outcome. When the
        guard withholds the answer the model is stopped; the outcome's text is the refusal (``replaced``)."""
        if self._ran:
            raise RuntimeError("this stream has already run or was closed")
        self._ran = True
        while True:
            following = yield from self._run(self.call)
            if following is None:
                return
            self.call = following  # the model failed before its first token: its fallback answers

    def _run(self, call: PreparedCall) -> Generator[StreamDelta | ChatOutcome, None, PreparedCall | None]:
        """One model's attempt; returns the prepared fallback when it failed before its first token."""
        gw, spec = self.gateway, call.route.spec
        assert call.safety is not None  # set by Gateway._prepare
        failure: RathausError | None = None
        provider = gw.chat_provider(spec)
        parts: list[str] = []
        end: StreamEnd | None = None
        status = "cancelled"
        shown_text = ""
        call.start()
        cpu0 = time.process_time()
        source = provider.chat_stream(call.messages, call.params)
        guarded = call.safety.stream()
        try:
            for event in source:
                if isinstance(event, StreamDelta):
                    parts.append(event.text)
                    released = guarded.feed(event.text)
                    if released:
                        yield StreamDelta(released)
                    if guarded.stopped:
                        end = StreamEnd(call.prompt_tokens, len(parts), "content_filter",
                                        time.process_time() - cpu0)
                        break
                else:
                    end = event
            rest, shown_text = guarded.finish()
            if guarded.stopped and end is not None:
                end.finish_reason = "content_filter"
            if rest:
                yield StreamDelta(rest)
            status = "ok"
        except RathausError as exc:
            status = "error"
            if parts or not is_outage(exc):
                if is_outage(exc):
                    gw._breaker_result(call.ctx, spec, exc)
                raise
            failure = exc
        except Exception as exc:
            status = "error"
            log.exception("model %s failed mid-stream", spec.name)
            raise UpstreamError(f"model {spec.name!r} failed while answering: {type(exc).__name__}") from exc
        finally:
            source.close()
            if call.slot is not None:  # the client may have gone away: the next caller gets the model now
                call.slot.release()
            if end is None:  # cancelled or failed: meter what was produced
                end = StreamEnd(call.prompt_tokens, len(parts), status, time.process_time() - cpu0)
            outcome = gw._finish(call, "chat.stream", status, output="".join(parts), prompt_tokens=end.prompt_tokens,
                                 completion_tokens=end.completion_tokens, finish_reason=end.finish_reason,
                                 cpu_seconds=end.cpu_seconds)
        if failure is not None:  # before the first token: a fallback cleared for the data class may answer
            following = gw._fail_over(call, failure)
            if following is None:
                raise failure
            return following
        gw._breaker_result(call.ctx, spec, None)
        outcome.text = shown_text
        yield outcome
        return None


class Gateway:
    def __init__(self, settings: Settings, db: Database, catalog: Catalog):
        self.settings = settings
        self.db = db
        self.catalog = catalog
        self._providers: dict[str, ChatProvider | EmbeddingProvider] = {}
        self._providers_lock = threading.Lock()
        self.audit = audit.AuditConfig.from_settings(settings)
        self.audit_key = self.audit.key
        self.admission = Admission()
        self.breakers = Breakers(settings.breaker_failures, settings.breaker_cooldown_seconds)
        self.queries = QueryEmbeddings(settings.query_embedding_cache_size, settings.query_embedding_batch)

    # --- providers ---------------------------------------------------------------------------------
    def provider(self, spec: ModelSpec) -> ChatProvider | EmbeddingProvider:
        with self._providers_lock:
            if spec.name not in self._providers:
                self._providers[spec.name] = build_provider(spec, self.settings)
            return self._providers[spec.name]

    def chat_provider(self, spec: ModelSpec) -> ChatProvider:
        provider = self.provider(spec)
        if not isinstance(provider, ChatProvider):
            raise TypeError(f"model {spec.name!r} ({spec.kind}) is not a chat model")
        return provider

    def embedding_provider(self, spec: ModelSpec) -> EmbeddingProvider:
        provider = self.provider(spec)
        if not isinstance(provider, EmbeddingProvider):
            raise TypeError(f"model {spec.name!r} ({spec.kind}) is not an embedding model")
        return provider

    def warm_up(self) -> list[str]:
        """Load the default in-process models so the first request is not slow; returns their names."""
        warmed = []
        for name in (self.catalog.defaults.chat, self.catalog.defaults.embedding):
            spec = self.catalog.get(name)
            provider = self.provider(spec) if spec else None
            if provider is not None and hasattr(provider, "warm_up"):
                provider.warm_up()
                warmed.append(name)
        return warmed

    def route(self, ctx: CallContext, model: str | None, kind: str) -> Route:
        reroute = ctx.reroute if ctx.reroute is not None else self.settings.data_class_policy == "reroute"
        try:
            return resolve(self.catalog, model, kind, ctx.data_class, reroute)
        except RathausError as exc:
            self._refused(ctx, model, kind, exc)
            raise

    # --- chat --------------------------------------------------------------------------------------
    def policy(self, ctx: CallContext) -> SafetyPolicy:
        s = self.settings
        return ctx.policy or SafetyPolicy(personal_data=s.safety_personal_data, content_guard=s.safety_content_guard,
                                          guard_threshold=s.safety_guard_threshold)

    def _safeguard(self, ctx: CallContext, route: Route, messages: list[ChatMessage]
                   ) -> tuple[RequestSafety, list[ChatMessage]]:
        """The messages the model may see; a refusal by a safeguard is audited like any other."""
        safety = RequestSafety(self.policy(ctx), route.spec.allows(DataClass.PERSONENBEZOGEN))
        try:
            return safety, safety.inbound(messages)
        except RathausError as exc:
            ctx.safeguards.update(safety.report, data_class_route="allowed")
            self._refused(ctx, route.spec.name, "chat", exc)
            raise

    def _prepare(self, ctx: CallContext, model: str | None, messages: list[ChatMessage],
                 params: ChatParams | None, slot: Slot | None = None) -> PreparedCall:
        """Route, budget precheck, then the first model that can take the call (the routed one, or a fallback when
        its breaker is open): safeguards, context length, budget reservation and a slot of the model (unless
        given: :meth:`admit`)."""
        if not messages:
            raise BadRequest("at least one message is needed")
        route = self.route(ctx, model, "chat")
        self._budget(ctx, route.spec.name, "chat", budgets.precheck)
        return self._prepare_next(ctx, route, self.candidates(ctx, route.spec), messages, params or ChatParams(),
                                  slot, None)

    def _prepare_next(self, ctx: CallContext, origin: Route, candidates: list[ModelSpec],
                      messages: list[ChatMessage], requested: ChatParams, slot: Slot | None,
                      failed: tuple[ModelSpec, RathausError] | None) -> PreparedCall:
        """Prepare the first of ``candidates`` whose breaker lets a call through and whose checks pass. The routed
        model's own refusals (context, budget, personal data, busy) answer the request; a fallback's only skip it.
        ``failed``: the model that failed before, and why (for the audit of the failover)."""
        last: RathausError | None = failed[1] if failed else None
        skipped: tuple[ModelSpec, str] | None = (failed[0], failed[1].code) if failed else None
        try:
            for i, spec in enumerate(candidates):
                first = spec.name == origin.spec.name
                if not self._breaker_allows(ctx, spec):
                    last = last or self._breaker_open(spec, ctx)
                    skipped = skipped or (spec, "breaker-open")
                    continue
                route = origin if first else Route(spec, rerouted_from=origin.rerouted_from,
                                                   failover_from=origin.spec.name)
                own = None
                if slot is not None and slot.model == spec.name:
                    own, slot = slot, None
                try:
                    call = self._prepare_route(ctx, route, messages, replace(requested), own)
                except RathausError as exc:
                    if first:
                        raise
                    log.info("fallback %s cannot take request %s: %s", spec.name, ctx.request_id, exc.detail)
                    continue
                if skipped is not None:
                    self._failed_over(ctx, "chat", skipped[0], spec, skipped[1])
                call.origin, call.fallbacks, call.original, call.requested = origin, candidates[i + 1:], messages, \
                    requested
                return call
        finally:
            if slot is not None:  # taken for a model that is not called
                slot.release()
        assert last is not None  # the routed model is always a candidate: skipped only with its breaker open
        if failed is None:
            self._refused(ctx, origin.spec.name, "chat", last)
        raise last

    def _prepare_route(self, ctx: CallContext, route: Route, messages: list[ChatMessage], params: ChatParams,
                       slot: Slot | None) -> PreparedCall:
        """Safeguards, context length, budget reservation and a slot of one model."""
        spec = route.spec
        try:
            safety, safe = self._safeguard(ctx, route, messages)
            call = self._checked(ctx, route, safety, safe, params)
        except BaseException:
            if slot is not None:
                slot.release()
            raise
        if slot is None:
            try:
                slot = self._admit(ctx, spec)
            except ModelBusy:  # nothing was spent: the reservation goes back to the department's budget
                with self.db.session() as session:
                    budgets.settle(session, call.reservation, Decimal(0), 0)
                raise
        call.slot = slot
        return call

    def _checked(self, ctx: CallContext, route: Route, safety: RequestSafety, messages: list[ChatMessage],
                 params: ChatParams | None) -> PreparedCall:
        """Context length and budget reservation of an admitted chat call."""
        spec = route.spec
        provider = self.chat_provider(spec)
        prompt_tokens = provider.count_tokens(messages)
        room = spec.context_length - prompt_tokens
        if room < 1:
            raise ContextLengthExceeded(
                f"the prompt has {prompt_tokens} tokens but model {spec.name!r} takes at most "
                f"{spec.context_length}; shorten the text or split it",
                extra={"prompt_tokens": prompt_tokens, "context_length": spec.context_length},
            )
        params = params or ChatParams()
        if params.max_tokens is None:  # not asked: as much as the model's cap and the context allow
            params.max_tokens = min(spec.max_output_tokens, room)
        else:  # asked: capped by the model's output limit, but never silently cut by the context
            params.max_tokens = min(params.max_tokens, spec.max_output_tokens)
        if params.max_tokens > room:
            raise ContextLengthExceeded(
                f"prompt ({prompt_tokens} tokens) plus max_tokens ({params.max_tokens}) exceeds the context of "
                f"model {spec.name!r} ({spec.context_length} tokens); ask for at most {room} tokens",
                extra={"prompt_tokens": prompt_tokens, "context_length": spec.context_length},
            )
        max_eur = energy.cost_eur(prompt_tokens, params.max_tokens, spec.price_in_per_1m_eur, spec.price_out_per_1m_eur)
        reservation = self._budget(ctx, spec.name, "chat", budgets.reserve, max_eur, prompt_tokens + params.max_tokens)
        return PreparedCall(ctx, route, reservation, prompt_tokens, messages=messages, params=params, safety=safety)

    def admit(self, ctx: CallContext, model: str | None = None) -> Slot:
        """A slot of the chat model this context routes to (or of its fallback while its breaker is open), taken
        before anything is stored, so that a busy model (429) changes nothing; pass it to :meth:`chat_stream`."""
        spec = self.route(ctx, model, "chat").spec
        usable = [c for c in self.candidates(ctx, spec) if self.breakers.get(c.name).peek()]
        return self._admit(ctx, usable[0] if usable else spec)

    def _admit(self, ctx: CallContext, spec: ModelSpec) -> Slot:
        """A slot of the model, in turn with other departments; a refusal (429) is audited like every other."""
        gate = self.admission.gate(spec.name, self.concurrency(spec), spec.max_queue, spec.queue_timeout_seconds)
        try:
            return gate.acquire(ctx.principal.department)
        except ModelBusy as exc:
            self._refused(ctx, spec.name, "chat", exc)
            raise

    def concurrency(self, spec: ModelSpec) -> int:
        """Chat calls the model takes at once: the parallel slots of an embedded model run by llama-server, else
        the catalogue's (ModelSpec.concurrency)."""
        slots = getattr(self.provider(spec), "slots", None) if spec.provider == "embedded" else None
        return slots if isinstance(slots, int) else spec.concurrency

    def _budget(self, ctx: CallContext, model: str, kind: str, step: Callable[..., _T], *args: Any) -> _T:
        """A budget step (precheck or reservation) whose refusal is audited like every other refusal."""
        try:
            with self.db.session() as session:
                return step(session, ctx.principal.department, *args)
        except BudgetExhausted as exc:
            self._refused(ctx, model, kind, exc)
            raise

    def chat(self, ctx: CallContext, messages: list[ChatMessage], model: str | None = None,
             params: ChatParams | None = None) -> ChatOutcome:
        call = self._prepare(ctx, model, messages, params)
        while True:
            call.start()
            try:
                with call.slot or nullcontext():
                    result = self.chat_provider(call.route.spec).chat(call.messages, call.params)
            except Exception as exc:
                self._finish(call, "chat", "error", output="", prompt_tokens=call.prompt_tokens, completion_tokens=0,
                             finish_reason="error", cpu_seconds=None)
                following = self._fail_over(call, exc)
                if following is None:
                    raise
                call = following
                continue
            break
        self._breaker_result(ctx, call.route.spec, None)
        assert call.safety is not None  # set by _prepare
        shown = call.safety.outbound(result.text)
        outcome = self._finish(call, "chat", "ok", output=result.text, prompt_tokens=result.prompt_tokens,
                               completion_tokens=result.completion_tokens,
                               finish_reason="content_filter" if call.safety.replaced else result.finish_reason,
                               cpu_seconds=result.cpu_seconds)
        outcome.text = shown
        return outcome

    def chat_stream(self, ctx: CallContext, messages: list[ChatMessage], model: str | None = None,
                    params: ChatParams | None = None, slot: Slot | None = None) -> PreparedStream:
        """A checked stream holding a slot of the model (``slot`` from :meth:`admit`, else taken here: 429 when
        the model is busy); the slot is freed when the stream ends, is closed, or is dropped unread."""
        return PreparedStream(self, self._prepare(ctx, model, messages, params, slot))

    # --- embeddings --------------------------------------------------------------------------------
    def embed(self, ctx: CallContext, texts: list[str], model: str | None = None,
              purpose: Literal["query", "passage"] = "passage") -> EmbedOutcome:
        if not texts:
            raise BadRequest("no input texts to embed")
        origin = self.route(ctx, model, "embedding")
        self._budget(ctx, origin.spec.name, "embedding", budgets.precheck)
        candidates = self.candidates(ctx, origin.spec)
        skipped: tuple[ModelSpec, str] | None = None
        failure: RathausError | None = None
        called = False
        estimate = sum(len(t) for t in texts) // 2 + 2 * len(texts)
        for spec in candidates:
            first = spec.name == origin.spec.name
            if not self._breaker_allows(ctx, spec):
                failure = failure or self._breaker_open(spec, ctx)
                skipped = skipped or (spec, "breaker-open")
                continue
            route = origin if first else Route(spec, rerouted_from=origin.rerouted_from, failover_from=origin.spec.name)
            try:
                provider = self.embedding_provider(spec)
                max_eur = energy.cost_eur(estimate, 0, spec.price_in_per_1m_eur, 0)
                reservation = self._budget(ctx, spec.name, "embedding", budgets.reserve, max_eur, estimate)
            except RathausError as exc:
                if first:
                    raise
                log.info("fallback %s cannot take request %s: %s", spec.name, ctx.request_id, exc.detail)
                continue
            if skipped is not None:
                self._failed_over(ctx, "embedding", skipped[0], spec, skipped[1])
            call = PreparedCall(ctx, route, reservation, estimate, texts=texts)
            call.start()
            called = True
            try:
                result = self._embed_call(spec, provider, texts, purpose)
            except Exception as exc:
                self._finish(call, "embed", "error", output="", prompt_tokens=0, completion_tokens=0,
                             finish_reason="error", cpu_seconds=None)
                if not isinstance(exc, RathausError) or not is_outage(exc):
                    raise
                self._breaker_result(ctx, spec, exc)
                skipped, failure = (spec, exc.code), exc
                continue
            self._breaker_result(ctx, spec, None)
            outcome = self._finish(call, "embed", "ok", output="", prompt_tokens=result.prompt_tokens,
                                   completion_tokens=0, finish_reason="stop", cpu_seconds=result.cpu_seconds,
                                   output_hash=audit.content_hash(f"{len(texts)} vectors"))
            return EmbedOutcome(result.vectors, spec.name, outcome.metrics, ctx.request_id, route.rerouted_from,
                                route.failover_from)
        spec = origin.spec
        tried = [c.name for c in candidates]
        why = failure.detail if failure is not None else "unavailable"
        error = ModelUnavailable(
            f"embedding model {spec.name!r} is unavailable ({why}) and no other embedding model with the same vectors "
            f"({spec.space}) and cleared for data class '{ctx.data_class}' could answer; embeddings of different "
            "models are never mixed",
            headers=failure.headers if failure is not None else None,
            extra={"model": spec.name, "vector_space": spec.space, "tried": tried})
        if not called:  # every breaker open: refused without a call
            self._refused(ctx, spec.name, "embedding", error)
        raise error from failure

    def embed_query(self, ctx: CallContext, text: str, model: str | None = None) -> EmbedOutcome:
        """The vector of one search question (``purpose="query"``), for searches under load.

        Routed like :meth:`embed` (a refusal for the data class is audited as always). Then: the question's vector
        from the cache when the routed model embedded the same (whitespace-normalised) text before – no model
        call, so nothing is reserved, metered or audited, and ``metrics`` are zero (counted in
        ``rathaus_query_embedding_cache_total``); otherwise :meth:`embed`, whose call is shared with the other
        questions that wait for that model at the same moment (:meth:`_embed_call`) while budget, metering, audit,
        breakers and failover stay per caller. Only vectors of the routed model itself are cached (not those of a
        fallback). The vector equals that of ``embed(ctx, [text], purpose="query")``."""
        text = " ".join(text.split())
        if not text:
            raise BadRequest("no input texts to embed")
        route = self.route(ctx, model, "embedding")
        spec = route.spec
        key = self.queries.key(spec.name, spec.version or spec.sha256 or spec.remote_model or "", "query", text)
        found = self.queries.cached(key)
        if found is not None:
            zero = Metrics(0, 0, 0.0, Decimal(0), 0.0, 0.0,
                           "measured" if spec.provider == "embedded" else "estimated")
            return EmbedOutcome([found], spec.name, zero, ctx.request_id, route.rerouted_from, cached=True)
        outcome = self.embed(ctx, [text], model=model, purpose="query")
        if outcome.model == spec.name and not outcome.failover_from:
            self.queries.store(key, outcome.vectors[0])
        return outcome

    def _embed_call(self, spec: ModelSpec, provider: EmbeddingProvider, texts: list[str],
                    purpose: Literal["query", "passage"]) -> EmbeddingResult:
        """The provider's call: one search question goes through the micro-batcher (one model call for the questions
        waiting at the same moment; this caller's own vector, tokens and share of the CPU time)."""
        if purpose != "query" or len(texts) != 1:
            return provider.embed(texts, purpose=purpose)
        part = self.queries.embed(spec.name, texts[0], lambda batch: provider.embed(batch, purpose="query"))
        return EmbeddingResult([part.vector], part.prompt_tokens, part.cpu_seconds, [part.prompt_tokens])

    # --- accounting --------------------------------------------------------------------------------
    def _metrics(self, spec: ModelSpec, prompt_tokens: int, completion_tokens: int, latency_s: float,
                 cpu_seconds: float | None) -> Metrics:
        s = self.settings
        grid = spec.grid_gco2_per_kwh or s.grid_gco2_per_kwh
        if spec.provider == "embedded":
            wh = energy.embedded_energy_wh(cpu_seconds or 0.0, s.watts_per_core, spec.pue or s.pue)
            method: Literal["measured", "estimated"] = "measured"
        else:
            tokens = completion_tokens if spec.kind == "chat" else prompt_tokens
            wh = energy.remote_energy_wh(spec.active_params, spec.parameters_b, tokens, latency_s,
                                         spec.pue or energy.DEFAULT_REMOTE_PUE)
            method = "estimated"
        return Metrics(
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, latency_ms=latency_s * 1000,
            cost_eur=energy.cost_eur(prompt_tokens, completion_tokens, spec.price_in_per_1m_eur,
                                     spec.price_out_per_1m_eur),
            energy_wh=wh, gco2e=energy.gco2e(wh, grid), energy_method=method,
        )

    def _finish(self, call: PreparedCall, operation: str, status: str, *, output: str, prompt_tokens: int,
                completion_tokens: int, finish_reason: str, cpu_seconds: float | None,
                output_hash: str | None = None) -> ChatOutcome:
        """Meter, settle and audit one call. ``call.inputs``/``output`` are what the model saw and wrote
        (pseudonymised when the safeguards pseudonymised), so raw audit storage never holds values the model did
        not get."""
        ctx, route, safety, inputs = call.ctx, call.route, call.safety, call.inputs
        spec = route.spec
        if safety is not None:
            ctx.safeguards.update(safety.report)
        latency = time.perf_counter() - call.t0
        m = self._metrics(spec, prompt_tokens, completion_tokens, latency, cpu_seconds)
        p = ctx.principal
        raw = self.settings.audit_store_raw
        details: dict[str, Any] = {"request_id": ctx.request_id, "status": status, "operation": operation,
                                   "tokens": prompt_tokens + completion_tokens, "energy_method": m.energy_method}
        if route.rerouted_from:
            details["rerouted_from"] = route.rerouted_from
        if route.failover_from:
            details["failover_from"] = route.failover_from
        if raw:
            details["input"] = _serialise(inputs)
            details["output"] = output
        with self.db.session() as session:
            budgets.settle(session, call.reservation, m.cost_eur, prompt_tokens + completion_tokens)
            metering.record(
                session, request_id=ctx.request_id, department=p.department, principal=p.id,
                principal_kind=p.kind, use_case=ctx.use_case, model=spec.name, provider=spec.provider,
                operation=operation, data_class=ctx.data_class.value, status=status,
                prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, latency_ms=m.latency_ms,
                cost_eur=m.cost_eur, energy_wh=m.energy_wh, gco2e=m.gco2e, cpu_seconds=cpu_seconds,
            )
            seq = audit.append(session, audit.AuditEntry(
                actor=p.id, department=p.department, use_case=ctx.use_case, action=f"model.{operation}",
                model=spec.name, model_version=spec.version or spec.sha256 or spec.remote_model,
                data_class=ctx.data_class.value, input_hash=audit.content_hash(_serialise(inputs)),
                output_hash=output_hash or audit.content_hash(output), sources=ctx.sources,
                safeguards={**ctx.safeguards, "data_class_route": "rerouted" if route.rerouted_from else "allowed"},
                energy_wh=m.energy_wh, details=details,
            ), key=self.audit_key)
        MODEL_REQUESTS.labels(spec.name, operation, status).inc()
        MODEL_TOKENS.labels(spec.name, "in").inc(prompt_tokens)
        MODEL_TOKENS.labels(spec.name, "out").inc(completion_tokens)
        MODEL_LATENCY.labels(spec.name, operation).observe(latency)
        MODEL_ENERGY_WH.labels(spec.name).inc(m.energy_wh)
        MODEL_COST_EUR.labels(spec.name).inc(float(m.cost_eur))
        return ChatOutcome(text=output, model=spec.name, finish_reason=finish_reason, data_class=ctx.data_class,
                           metrics=m, request_id=ctx.request_id, rerouted_from=route.rerouted_from, audit_seq=seq,
                           failover_from=route.failover_from,
                           safety=dict(safety.report) if safety else {},
                           warnings=list(safety.warnings) if safety else [], replaced=bool(safety and safety.replaced))

    # --- failover and circuit breakers -------------------------------------------------------------------
    def candidates(self, ctx: CallContext, spec: ModelSpec) -> list[ModelSpec]:
        """The model, then the fallbacks a failure may go to: its catalogue ``fallbacks`` (and with
        ``RATHAUS_MODEL_FAILOVER=auto`` every other model of its kind), only those enabled and cleared for the
        request's data class, for embeddings only those with the same vectors."""
        out = [spec]
        mode = self.settings.model_failover
        if mode == "off":
            return out
        pool = [self.catalog.get(name) for name in spec.fallbacks]
        if mode == "auto":
            pool += allowed_models(self.catalog, spec.kind, ctx.data_class)
        for other in pool:
            if (other is None or not other.enabled or other.kind != spec.kind or not other.allows(ctx.data_class)
                    or (spec.kind == "embedding" and other.space != spec.space)
                    or any(o.name == other.name for o in out)):
                continue
            out.append(other)
        return out

    def _fail_over(self, call: PreparedCall, exc: BaseException) -> PreparedCall | None:
        """After ``call``'s model failed: count it against the model's breaker and prepare the next fallback that
        can take the call, or None (the caller raises the failure)."""
        if not isinstance(exc, RathausError) or not is_outage(exc):
            return None
        self._breaker_result(call.ctx, call.route.spec, exc)
        if not call.fallbacks or call.origin is None or call.requested is None:
            return None
        try:
            return self._prepare_next(call.ctx, call.origin, call.fallbacks, call.original, call.requested, None,
                                      (call.route.spec, exc))
        except RathausError:
            return None

    def _breaker_allows(self, ctx: CallContext, spec: ModelSpec) -> bool:
        allowed, change = self.breakers.get(spec.name).allow()
        if change is not None:
            self._breaker_changed(ctx, change)
        return allowed

    def _breaker_result(self, ctx: CallContext, spec: ModelSpec, exc: BaseException | None) -> None:
        breaker = self.breakers.get(spec.name)
        change = breaker.success() if exc is None else breaker.failure()
        if change is not None:
            self._breaker_changed(ctx, change)

    def _breaker_open(self, spec: ModelSpec, ctx: CallContext) -> ModelUnavailable:
        retry = self.breakers.get(spec.name).retry_after_s()
        return ModelUnavailable(
            f"model {spec.name!r} failed repeatedly and is paused (circuit breaker open); no fallback cleared for "
            f"data class '{ctx.data_class}' could take the request; retry in {retry} s",
            headers={"Retry-After": str(retry)}, extra={"model": spec.name, "breaker": "open", "retry_after": retry})

    def _breaker_changed(self, ctx: CallContext, change: Transition) -> None:
        """A breaker changed state: logged, counted and audited (as the system, naming the request that saw it)."""
        log.warning("circuit breaker of model %s: %s -> %s (%d consecutive failures)", change.model, change.old,
                    change.new, change.failures)
        MODEL_BREAKER_TRANSITIONS.labels(change.model, change.new).inc()
        MODEL_BREAKER_STATE.labels(change.model).set(STATE_VALUE[change.new])
        self._audit_event(ctx, "system", "-", "model.breaker", change.model, {
            "from": change.old, "to": change.new, "failures": change.failures,
            "threshold": self.breakers.threshold, "cooldown_seconds": self.breakers.cooldown_s})

    def _failed_over(self, ctx: CallContext, kind: str, old: ModelSpec, new: ModelSpec, reason: str) -> None:
        """A call goes to a fallback: logged, counted and audited."""
        log.warning("request %s: model %s failed (%s) – failing over to %s", ctx.request_id, old.name, reason,
                    new.name)
        MODEL_FAILOVERS.labels(old.name, new.name, kind, reason).inc()
        self._audit_event(ctx, ctx.principal.id, ctx.principal.department, "model.failover", new.name,
                          {"from": old.name, "to": new.name, "reason": reason, "operation": kind})

    def _audit_event(self, ctx: CallContext, actor: str, department: str, action: str, model: str,
                     details: dict[str, Any]) -> None:
        try:
            with self.db.session() as session:
                audit.append(session, audit.AuditEntry(
                    actor=actor, department=department, use_case=ctx.use_case, action=action, model=model,
                    data_class=ctx.data_class.value, details={"request_id": ctx.request_id, **details},
                ), key=self.audit_key)
        except RathausError:
            log.warning("could not audit %s of request %s", action, ctx.request_id)

    def _refused(self, ctx: CallContext, model: str | None, kind: str, exc: RathausError) -> None:
        """A refusal is a safeguard decision: it goes to the audit log and the usage records."""
        p = ctx.principal
        try:
            with self.db.session() as session:
                metering.record(
                    session, request_id=ctx.request_id, department=p.department, principal=p.id,
                    principal_kind=p.kind, use_case=ctx.use_case, model=model or "auto", provider="-",
                    operation=kind, data_class=ctx.data_class.value, status="refused",
                )
                audit.append(session, audit.AuditEntry(
                    actor=p.id, department=p.department, use_case=ctx.use_case, action="model.refused",
                    model=model, data_class=ctx.data_class.value,
                    safeguards={"data_class_route": "refused", **ctx.safeguards, "reason": exc.code},
                    details={"request_id": ctx.request_id, "detail": exc.detail},
                ), key=self.audit_key)
        except RathausError:
            log.warning("could not record refusal of request %s", ctx.request_id)
        MODEL_REQUESTS.labels(model or "auto", kind, "refused").inc()


def _serialise(inputs: Any) -> Any:
    if isinstance(inputs, list):
        return [{"role": m.role, "content": m.content} if isinstance(m, ChatMessage) else m for m in inputs]
    return inputs
