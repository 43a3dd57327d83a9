"""Text plumbing shared by the writing tools: the input check, the cleanup of model output (fences,
preambles, quotes, repeated sentences, a sentence cut off at the token limit) and small word helpers."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from rathaus.core import readability as rd
from rathaus.core.errors import BadRequest

WORD_RE = re.compile(r"[^\W\d_]+")  # a word of letters (no digits, no underscore)
BULLET = re.compile(r"^\s*(?:[-*•–+]|\d{1,2}[.)])\s+")  # a list marker at the start of a line


def clean_input(text: Any, tool: str) -> str:
    """The text a tool works on: NFC, Unix line ends, no NUL; a missing or empty text is a :class:`BadRequest`."""
    if not isinstance(text, str):
        raise BadRequest(f"{tool}: der Text fehlt / the text is missing")
    clean = unicodedata.normalize("NFC", text.replace("\x00", "")).replace("\r\n", "\n").replace("\r", "\n").strip()
    if not any(ch.isalnum() for ch in clean):
        raise BadRequest(f"{tool}: der Text ist leer / the text is empty")
    return clean


_FENCE = re.compile(r"^\s*```[\w-]*\s*\n?|\n?\s*```\s*$")
_PREAMBLE = re.compile(
    r"^\s*(?:hier (?:ist|sind)[^\n:]*:|here is[^\n:]*:|gerne[^\n:]*:|sure[^\n:]*:|"
    r"(?:neue[rs]? )?(?:text|sätze|satz|übersetzung|translation|[a-z]+ translation|antwort)\s*:)\s*",
    re.IGNORECASE,
)


def clean_output(text: str) -> str:
    """Model text without code fences, preambles ("Hier ist …:") and enclosing quotes."""
    text = _FENCE.sub("", text.strip()).strip()
    text = _PREAMBLE.sub("", text, count=1).strip()
    for left, right in (("«", "»"), ("„", "“"), ('"', '"'), ("“", "”")):
        if text.startswith(left) and text.endswith(right) and len(text) > 2 and text.count(left) == (
                2 if left == right else 1):
            text = text[len(left):-len(right)].strip()
    return text


def norm_sentence(s: str) -> str:
    return re.sub(r"\W+", " ", s.casefold()).strip()


def dedupe_sentences(text: str) -> tuple[str, int]:
    """Drop sentences that repeat an earlier one (a small model can loop); returns (text, removed)."""
    seen: set[str] = set()
    removed = 0
    paragraphs = []
    for para in re.split(r"\n\s*\n", text):
        lines = []
        for line in para.split("\n"):
            parts = re.split(r"(?<=[.!?])\s+", line.strip())
            kept = []
            for part in parts:
                key = norm_sentence(part)
                words = set(key.split())
                if key and len(key) > 12 and (key in seen or any(
                        len(words & set(k.split())) / len(words | set(k.split())) >= 0.8 for k in seen)):
                    removed += 1  # the same sentence again, or nearly
                    continue
                seen.add(key)
                kept.append(part)
            if kept:
                lines.append(" ".join(kept))
        if lines:
            paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs).strip(), removed


def drop_unfinished(text: str) -> str:
    """For output cut at max_tokens: drop the unfinished last line or sentence."""
    text = text.rstrip()
    if not text or text[-1] in ".!?:»“\")":
        return text
    lines = text.split("\n")
    last = lines[-1]
    sentences = rd.sentences(last)  # the segmenter knows "1. April" and "z. B." are no sentence ends
    if len(sentences) > 1:
        lines[-1] = last[:last.rfind(sentences[-1])].rstrip()
    elif len(lines) > 1:
        lines = lines[:-1]
    return "\n".join(lines).rstrip()


def leading_part(text: str, share: float) -> str:
    """The leading ``share`` of ``text``, cut at a paragraph or sentence end."""
    limit = int(len(text) * share * 0.95)
    head = text[:limit]
    for sep in ("\n\n", ". ", "\n"):
        pos = head.rfind(sep)
        if pos > limit // 2:
            return head[:pos + (1 if sep == ". " else 0)].strip()
    return head.strip()


def stem(word: str) -> str:
    """The first five letters, case-folded: a crude stem good enough to match German word forms."""
    return word.casefold()[:5] if len(word) > 5 else word.casefold()
