"""Undo the usual tricks that hide offensive words from a classifier, before the guard classifies a text.

Steps (each one is reported as a reason when it changed something):

1. HTML / Markdown: the visible text is extracted, and so is the hidden text – HTML comments, ``<script>``,
   ``<style>``, ``<template>``, ``<noscript>``, elements with the ``hidden`` attribute, ``aria-hidden``,
   ``display:none``, ``visibility:hidden``, ``font-size:0``, ``opacity:0``, white text, ``alt``/``title``
   attributes, and Markdown comment lines (``[//]: # (…)``). Inline tags do not split words
   (``<b>Id</b>iot`` → ``Idiot``). Plain text is left alone: only texts with real tags count as HTML.
2. Character level (``clean_text``): HTML entities decoded; Unicode NFKC (full-width and mathematical letters
   → ASCII); invisible characters (zero-width space/joiners, soft hyphen, word joiner, BOM, bidi controls,
   Hangul fillers, Braille blank: ``rathaus.safety.text``) and combining marks (Zalgo text) removed; homoglyphs
   (Cyrillic, Greek, Armenian … lookalikes, ``rathaus.safety.text.homoglyph_table``) mapped to Latin letters
   when the text is mostly Latin, otherwise only inside words that mix scripts (Russian or Greek
   text stays readable); letters spaced out with blanks, dots, dashes, underscores or stars
   (``I d i o t``, ``I.d.i.o.t``) joined when at least three single letters follow each other (not after
   "dot space" as in ``z. B. u. a.``); leetspeak (``1d10t``, ``H1tl3r``, ``Schl@mpe``) mapped back to letters
   only where a digit or symbol stands before a letter inside a word with at least two letters (numbers,
   ``10km``, ``3er``, ``COVID19``, ``G7-Gipfel``, ``user1``, links, e-mail addresses and @mentions stay).
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import regex

from rathaus.safety.text import homoglyph_table, is_latin, strip_invisible

REASON_HTML = "HTML: sichtbarer und versteckter Text getrennt / HTML extracted"
REASON_MARKDOWN = "Markdown: Text extrahiert / Markdown extracted"
REASON_HIDDEN = "versteckter Text / hidden text"
REASON_ENTITIES = "HTML-Entities dekodiert / HTML entities decoded"
REASON_NFKC = "Unicode-Varianten vereinheitlicht / Unicode variants normalised (NFKC)"
REASON_INVISIBLE = "unsichtbare Zeichen entfernt / invisible characters removed"
REASON_COMBINING = "Kombinationszeichen entfernt / combining marks removed"
REASON_HOMOGLYPHS = "Homoglyphen ersetzt / homoglyphs normalised"
REASON_SPACING = "gesperrte Buchstaben zusammengefügt / spaced-out letters joined"
REASON_LEET = "Leetspeak zurückübersetzt / leetspeak normalised"

_MARKS = regex.compile(r"\p{Mn}")
_NON_LATIN_LETTER = regex.compile(r"(?!\p{Latin})\p{L}")
_LEET_CANDIDATE = re.compile(r"(?:[013457$!€|]|(?<=[^\W\d_])@)[^\W\d_]")  # not "@user": mentions stay
_ENTITY = re.compile(r"&(?:[a-zA-Z]{2,8}|#\d{1,7}|#[xX][0-9a-fA-F]{1,6});")
_SPACED = re.compile(r"(?<![\w])(?:[^\W\d_](?: {1,3}|[.\-_*·+|/]))(?:[^\W\d_](?: {1,3}|[.\-_*·+|/]))+[^\W\d_](?![\w])")
_SEPARATORS = re.compile(r"[ .\-_*·+|/]")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i",
                       "€": "e", "|": "l"})
_LEET_CHARS = "013457@$!€|"
_WORDISH = re.compile(r"[^\s]+")
_LEET_PART = re.compile(r"[^\s\-/]+")
_PUNCT = ".,;:?!\"'()[]{}<>«»„“”"
_LEET_INSIDE = re.compile(r"(?:^|[^\W\d_])[013457@$!€|]+[^\W\d_]")
_NUMBERLIKE = re.compile(r"^\d+[.,:/\-]?\d*[a-zäöüß]{0,4}$|^[a-zäöüß]{1,6}-?\d+$", re.IGNORECASE)
_HTML_TAG = re.compile(
    r"<!--|<(?:/?(?:p|div|span|br|a|b|i|u|s|em|strong|small|big|mark|sup|sub|script|style|template|noscript|html|"
    r"body|head|title|meta|h[1-6]|ul|ol|li|table|thead|tbody|tr|td|th|img|font|section|article|details|summary|"
    r"label|input|textarea|button|blockquote|pre|code|center|iframe|svg|text|nav|footer|header|main)\b[^>]*>)",
    re.IGNORECASE)
_MARKDOWN = re.compile(r"\*\*|__|~~|`|^\s{0,3}#{1,6}\s|\[[^\]\n]*\]\([^)\n]*\)|^\s{0,3}\[[^\]\n]+\]:\s",
                       re.MULTILINE)
_MD_COMMENT = re.compile(r"^\s{0,3}\[[^\]\n]*\]:\s*(?:<[^>\n]*>|\S+)\s*(?:\((.*)\)|\"(.*)\"|'(.*)')\s*$",
                         re.MULTILINE)
_MD_LINK_TITLE = re.compile(r"\]\([^)\s]*\s+\"([^\"]*)\"\)")
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:\.0*)?(?:px|pt|em|rem|%)?\s*(?:;|$)"
    r"|opacity\s*:\s*0(?:\.0*)?\s*(?:;|$)|(?<![-\w])color\s*:\s*(?:white|#fff(?:fff)?|rgb\(\s*255\s*,\s*255\s*,\s*255\s*\))",
    re.IGNORECASE)
_HIDDEN_TAGS = ("script", "style", "template", "noscript", "title", "head")
_BLOCK_TAGS = ("p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "th", "table",
               "section", "article", "blockquote", "pre", "header", "footer", "nav", "main", "details", "summary")
_SPACE = re.compile(r"[ \t\r\f\v]+")
_LINES = re.compile(r"\n\s*\n+")


@dataclass
class Normalised:
    """Visible and hidden text after normalisation, and which normalisations applied."""

    visible: str
    hidden: str = ""
    changes: list[str] = field(default_factory=list)


# --- homoglyphs ----------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _translation() -> dict[int, str]:
    return str.maketrans(homoglyph_table(digits=True))


def _map_homoglyphs(text: str) -> str:
    table = _translation()
    letters = [c for c in text if c.isalpha()]
    if not letters or not any(ord(c) in table for c in letters):
        return text
    latin = sum(is_latin(c) for c in letters)
    if latin * 2 >= len(letters):
        return text.translate(table)

    def mixed(match: re.Match[str]) -> str:
        word = match.group(0)
        alpha = [c for c in word if c.isalpha()]
        return word.translate(table) if any(is_latin(c) for c in alpha) and not all(map(is_latin, alpha)) else word

    return _WORDISH.sub(mixed, text)


# --- spacing and leetspeak -----------------------------------------------------------------------------
def _join_spaced(text: str) -> str:
    return _SPACED.sub(lambda m: _SEPARATORS.sub("", m.group(0)), text)


def _unleet_word(match: re.Match[str]) -> str:
    word = match.group(0)
    core = word.strip(_PUNCT)
    if (sum(map(str.isalpha, core)) < 2 or not any(c in _LEET_CHARS for c in core) or _NUMBERLIKE.match(core)
            or "://" in core or "www." in core.lower() or ("@" in core[1:] and "." in core)):
        return word  # numbers with units, ordinals, product names, links, e-mail addresses
    if core.startswith("@") or not _LEET_INSIDE.search(core):
        return word  # a leading @ is a mention, never an "a"
    return word.replace(core, core.translate(_LEET))


def _unleet(text: str) -> str:
    return _LEET_PART.sub(_unleet_word, text)


# --- character level -----------------------------------------------------------------------------------
def clean_text(text: str, changes: list[str] | None = None) -> str:
    """Character-level normalisation (step 2 of the module docstring); appends what changed to ``changes``."""
    found: list[str] = [] if changes is None else changes

    def note(reason: str, before: str, after: str) -> str:
        if before != after and reason not in found:
            found.append(reason)
        return after

    if "&" in text:
        text = note(REASON_ENTITIES, text, html.unescape(text) if _ENTITY.search(text) else text)
    if not text.isascii():  # the next four steps cannot change pure ASCII
        if not unicodedata.is_normalized("NFKC", text):
            text = note(REASON_NFKC, text, unicodedata.normalize("NFKC", text))
        text = note(REASON_INVISIBLE, text, strip_invisible(text))
        # after NFKC, letters with a precomposed form (ä, ş, é) are one code point; what is left is stacked marks
        text = note(REASON_COMBINING, text, _MARKS.sub("", text))
        if _NON_LATIN_LETTER.search(text):
            text = note(REASON_HOMOGLYPHS, text, _map_homoglyphs(text))
    text = note(REASON_SPACING, text, _join_spaced(text))
    if _LEET_CANDIDATE.search(text):
        text = note(REASON_LEET, text, _unleet(text))
    return text


# --- markup ----------------------------------------------------------------------------------------------
def looks_like_html(text: str) -> bool:
    return bool(_HTML_TAG.search(text))


def looks_like_markdown(text: str) -> bool:
    return bool(_MARKDOWN.search(text))


def _is_hidden(tag: object) -> bool:
    attrs = getattr(tag, "attrs", None) or {}
    if "hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true":
        return True
    return bool(_HIDDEN_STYLE.search(str(attrs.get("style", ""))))


def split_html(markup: str) -> tuple[str, str]:
    """(visible text, hidden text) of an HTML fragment or page."""
    from bs4 import BeautifulSoup, Comment

    soup = BeautifulSoup(markup, "lxml")
    hidden: list[str] = []
    for comment in soup.find_all(string=lambda s: isinstance(s, Comment)):
        hidden.append(str(comment))
        comment.extract()
    for tag in soup.find_all(True):
        for attr in ("alt", "title", "aria-label"):
            value = tag.attrs.get(attr) if tag.attrs else None
            if value:
                hidden.append(str(value))
    for tag in soup.find_all(lambda t: t.name in _HIDDEN_TAGS or _is_hidden(t)):
        if tag.decomposed:
            continue
        hidden.append(tag.get_text(" "))
        tag.decompose()
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_after("\n")
        if tag.name == "br":
            tag.replace_with("\n")
    visible = soup.get_text("")
    return _tidy(visible), _tidy("\n".join(hidden))


@lru_cache(maxsize=1)
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


def split_markdown(markdown: str) -> tuple[str, str]:
    """(visible text, hidden text) of Markdown: comment lines and link titles are hidden, HTML inside too."""
    hidden = [next(g for g in m.groups() if g is not None) for m in _MD_COMMENT.finditer(markdown)]
    hidden += _MD_LINK_TITLE.findall(markdown)
    rendered = _markdown().render(_MD_COMMENT.sub("", markdown))
    visible, hidden_html = split_html(rendered)
    hidden_parts = [h for h in [*hidden, hidden_html] if h.strip()]
    return visible, _tidy("\n".join(hidden_parts))


def _tidy(text: str) -> str:
    lines = [_SPACE.sub(" ", line).strip() for line in text.splitlines()]
    return _LINES.sub("\n", "\n".join(line for line in lines if line)).strip()


def normalise(text: str) -> Normalised:
    """Markup extraction (step 1) followed by character-level normalisation (step 2) of visible and hidden text."""
    changes: list[str] = []
    # zero-width characters or entities inside tags ("<!-\u200b-") must not hide markup: clean first
    visible, hidden = clean_text(text, changes), ""
    if looks_like_html(visible):
        visible, hidden = split_html(visible)
        changes.append(REASON_HTML)
    elif looks_like_markdown(visible):
        visible, hidden = split_markdown(visible)
        changes.append(REASON_MARKDOWN)
    else:
        return Normalised(visible=visible, changes=changes)
    visible = clean_text(visible, changes)  # letters spaced by tags ("<b>I</b> d i o t") are joined now
    hidden = clean_text(hidden, changes) if hidden else ""
    if hidden.strip():
        changes.append(REASON_HIDDEN)
    return Normalised(visible=visible, hidden=hidden, changes=changes)
