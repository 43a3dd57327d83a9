"""HTML pages (crawled or saved) via BeautifulSoup + lxml: main content only, structure kept as blocks."""

from __future__ import annotations

import codecs
import datetime as dt
import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from bs4 import BeautifulSoup
from bs4.element import CData, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag

from rathaus.knowledge.document import BlockKind, DocumentBuilder, ExtractedDocument, ExtractionError
from rathaus.knowledge.extract.text import decode_fallback

_DROP_TAGS = [
    "script",
    "style",
    "noscript",
    "nav",
    "footer",
    "header",
    "aside",
    "form",
    "template",
    "svg",
    "iframe",
    "object",
    "embed",
    "button",
    "select",
    "dialog",
]
_SECTIONING = ("article", "main")  # a <header>/<footer> inside these belongs to the content (the article's title)
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_LISTS = {"ul", "ol", "menu"}
_BLOCK_TAGS = {
    "address",
    "article",
    "blockquote",
    "body",
    "caption",
    "center",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "hgroup",
    "hr",
    "html",
    "li",
    "main",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
    "menu",
    "legend",
    *_HEADINGS,
}
_SKIP_STRINGS = (Comment, Declaration, Doctype, ProcessingInstruction, CData)
_HIDDEN_STYLE = re.compile(r"(?:display\s*:\s*none|visibility\s*:\s*hidden)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_CT_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.IGNORECASE)
_MODIFIED_META = ("article:modified_time", "last-modified", "dcterms.modified", "dc.date.modified", "og:updated_time")
_WS = re.compile(r"[^\S\n]+")
_BR = "\x00"  # marks <br> in collected inline text until whitespace is normalised


def _charset_label(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip()).name
    except LookupError:
        return None
    # As browsers do (WHATWG encoding standard): Latin-1 and ASCII labels mean windows-1252.
    return "cp1252" if name in ("latin-1", "iso8859-1", "ascii") else name


def decode_html(data: bytes, content_type: str | None) -> tuple[str, list[str]]:
    """Decode HTML bytes: BOM, valid UTF-8, HTTP charset, <meta charset>, then charset-normalizer."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace"), []
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), []
    declared: list[str] = []
    if content_type and (m := _CT_CHARSET.search(content_type)):
        declared.append(m.group(1))
    if meta := _META_CHARSET.search(data[:4096]):
        declared.append(meta.group(1).decode("ascii", errors="ignore"))
    try:  # valid UTF-8 with non-ASCII bytes is practically never another encoding, whatever is declared
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    for label in declared:
        encoding = _charset_label(label)
        if encoding is None:
            continue
        try:
            return data.decode(encoding), []
        except UnicodeDecodeError:
            continue
    text, label = decode_fallback(data)
    return text, [f"decoded as {label}"]


def _language(soup: BeautifulSoup) -> str | None:
    values: list[str] = []
    html = soup.find("html")
    if isinstance(html, Tag):
        values += [str(html.get("lang") or ""), str(html.get("xml:lang") or "")]
    for meta in soup.find_all("meta"):
        key = str(meta.get("http-equiv") or meta.get("property") or meta.get("name") or "").lower()
        if key in ("content-language", "og:locale", "language", "dc.language"):
            values.append(str(meta.get("content") or ""))
    for value in values:
        code = re.split(r"[-_,; ]", value.strip(), maxsplit=1)[0].lower()
        if len(code) == 2 and code.isalpha():
            return code
    return None


def parse_date(value: str) -> dt.datetime | None:
    """Parse ISO 8601, HTTP dates and German dd.mm.yyyy; naive results are taken as UTC."""
    value = value.strip()
    if not value:
        return None
    parsed: dt.datetime | None = None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            m = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", value)
            if m:
                try:
                    parsed = dt.datetime(int(m.group(3)), int(m.group(2)), int(m.group(1)))
                except ValueError:
                    parsed = None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _meta_content(soup: BeautifulSoup, keys: tuple[str, ...]) -> str | None:
    for meta in soup.find_all("meta"):
        key = str(meta.get("property") or meta.get("name") or meta.get("http-equiv") or meta.get("itemprop") or "")
        if key.lower() in keys and meta.get("content"):
            return str(meta.get("content"))
    return None


def _modified(soup: BeautifulSoup) -> dt.datetime | None:
    for key in _MODIFIED_META:
        value = _meta_content(soup, (key,))
        if value and (parsed := parse_date(value)):
            return parsed
    return None


def _title(soup: BeautifulSoup) -> str | None:
    title = soup.find("title")
    if isinstance(title, Tag):
        text = " ".join(title.get_text(" ").split())
        if text:
            return text
    og = _meta_content(soup, ("og:title",))
    return " ".join(og.split()) if og and og.strip() else None


def _is_hidden(tag: Tag) -> bool:
    if tag.attrs is None:
        return False
    if tag.has_attr("hidden") or str(tag.get("aria-hidden", "")).lower() == "true":
        return True
    style = tag.get("style")
    return bool(style) and bool(_HIDDEN_STYLE.search(str(style)))


def _clean(root: Tag) -> None:
    for tag in root.find_all(_DROP_TAGS):
        if tag.decomposed:
            continue
        if tag.name in ("header", "footer") and tag.find_parent(_SECTIONING) is not None:
            continue
        tag.decompose()
    for tag in root.find_all(True):
        if not tag.decomposed and _is_hidden(tag):
            tag.decompose()


def _content_roots(soup: BeautifulSoup) -> list[Tag]:
    def has_text(tag: Tag) -> bool:
        return bool(tag.get_text(strip=True))

    main = soup.find("main")
    if isinstance(main, Tag) and has_text(main):
        return [main]
    articles = [a for a in soup.find_all("article") if a.find_parent("article") is None and has_text(a)]
    if articles:
        return articles
    role_main = soup.find(None, {"role": "main"})
    if isinstance(role_main, Tag) and has_text(role_main):
        return [role_main]
    body = soup.find("body")
    if isinstance(body, Tag):
        return [body]
    return [soup]


def _normalise(text: str) -> str:
    """Collapse whitespace; <br> markers become line breaks."""
    text = _WS.sub(" ", text.replace("\n", " ")).replace(_BR, "\n")
    lines = [line.strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line) if len(lines) > 1 else text.strip()


def _inline_parts(el: Tag, out: list[str]) -> None:
    for node in el.descendants:
        if isinstance(node, NavigableString):
            if not isinstance(node, _SKIP_STRINGS):
                out.append(str(node))
        elif isinstance(node, Tag) and node.name == "br":
            out.append(_BR)


def inline_text(el: Tag) -> str:
    parts: list[str] = []
    _inline_parts(el, parts)
    return _normalise("".join(parts))


def _has_blocks(el: Tag) -> bool:
    return el.find(_BLOCK_TAGS) is not None


@dataclass
class _Context:
    list_depth: int = 0
    in_item: bool = False


class _Walker:
    def __init__(self) -> None:
        self.builder = DocumentBuilder()

    def add(self, kind: BlockKind, text: str, level: int = 0) -> None:
        self.builder.add(kind, text, level)

    def flush(self, buffer: list[str], ctx: _Context) -> None:
        if not buffer:
            return
        raw = "".join(buffer)
        buffer.clear()
        # two or more <br> in a row separate paragraphs in old-style pages
        for chunk in re.split(rf"{_BR}[^\S\n]*(?:{_BR}[^\S\n]*)+", raw):
            text = _normalise(chunk)
            if ctx.in_item:
                self.add("list_item", text, ctx.list_depth)
            else:
                self.add("paragraph", text)

    def walk(self, el: Tag, ctx: _Context) -> None:
        buffer: list[str] = []
        for child in el.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, _SKIP_STRINGS):
                    buffer.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name
            if name == "br":
                buffer.append(_BR)
            elif name in _HEADINGS:
                if ctx.in_item:
                    buffer.append(f"{_BR}{inline_text(child)}{_BR}")
                else:
                    self.flush(buffer, ctx)
                    self.add("heading", " ".join(inline_text(child).split()), _HEADINGS[name])
            elif name in _LISTS:
                self.flush(buffer, ctx)
                self.walk_list(child, ctx.list_depth + 1)
            elif name == "li":
                self.flush(buffer, ctx)
                self.walk(child, _Context(max(ctx.list_depth, 1), in_item=True))
            elif name == "table":
                self.flush(buffer, ctx)
                self.table(child, ctx)
            elif name == "pre":
                self.flush(buffer, ctx)
                code = child.get_text()
                self.add("code", "\n".join(line.rstrip() for line in code.strip("\n").split("\n")))
            elif name == "p" and not ctx.in_item:
                self.flush(buffer, ctx)
                if _has_blocks(child):
                    self.walk(child, ctx)
                else:
                    self.add("paragraph", inline_text(child))
            elif name in _BLOCK_TAGS or _has_blocks(child):
                if ctx.in_item and not _has_blocks(child):
                    buffer.append(f"{_BR}{inline_text(child)}{_BR}")  # a <p> or <div> inside an <li>
                else:
                    self.flush(buffer, ctx)
                    self.walk(child, ctx)
            else:
                _inline_parts(child, buffer)
        if ctx.in_item:
            raw = "".join(buffer)
            buffer.clear()
            self.add("list_item", _normalise(raw), ctx.list_depth)
        else:
            self.flush(buffer, ctx)

    def walk_list(self, el: Tag, depth: int) -> None:
        stray: list[str] = []
        for child in el.children:
            if isinstance(child, Tag):
                if child.name == "li":
                    self.flush(stray, _Context(depth, in_item=True))
                    self.walk(child, _Context(depth, in_item=True))
                elif child.name in _LISTS:
                    self.walk_list(child, depth + 1)
                else:
                    _inline_parts(child, stray)
            elif isinstance(child, NavigableString) and not isinstance(child, _SKIP_STRINGS):
                stray.append(str(child))
        self.flush(stray, _Context(depth, in_item=True))

    def table(self, table: Tag, ctx: _Context) -> None:
        is_layout = (
            str(table.get("role", "")).lower() in ("presentation", "none")
            or table.find("table") is not None
            or table.find(list(_HEADINGS)) is not None
        )
        rows = [tr for tr in table.find_all("tr") if tr.find_parent("table") is table]
        if is_layout:
            for tr in rows:
                for cell in tr.find_all(["td", "th"], recursive=False):
                    self.walk(cell, _Context(ctx.list_depth))
            return
        caption = table.find("caption")
        if isinstance(caption, Tag) and caption.find_parent("table") is table:
            self.add("paragraph", inline_text(caption))

        def section(tr: Tag) -> int:
            parent = tr.parent.name if tr.parent is not None else ""
            return {"thead": 0, "tfoot": 2}.get(parent, 1)

        lines: list[str] = []
        for tr in sorted(rows, key=section):
            cells = [" ".join(inline_text(c).split()) for c in tr.find_all(["td", "th"], recursive=False)]
            if any(cells):
                lines.append(" | ".join(cells))
        self.add("table", "\n".join(lines))


def extract_html(data: bytes, content_type: str | None = None) -> ExtractedDocument:
    text, warnings = decode_html(data, content_type)
    soup = BeautifulSoup(text, "lxml")
    title = _title(soup)
    language = _language(soup)
    modified = _modified(soup)
    _clean(soup)
    walker = _Walker()
    for root in _content_roots(soup):
        walker.walk(root, _Context())
    if not walker.builder.blocks:
        raise ExtractionError("HTML page without text")
    return walker.builder.build(title=title, language=language, modified=modified, mime="text/html", warnings=warnings)
