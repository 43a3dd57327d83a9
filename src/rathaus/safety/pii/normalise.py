"""Undo the usual dodges before detection, and remember where every character came from.

Detection runs on a normalised copy of the text: zero-width characters and soft hyphens removed
(the invisible characters and look-alike letters of ``rathaus.safety.text``),
every kind of space made a plain space, compatibility forms folded (NFKC: full-width digits,
mathematical letters), combining accents composed, Cyrillic/Greek look-alikes inside Latin words
folded to Latin (``Müllеr`` with a Cyrillic ``е``), and HTML tags replaced by a space (their quoted
attribute values are kept, so ``href="mailto:…"`` is still seen) with entities decoded.

``Normalised.to_original(start, end)`` maps a span of the copy back to the ORIGINAL text, so
callers never see normalised offsets. Everything is one pass over the text (linear time).
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

from rathaus.safety.text import homoglyph_table, is_invisible, is_latin

LINE_BREAKS = frozenset("\u2028\u2029\u0085")
_HTML_HINT = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9-]*|/[a-zA-Z][a-zA-Z0-9-]*|!--)[^<>]{0,2000}>")
_HTML_TOKEN = re.compile(r"<!--.*?-->|<[a-zA-Z/!][^<>]{0,10000}>"
                         r"|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});",
                         re.DOTALL)
_ATTR_VALUE = re.compile(r"""=\s*(?:"([^"]*)"|'([^']*)')""")
_WORD = re.compile(r"[^\W\d_]+")
_SKIP_TAG = re.compile(r"</?(?:script|style)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Normalised:
    """The normalised text and, per character, the original range it came from."""

    text: str
    original: str
    _starts: list[int] | None  # None: identical to the original
    _ends: list[int] | None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Original offsets of ``text[start:end]`` (end exclusive; the span must be non-empty)."""
        if self._starts is None or self._ends is None:
            return start, end
        return self._starts[start], self._ends[end - 1]


def looks_like_html(text: str) -> bool:
    return _HTML_HINT.search(text) is not None


class _Builder:
    """Collects normalised characters with the original range each one stands for."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, piece: str, start: int, end: int) -> None:
        self.out.append(piece)
        self.starts.append(start)
        self.ends.append(end)

    def plain(self, segment: str, offset: int) -> None:
        out, add = self.out, self.add
        for i, char in enumerate(segment):
            pos = offset + i
            if char.isascii():
                add(char, pos, pos + 1)
            elif is_invisible(char):
                continue
            elif char in LINE_BREAKS:
                add("\n", pos, pos + 1)
            else:
                category = unicodedata.category(char)
                if category == "Zs":
                    add(" ", pos, pos + 1)
                    continue
                if category == "Mn" and out:  # a combining accent: compose with the letter before when possible
                    composed = unicodedata.normalize("NFC", out[-1] + char)
                    if len(composed) == 1:
                        out[-1] = composed
                        self.ends[-1] = pos + 1
                        continue
                for piece in unicodedata.normalize("NFKC", char):
                    add(piece, pos, pos + 1)

    def html(self, text: str) -> None:
        cursor = 0
        for match in _HTML_TOKEN.finditer(text):
            self.plain(text[cursor:match.start()], cursor)
            token, start, end = match.group(), match.start(), match.end()
            if token.startswith("&"):
                decoded = html.unescape(token)
                if decoded == token:
                    self.plain(token, start)
                else:
                    for piece in decoded:
                        self.add(" " if piece == "\u00a0" else piece, start, end)
            else:
                self.add(" ", start, end)
                if not token.startswith("<!--") and not _SKIP_TAG.match(token):
                    for value in _ATTR_VALUE.finditer(token):
                        group = 1 if value.group(1) is not None else 2
                        raw = value.group(group)
                        if "&" in raw:  # entity inside an attribute: decoded pieces cover the whole value
                            for piece in html.unescape(raw):
                                self.add(piece, start + value.start(group), start + value.end(group))
                        else:
                            self.plain(raw, start + value.start(group))
                        self.add(" ", start + value.end(group), start + value.end(group) + 1)
            cursor = end
        self.plain(text[cursor:], cursor)


def normalise(text: str) -> Normalised:
    """One linear pass; see the module docstring for what is undone."""
    if text.isascii() and "<" not in text and "&" not in text:
        return Normalised(text, text, None, None)
    builder = _Builder()
    if looks_like_html(text):
        builder.html(text)
    else:
        builder.plain(text, 0)
    folded = _fold_homoglyphs("".join(builder.out))
    return Normalised(folded, text, builder.starts, builder.ends)


def _fold_homoglyphs(text: str) -> str:
    """Fold look-alike letters to Latin in words that mix scripts, or in all-look-alike words of Latin text."""
    if text.isascii():
        return text
    table = homoglyph_table()
    if not any(char in table for char in text):
        return text
    letters = [c for c in text if c.isalpha()]
    mostly_latin = sum(is_latin(c) for c in letters) * 2 > len(letters)
    pieces: list[str] = []
    cursor = 0
    for match in _WORD.finditer(text):
        word = match.group()
        if not any(c in table for c in word):
            continue
        has_latin = any(is_latin(c) for c in word)
        all_foldable = all(is_latin(c) or c in table for c in word)
        if has_latin or (mostly_latin and all_foldable):
            pieces.append(text[cursor:match.start()])
            pieces.append("".join(table.get(c, c) for c in word))
            cursor = match.end()
    pieces.append(text[cursor:])
    return "".join(pieces)
