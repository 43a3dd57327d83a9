"""Structure-aware chunking of an ``ExtractedDocument`` into retrieval chunks.

A chunk is a contiguous ``[start, end)`` span of ``doc.text`` made of whole blocks; only a block that alone is
longer than ``max_chars`` is cut (a paragraph at sentence boundaries, a table or code block between lines, a
list between items). Every chunk starts and ends on a non-space character, so the text not covered by any
chunk is the "\\n\\n" between blocks at chunk boundaries and the whitespace at cuts inside a block.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rathaus.knowledge.document import Block, ExtractedDocument

TINY_CHARS = 200
HEADING_PATH_CHARS = 200
SENTENCE_WINDOW = 200  # at most this many characters either side of the ideal cut are searched for a sentence end
_PYSBD_FALLBACK = {"uk": "ru", "be": "ru", "no": "da", "nb": "da", "sv": "da", "pt": "es", "ca": "es", "cs": "sk"}


@dataclass(frozen=True)
class Chunk:
    start: int
    end: int
    heading_path: tuple[str, ...]
    page: int | None


@dataclass(frozen=True)
class _Piece:
    start: int
    end: int
    page: int | None
    heading: Block | None = None  # set on the (first) piece of a heading block


@dataclass
class _Open:
    pieces: list[_Piece] = field(default_factory=list)
    path: tuple[str, ...] = ()
    headings_only: bool = True
    last_heading_level: int = 0

    @property
    def start(self) -> int:
        return self.pieces[0].start

    @property
    def end(self) -> int:
        return self.pieces[-1].end


@lru_cache(maxsize=8)
def _segmenter(language: str) -> Any:
    import pysbd

    return pysbd.Segmenter(language=language, clean=False)


def _sbd_language(language: str | None) -> str:
    import pysbd.languages

    code = (language or "de").lower()
    code = _PYSBD_FALLBACK.get(code, code)
    return code if code in pysbd.languages.LANGUAGE_CODES else "en"


def _sentence_cuts(window: str, language: str) -> list[int]:
    """Offsets in ``window`` where a new sentence starts (not 0, not len(window))."""
    try:
        sentences = _segmenter(language).segment(window)
    except Exception:  # pysbd is heuristic; never let it break ingestion
        return []
    cuts: list[int] = []
    pos = 0
    for sentence in sentences:
        found = window.find(sentence, pos) if sentence else -1
        if found < 0:
            stripped = sentence.strip()
            found = window.find(stripped, pos) if stripped else -1
            if found < 0:
                continue
            sentence = stripped
        if found > 0:
            cuts.append(found)
        pos = found + len(sentence)
    return [c for c in cuts if 0 < c < len(window)]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _split_long(text: str, start: int, end: int, target: int, max_chars: int, language: str) -> list[tuple[int, int]]:
    """Cut ``text[start:end]`` into spans of at most ``max_chars``, at sentence ends near equal sizes ≤ target."""
    spans: list[tuple[int, int]] = []
    pos = start
    while end - pos > target:
        remaining = end - pos
        ideal = remaining / math.ceil(remaining / target)
        desired = pos + int(ideal)
        limit = min(pos + max_chars, end)
        # pysbd is slow on long input (superlinear): only look for sentence ends in a window around the target
        half = min(SENTENCE_WINDOW, max(40, target // 4))
        lo, hi = max(pos + 1, desired - half), min(limit, desired + half)
        candidates = [lo + c for c in _sentence_cuts(text[lo:hi], language)]
        candidates = [c for c in candidates if _trim(text, pos, c)[1] > pos]
        if not candidates:
            candidates = [i for i in range(lo, hi) if text[i].isspace()]
        if not candidates:
            candidates = [i for i in range(pos + 1, limit) if text[i].isspace()]
        cut = min(candidates, key=lambda c: abs(c - desired)) if candidates else min(desired, limit)
        piece = _trim(text, pos, cut)
        if piece[1] > piece[0]:
            spans.append(piece)
        pos = _trim(text, cut, end)[0]
    if end > pos:
        spans.append(_trim(text, pos, end))
    return [s for s in spans if s[1] > s[0]]


def _split_lines(text: str, start: int, end: int, target: int, max_chars: int, language: str) -> list[tuple[int, int]]:
    """Cut a table or code block between lines; a single line over ``max_chars`` is cut further."""
    spans: list[tuple[int, int]] = []
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        line_end = end if nl < 0 else nl
        a, b = _trim(text, pos, line_end)
        if b > a:
            if b - a > max_chars:
                spans.extend(_split_long(text, a, b, target, max_chars, language))
            else:
                spans.append((a, b))
        pos = line_end + 1
    return spans


def _heading_text(doc: ExtractedDocument, block: Block) -> str:
    text = " ".join(doc.block_text(block).split())
    return text if len(text) <= HEADING_PATH_CHARS else text[: HEADING_PATH_CHARS - 1].rstrip() + "…"


def _units(doc: ExtractedDocument, target: int, max_chars: int) -> list[tuple[list[_Piece], bool]]:
    """Blocks grouped into units of pieces; the flag tells whether a unit's pieces may be packed separately."""
    language = _sbd_language(doc.language)
    text = doc.text
    blocks = doc.blocks
    if not blocks:
        start, end = _trim(text, 0, len(text))
        blocks = [Block("paragraph", start, end)] if end > start else []
    units: list[tuple[list[_Piece], bool]] = []
    i = 0
    while i < len(blocks):
        block = blocks[i]
        if block.end <= block.start:
            i += 1
            continue
        if block.kind == "list_item":
            j = i
            while j + 1 < len(blocks) and blocks[j + 1].kind == "list_item":
                j += 1
            run = blocks[i : j + 1]
            if run[-1].end - run[0].start <= max_chars:
                units.append(([_Piece(run[0].start, run[-1].end, run[0].page)], False))
            else:
                pieces = []
                for item in run:
                    spans = (
                        [(item.start, item.end)]
                        if item.end - item.start <= max_chars
                        else _split_long(text, item.start, item.end, target, max_chars, language)
                    )
                    pieces += [_Piece(a, b, item.page) for a, b in spans]
                units.append((pieces, True))
            i = j + 1
            continue
        if block.end - block.start <= max_chars:
            spans = [(block.start, block.end)]
        elif block.kind in ("table", "code"):
            spans = _split_lines(text, block.start, block.end, target, max_chars, language)
        else:
            spans = _split_long(text, block.start, block.end, target, max_chars, language)
        pieces = [_Piece(a, b, block.page) for a, b in spans]
        if block.kind == "heading" and pieces:
            pieces[0] = _Piece(pieces[0].start, pieces[0].end, block.page, heading=block)
        units.append((pieces, len(pieces) > 1))
        i += 1
    return units


