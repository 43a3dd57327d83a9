"""Plain data passed between the gateway and its providers, and the Protocols the providers implement."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass
class ChatParams:
    max_tokens: int | None = None
    temperature: float = 0.7
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    seed: int | None = None


@dataclass
class ChatResult:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    cpu_seconds: float | None = None


@dataclass
class StreamDelta:
    text: str


@dataclass
class StreamEnd:
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    cpu_seconds: float | None = None


StreamEvent = StreamDelta | StreamEnd


@dataclass
class EmbeddingResult:
    vectors: list[list[float]]
    prompt_tokens: int
    cpu_seconds: float | None = None
    tokens_per_text: list[int] | None = None  # when the provider counts per text (splits a batch's metering)


@runtime_checkable
class ChatProvider(Protocol):
    """What the gateway needs from a chat model (``rathaus.models.providers``); a provider may also offer
    ``warm_up()`` to load its weights ahead of the first call."""

    def count_tokens(self, messages: list[ChatMessage]) -> int:
        """Prompt tokens of these messages as the model will count them (or a generous estimate)."""
        ...

    def chat(self, messages: list[ChatMessage], params: ChatParams) -> ChatResult: ...

    def chat_stream(self, messages: list[ChatMessage], params: ChatParams) -> Generator[StreamEvent, None, None]:
        """Deltas, then one StreamEnd; the gateway closes the generator when the caller stops early."""
        ...

    def check(self) -> str:
        """A short line for ``rathaus models check``; raises when the model cannot answer."""
        ...


@runtime_checkable
class EmbeddingProvider(Protocol):
    """What the gateway needs from an embedding model."""

    def embed(self, texts: list[str], *, purpose: Literal["query", "passage"]) -> EmbeddingResult: ...

    def check(self) -> str: ...
