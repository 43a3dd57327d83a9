"""OpenAI-compatible endpoints so other city applications can use rathaus as their model door.

Extensions (ignored by OpenAI clients): the body fields ``data_class``, ``use_case`` and
``input_type`` (embeddings), the headers ``X-Rathaus-Data-Class``, ``X-Rathaus-Use-Case``,
``X-Rathaus-Reroute``, and a ``rathaus`` object in every response with tokens, €, Wh and gCO2e.
"""

from __future__ import annotations

import base64
import json
import struct
import time
from collections.abc import AsyncIterator, Callable, MutableMapping
from typing import Any, Literal, cast

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool

from rathaus.api.problems import PROBLEM_SCHEMA
from rathaus.core.errors import BadRequest, RathausError
from rathaus.http.deps import ContextDep, PrincipalDep, RuntimeDep, parse_data_class
from rathaus.http.model_threads import run_model_call
from rathaus.models.gateway import CallContext, ChatOutcome, Metrics
from rathaus.models.safeguards import REFUSAL
from rathaus.models.types import ChatMessage, ChatParams, StreamDelta

router = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: PROBLEM_SCHEMA for code in (400, 401, 403, 404, 413, 422, 429, 502, 503)
}
MAX_MESSAGE_CHARS = 400_000


class TextPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["text"]
    text: str = Field(max_length=MAX_MESSAGE_CHARS)


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant", "developer"]
    content: str | list[TextPart] = Field(max_length=MAX_MESSAGE_CHARS)

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    include_usage: bool = True


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str = Field(default="auto", max_length=100)
    messages: list[Message] = Field(min_length=1, max_length=500)
    max_tokens: int | None = Field(default=None, ge=1, le=200_000)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=200_000)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    n: int = Field(default=1, ge=1, le=1, description="Only one choice is supported.")
    stream: bool = False
    stream_options: StreamOptions | None = None
    stop: str | list[str] | None = None
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    user: str | None = Field(default=None, max_length=200)
    data_class: str | None = Field(default=None, max_length=40, description="rathaus: data class of the content")
    use_case: str | None = Field(default=None, max_length=100, description="rathaus: use case for metering")

    @field_validator("stop")
    @classmethod
    def _stop(cls, value: str | list[str] | None) -> list[str] | None:
        if value is None:
            return None
        values = [value] if isinstance(value, str) else value
        if len(values) > 4 or any(not v or len(v) > 100 for v in values):
            raise ValueError("stop takes up to 4 non-empty strings of at most 100 characters")
        return values


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str = Field(default="auto", max_length=100)
    input: str | list[str] = Field(description="A text or a list of up to 2048 texts")
    encoding_format: Literal["float", "base64"] = "float"
    input_type: Literal["query", "passage"] = Field(default="passage", description="rathaus: e5-style prefix")
    data_class: str | None = Field(default=None, max_length=40)
    use_case: str | None = Field(default=None, max_length=100)
    user: str | None = Field(default=None, max_length=200)

    @field_validator("input")
    @classmethod
    def _input(cls, value: str | list[str]) -> list[str]:
        values = [value] if isinstance(value, str) else value
        if not values:
            raise ValueError("input must not be empty")
        if len(values) > 2048:
            raise ValueError("at most 2048 texts per request")
        if any(len(v) > 50_000 for v in values):
            raise ValueError("each text may have at most 50000 characters")
        if any(not v.strip() for v in values):
            raise ValueError("texts must not be empty")
        return values


def _apply_body(ctx: CallContext, data_class: str | None, use_case: str | None) -> None:
    if data_class:
        ctx.data_class = parse_data_class(data_class, ctx.data_class)
    if use_case and use_case.strip():
        ctx.use_case = use_case.strip()


def _messages(req: ChatCompletionRequest) -> list[ChatMessage]:
    out = []
    for m in req.messages:
        role = "system" if m.role == "developer" else m.role
        out.append(ChatMessage(role, m.text()))
    if not any(m.role == "user" and m.content.strip() for m in out):
        raise BadRequest("the conversation needs at least one non-empty user message")
    return out


