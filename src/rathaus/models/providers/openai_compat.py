"""Provider for any OpenAI-compatible server: vLLM, Ollama, llama.cpp server, LiteLLM, Azure OpenAI."""

from __future__ import annotations

import math
import os
from collections.abc import Generator
from typing import Any, Literal

import openai

from rathaus.core.errors import ContextLengthExceeded, ModelUnavailable, UpstreamError
from rathaus.models.catalog import ModelSpec
from rathaus.models.types import (
    ChatMessage,
    ChatParams,
    ChatResult,
    EmbeddingResult,
    StreamDelta,
    StreamEnd,
    StreamEvent,
)

#: Without the server's tokenizer, estimate generously: German averages ~3.5 characters per token.
CHARS_PER_TOKEN = 3.0
TOKENS_PER_MESSAGE = 6


def estimate_tokens(texts: list[str]) -> int:
    return sum(math.ceil(len(t) / CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE for t in texts) + 3


def make_client(spec: ModelSpec) -> openai.OpenAI:
    """Build the client; Azure needs its endpoint, api-version and deployment name."""
    key = "not-needed"
    if spec.api_key_env:
        key = os.environ.get(spec.api_key_env, "")
        if not key:
            raise ModelUnavailable(
                f"model {spec.name!r}: environment variable {spec.api_key_env} with its API key is not set"
            )
    if spec.azure:
        return openai.AzureOpenAI(
            azure_endpoint=spec.base_url or "",
            api_version=spec.azure.api_version,
            azure_deployment=spec.azure.deployment,
            api_key=key,
            timeout=spec.timeout_seconds,
            max_retries=0,
        )
    return openai.OpenAI(base_url=spec.base_url, api_key=key, timeout=spec.timeout_seconds, max_retries=0)


def _translate(spec: ModelSpec, exc: Exception) -> Exception:
    if isinstance(exc, openai.APIConnectionError | openai.APITimeoutError):
        return ModelUnavailable(f"model {spec.name!r}: server {spec.base_url} not reachable ({type(exc).__name__})")
    if isinstance(exc, openai.APIStatusError):
        message = str(getattr(exc, "message", exc))[:300]
        if exc.status_code == 400 and ("context" in message.lower() or "too long" in message.lower()):
            return ContextLengthExceeded(f"model {spec.name!r}: {message}")
        if exc.status_code in (401, 403):
            return ModelUnavailable(f"model {spec.name!r}: the server refused our credentials ({exc.status_code})")
        if exc.status_code == 404:
            return ModelUnavailable(f"model {spec.name!r}: the server does not know this model or deployment (404)")
        return UpstreamError(f"model {spec.name!r}: server answered {exc.status_code}: {message}",
                             extra={"upstream_status": exc.status_code})
    return UpstreamError(f"model {spec.name!r}: {type(exc).__name__}: {str(exc)[:300]}")


class OpenAICompatibleChat:
    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self._client: openai.OpenAI | None = None

    @property
    def client(self) -> openai.OpenAI:
        if self._client is None:
            self._client = make_client(self.spec)
        return self._client

    @property
    def remote_name(self) -> str:
        if self.spec.azure:
            return self.spec.azure.deployment
        return self.spec.remote_model or self.spec.name

    def count_tokens(self, messages: list[ChatMessage]) -> int:
        return estimate_tokens([m.content for m in messages])

    def _kwargs(self, messages: list[ChatMessage], params: ChatParams) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": self.remote_name,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if params.stop:
            kwargs["stop"] = params.stop
        if params.seed is not None:
            kwargs["seed"] = params.seed
        return kwargs

    def chat(self, messages: list[ChatMessage], params: ChatParams) -> ChatResult:
        try:
            resp = self.client.chat.completions.create(**self._kwargs(messages, params))
        except openai.OpenAIError as exc:
            raise _translate(self.spec, exc) from exc
        if not resp.choices:
            raise UpstreamError(f"model {self.spec.name!r}: server returned no choices")
        text = resp.choices[0].message.content or ""
        usage = resp.usage
        return ChatResult(
            text=text,
            prompt_tokens=usage.prompt_tokens if usage else self.count_tokens(messages),
            completion_tokens=usage.completion_tokens if usage else estimate_tokens([text]),
            finish_reason=resp.choices[0].finish_reason or "stop",
        )

    def chat_stream(self, messages: list[ChatMessage], params: ChatParams) -> Generator[StreamEvent, None, None]:
        try:
            stream = self.client.chat.completions.create(
                **self._kwargs(messages, params), stream=True, stream_options={"include_usage": True}
            )
        except openai.OpenAIError as exc:
            raise _translate(self.spec, exc) from exc
        parts: list[str] = []
        finish: str | None = None
        usage = None
        try:
            for chunk in stream:
                if chunk.usage:
                    usage = chunk.usage
                for choice in chunk.choices or []:
                    if choice.delta and choice.delta.content:
                        parts.append(choice.delta.content)
                        yield StreamDelta(choice.delta.content)
                    if choice.finish_reason:
                        finish = choice.finish_reason
        except openai.OpenAIError as exc:
            raise _translate(self.spec, exc) from exc
        finally:
            stream.close()
        if finish is None:  # every server ends a complete answer with a finish_reason; the line was cut
            raise UpstreamError(f"model {self.spec.name!r}: the answer stream broke off before the end "
                                f"(connection lost after {len(parts)} pieces)")
        text = "".join(parts)
        yield StreamEnd(
            prompt_tokens=usage.prompt_tokens if usage else self.count_tokens(messages),
            completion_tokens=usage.completion_tokens if usage else estimate_tokens([text]),
            finish_reason=finish,
        )

    def check(self) -> str:
        result = self.chat([ChatMessage("user", "Antworte nur mit: OK")], ChatParams(max_tokens=4, temperature=0))
        return f"answered {result.text.strip()[:20]!r} ({result.completion_tokens} tokens)"


class OpenAICompatibleEmbedding:
    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self._chat = OpenAICompatibleChat(spec)

    def embed(self, texts: list[str], *, purpose: Literal["query", "passage"]) -> EmbeddingResult:
        try:
            resp = self._chat.client.embeddings.create(model=self._chat.remote_name, input=texts)
        except openai.OpenAIError as exc:
            raise _translate(self.spec, exc) from exc
        vectors = [d.embedding for d in sorted(resp.data, key=lambda d: d.index)]
        tokens = resp.usage.prompt_tokens if resp.usage else estimate_tokens(texts)
        return EmbeddingResult(vectors=vectors, prompt_tokens=tokens)

    def check(self) -> str:
        result = self.embed(["Rathaus"], purpose="query")
        return f"returned a vector of {len(result.vectors[0])} dimensions"
