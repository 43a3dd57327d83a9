"""Text features of the content guard: the same code in training (scikit-learn) and prediction (plain Python).

Both use these analyzers, so the shipped model matches the training exactly and prediction needs no
scikit-learn. ``model_text`` maps tweet and chat specifics to placeholders the classifier can learn from:
user mentions become ``@user``, links ``http``, GermEval's line-break marker ``|LBR|`` a space, all lower case.

The n-grams are **hashed** into ``HASH_BUCKETS`` buckets (MurmurHash3, 32 bit, seed ``HASH_SEED``; the same value
as scikit-learn's ``murmurhash3_32(gram, seed, positive=True) % buckets``) before anything is counted, so the
shipped model holds per-bucket numbers only and no n-gram of the training texts: GermEval 2021 may be used but
not redistributed (docs/data-cards/germeval2021.md).
"""

from __future__ import annotations

import re
from functools import lru_cache

from murmurhash import hash as _murmurhash3_32

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


HASH_BUCKETS = 2 ** 22  # per block (characters, words); the model file stores only the buckets in use
HASH_SEED = 1917


def bucket_of(gram: str, buckets: int = HASH_BUCKETS, seed: int = HASH_SEED) -> int:
    """The hash bucket of one n-gram (MurmurHash3 x86 32-bit of its UTF-8 bytes, taken modulo ``buckets``)."""
    return int(_murmurhash3_32(gram, seed)) % buckets


def _word_char_buckets(word: str, lo: int, hi: int, buckets: int, seed: int) -> tuple[int, ...]:
    return tuple(bucket_of(gram, buckets, seed) for gram in _word_char_ngrams(word, lo, hi))


_cached_word_char_buckets = lru_cache(maxsize=100_000)(_word_char_buckets)


def char_buckets_of(prepared: str, buckets: int = HASH_BUCKETS, seed: int = HASH_SEED, lo: int = 2,
                    hi: int = 5) -> list[int]:
    """The buckets of ``char_ngrams_of(prepared)``, in the same order (buckets of short words are cached)."""
    found: list[int] = []
    for word in prepared.split():
        make = _cached_word_char_buckets if len(word) <= CACHED_WORD_CHARS else _word_char_buckets
        found.extend(make(word, lo, hi, buckets, seed))
    return found


def word_buckets_of(prepared: str, buckets: int = HASH_BUCKETS, seed: int = HASH_SEED) -> list[int]:
    """The buckets of ``word_ngrams_of(prepared)``, in the same order."""
    return [bucket_of(gram, buckets, seed) for gram in word_ngrams_of(prepared)]


def char_buckets(text: str) -> list[int]:
    """Analyzer for training: hashed ``char_ngrams`` (the vectoriser's "vocabulary" is bucket numbers)."""
    return char_buckets_of(model_text(text))


def word_buckets(text: str) -> list[int]:
    """Analyzer for training: hashed ``word_ngrams``."""
    return word_buckets_of(model_text(text))


def char_ngrams(text: str, lo: int = 2, hi: int = 5) -> list[str]:
    """Character n-grams inside word boundaries (like scikit-learn's ``char_wb``), each word padded by spaces."""
    return char_ngrams_of(model_text(text), lo, hi)


def word_ngrams(text: str, lo: int = 1, hi: int = 2) -> list[str]:
    """Word and punctuation unigrams and bigrams of ``model_text``."""
    return word_ngrams_of(model_text(text), lo, hi)
