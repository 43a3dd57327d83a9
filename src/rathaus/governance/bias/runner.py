"""Asking a model, an assistant or a baseline every sampled GG-BBQ question, and scoring the replies.

A model is asked through the platform's gateway (so every call is metered and audited like any other,
use case ``eval:bias``), with deterministic decoding (temperature 0, fixed seed). An assistant is evaluated
as the model it routes to with its persona as system prompt: GG-BBQ questions come with their own context,
so the assistant's retrieval and citation steps do not apply to them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from rathaus.core.auth import Principal, local_principal
from rathaus.core.classification import DataClass
from rathaus.core.errors import ContextLengthExceeded, UpstreamError
from rathaus.governance.bias.items import Item, strata_counts
from rathaus.governance.bias.metrics import BiasMetrics, Outcome, compute_metrics
from rathaus.governance.bias.prompt import PROMPT_VERSION, build_messages, presentation_order, read_choice
from rathaus.models.gateway import CallContext
from rathaus.models.types import ChatParams

if TYPE_CHECKING:
    from rathaus.runtime import Runtime

USE_CASE = "eval:bias"
MAX_REPLY_TOKENS = 12
SubjectKind = Literal["model", "assistant", "baseline"]


@dataclass
class Subject:
    """Who answered: a catalogue model, an assistant (through its model) or a baseline."""

    kind: SubjectKind
    name: str
    model: str | None = None
    model_version: str | None = None
    model_sha256: str | None = None
    provider: str | None = None

    @property
    def label(self) -> str:
        if self.kind == "assistant":
            return f"{self.name} ({self.model})"
        return self.name


class Answerer(Protocol):
    subject: Subject

    def answer(self, item: Item) -> Outcome: ...


# --- baselines -------------------------------------------------------------------------------------------
class UnknownAnswerer:
    """Always answers "unknown": perfect on ambiguous contexts, 0 on disambiguated ones, no bias score."""

    def __init__(self) -> None:
        self.subject = Subject("baseline", "always-unknown")

    def answer(self, item: Item) -> Outcome:
        return Outcome(item, item.unknown, "unknown")


class RandomAnswerer:
    """Picks one of the three answers uniformly, seeded per item (so the sample order does not matter)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.subject = Subject("baseline", "random")

    def answer(self, item: Item) -> Outcome:
        return Outcome(item, random.Random(f"random:{self.seed}:{item.id}").randrange(3), "random")


class StereotypeAnswerer:
    """Always gives the stereotype-consistent answer: the upper end of both bias scores (+1)."""

    def __init__(self) -> None:
        self.subject = Subject("baseline", "always-stereotype")

    def answer(self, item: Item) -> Outcome:
        return Outcome(item, item.biased_answer, "stereotype")


class CorrectAnswerer:
    """Always right: the reference a perfect model would get. In GG-BBQ subset 2 most disambiguated items have
    a counter-stereotypical answer, so even this answerer has s_DIS < 0 there; read a model's s_DIS against it."""

    def __init__(self) -> None:
        self.subject = Subject("baseline", "always-correct")

    def answer(self, item: Item) -> Outcome:
        return Outcome(item, item.label, "correct")


def baselines(seed: int = 0) -> list[Answerer]:
    """The comparison answerers run on the same sample: unknown, random, stereotype, correct (no model calls)."""
    return [UnknownAnswerer(), RandomAnswerer(seed), StereotypeAnswerer(), CorrectAnswerer()]


# --- models ----------------------------------------------------------------------------------------------
_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens", "cost_eur", "energy_wh", "gco2e")


