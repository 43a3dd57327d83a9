"""Score ``detect()`` on GermEval-style sentences: PER against PERSON and LOC against ORT, per span.

Each sentence's tokens are joined with single spaces and passed through the full ``detect()`` (tagger,
cue rules and patterns), and every found span is mapped back to the tokens it covers. Exact match needs
the same first and last token; partial match needs an overlap of at least one token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rathaus.core.errors import BadRequest
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


@dataclass(frozen=True)
class LetterScores:
    """Person names in short letters and e-mails: exact character spans, and overlap for recall."""

    texts: int
    gold: int
    predicted: int
    exact: int
    overlapped: int  # gold names overlapped by a found PERSON span
    missed: tuple[str, ...]  # gold names not found exactly (for the report; synthetic data only)
    false: tuple[str, ...]  # found spans that are no gold name

    @property
    def recall(self) -> float:
        return self.exact / self.gold if self.gold else 0.0

    @property
    def precision(self) -> float:
        return self.exact / self.predicted if self.predicted else 0.0

    @property
    def partial_recall(self) -> float:
        return self.overlapped / self.gold if self.gold else 0.0


def read_letters(path: Path) -> list[tuple[str, set[tuple[int, int]]]]:
    """The hand-checked letter set: JSON lines ``{"text": …, "persons": [{"start", "end", "text"}]}``."""
    if not path.is_file():
        raise BadRequest(f"no such file: {path}")
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text = row["text"]
            spans = {(int(p["start"]), int(p["end"])) for p in row["persons"]}
        except (ValueError, KeyError, TypeError) as exc:
            raise BadRequest(f"{path.name}:{number}: expected {{'text', 'persons': [{{start, end}}]}} "
                             f"({type(exc).__name__}: {exc})") from None
        for start, end in spans:
            if not 0 <= start < end <= len(text):
                raise BadRequest(f"{path.name}:{number}: span {start}–{end} outside the text")
        cases.append((text, spans))
    return cases


def evaluate_letters(cases: list[tuple[str, set[tuple[int, int]]]],
                     find: Callable[[str], list[tuple[str, int, int]]]) -> LetterScores:
    gold_n = predicted_n = exact = overlapped = 0
    missed: list[str] = []
    false: list[str] = []
    for text, gold in cases:
        found = {(s, e) for typ, s, e in find(text) if typ == "PER"}
        gold_n += len(gold)
        predicted_n += len(found)
        exact += len(gold & found)
        overlapped += sum(any(s < e2 and s2 < e for s2, e2 in found) for s, e in gold)
        missed.extend(text[s:e] for s, e in sorted(gold - found))
        false.extend(text[s:e] for s, e in sorted(found - gold))
    return LetterScores(len(cases), gold_n, predicted_n, exact, overlapped, tuple(missed), tuple(false))
