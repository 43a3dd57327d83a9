"""Model answers are Markdown; the API and the web UI also hand them out as safe HTML (raw HTML in the text is escaped).

The assistants store and return Markdown only; whoever shows a message to a browser renders it here.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # commonmark with raw HTML disabled: "<script>" in an answer is shown as text, never run;
    # markdown-it refuses javascript:/vbscript:/data: links by default
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def render(text: str) -> str:
    return _parser().render(text or "")


def with_html(message: dict[str, Any]) -> dict[str, Any]:
    """A chat message (:func:`rathaus.assistants.conversation.message_json`) as the API and the pages show it:
    with ``html`` (the answer rendered; None for the user's own messages) right before ``version``, if any.
    An empty message (the chat was deleted meanwhile) stays empty."""
    if not message:
        return message
    shown = {key: value for key, value in message.items() if key != "version"}
    shown["html"] = render(message["content"]) if message["role"] == "assistant" else None
    if "version" in message:
        shown["version"] = message["version"]
    return shown
