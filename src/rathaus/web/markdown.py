"""Model answers are Markdown; the web UI shows them as safe HTML (raw HTML in the text is escaped)."""

from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # commonmark with raw HTML disabled: "<script>" in an answer is shown as text, never run;
    # markdown-it refuses javascript:/vbscript:/data: links by default
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def render(text: str) -> str:
    return _parser().render(text or "")
