"""Token features for the CRF tagger: word form, shape, affixes, name/place-list membership and context.

The same function serves training (GermEval tokens) and tagging (our tokenizer), so both see the same
features. Features are plain strings (binary indicator features in CRFsuite); the word classifier's probabilities
(rathaus.safety.pii.wordclass) enter as four bins each, the spelling classifier's (rathaus.safety.pii.spelling)
as five bins for the word and its neighbours.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

import numpy as np

from rathaus.safety.pii.lexicon import PARTICLES, Lexicon, words

CUES = words(
    "herr herrn frau fr hr dr prof professor professorin familie fam sehr geehrte geehrter liebe lieber hallo sg gez "
    "mit von an bei minister ministerin präsident präsidentin kanzler kanzlerin bürgermeister bürgermeisterin sänger "
    "sängerin schauspieler schauspielerin autor autorin trainer kollege kollegin"
)
_SHAPE_RUNS = re.compile(r"(.)\1+")


def shape(word: str) -> str:
    out = []
    for c in word:
        if c.isupper():
            out.append("X")
        elif c.islower():
            out.append("x")
        elif c.isdigit():
            out.append("d")
        else:
            out.append(c)
    return "".join(out)


@functools.lru_cache(maxsize=65536)
def _short_shape(word: str) -> str:
    return _SHAPE_RUNS.sub(r"\1", shape(word))


def _word_class(word: str, lex: Lexicon) -> list[str]:
    """Lexicon flags for one word, also for hyphen parts (Anna-Lena) and genitive -s (Müllers)."""
    flags = []
    if lex.is_first(word):
        flags.append("fn")
    if lex.is_last(word):
        flags.append("ln")
    if lex.is_place(word):
        flags.append("pl")
    if "-" in word:
        parts = [p for p in word.split("-") if p]
        if parts and all(lex.is_first(p) for p in parts):
            flags.append("fn-all")
        if any(lex.is_last(p) for p in parts):
            flags.append("ln-part")
        if any(lex.is_place(p) for p in parts):
            flags.append("pl-part")
    if len(word) > 3 and word[-1] == "s" and not flags:
        stem = word[:-1].rstrip("'’")
        if lex.is_first(stem) or lex.is_last(stem):
            flags.append("gen-name")
    if word.lower() in PARTICLES:
        flags.append("particle")
    return flags


def _class_bins(probs: np.ndarray | None) -> tuple[str, str] | None:
    if probs is None:
        return None
    return f"nm={min(int(probs[0] * 4), 3)}", f"npl={min(int(probs[1] * 4), 3)}"


def _spelling_bins(probs: np.ndarray | None) -> tuple[str, str] | None:
    if probs is None:
        return None
    return f"cn={min(int(probs[0] * 5), 4)}", f"cpl={min(int(probs[1] * 5), 4)}"


def sentence_features(
    words: list[str], lex: Lexicon, classes: Mapping[str, np.ndarray] | None = None,
    spellings: Mapping[str, np.ndarray] | None = None,
) -> list[list[str]]:
    """Features per token; ``classes`` and ``spellings`` are the word and spelling classifiers' probabilities
    for capitalised words."""
    n = len(words)
    bins = [_class_bins(classes.get(w)) if classes else None for w in words]
    spelt = [_spelling_bins(spellings.get(w)) if spellings else None for w in words]
    lower = [w.lower().rstrip(".") or w for w in words]
    flags = [_word_class(w, lex) for w in words]
    title = [w[:1].isupper() for w in words]
    feats: list[list[str]] = []
    for i, word in enumerate(words):
        low = lower[i]
        f = [
            "b",
            "w=" + low,
            "s2=" + low[-2:],
            "s3=" + low[-3:],
            "s4=" + low[-4:],
            "p3=" + low[:3],
            "sh=" + _short_shape(word),
            "len=" + str(min(len(word), 10)),
        ]
        if title[i]:
            f.append("title")
        if word.isupper() and len(word) > 1:
            f.append("upper")
        if any(c.isdigit() for c in word):
            f.append("digit")
        if "-" in word:
            f.append("hyphen")
        if i == 0:
            f.append("BOS")
        if i == n - 1:
            f.append("EOS")
        f.extend("c=" + c for c in flags[i])
        if title[i] and flags[i]:
            f.extend("tc=" + c for c in flags[i])
        if own := bins[i]:
            f.extend(own)
        if letters := spelt[i]:
            f.extend(letters)
        for d in (-2, -1, 1, 2):
            j = i + d
            if 0 <= j < n:
                f.append(f"{d}w=" + lower[j])
                if abs(d) == 1:
                    f.append(f"{d}sh=" + _short_shape(words[j]))
                    f.extend(f"{d}c=" + c for c in flags[j])
                    if near := bins[j]:
                        f.append(f"{d}" + near[0])
                    if near_letters := spelt[j]:
                        f.append(f"{d}" + near_letters[0])
                    if title[j]:
                        f.append(f"{d}title")
                    if lower[j] in CUES:
                        f.append(f"{d}cue")
                    f.append(f"{d}w|w=" + lower[j] + "|" + low)
            else:
                f.append(f"{d}pad")
        feats.append(f)
    return feats
