"""The guard's lexicon feature: how many entries of ``data/offensive_lexicon_de.txt`` a text contains.

The wording of insults and profanity changes little between sources and years, unlike the topics of a
sample, so the count is a feature that carries over from GermEval 2018 (tweets) to GermEval 2021 (Facebook
comments); the stacker of ``rathaus.safety.guard.model`` weighs it. See the file's header for the syntax.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from importlib import resources

LEXICON_FILE = "offensive_lexicon_de.txt"


def _pattern(entry: str) -> str:
    core = r"\s+".join(re.escape(word) for word in entry.strip("*").split())
    left = r"\w*" if entry.startswith("*") else r"\b"
    right = r"\w*" if entry.endswith("*") else r"\b"
    return f"{left}{core}{right}"


@lru_cache(maxsize=1)
def lexicon_entries() -> tuple[str, ...]:
    content = (resources.files("rathaus.safety") / "data" / LEXICON_FILE).read_text(encoding="utf-8")
    entries = (line.strip().lower() for line in content.splitlines())
    return tuple(e for e in entries if e and not e.startswith("#"))


@lru_cache(maxsize=1)
def _regex() -> re.Pattern[str]:
    # longest entries first, so that a phrase wins over its single words
    return re.compile("|".join(_pattern(e) for e in sorted(lexicon_entries(), key=len, reverse=True)))


def lexicon_hits(prepared: str) -> int:
    """Number of lexicon matches in a text that went through ``features.model_text`` (lower case)."""
    return sum(1 for _ in _regex().finditer(prepared))


def lexicon_feature(prepared: str) -> float:
    """The stacker's input: log(1 + hits), so that the tenth insult adds less than the first."""
    return math.log1p(lexicon_hits(prepared))
