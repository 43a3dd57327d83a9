"""How much a capitalised word is *spelt* like a person name, a place or a German noun (character n-grams).

The USE word classifier (rathaus.safety.pii.wordclass) reads a word's meaning; this one reads its letters:
German nouns end in -ung, -heit, -schaft, -anlage and are compounds, names end in -ski, -oğlu, -elli, -er
after a rare stem. A logistic regression over hashed character 2–5-grams (scikit-learn's stateless
``HashingVectorizer``, so no vocabulary is stored), trained on the 150,000 names and places of the lexicon
against ~680,000 capitalised German word forms from simplemma's dictionary that are in no name list. Its
probabilities become CRF features (``cn=``/``cpl=`` bins). Weights: ``models/pii-spelling.npz`` (numpy,
float16, no pickle), ~0.4 MB.
"""

from __future__ import annotations

import functools
import random
from pathlib import Path

import numpy as np

from rathaus.safety.pii.lexicon import MODELS, Lexicon
from rathaus.safety.pii.wordclass import CachedWordProbabilities, softmax

SPELLING_FILE = MODELS / "pii-spelling.npz"
N_FEATURES = 2**16
NGRAMS = (2, 5)


@functools.cache
def _vectorizer():
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(analyzer="char_wb", ngram_range=NGRAMS, n_features=N_FEATURES, alternate_sign=False,
                             norm="l2", lowercase=True)


class SpellingClassifier(CachedWordProbabilities):
    """P(person), P(place), P(noun) from the letters of capitalised words. Thread-safe."""

    def __init__(self, path: Path = SPELLING_FILE):
        if not path.is_file():
            raise FileNotFoundError(f"PII spelling model missing: {path} (python -m rathaus.safety.train_pii)")
        super().__init__()
        data = np.load(path)
        self.w = data["w"].astype(np.float32)  # (N_FEATURES, 3)
        self.b = data["b"].astype(np.float32)

    def _compute(self, words: list[str]) -> np.ndarray:
        return softmax(np.asarray(_vectorizer().transform(words) @ self.w) + self.b)


@functools.cache
def default_spelling() -> SpellingClassifier:
    return SpellingClassifier()


# --- training (python -m rathaus.safety.train_pii) ------------------------------------------------------
def train_spelling(lexicon_data: dict, lexicon: Lexicon, path: Path, seed: int = 5) -> float:
    """Fit on all names and places of the lexicon and the nouns of simplemma's German dictionary; returns the
    accuracy on a seeded tenth held out (a word-list figure, not a text figure)."""
    from simplemma.strategies.dictionaries import DefaultDictionaryFactory
    from sklearn.linear_model import SGDClassifier

    nouns = sorted({w for w in DefaultDictionaryFactory().get_dictionary("de").keys()  # noqa: SIM118
                    if w[:1].isupper() and w.isalpha() and len(w) > 2
                    and not (lexicon.is_first(w) or lexicon.is_last(w) or lexicon.is_place(w))})
    names = sorted(set(lexicon_data["first"]) | set(lexicon_data["last"]))
    places = sorted(set(lexicon_data["places"]))
    words = names + places + nouns
    labels = np.asarray([0] * len(names) + [1] * len(places) + [2] * len(nouns))
    order = list(range(len(words)))
    random.Random(seed).shuffle(order)
    x = _vectorizer().transform([words[i] for i in order])
    y = labels[order]
    held = len(y) // 10
    model = SGDClassifier(loss="log_loss", alpha=2e-6, max_iter=20, tol=None, random_state=0,
                          class_weight="balanced")
    model.fit(x[held:], y[held:])
    accuracy = float((model.predict(x[:held]) == y[:held]).mean())
    np.savez_compressed(path, w=model.coef_.T.astype(np.float16), b=model.intercept_.astype(np.float32))
    return accuracy
