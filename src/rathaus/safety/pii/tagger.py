"""The trained name/place tagger: a linear-chain CRF (CRFsuite) shipped in ``rathaus/safety/models``.

The model file is CRFsuite's own binary format (no pickle); ``pii-crf.json`` beside it records how it was
trained and the decision thresholds chosen on the validation part. A token belongs to an entity when the
CRF's marginal probability of the entity's B/I labels reaches the threshold (recall matters more than
precision for personal data, so the threshold sits below the Viterbi path's 0.5).
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rathaus.safety.pii.features import sentence_features
from rathaus.safety.pii.lexicon import MODELS, Lexicon, load_lexicon
from rathaus.safety.pii.spelling import SpellingClassifier, default_spelling
from rathaus.safety.pii.wordclass import WordClassifier, default_classifier

MODEL_FILE = MODELS / "pii-crf.crfsuite"
META_FILE = MODELS / "pii-crf.json"


@dataclass(frozen=True)
class TaggedSpan:
    type: str  # "PER" or "LOC"
    first: int  # token index
    stop: int  # token index after the last one
    score: float


class NameTagger:
    """Tags PER and LOC spans in token lists. Thread-safe (one CRFsuite tagger per thread)."""

    def __init__(self, model: Path = MODEL_FILE, meta: Path = META_FILE, lexicon: Lexicon | None = None,
                 classifier: WordClassifier | None = None, spelling: SpellingClassifier | None = None):
        if not model.is_file():
            raise FileNotFoundError(f"PII tagger model missing: {model} (python -m rathaus.safety.train_pii)")
        self.model = model
        self.meta = json.loads(meta.read_text(encoding="utf-8")) if meta.is_file() else {}
        self.thresholds: dict[str, float] = self.meta.get("thresholds", {"PER": 0.5, "LOC": 0.5})
        self.thresholds_high_recall: dict[str, float] = self.meta.get("thresholds_high_recall", self.thresholds)
        self.lexicon = lexicon or load_lexicon()
        self._classifier = classifier
        self._spelling = spelling
        self._local = threading.local()

    @property
    def classifier(self) -> WordClassifier:
        if self._classifier is None:
            self._classifier = default_classifier()
        return self._classifier

    @property
    def spelling(self) -> SpellingClassifier:
        if self._spelling is None:
            self._spelling = default_spelling()
        return self._spelling

    def _tagger(self):
        tagger = getattr(self._local, "tagger", None)
        if tagger is None:
            import pycrfsuite

            tagger = pycrfsuite.Tagger()
            tagger.open(str(self.model))
            self._local.tagger = tagger
            self._local.labels = set(tagger.labels())
        return tagger

    def tag(self, words: list[str], thresholds: dict[str, float] | None = None,
            classes: Mapping[str, np.ndarray] | None = None) -> list[TaggedSpan]:
        """Spans of one sentence; pass ``classes`` (WordClassifier.probabilities of all words) to batch them."""
        if not words:
            return []
        if classes is None:
            classes = self.classifier.probabilities(words)
        tagger = self._tagger()
        labels = self._local.labels
        tagger.set(sentence_features(words, self.lexicon, classes, self.spelling.probabilities(words)))
        limits = thresholds or self.thresholds
        spans: list[TaggedSpan] = []
        taken = [False] * len(words)
        for kind in ("PER", "LOC"):
            b, i_ = f"B-{kind}", f"I-{kind}"
            if b not in labels:
                continue
            start, prev_in = -1, False
            probs: list[float] = []
            for t in range(len(words) + 1):
                pb = tagger.marginal(b, t) if t < len(words) else 0.0
                pi = tagger.marginal(i_, t) if t < len(words) and i_ in labels else 0.0
                inside = t < len(words) and not taken[t] and pb + pi >= limits.get(kind, 0.5)
                begins = inside and (not prev_in or pb > pi)
                if start >= 0 and (not inside or begins):
                    spans.append(TaggedSpan(kind, start, t, sum(probs) / len(probs)))
                    start = -1
                if begins:
                    start, probs = t, []
                if inside:
                    probs.append(pb + pi)
                    taken[t] = True
                prev_in = inside
        return spans


@functools.cache
def default_tagger() -> NameTagger:
    return NameTagger()
