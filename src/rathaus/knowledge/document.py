"""What extraction produces: a document as plain text plus structural blocks with offsets into it.

Every extractor (PDF, DOCX, HTML, Markdown, text, JSONL records) returns an ``ExtractedDocument``.
``text`` is the document's canonical plain text; each ``Block`` points into it with
``[start, end)`` character offsets, so chunks and quotes can always be traced back to the source.
Blocks are separated in ``text`` by one blank line ("\\n\\n").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["heading", "paragraph", "list_item", "table", "code"]


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    start: int
    end: int
    level: int = 0  # heading level 1-6; list nesting depth; 0 otherwise
    page: int | None = None  # 1-based page number for paginated sources


@dataclass
class ExtractedDocument:
    text: str
    blocks: list[Block]
    title: str | None = None
    language: str | None = None  # ISO 639-1, filled by language detection when unknown
    modified: dt.datetime | None = None
    source_url: str | None = None
    mime: str = "text/plain"
    pages: int | None = None
    warnings: list[str] = field(default_factory=list)  # e.g. "page 3 looks scanned (no text layer)"

    def block_text(self, block: Block) -> str:
        return self.text[block.start : block.end]


class DocumentBuilder:
    """Appends blocks and keeps the offsets right; used by every extractor."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self.blocks: list[Block] = []

    def add(self, kind: BlockKind, text: str, level: int = 0, page: int | None = None) -> None:
        text = text.strip()
        if not text:
            return
        if self._parts:
            self._parts.append("\n\n")
            self._length += 2
        start = self._length
        self._parts.append(text)
        self._length += len(text)
        self.blocks.append(Block(kind, start, self._length, level, page))

    def build(self, **meta: object) -> ExtractedDocument:
        return ExtractedDocument(text="".join(self._parts), blocks=self.blocks, **meta)  # type: ignore[arg-type]


class ExtractionError(Exception):
    """A file that cannot be read as a document; the message is one line for the ingest report."""
