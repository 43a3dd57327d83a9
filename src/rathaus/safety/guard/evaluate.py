"""Evaluation of a guard (or any offensive/ok predictor) on labelled examples: macro-F1, per-class P/R, speed.

Used by ``rathaus eval guard`` and ``bench/guard.py``; no scikit-learn needed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rathaus.safety.guard.dataset import Example


@dataclass
class ClassFigures:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Evaluation:
    examples: int
    macro_f1: float
    accuracy: float
    offense: ClassFigures
    other: ClassFigures
    ms_per_text: float
    threshold: float | None = None


def _figures(tp: int, fp: int, fn: int) -> ClassFigures:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return ClassFigures(precision, recall, f1, tp + fn)


def scores_to_evaluation(gold: Sequence[bool], predicted: Sequence[bool], seconds: float = 0.0,
                         threshold: float | None = None) -> Evaluation:
    """Figures for predictions against gold labels (True = offensive)."""
    pairs = list(zip(gold, predicted, strict=True))
    tp = sum(g and p for g, p in pairs)
    fp = sum(p and not g for g, p in pairs)
    fn = sum(g and not p for g, p in pairs)
    tn = len(pairs) - tp - fp - fn
    offense, other = _figures(tp, fp, fn), _figures(tn, fn, fp)
    n = len(pairs)
    return Evaluation(n, (offense.f1 + other.f1) / 2, (tp + tn) / n if n else 0.0, offense, other,
                      1000 * seconds / n if n else 0.0, threshold)


def evaluate(examples: Sequence[Example], predict: Callable[[str], bool],
             progress: Callable[[int], None] | None = None, threshold: float | None = None) -> Evaluation:
    """Run ``predict`` on every example (timed, one text at a time) and compare with the coarse gold label."""
    predicted: list[bool] = []
    seconds = 0.0
    for i, example in enumerate(examples, 1):
        start = time.perf_counter()
        predicted.append(bool(predict(example.text)))
        seconds += time.perf_counter() - start
        if progress:
            progress(i)
    return scores_to_evaluation([e.offensive for e in examples], predicted, seconds, threshold)
