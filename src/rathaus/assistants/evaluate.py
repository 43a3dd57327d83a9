"""Answer quality on any question set of the shape {question, answers: [gold strings]}."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rathaus.assistants.answer import Answerer
from rathaus.assistants.definitions import Assistant

if TYPE_CHECKING:
    from rathaus.runtime import Runtime


@dataclass
class AnswerScores:
    questions: int
    verified_share: float  # answers shown with at least one verified quote
    abstention_rate: float
    gold_share: float  # answers (text or quotes) containing a gold string, over all questions
    gold_share_answered: float  # the same over the answered questions
    model_phrasing_share: float  # answered with model text that passed the checks (translation, rephrasing)
    p50_s: float
    p95_s: float


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def evaluate_answers(runtime: Runtime, assistant: Assistant, records: list[dict[str, Any]],
                     progress: Callable[[int], None] | None = None) -> AnswerScores:
    verified = abstained = gold = model = 0
    seconds = []
    for i, record in enumerate(records, 1):
        t0 = time.perf_counter()
        answer = Answerer(runtime, assistant, channel="eval").answer(record["question"])
        seconds.append(time.perf_counter() - t0)
        if answer.abstained:
            abstained += 1
        elif answer.citations and all(c.verified for c in answer.citations):
            verified += 1
            model += answer.phrasing in ("translate", "rephrase")
            shown = _norm(answer.text + " " + " ".join(c.quote for c in answer.citations))
            gold += any(_norm(g) in shown for g in record.get("answers") or [] if g)
        if progress:
            progress(i)
    n = len(records)
    answered = n - abstained
    seconds.sort()
    return AnswerScores(
        questions=n, verified_share=verified / n, abstention_rate=abstained / n, gold_share=gold / n,
        gold_share_answered=gold / answered if answered else 0.0, model_phrasing_share=model / n,
        p50_s=seconds[len(seconds) // 2], p95_s=seconds[min(len(seconds) - 1, int(len(seconds) * 0.95))],
    )
