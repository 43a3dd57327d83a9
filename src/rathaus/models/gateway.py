"""The one door to every model: routing by data class, budgets, metering, audit.

Every chat and embedding call of every capability goes through :class:`Gateway`. A call is
(1) routed to a model cleared for its data class, (2) checked against the context length,
(3) reserved against the department's budget, (4) executed, (5) metered (tokens, latency, €, Wh,
gCO2e) and written to the audit log together with the budget settlement in one transaction.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Generator
from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, TypeVar

from rathaus.core import audit, budgets, energy, metering
from rathaus.core.auth import Principal
from rathaus.core.classification import DataClass
from rathaus.core.db import Database
from rathaus.core.errors import BadRequest, BudgetExhausted, ContextLengthExceeded, RathausError, UpstreamError
from rathaus.core.observability import MODEL_COST_EUR, MODEL_ENERGY_WH, MODEL_LATENCY, MODEL_REQUESTS, MODEL_TOKENS
from rathaus.core.settings import Settings
from rathaus.models.admission import Admission, ModelBusy, Slot
from rathaus.models.catalog import Catalog, ModelSpec
from rathaus.models.providers import build_provider
from rathaus.models.routing import Route, resolve
from rathaus.models.safeguards import RequestSafety
from rathaus.models.types import ChatMessage, ChatParams, ChatProvider, EmbeddingProvider, StreamDelta, StreamEnd
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
        self.model = call.model
        self._ran = False

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
        gw, call, spec = self.gateway, self.call, self.call.route.spec
        assert call.safety is not None  # set by Gateway._prepare
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
        except RathausError:
            status = "error"
            raise
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
        if status == "ok":
            outcome.text = shown_text
            yield outcome


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
        """Route, budget precheck, safeguards, context length, budget reservation and a slot of the model (unless
        given: :meth:`admit`) of one chat call."""
        if not messages:
            raise BadRequest("at least one message is needed")
        route = self.route(ctx, model, "chat")
        spec = route.spec
        self._budget(ctx, spec.name, "chat", budgets.precheck)
        safety, messages = self._safeguard(ctx, route, messages)
        try:
            call = self._checked(ctx, route, safety, messages, params)
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
        """A slot of the chat model this context routes to, taken before anything is stored, so that a busy model
        (429) changes nothing; pass it to :meth:`chat_stream`."""
        return self._admit(ctx, self.route(ctx, model, "chat").spec)

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
        assert call.safety is not None  # set by _prepare
        call.start()
        try:
            with call.slot or nullcontext():
                result = self.chat_provider(call.route.spec).chat(call.messages, call.params)
        except Exception:
            self._finish(call, "chat", "error", output="", prompt_tokens=call.prompt_tokens, completion_tokens=0,
                         finish_reason="error", cpu_seconds=None)
            raise
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
        route = self.route(ctx, model, "embedding")
        spec = route.spec
        self._budget(ctx, spec.name, "embedding", budgets.precheck)
        provider = self.embedding_provider(spec)
        estimate = sum(len(t) for t in texts) // 2 + 2 * len(texts)
        max_eur = energy.cost_eur(estimate, 0, spec.price_in_per_1m_eur, 0)
        reservation = self._budget(ctx, spec.name, "embedding", budgets.reserve, max_eur, estimate)
        call = PreparedCall(ctx, route, reservation, estimate, texts=texts)
        call.start()
        try:
            result = provider.embed(texts, purpose=purpose)
        except Exception:
            self._finish(call, "embed", "error", output="", prompt_tokens=0, completion_tokens=0,
                         finish_reason="error", cpu_seconds=None)
            raise
        outcome = self._finish(call, "embed", "ok", output="", prompt_tokens=result.prompt_tokens, completion_tokens=0,
                               finish_reason="stop", cpu_seconds=result.cpu_seconds,
                               output_hash=audit.content_hash(f"{len(texts)} vectors"))
        return EmbedOutcome(result.vectors, spec.name, outcome.metrics, ctx.request_id, route.rerouted_from)

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
                           safety=dict(safety.report) if safety else {},
                           warnings=list(safety.warnings) if safety else [], replaced=bool(safety and safety.replaced))

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
