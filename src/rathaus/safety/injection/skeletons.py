"""The skeleton of a text: the text as a reader sees it, with the usual obfuscations undone.

Zero-width and tag characters, homoglyphs, odd spaces, emphasis inside words and letter spacing are undone;
each character of the skeleton knows the index in the original it came from."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from rathaus.safety.text import TAG_CHARACTERS, homoglyph_table, is_invisible

_TAGS = TAG_CHARACTERS
_UMLAUTS = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ẞ": "SS"}
_FORMATTING = set("*`")  # Markdown emphasis/code inside words: "Ig**nor**iere"
_SPACES = re.compile(r"[^\S\n]")


@dataclass
class Skeleton:
    """A normalised copy of a text and, for each of its characters, the index it came from."""

    text: str
    index: list[int]
    changed: bool  # anything other than case and spacing was undone
    hidden_tags: list[tuple[int, int]]  # spans of Unicode tag characters in the original
    spaced: list[tuple[int, int, str]] = field(default_factory=list)  # letter-spaced runs: span, collapsed

    def span(self, start: int, end: int) -> tuple[int, int]:
        if not self.index:
            return (0, 0)
        start = min(start, len(self.index) - 1)
        end = max(start + 1, min(end, len(self.index)))
        return self.index[start], self.index[end - 1] + 1


def skeleton(text: str) -> Skeleton:
    """Undo the usual obfuscations; keeps newlines (line-start patterns need them) and letter case."""
    glyphs = homoglyph_table(latin=True)
    out: list[str] = []
    index: list[int] = []
    changed = False
    tags: list[tuple[int, int]] = []

    def put(s: str, i: int) -> None:
        out.extend(s)
        index.extend([i] * len(s))

    for i, ch in enumerate(text):
        cp = ord(ch)
        if cp in _TAGS:
            changed = True
            if tags and tags[-1][1] == i:
                tags[-1] = (tags[-1][0], i + 1)
            else:
                tags.append((i, i + 1))
            if 0xE0020 <= cp <= 0xE007E:
                put(chr(cp - 0xE0000), i)
            continue
        if cp > 127 and is_invisible(ch):
            changed = True
            continue
        if ch in _UMLAUTS:
            put(_UMLAUTS[ch], i)
            continue
        if ch == "\u0308" and out and out[-1].lower() in "aou":  # decomposed umlaut
            changed = True
            put("e", i)
            continue
        if ch == "\n":
            put("\n", i)
            continue
        if ch.isspace():
            put(" ", i)
            continue
        if ch in _FORMATTING:
            changed = True
            continue
        if ch.isascii():
            put(ch, i)
            continue
        folded = unicodedata.normalize("NFKC", ch)
        if folded != ch and all(c.isascii() for c in folded):
            changed = changed or folded.isalnum()
            put(folded, i)
            continue
        if ch in glyphs:
            changed = True
            put(glyphs[ch], i)
            continue
        base = "".join(c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c))
        if base and base != folded and base.isascii():
            put(base, i)
            continue
        if unicodedata.combining(ch):
            continue
        put(folded, i)
    sk = Skeleton("".join(out), index, changed, tags)
    return _collapse_spacing(sk)


_SPACED = re.compile(r"(?<![^\W\d_])(?:[^\W\d_][ .\-_·|/]){3,}[^\W\d_](?![^\W\d_])")
_SPACED_SHORT = re.compile(r"(?<![^\W\d_])(?:[^\W\d_][ .\-_·|/]){1,}[^\W\d_](?![^\W\d_])")


def _collapse_spacing(sk: Skeleton) -> Skeleton:
    """Letter-spaced words ("I g n o r i e r e") become words; runs of spaces become one space."""
    keep = [True] * len(sk.text)
    spaced: list[tuple[int, int, str]] = []
    # short words ("a n d", "i n") only where the text is letter-spaced elsewhere too
    runs = _SPACED_SHORT if _SPACED.search(sk.text) else _SPACED
    for m in runs.finditer(sk.text):
        for j in range(m.start() + 1, m.end(), 2):
            keep[j] = False
        spaced.append((*sk.span(m.start(), m.end()), m.group(0)[::2]))
    for m in re.finditer(r" {2,}", sk.text):
        for j in range(m.start() + 1, m.end()):
            keep[j] = False
    if all(keep):
        return sk
    text = "".join(c for c, k in zip(sk.text, keep, strict=True) if k)
    index = [i for i, k in zip(sk.index, keep, strict=True) if k]
    return Skeleton(text, index, sk.changed or bool(spaced), sk.hidden_tags, spaced)
