"""Model calls of a writing tool and what a tool returns.

Each tool makes a few short model calls through the gateway (routing, budgets, metering and audit apply);
:class:`Calls` sizes them to the routed model's context and output limits, counts them and sums their
metrics. Every tool returns a :class:`ToolResult`: the Markdown shown to the user, machine-checkable
``checks``, the number of model calls (``rounds``), the summed metrics, a ``fallback`` flag (the checks
failed and a deterministic or partial result is shown, or a target was not reached) and tool-specific
``extra`` facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rathaus.core.errors import BadRequest
from rathaus.models.types import ChatMessage, ChatParams

CHARS_PER_TOKEN = 3.0  # estimate when the provider cannot count (conservative for German)
TEMPERATURE = 0.2
SEED = 7
MIN_OUTPUT_TOKENS = 48
MAX_CHUNKS = 4  # chunked tools (simplify, translate) take at most this many output budgets of text


@dataclass
class ToolResult:
    """What a tool returns (see the module docstring)."""

    text: str
    checks: dict[str, Any]
    rounds: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)
    fallback: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # the safeguards' warnings (e.g. content-guard:output)


_SUM_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens", "latency_ms", "cost_eur", "energy_wh", "gco2e")


def empty_metrics() -> dict[str, Any]:
    return {**dict.fromkeys(_SUM_KEYS, 0), "energy_method": "measured"}


def add_metrics(total: dict[str, Any], one: dict[str, Any]) -> dict[str, Any]:
    for key in _SUM_KEYS:
        total[key] = total.get(key, 0) + (one.get(key) or 0)
    for key in ("latency_ms", "cost_eur", "energy_wh", "gco2e"):
        total[key] = round(float(total[key]), 6)
    if one.get("energy_method") == "estimated":
        total["energy_method"] = "estimated"
    return total


class Calls:
    """Model calls of one tool run: token budgets from the routed model, metrics summed, calls counted."""

    def __init__(self, runtime: Any, ctx: Any, model: str | None, tool: str):
        self.gateway, self.ctx, self.model, self.tool = runtime.gateway, ctx, model, tool
        self.spec = self.gateway.route(ctx, model, "chat").spec
        self.rounds = 0
        self.metrics = empty_metrics()
        self.warnings: set[str] = set()

    @property
    def name(self) -> str:
        return str(self.spec.name)

    def count(self, messages: list[ChatMessage]) -> int:
        provider = getattr(self.gateway, "provider", None)
        if provider is not None:
            try:
                return int(provider(self.spec).count_tokens(messages))
            except Exception:  # noqa: S110 - a provider that cannot count: estimate
                pass
        return sum(int(len(m.content) / CHARS_PER_TOKEN) + 4 for m in messages) + 4

    def text_tokens(self, text: str) -> int:
        return max(1, self.count([ChatMessage("user", text)]) - self.count([ChatMessage("user", "")]))

    def budget(self, reserve_out: int, overhead: int) -> int:
        """Tokens of input text that fit next to ``overhead`` prompt tokens and ``reserve_out`` output tokens."""
        return int(self.spec.context_length - min(reserve_out, self.spec.max_output_tokens) - overhead)

    def too_long(self, tokens: int, limit: int) -> BadRequest:
        return BadRequest(
            f"{self.tool}: der Text ist zu lang für das Modell {self.name} (etwa {tokens} Tokens, höchstens "
            f"{max(0, limit)}); bitte kürzen oder aufteilen / the text is too long for model {self.name} "
            f"(about {tokens} tokens, at most {max(0, limit)}); shorten or split it",
            extra={"tokens": tokens, "max_tokens": max(0, limit), "model": self.name},
        )

    def chat(self, messages: list[ChatMessage], max_tokens: int, *, temperature: float = TEMPERATURE,
             seed: int = SEED) -> tuple[str, str]:
        """(text, finish_reason); max_tokens is capped by the model's output limit and the free context."""
        room = self.spec.context_length - self.count(messages) - 4
        n = min(max_tokens, self.spec.max_output_tokens, room)
        if n < min(MIN_OUTPUT_TOKENS, max_tokens):
            raise self.too_long(self.count(messages), self.spec.context_length - max_tokens)
        out = self.gateway.chat(self.ctx, messages, model=self.model,
                                params=ChatParams(max_tokens=n, temperature=temperature, seed=seed))
        self.rounds += 1
        add_metrics(self.metrics, out.metrics.as_dict())
        self.warnings.update(getattr(out, "warnings", None) or [])
        return out.text or "", getattr(out, "finish_reason", "stop") or "stop"

    def result(self, result: ToolResult) -> ToolResult:
        """The tool's result with the safeguards' warnings of all its calls."""
        result.warnings = sorted(self.warnings)
        return result