def _footprint(model: str, metrics: Metrics, ctx: CallContext, rerouted_from: str | None,
               failover_from: str | None = None) -> dict[str, Any]:
    """The rathaus extension every response carries: footprint and routing."""
    return {**metrics.as_dict(), "model": model, "data_class": ctx.data_class.value, "rerouted_from": rerouted_from,
            "failover_from": failover_from, "request_id": ctx.request_id}


def _rathaus(outcome: ChatOutcome, ctx: CallContext) -> dict[str, Any]:
    """The extension of a completion: footprint, routing, audit entry and the safeguards' verdicts."""
    return {**_footprint(outcome.model, outcome.metrics, ctx, outcome.rerouted_from, outcome.failover_from),
            "audit_seq": outcome.audit_seq,
            "safety": outcome.safety, "warnings": outcome.warnings, "withheld": outcome.replaced}


def _metric_headers(metrics: Metrics, model: str, ctx: CallContext) -> dict[str, str]:
    return {
        "X-Request-ID": ctx.request_id,
        "X-Rathaus-Model": model,
        "X-Rathaus-Cost-EUR": f"{metrics.cost_eur:.8f}",
        "X-Rathaus-Energy-Wh": f"{metrics.energy_wh:.6f}",
        "X-Rathaus-gCO2e": f"{metrics.gco2e:.6f}",
    }


