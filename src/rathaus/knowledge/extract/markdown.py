"""Markdown files via markdown-it-py tokens: headings, paragraphs, nested list items, tables, code."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

from rathaus.knowledge.document import DocumentBuilder, ExtractedDocument, ExtractionError
from rathaus.knowledge.extract.text import decode_text

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<body>(?:[^\n]*\n){0,200}?)(?:---|\.\.\.)[ \t]*(?:\n|\Z)")
_FRONT_TITLE = re.compile(r"^title:[ \t]*(?P<title>.+?)[ \t]*$", re.MULTILINE)
_YAML_LINE = re.compile(r"^(?:[A-Za-z0-9_-]+:.*|[ \t-].*|#.*|)$")


def _split_front_matter(text: str) -> tuple[str, str | None]:
    """Strip a YAML front matter block; returns (markdown, title from the front matter)."""
    m = _FRONT_MATTER.match(text)
    if not m or not all(_YAML_LINE.match(line) for line in m.group("body").splitlines()):
        return text, None
    title_match = _FRONT_TITLE.search(m.group("body"))
    title = title_match.group("title").strip().strip("\"'") if title_match else None
    return text[m.end() :], title or None


def inline_text(token: Token) -> str:
    """Text of an inline token without markup: emphasis markers dropped, links reduced to their text."""
    parts: list[str] = []
    for child in token.children or ():
        kind = child.type
        if kind in ("text", "code_inline", "text_special"):
            parts.append(child.content)
        elif kind in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif kind == "image":
            parts.append(child.content)  # the alt text
        elif kind == "html_inline" and re.fullmatch(r"<br\s*/?>", child.content.strip(), re.IGNORECASE):
            parts.append("\n")
    return "".join(parts)


@dataclass
class _Item:
    depth: int
    parts: list[str] = field(default_factory=list)


class _Walker:
    def __init__(self) -> None:
        self.builder = DocumentBuilder()
        self.items: list[_Item] = []
        self.list_depth = 0
        self.table_rows: list[str] | None = None
        self.row: list[str] | None = None

    def flush_item(self) -> None:
        if self.items and self.items[-1].parts:
            item = self.items[-1]
            self.builder.add("list_item", "\n".join(item.parts), level=item.depth)
            item.parts.clear()

    def walk(self, tokens: Sequence[Token]) -> None:
        heading_level = 0
        for token in tokens:
            kind = token.type
            if kind == "heading_open":
                self.flush_item()
                heading_level = int(token.tag[1:])
            elif kind == "heading_close":
                heading_level = 0
            elif kind in ("bullet_list_open", "ordered_list_open"):
                self.flush_item()
                self.list_depth += 1
            elif kind in ("bullet_list_close", "ordered_list_close"):
                self.list_depth -= 1
            elif kind == "list_item_open":
                self.items.append(_Item(self.list_depth))
            elif kind == "list_item_close":
                self.flush_item()
                self.items.pop()
            elif kind in ("fence", "code_block"):
                self.flush_item()
                self.builder.add("code", token.content.rstrip())
            elif kind == "html_block":
                self._html_block(token.content)
            elif kind == "tr_open":
                self.row = []
            elif kind == "tr_close":
                if self.row is not None and self.table_rows is not None and any(self.row):
                    self.table_rows.append(" | ".join(self.row))
                self.row = None
            elif kind == "table_open":
                self.flush_item()
                self.table_rows = []
            elif kind == "table_close":
                if self.table_rows:
                    self.builder.add("table", "\n".join(self.table_rows))
                self.table_rows = None
            elif kind == "inline":
                self._inline(token, heading_level)

    def _inline(self, token: Token, heading_level: int) -> None:
        text = inline_text(token).strip()
        if self.row is not None:
            self.row.append(" ".join(text.split()))
        elif heading_level:
            self.builder.add("heading", " ".join(text.split()), level=heading_level)
        elif self.items:
            if text:
                self.items[-1].parts.append(text)
        else:
            self.builder.add("paragraph", text)

    def _html_block(self, html: str) -> None:
        from bs4 import BeautifulSoup

        text = BeautifulSoup(html, "lxml").get_text(" ", strip=True)
        if not text:
            return
        if self.items:
            self.items[-1].parts.append(text)
        else:
            self.builder.add("paragraph", text)


def extract_markdown(data: bytes) -> ExtractedDocument:
    text, warnings = decode_text(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ExtractionError("empty file")
    body, title = _split_front_matter(text)
    md = MarkdownIt("commonmark").enable("table")
    walker = _Walker()
    walker.walk(md.parse(body))
    if not walker.builder.blocks:
        raise ExtractionError("Markdown file without text")
    return walker.builder.build(title=title, mime="text/markdown", warnings=warnings)