class ModelAnswerer:
    """Asks a catalogue model (or the model of an assistant, with its persona) through the gateway."""

    def __init__(self, runtime: Runtime, *, model: str | None = None, assistant: Any | None = None, seed: int = 0,
                 shuffle: bool = True, principal: Principal | None = None) -> None:
        self.gateway = runtime.gateway
        self.seed, self.shuffle = seed, shuffle
        self.persona: str | None = None
        data_class = DataClass.OEFFENTLICH  # GG-BBQ texts are public
        if assistant is not None:
            model = None if assistant.model == "auto" else assistant.model
            self.persona = assistant.persona
            data_class = DataClass.parse(assistant.data_class)  # routes to the model the assistant really uses
        self.ctx = CallContext(principal=principal or local_principal(runtime.settings), data_class=data_class,
                               use_case=USE_CASE)
        spec = self.gateway.route(self.ctx, model, "chat").spec
        self.model = spec.name
        self.subject = Subject(
            kind="assistant" if assistant is not None else "model",
            name=assistant.name if assistant is not None else spec.name,
            model=spec.name, model_version=spec.version or spec.sha256 or spec.remote_model,
            model_sha256=spec.sha256, provider=spec.provider,
        )
        self.usage: dict[str, float] = dict.fromkeys(_USAGE_KEYS, 0.0)
        self.errors = 0

    def answer(self, item: Item) -> Outcome:
        order = presentation_order(item, self.seed, self.shuffle)
        messages = build_messages(item, order, self.persona)
        params = ChatParams(max_tokens=MAX_REPLY_TOKENS, temperature=0.0, top_p=1.0, seed=self.seed)
        try:
            out = self.gateway.chat(self.ctx, messages, model=self.model, params=params)
        except (ContextLengthExceeded, UpstreamError) as exc:  # one item failed: counted as unparsable
            self.errors += 1
            return Outcome(item, None, f"[error: {exc.detail}]")
        for key, value in out.metrics.as_dict().items():
            if key in self.usage:
                self.usage[key] += float(value)
        return Outcome(item, read_choice(out.text or "", item, order), out.text or "")


# --- runs ------------------------------------------------------------------------------------------------
@dataclass
class BiasRun:
    """One answerer on one sample: replies, figures, timing and the sample definition."""

    subject: Subject
    outcomes: list[Outcome]
    metrics: BiasMetrics
    seconds: float
    sample: dict[str, Any]
    usage: dict[str, Any] = field(default_factory=dict)
    errors: int = 0

    @property
    def seconds_per_item(self) -> float:
        return self.seconds / len(self.outcomes) if self.outcomes else 0.0

    def figures(self) -> dict[str, Any]:
        return {**self.metrics.flat(), "seconds": self.seconds, "seconds_per_item": self.seconds_per_item,
                "errors": self.errors}

    def replies(self) -> list[dict[str, Any]]:
        return [{"id": o.item.id, "choice": o.choice, "reply": o.reply[:200]} for o in self.outcomes]


def describe_sample(items: list[Item], *, benchmark: str, files: list[dict[str, Any]], limit: int | None,
                    seed: int, shuffle: bool, available: int, problems: int) -> dict[str, Any]:
    """The sample definition stored with every run: enough to draw the same items again."""
    return {"benchmark": benchmark, "files": files, "limit": limit, "seed": seed, "shuffle_answers": shuffle,
            "available_items": available, "bad_lines": problems, "items": len(items),
            "strata": strata_counts(items), "prompt_version": PROMPT_VERSION}


def run_eval(items: list[Item], answerer: Answerer, sample: dict[str, Any], *, seed: int = 0,
             progress: Callable[[int, Outcome], None] | None = None) -> BiasRun:
    """Ask ``answerer`` every item in order and compute the figures; ``progress(done, outcome)`` after each."""
    outcomes: list[Outcome] = []
    t0 = time.perf_counter()
    for i, item in enumerate(items, 1):
        outcome = answerer.answer(item)
        outcomes.append(outcome)
        if progress:
            progress(i, outcome)
    seconds = time.perf_counter() - t0
    usage = dict(getattr(answerer, "usage", {}) or {})
    return BiasRun(subject=answerer.subject, outcomes=outcomes, metrics=compute_metrics(outcomes, seed=seed),
                   seconds=seconds, sample=sample, usage=usage, errors=int(getattr(answerer, "errors", 0)))
