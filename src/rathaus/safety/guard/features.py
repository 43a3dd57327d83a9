"""Text features of the content guard: the same code in training (scikit-learn) and prediction (plain Python).

Both use these analyzers, so the shipped vocabulary matches the training exactly and prediction needs no
scikit-learn. ``model_text`` maps tweet and chat specifics to placeholders the classifier can learn from:
user mentions become ``@user``, links ``http``, GermEval's line-break marker ``|LBR|`` a space, all lower case.
"""

from __future__ import annotations

import re
from functools import lru_cache

_MENTION = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_REPEAT = re.compile(r"(.)\1{2,}")  # "sooooo" → "soo", "!!!!!" → "!!"
_WORD = re.compile(r"[^\W\d_]+|\d+|[^\w\s]")


def model_text(text: str) -> str:
    """Lower-cased text with mentions, links and line-break markers replaced (input of both analyzers)."""
    text = text.replace("|LBR|", " ")
    text = _URL.sub(" http ", text)
    text = _MENTION.sub(" @user ", text)
    text = _REPEAT.sub(r"\1\1", text.lower())
    return _SPACE.sub(" ", text).strip()


CACHED_WORD_CHARS = 40  # n-grams of words up to this length are cached (long "words" would only fill memory)


def _word_char_ngrams(word: str, lo: int, hi: int) -> tuple[str, ...]:
    padded = f" {word} "
    size = len(padded)
    return tuple(padded[i:i + n] for n in range(lo, min(hi, size) + 1) for i in range(size - n + 1))


_cached_word_char_ngrams = lru_cache(maxsize=100_000)(_word_char_ngrams)


def char_ngrams_of(prepared: str, lo: int = 2, hi: int = 5) -> list[str]:
    """``char_ngrams`` of a text that already went through ``model_text`` (n-grams of short words are cached)."""
    grams: list[str] = []
    for word in prepared.split():
        make = _cached_word_char_ngrams if len(word) <= CACHED_WORD_CHARS else _word_char_ngrams
        grams.extend(make(word, lo, hi))
    return grams


def word_ngrams_of(prepared: str, lo: int = 1, hi: int = 2) -> list[str]:
    """``word_ngrams`` of a text that already went through ``model_text``."""
    tokens = _WORD.findall(prepared)
    grams: list[str] = []
    for n in range(lo, hi + 1):
        grams.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return grams


def char_ngrams(text: str, lo: int = 2, hi: int = 5) -> list[str]:
    """Character n-grams inside word boundaries (like scikit-learn's ``char_wb``), each word padded by spaces."""
    return char_ngrams_of(model_text(text), lo, hi)


def word_ngrams(text: str, lo: int = 1, hi: int = 2) -> list[str]:
    """Word and punctuation unigrams and bigrams of ``model_text``."""
    return word_ngrams_of(model_text(text), lo, hi)
