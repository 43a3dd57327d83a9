"""GermEval 2014 NER files: reading, the deterministic split, and span-level scores.

Format: one token per line ``index<TAB>token<TAB>outer tag<TAB>inner tag`` (BIO with PER, LOC, ORG,
OTH and their -deriv/-part variants), a ``#`` comment line before each sentence, blank lines between
sentences. Only the outer tag is used; -deriv/-part tags count as outside (``deutsche`` is not a place).

Split: a sentence's bucket is ``sha256(tokens joined by U+001F) mod 100``, the same rule for every file.
Buckets 0–19 are the held-out TEST (report) part, never used for training or tuning; 20–34 the VALIDATION
(tuning) part: feature and setting choices and the decision thresholds are picked there; 35–99 TRAIN.
A sentence that occurs in two files falls into the same part in both.

The corpus (``read_corpus``) is every ``NER-de-*.tsv`` of the data folder: the dev split (2,200
sentences) and the first half of the official test release (``NER-de-test-part-a.tsv``, 2,550); the
second half of the test release is kept aside by the maintainers and is not here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rathaus.core.errors import BadRequest

TEST_BUCKETS = range(0, 20)
VALIDATION_BUCKETS = range(20, 35)
CORPUS_GLOB = "NER-de-*.tsv"
ENTITY_TYPES = ("PER", "LOC", "ORG", "OTH")


@dataclass(frozen=True)
class Sentence:
    number: int  # 0-based position in the file
    tokens: list[str]
    tags: list[str]  # BIO over ENTITY_TYPES, everything else "O"
    comment: str = ""
    source: str = ""  # file name

    @property
    def bucket(self) -> int:
        digest = hashlib.sha256("\x1f".join(self.tokens).encode("utf-8")).hexdigest()
        return int(digest[:8], 16) % 100

    @property
    def part(self) -> str:
        if self.bucket in TEST_BUCKETS:
            return "test"
        return "validation" if self.bucket in VALIDATION_BUCKETS else "train"


def _outer(tag: str) -> str:
    if tag == "O" or "-" not in tag:
        return "O"
    prefix, kind = tag.split("-", 1)
    if prefix not in ("B", "I") or kind not in ENTITY_TYPES:
        return "O"
    return tag


def read_germeval(path: Path) -> list[Sentence]:
    """Sentences of a GermEval 2014 file; a file that is not in that format is a BadRequest naming the line."""
    if not path.is_file():
        raise BadRequest(f"no such file: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"{path.name}: not UTF-8 (byte {exc.start})") from None
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    comment = ""

    def close() -> None:
        nonlocal tokens, tags, comment
        if tokens:
            sentences.append(Sentence(len(sentences), tokens, tags, comment, path.name))
        tokens, tags, comment = [], [], ""

    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            close()
            continue
        if line.startswith("#"):
            close()
            comment = line[1:].strip()
            continue
        cols = line.split("\t")
        if len(cols) < 3 or not cols[0].strip().isdigit() or not cols[1]:
            raise BadRequest(f"{path.name}:{number}: expected 'index<TAB>token<TAB>tag', got {line[:60]!r}")
        tokens.append(cols[1])
        tags.append(_outer(cols[2].strip()))
    close()
    if not sentences:
        raise BadRequest(f"{path.name}: no sentences (GermEval 2014 format expected)")
    return sentences


def read_corpus(path: Path) -> list[Sentence]:
    """All sentences of a GermEval file, or of every ``NER-de-*.tsv`` in a folder (sorted by name)."""
    if path.is_dir():
        files = sorted(path.glob(CORPUS_GLOB))
        if not files:
            raise BadRequest(f"{path}: no {CORPUS_GLOB} files (GermEval 2014 NER data expected)")
        return [s for f in files for s in read_germeval(f)]
    return read_germeval(path)


def spans_from_tags(tags: list[str]) -> set[tuple[str, int, int]]:
    """(type, first token, last token + 1) for each BIO span; a stray I- starts a span."""
    spans: set[tuple[str, int, int]] = set()
    kind, start = None, 0
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, this = tag.partition("-")
        if kind is not None and (prefix != "I" or this != kind):
            spans.add((kind, start, i))
            kind = None
        if prefix == "B" or (prefix == "I" and kind is None):
            kind, start = this, i
    return spans


@dataclass
class Scores:
    """Span-level counts for one entity type, exact and partial (overlap) match."""

    gold: int = 0
    predicted: int = 0
    exact: int = 0
    partial_found: int = 0  # gold spans overlapped by a prediction of the same type
    partial_correct: int = 0  # predictions overlapping a gold span of the same type
    examples: list[str] = field(default_factory=list)

    @staticmethod
    def _f1(p: float, r: float) -> float:
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def precision(self) -> float:
        return self.exact / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.exact / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        return self._f1(self.precision, self.recall)

    @property
    def partial_precision(self) -> float:
        return self.partial_correct / self.predicted if self.predicted else 0.0

    @property
    def partial_recall(self) -> float:
        return self.partial_found / self.gold if self.gold else 0.0

    @property
    def partial_f1(self) -> float:
        return self._f1(self.partial_precision, self.partial_recall)

    def as_dict(self) -> dict[str, float | int]:
        return {"gold": self.gold, "predicted": self.predicted, "precision": self.precision, "recall": self.recall,
                "f1": self.f1, "partial_precision": self.partial_precision, "partial_recall": self.partial_recall,
                "partial_f1": self.partial_f1}


def score(gold: Iterable[set[tuple[str, int, int]]], predicted: Iterable[set[tuple[str, int, int]]],
          types: tuple[str, ...] = ("PER", "LOC")) -> dict[str, Scores]:
    """Exact and partial span scores per type over paired sentences."""
    result = {t: Scores() for t in types}
    for g_all, p_all in zip(gold, predicted, strict=True):
        for t in types:
            g = {s for s in g_all if s[0] == t}
            p = {s for s in p_all if s[0] == t}
            s = result[t]
            s.gold += len(g)
            s.predicted += len(p)
            s.exact += len(g & p)
            s.partial_found += sum(any(a < d and c < b for _, c, d in p) for _, a, b in g)
            s.partial_correct += sum(any(a < d and c < b for _, c, d in g) for _, a, b in p)
    return result
