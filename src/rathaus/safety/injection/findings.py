"""What a scan found: ``Finding`` (one pattern hit), ``InjectionReport`` and how weights ``combine``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

THRESHOLD = 0.5


class Finding(NamedTuple):
    """One pattern hit: its kind, [start, end) in the original text, the original snippet, its weight."""

    kind: str
    span: tuple[int, int]
    snippet: str
    weight: float = 1.0


@dataclass
class InjectionReport:
    """What ``scan`` found. ``score`` combines the weights (1 - Π(1 - w)); ``flagged`` is score ≥ THRESHOLD."""

    found: list[Finding] = field(default_factory=list)
    score: float = 0.0
    obfuscated: bool = False  # a hit only showed after undoing invisible characters, homoglyphs or spacing

    @property
    def flagged(self) -> bool:
        return self.score >= THRESHOLD

    @property
    def kinds(self) -> list[str]:
        return sorted({f.kind for f in self.found})

    def within(self, start: int, end: int) -> InjectionReport:
        """The findings that overlap [start, end) (e.g. one sentence), with their own score."""
        found = [f for f in self.found if f.span[0] < end and f.span[1] > start]
        return InjectionReport(found, combine(f.weight for f in found), self.obfuscated and bool(found))


def combine(weights: Iterable[float]) -> float:
    rest = 1.0
    for w in weights:
        rest *= 1.0 - min(max(w, 0.0), 1.0)
    return round(1.0 - rest, 4)