@router.get("/models", responses=ERRORS)
def list_models(runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """Models of this platform with their data classes, hosting and prices."""
    data = []
    for spec in runtime.catalog.enabled():
        data.append({
            "id": spec.name, "object": "model", "created": 0, "owned_by": spec.hosting,
            "rathaus": {
                "kind": spec.kind, "provider": spec.provider, "data_classes": [c.value for c in spec.data_classes],
                "hosting": spec.hosting, "location": spec.location, "context_length": spec.context_length,
                "price_in_per_1m_eur": spec.price_in_per_1m_eur, "price_out_per_1m_eur": spec.price_out_per_1m_eur,
                "parameters_b": spec.parameters_b,
                "default": spec.name in (runtime.catalog.defaults.chat, runtime.catalog.defaults.embedding),
            },
        })
    return {"object": "list", "data": data}


@router.post("/chat/completions", responses={200: {"content": {"text/event-stream": {}}}, **ERRORS})
async def chat_completions(req: ChatCompletionRequest, runtime: RuntimeDep, ctx: ContextDep) -> Any:
    """Chat completion (with ``stream: true`` as server-sent events)."""
    _apply_body(ctx, req.data_class, req.use_case)
    messages = _messages(req)
    params = ChatParams(max_tokens=req.max_completion_tokens or req.max_tokens, temperature=req.temperature,
                        top_p=req.top_p, stop=cast(list[str], req.stop or []), seed=req.seed)  # a list: see _stop
    created = int(time.time())
    gateway = runtime.gateway
    if not req.stream:
        outcome: ChatOutcome = await run_model_call(gateway.chat, ctx, messages, req.model, params)
        body = {
            "id": f"chatcmpl-{ctx.request_id}", "object": "chat.completion", "created": created,
            "model": outcome.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": outcome.text},
                         "finish_reason": outcome.finish_reason}],
            "usage": {"prompt_tokens": outcome.metrics.prompt_tokens,
                      "completion_tokens": outcome.metrics.completion_tokens,
                      "total_tokens": outcome.metrics.prompt_tokens + outcome.metrics.completion_tokens},
            "rathaus": _rathaus(outcome, ctx),
        }
        return JSONResponse(body, headers=_metric_headers(outcome.metrics, outcome.model, ctx))

    prepared = await run_model_call(gateway.chat_stream, ctx, messages, req.model, params)  # may wait
    include_usage = req.stream_options.include_usage if req.stream_options else True
    chunk_id = f"chatcmpl-{ctx.request_id}"

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {"id": chunk_id, "object": "chat.completion.chunk", "created": created, "model": prepared.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    async def events() -> AsyncIterator[str]:
        iterator = prepared.events()
        started = False
        try:
            while True:
                item = await run_in_threadpool(next, iterator, None)  # None: the stream has ended
                if not started:  # after the model's first event: a model that failed before it was replaced
                    started = True
                    yield chunk({"role": "assistant", "content": ""})
                if item is None:
                    break
                if isinstance(item, StreamDelta):
                    yield chunk({"content": item.text})
                else:
                    if item.replaced:  # the guard withheld the rest: say so in the text
                        yield chunk({"content": ("\n\n" if item.text != REFUSAL else "") + REFUSAL})
                    extra: dict[str, Any] = {"rathaus": _rathaus(item, ctx)}
                    if include_usage:
                        extra["usage"] = {
                            "prompt_tokens": item.metrics.prompt_tokens,
                            "completion_tokens": item.metrics.completion_tokens,
                            "total_tokens": item.metrics.prompt_tokens + item.metrics.completion_tokens,
                        }
                    yield chunk({}, item.finish_reason, **extra)
            yield "data: [DONE]\n\n"
        except RathausError as exc:
            yield f"data: {json.dumps({'error': {'message': exc.detail, 'type': exc.code, 'code': exc.status}})}\n\n"
        finally:
            # The client may have gone away (stop button, lost connection): this task is then being
            # cancelled, so the close that meters the request and frees the model must be shielded.
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(iterator.close)

    def named(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """X-Rathaus-Model names the model that answers, also after a failover before the first token."""
        return [(k, prepared.model.encode()) if k == b"x-rathaus-model" else (k, v) for k, v in headers]

    return ClosingStreamingResponse(events(), media_type="text/event-stream", on_close=prepared.close,
                                    on_start=named,
                                    headers={"Cache-Control": "no-cache", "X-Request-ID": ctx.request_id,
                                             "X-Rathaus-Model": prepared.model})


class ClosingStreamingResponse(StreamingResponse):
    """Closes its generator however the response ends, so a stopped stream is metered and frees the model.

    When the client disconnects, Starlette abandons the body iterator without closing it; its cleanup
    would wait for garbage collection while the model stayed locked.
    """

    def __init__(self, content: Any, *args: Any, on_close: Callable[[], None] | None = None,
                 on_start: Callable[[list[tuple[bytes, bytes]]], list[tuple[bytes, bytes]]] | None = None,
                 **kwargs: Any):
        super().__init__(content, *args, **kwargs)
        self.on_close = on_close  # sync; frees what a stream that never started holds (PreparedStream.close)
        self.on_start = on_start  # final headers, computed when the first chunk is ready

    async def stream_response(self, send: Any) -> None:
        """The status line and headers go out with the first chunk, so they can name what only then is known."""
        held: dict[str, Any] | None = None

        async def deferred(message: MutableMapping[str, Any]) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                held = dict(message)
                return
            if held is not None:
                start, held = held, None
                if self.on_start is not None:
                    start = {**start, "headers": self.on_start(list(start["headers"]))}
                await send(start)
            await send(message)

        await super().stream_response(deferred)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            closer = getattr(self.body_iterator, "aclose", None)
            with anyio.CancelScope(shield=True):
                if closer is not None:
                    await closer()
                if self.on_close is not None:  # e.g. the client left before the first byte: the generator never ran
                    await run_in_threadpool(self.on_close)


def _encode(vector: list[float], fmt: str) -> list[float] | str:
    if fmt == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
    return vector


@router.post("/embeddings", responses=ERRORS)
async def embeddings(req: EmbeddingRequest, runtime: RuntimeDep, ctx: ContextDep) -> JSONResponse:
    """Embeddings of one or more texts."""
    _apply_body(ctx, req.data_class, req.use_case)
    texts = req.input if isinstance(req.input, list) else [req.input]
    outcome = await run_in_threadpool(runtime.gateway.embed, ctx, texts, req.model, req.input_type)
    body = {
        "object": "list",
        "model": outcome.model,
        "data": [{"object": "embedding", "index": i, "embedding": _encode(v, req.encoding_format)}
                 for i, v in enumerate(outcome.vectors)],
        "usage": {"prompt_tokens": outcome.metrics.prompt_tokens, "total_tokens": outcome.metrics.prompt_tokens},
        "rathaus": _footprint(outcome.model, outcome.metrics, ctx, outcome.rerouted_from, outcome.failover_from),
    }
    return JSONResponse(body, headers=_metric_headers(outcome.metrics, outcome.model, ctx))