def chunk_document(doc: ExtractedDocument, *, target_chars: int = 1000, max_chars: int = 1800) -> list[Chunk]:
    """Split ``doc`` into chunks of about ``target_chars`` (at most ``max_chars``), each a span of whole blocks."""
    if target_chars <= 0 or max_chars < target_chars:
        raise ValueError("need 0 < target_chars <= max_chars")
    stack: list[tuple[int, str]] = []  # (level, heading text) of the enclosing headings
    done: list[_Open] = []
    current = _Open()

    def close() -> None:
        nonlocal current
        if current.pieces:
            done.append(current)
        current = _Open(path=tuple(text for _, text in stack))

    for pieces, separable in _units(doc, target_chars, max_chars):
        groups = [[p] for p in pieces] if separable else [pieces]
        for group in groups:
            first, last = group[0], group[-1]
            if first.heading is not None:
                level = max(1, first.heading.level)
                nested = current.pieces and current.headings_only and level > current.last_heading_level
                if not (nested and last.end - current.start <= max_chars):
                    close()
                while stack and stack[-1][0] >= level:
                    stack.pop()
                stack.append((level, _heading_text(doc, first.heading)))
                current.pieces += group
                current.path = tuple(text for _, text in stack)
                current.last_heading_level = level
                continue
            if current.pieces:
                limit = max_chars if current.headings_only else target_chars
                if last.end - current.start > limit:
                    close()
            current.pieces += group
            current.headings_only = False
    close()

    # a tiny chunk at the end of a section joins the chunk before it (same heading, still within max_chars)
    merged: list[_Open] = []
    for i, chunk in enumerate(done):
        trailing = i + 1 == len(done) or done[i + 1].pieces[0].heading is not None
        prev = merged[-1] if merged else None
        if (
            prev is not None
            and trailing
            and chunk.pieces[0].heading is None
            and chunk.end - chunk.start < TINY_CHARS
            and prev.path == chunk.path
            and chunk.end - prev.start <= max_chars
        ):
            prev.pieces += chunk.pieces
            continue
        merged.append(chunk)
    return [Chunk(c.start, c.end, c.path, c.pieces[0].page) for c in merged]
