"""Plain data passed between the gateway and its providers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

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


class ChatProvider(Protocol):
    def count_tokens(self, messages: list[ChatMessage]) -> int: ...

    def chat(self, messages: list[ChatMessage], params: ChatParams) -> ChatResult: ...

    def chat_stream(self, messages: list[ChatMessage], params: ChatParams) -> Iterator[StreamEvent]: ...

    def check(self) -> str: ...


class EmbeddingProvider(Protocol):
    def embed(self, texts: list[str], *, purpose: Literal["query", "passage"]) -> EmbeddingResult: ...

    def check(self) -> str: ...
