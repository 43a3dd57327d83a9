"""German readability without a model: sentences, words, syllables and the first Wiener Sachtextformel.

``WSTF = 0.1935·MS + 0.1672·SL + 0.1297·IW − 0.0327·ES − 0.875`` (Bamberger & Vanecek 1984), where
MS = % of words with three or more syllables, SL = average sentence length in words, IW = % of words with
more than six letters, ES = % of one-syllable words. The result is roughly a German school year (4 = very
easy, 15 = very hard; administrative letters typically score 12–16).

Conventions (documented because they move the figures):

* Sentences: pysbd (German) inside blocks; blank lines, Markdown headings and list items ("-", "*", "•",
  "1.", "(1)") end a block, so a list item is its own sentence. Hyphenated line breaks from PDFs
  ("Ver-\\nwaltung") are joined.
* Words: letter runs, hyphenated compounds count as one word ("KI-Roadmap"). Numbers ("2024", "5,5",
  "04.10.2024") count as one word of one syllable and never as long words: a reader takes them in at a
  glance. Dotted abbreviations ("z.B.", "u.a.") count as one word with one syllable per part. Capitalised
  short abbreviations without a vowel group to speak ("LHM", "KVR") are spelled: one syllable per letter.
* Syllables: groups of vowels [aeiouäöüy]; inside a group the diphthongs ei, ie, au, eu, äu, ai, ey and
  the long vowels aa, ee, oo count once ("Bauer" = au + e = 2); "u" after "q" is no vowel.

``level`` is a rough CEFR-like label derived from the WSTF alone — an approximation for orientation, not a
CEFR assessment: WSTF ≤ 5 "A2", ≤ 7 "B1", ≤ 10 "B2", else "C1+".
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Literal

Level = Literal["A2", "B1"]

VOWELS = "aeiouäöüy"
_ONE_SOUND = ("ei", "ie", "au", "eu", "äu", "ai", "ey", "aa", "ee", "oo")
_VOWEL_GROUP = re.compile(f"[{VOWELS}]+")
_LETTERS = r"[^\W\d_]"
TOKEN = re.compile(
    rf"(?P<abbr>(?:{_LETTERS}{{1,3}}\.){{2,}})"  # z.B. u.a. d.h. o.g.
    r"|(?P<num>\d+(?:[.,:]\d+)*)"
    rf"|(?P<word>{_LETTERS}+(?:-{_LETTERS}+)*)",
)
_LIST_ITEM = re.compile(r"^\s*(?:[-*•–]\s+|\d{1,2}[.)]\s+|\(\d{1,2}\)\s+|[a-z][.)]\s+)")
_HEADING = re.compile(r"^\s*#{1,6}\s+")

# Level mapping and targets (see module docstring); averages in words, shares as fractions (0–1).
LEVELS = ((5.0, "A2"), (7.0, "B1"), (10.0, "B2"))
TARGETS: dict[str, dict[str, float]] = {
    "A2": {"max_wstf": 5.0, "max_avg_sentence_words": 9.0, "max_long_word_share": 0.15},
    "B1": {"max_wstf": 7.0, "max_avg_sentence_words": 12.0, "max_long_word_share": 0.20},
}


@dataclass
class Readability:
    sentences: int
    words: int
    avg_sentence_words: float
    long_word_share: float  # words with ≥ 3 syllables, fraction 0–1
    six_letter_share: float  # words with > 6 letters, fraction 0–1
    one_syllable_share: float  # fraction 0–1
    wstf: float  # first Wiener Sachtextformel, ≈ school year
    level: str  # approximate CEFR-like label from the WSTF ("A2", "B1", "B2", "C1+")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- syllables ---------------------------------------------------------------------------------------
def syllables(word: str) -> int:
    """German syllables of one word (see the module docstring for the rules); at least 1."""
    token = word.strip()
    if not token:
        return 0
    if re.fullmatch(r"\d+(?:[.,:]\d+)*", token):
        return 1
    if re.fullmatch(rf"(?:{_LETTERS}{{1,3}}\.){{2,}}", token):
        return token.count(".")
    return sum(_part_syllables(p) for p in token.split("-") if p) or 1


def _part_syllables(part: str) -> int:
    if part.isupper() and 1 < len(part) <= 5 and not _speakable(part.lower()):
        return len(part)  # spelled abbreviation: L-H-M
    low = part.lower().replace("qu", "qw")
    count = 0
    for group in _VOWEL_GROUP.findall(low):
        i = 0
        while i < len(group):
            i += 2 if group[i:i + 2] in _ONE_SOUND else 1
            count += 1
    return max(1, count)


def _speakable(low: str) -> bool:
    """An all-caps abbreviation read as a word ("NATO") rather than spelled ("LHM", "KI", "AKDB")."""
    return len(low) >= 4 and len(_VOWEL_GROUP.findall(low)) >= 2 and not re.search(f"[^{VOWELS}]{{2}}", low)


def letters(word: str) -> int:
    return sum(ch.isalpha() for ch in word)


# --- sentences ---------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _segmenter() -> Any:
    import pysbd

    return pysbd.Segmenter(language="de", clean=False)


def blocks(text: str) -> list[str]:
    """Paragraphs, headings and list items as single-line blocks (hyphenated line breaks joined)."""
    out: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            out.append(" ".join(current).strip())
            current.clear()

    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if not line:
            flush()
            continue
        if _HEADING.match(line) or _LIST_ITEM.match(line):
            flush()
        if current and re.search(rf"{_LETTERS}-$", current[-1]) and re.match(r"[a-zäöüß]", line):
            current[-1] = current[-1][:-1] + line  # "Ver-" + "waltung"
        else:
            current.append(line)
        if _HEADING.match(line):
            flush()
    flush()
    return [b for b in out if b]


def sentences(text: str) -> list[str]:
    """Sentences of German ``text``; each list item and heading counts as a sentence of its own."""
    out = []
    for block in blocks(text):
        for seg in _segmenter().segment(block):
            sentence = " ".join(seg.split())
            if words_of(sentence):
                out.append(sentence)
    return out


def words_of(text: str) -> list[str]:
    return [m.group(0) for m in TOKEN.finditer(text)]


# --- scores ------------------------------------------------------------------------------------------
def measure(text: str) -> Readability:
    sents = sentences(text)
    words = [w for s in sents for w in words_of(s)]
    n = len(words)
    if n == 0:
        return Readability(0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, "A2")
    syl = [syllables(w) for w in words]
    numeric = [bool(re.fullmatch(r"\d+(?:[.,:]\d+)*", w)) for w in words]
    long_share = sum(s >= 3 for s in syl) / n
    six_share = sum(letters(w) > 6 and not num for w, num in zip(words, numeric, strict=True)) / n
    one_share = sum(s == 1 for s in syl) / n
    avg = n / max(1, len(sents))
    wstf = 0.1935 * long_share * 100 + 0.1672 * avg + 0.1297 * six_share * 100 - 0.0327 * one_share * 100 - 0.875
    return Readability(
        sentences=len(sents), words=n, avg_sentence_words=round(avg, 2), long_word_share=round(long_share, 4),
        six_letter_share=round(six_share, 4), one_syllable_share=round(one_share, 4), wstf=round(wstf, 2),
        level=level_of(wstf),
    )


def level_of(wstf: float) -> str:
    """Approximate CEFR-like label for a WSTF value (orientation only)."""
    for limit, label in LEVELS:
        if wstf <= limit:
            return label
    return "C1+"


def targets(level: Level) -> dict[str, float]:
    """Upper limits a text must keep to count as written for ``level`` ("A2" or "B1")."""
    if level not in TARGETS:
        raise ValueError(f"unknown level {level!r}; use one of {', '.join(TARGETS)}")
    return dict(TARGETS[level])


def meets(r: Readability, level: Level) -> bool:
    t = targets(level)
    return (r.words > 0 and r.wstf <= t["max_wstf"] and r.avg_sentence_words <= t["max_avg_sentence_words"]
            and r.long_word_share <= t["max_long_word_share"])


def _clip(sentence: str, n: int = 12) -> str:
    words = sentence.split()
    return " ".join(words[:n]) + (" …" if len(words) > n else "")
