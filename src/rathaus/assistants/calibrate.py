"""An assistant's answer thresholds, picked from labelled questions (``rathaus eval thresholds``).

A citizen assistant abstains when the best of its top 3 passages is less similar to the question than
``min_similarity``, or its best sentence less than ``min_evidence_similarity`` (``Answerer.grounds``). Which
values suit a collection depends on its texts and on how people ask. :func:`collect` asks the assistant each
labelled question once with every gate open and keeps the two similarities and the entries its verified
quotes come from; :func:`calibrate` then picks the pair of thresholds that answers the most questions from
their right entry while answering at most ``max_wrong`` of them from other entries only (and, given
off-topic questions, turns away at least ``min_off_topic_abstention`` of those). The model's own refusal
and the answer checks of translated answers come on top: they can only turn answers into abstentions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from rathaus.assistants.answer import Answerer
from rathaus.assistants.definitions import Assistant
from rathaus.core.errors import BadRequest

if TYPE_CHECKING:
    from rathaus.runtime import Runtime

Outcome = Literal["right", "wrong", "abstained"]


@dataclass(frozen=True)
class Signal:
    """One question as the assistant sees it before any threshold."""

    passage_similarity: float
    evidence_similarity: float
    cited: tuple[str, ...]  # entries (external id, else source) of the verified quotes, best first
    gold: str | None = None  # the entry that answers it; None for an off-topic question

    def outcome(self, min_similarity: float, min_evidence_similarity: float) -> Outcome:
        if (not self.cited or self.passage_similarity < min_similarity
                or self.evidence_similarity < min_evidence_similarity):
            return "abstained"
        return "right" if self.gold in self.cited else "wrong"


@dataclass(frozen=True)
class Outcomes:
    questions: int
    right_share: float  # answered with a verified quote from the right entry
    wrong_share: float  # answered, quotes only from other entries
    abstention_rate: float
    off_topic: int
    off_topic_abstention_rate: float | None  # None without off-topic questions


@dataclass(frozen=True)
class Calibration:
    min_similarity: float
    min_evidence_similarity: float
    outcomes: Outcomes  # on the questions it was picked on

    def yaml(self) -> str:
        """The lines for the assistant's YAML file."""
        return f"min_similarity: {self.min_similarity}\nmin_evidence_similarity: {self.min_evidence_similarity}\n"


def signal(answerer: Answerer, question: str, gold: str | None = None) -> Signal:
    """The similarities and cited entries of one question (a question the assistant refuses, e.g. in an
    unsupported script, counts as abstained)."""
    try:
        grounds = answerer.grounds(question, complete=True)
    except BadRequest:
        return Signal(-1.0, -1.0, (), gold)
    entry = {e.hit.document_id: e.hit.external_id or e.hit.source for e in grounds.evidence}
    cited = tuple(dict.fromkeys(entry[c.document_id] for c in grounds.citations))
    return Signal(grounds.passage_similarity, grounds.evidence_similarity, cited, gold)


def collect(runtime: Runtime, assistant: Assistant, records: Iterable[dict[str, Any]],
            progress: Callable[[int], None] | None = None) -> list[Signal]:
    """Signals of records ``{question, passage_id?}`` (``passage_id``: the right entry's external id, as in
    ``rathaus eval retrieval``; without it the question is off-topic)."""
    out = []
    for i, record in enumerate(records, 1):
        gold = record.get("passage_id")
        out.append(signal(Answerer(runtime, assistant, channel="eval"), str(record["question"]),
                          None if gold is None else str(gold)))
        if progress:
            progress(i)
    return out


def measure(signals: Sequence[Signal], off_topic: Sequence[Signal], min_similarity: float,
            min_evidence_similarity: float) -> Outcomes:
    outcomes = [s.outcome(min_similarity, min_evidence_similarity) for s in signals]
    n = max(1, len(signals))
    away = sum(s.outcome(min_similarity, min_evidence_similarity) == "abstained" for s in off_topic)
    return Outcomes(len(signals), outcomes.count("right") / n, outcomes.count("wrong") / n,
                    outcomes.count("abstained") / n, len(off_topic), away / len(off_topic) if off_topic else None)


def _cuts(values: np.ndarray) -> np.ndarray:
    """Candidate thresholds: below all values, and halfway between neighbouring distinct values (3 decimals)."""
    distinct = np.unique(np.round(values, 3))
    mids = (distinct[:-1] + distinct[1:]) / 2
    return np.unique(np.round(np.concatenate([[-1.0], mids, [distinct[-1] + 0.001]]), 3))


def calibrate(signals: Sequence[Signal], off_topic: Sequence[Signal] = (), *, max_wrong: float = 0.05,
              min_off_topic_abstention: float = 0.0) -> Calibration:
    """The thresholds that answer the most questions from their right entry with at most ``max_wrong`` of
    them answered from other entries only and at least ``min_off_topic_abstention`` of the off-topic
    questions turned away; ties go to fewer wrong answers, then to more off-topic abstentions, then to the
    lower thresholds. Abstaining on everything always qualifies, so there is always an answer."""
    if not signals:
        raise BadRequest("calibration needs at least one labelled question")
    if not 0 <= max_wrong <= 1 or not 0 <= min_off_topic_abstention <= 1:
        raise BadRequest("max_wrong and min_off_topic_abstention are shares between 0 and 1")
    every = [*signals, *off_topic]
    passage = np.array([s.passage_similarity for s in every])
    evidence = np.array([s.evidence_similarity for s in every])
    p_cuts, e_cuts = _cuts(passage), _cuts(evidence)
    answers = np.array([bool(s.cited) for s in every])
    labelled = len(signals)
    right = np.array([s.gold in s.cited for s in signals])
    best: tuple[float, ...] | None = None
    pick = (float(p_cuts[-1]), float(e_cuts[-1]))  # abstain on everything
    for p in p_cuts:
        # answered[j, k]: question k is answered under this passage cut and evidence cut j
        answered = (passage >= p)[None, :] & (evidence[None, :] >= e_cuts[:, None]) & answers[None, :]
        right_share = (answered[:, :labelled] & right).sum(axis=1) / labelled
        wrong_share = (answered[:, :labelled] & ~right).sum(axis=1) / labelled
        away = (~answered[:, labelled:]).sum(axis=1) / len(off_topic) if off_topic else np.ones(len(e_cuts))
        ok = (wrong_share <= max_wrong + 1e-9) & (away >= min_off_topic_abstention - 1e-9)
        for j in np.nonzero(ok)[0]:
            key = (right_share[j], -wrong_share[j], away[j], -p, -e_cuts[j])
            if best is None or key > best:
                best, pick = key, (float(p), float(e_cuts[j]))
    return Calibration(pick[0], pick[1], measure(signals, off_topic, *pick))
