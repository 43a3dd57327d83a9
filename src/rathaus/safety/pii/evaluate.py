"""Score ``detect()`` on GermEval-style sentences: PER against PERSON and LOC against ORT, per span.

Each sentence's tokens are joined with single spaces and passed through the full ``detect()`` (tagger,
cue rules and patterns), and every found span is mapped back to the tokens it covers. Exact match needs
the same first and last token; partial match needs an overlap of at least one token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from rathaus.safety.pii import kinds as k
from rathaus.safety.pii.germeval import Scores, Sentence, score, spans_from_tags

TYPE_OF_KIND = {k.PERSON: "PER", k.ORT: "LOC"}


@dataclass
class Evaluation:
    scores: dict[str, Scores]
    sentences: int
    seconds: float

    @property
    def ms_per_sentence(self) -> float:
        return 1000 * self.seconds / self.sentences if self.sentences else 0.0


def token_spans(tokens: list[str], found: list[tuple[str, int, int]]) -> set[tuple[str, int, int]]:
    """(type, first token, stop token) for character spans over ``" ".join(tokens)``."""
    starts, pos = [], 0
    for t in tokens:
        starts.append(pos)
        pos += len(t) + 1
    result = set()
    for typ, start, end in found:
        covered = [i for i, s in enumerate(starts) if s < end and start < s + len(tokens[i])]
        if covered:
            result.add((typ, covered[0], covered[-1] + 1))
    return result


def evaluate_detector(sentences: list[Sentence], find: Callable[[str], list[tuple[str, int, int]]],
                      progress: Callable[[int], None] | None = None) -> Evaluation:
    """``find(text)`` returns (PER|LOC, start, end) character spans; used for rathaus and for baselines."""
    gold, predicted = [], []
    started = time.perf_counter()
    for i, s in enumerate(sentences, 1):
        text = " ".join(s.tokens)
        predicted.append(token_spans(s.tokens, find(text)))
        gold.append({g for g in spans_from_tags(s.tags) if g[0] in ("PER", "LOC")})
        if progress:
            progress(i)
    seconds = time.perf_counter() - started
    return Evaluation(score(gold, predicted), len(sentences), seconds)


def rathaus_finder(text: str, high_recall: bool = False) -> list[tuple[str, int, int]]:
    from rathaus.safety.pii.detection import detect

    return [(TYPE_OF_KIND[s.kind], s.start, s.end) for s in detect(text, {k.PERSON, k.ORT}, high_recall=high_recall)]
