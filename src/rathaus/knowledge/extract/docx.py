"""Word documents (.docx) via python-docx, paragraphs and tables in body order."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from typing import Any

from rathaus.knowledge.document import DocumentBuilder, ExtractedDocument, ExtractionError

_HEADING_STYLE = re.compile(r"^(?:heading|überschrift|ueberschrift)\s*(\d)$", re.IGNORECASE)
_TITLE_STYLES = {"title", "titel"}
_LIST_STYLE = re.compile(r"list|liste|aufzählung|aufzaehlung", re.IGNORECASE)
_TOC_STYLE = re.compile(r"^(?:toc|verzeichnis|inhaltsverzeichnis)\s*\d*$", re.IGNORECASE)
_TRAILING_LEVEL = re.compile(r"(\d)\s*$")


def _w(tag: str) -> str:
    from docx.oxml.ns import qn

    return qn(tag)


def _style_chain(style: Any) -> Iterator[Any]:
    seen = 0
    while style is not None and seen < 8:
        yield style
        style = getattr(style, "base_style", None)
        seen += 1


def _heading_level(paragraph: Any) -> int:
    """1-6 for heading paragraphs (style name, inherited style, or outline level), else 0."""
    try:
        style = paragraph.style
    except Exception:  # broken style references in the file
        style = None
    for s in _style_chain(style):
        name = (s.name or "").strip()
        if name.lower() in _TITLE_STYLES:
            return 1
        m = _HEADING_STYLE.match(name)
        if m and 1 <= int(m.group(1)) <= 9:
            return min(int(m.group(1)), 6)
    ppr = paragraph._p.pPr
    if ppr is not None:
        outline = ppr.find(_w("w:outlineLvl"))
        if outline is not None:
            try:
                value = int(outline.get(_w("w:val")))
            except (TypeError, ValueError):
                value = 9
            if value < 6:
                return value + 1
    return 0


def _num_level(element: Any) -> int | None:
    """ilvl + 1 when the paragraph properties (of a paragraph or a style) number it, else None."""
    ppr = element.find(_w("w:pPr"))
    if ppr is None:
        return None
    numpr = ppr.find(_w("w:numPr"))
    if numpr is None:
        return None
    num_id = numpr.find(_w("w:numId"))
    if num_id is not None and num_id.get(_w("w:val")) == "0":
        return None  # numbering explicitly switched off
    ilvl = numpr.find(_w("w:ilvl"))
    try:
        return int(ilvl.get(_w("w:val"))) + 1 if ilvl is not None else 1
    except (TypeError, ValueError):
        return 1


def _list_level(paragraph: Any) -> int:
    """Nesting depth (1-based) for list paragraphs, else 0."""
    level = _num_level(paragraph._p)
    if level is not None:
        return min(level, 9)
    try:
        style = paragraph.style
    except Exception:
        return 0
    for s in _style_chain(style):
        name = (s.name or "").strip()
        style_level = _num_level(s.element)
        if style_level is not None:
            m = _TRAILING_LEVEL.search(name)
            return int(m.group(1)) if m and style_level == 1 else style_level
        if _LIST_STYLE.search(name):
            m = _TRAILING_LEVEL.search(name)
            return int(m.group(1)) if m else 1
    return 0


def _is_toc(paragraph: Any) -> bool:
    try:
        name = paragraph.style.name or ""
    except Exception:
        return False
    return bool(_TOC_STYLE.match(name.strip()))


def _iter_body(parent: Any) -> Iterator[Any]:
    """w:p and w:tbl elements of a body or cell in document order (descending into content controls)."""
    for child in parent.iterchildren():
        if child.tag in (_w("w:p"), _w("w:tbl")):
            yield child
        elif child.tag in (_w("w:sdt"), _w("w:customXml")):
            content = child.find(_w("w:sdtContent")) if child.tag == _w("w:sdt") else child
            if content is not None:
                yield from _iter_body(content)


def _cell_text(tc: Any, doc: Any) -> str:
    from docx.text.paragraph import Paragraph

    parts: list[str] = []
    for el in _iter_body(tc):
        if el.tag == _w("w:p"):
            parts.append(Paragraph(el, doc).text)
        else:
            parts.extend("; ".join(_cell_text(c, doc) for c in tr.tc_lst) for tr in el.tr_lst)
    return " ".join(" ".join(parts).split())


def _table_text(tbl: Any, doc: Any) -> str:
    lines: list[str] = []
    for tr in tbl.tr_lst:
        cells = [_cell_text(tc, doc) for tc in tr.tc_lst]
        if any(cells):
            lines.append(" | ".join(cells))
    return "\n".join(lines)


def _language(value: str | None) -> str | None:
    if not value:
        return None
    code = re.split(r"[-_]", value.strip(), maxsplit=1)[0].lower()
    return code if len(code) == 2 and code.isalpha() else None


def extract_docx(data: bytes) -> ExtractedDocument:
    try:
        from docx import Document
        from docx.text.paragraph import Paragraph

        document = Document(io.BytesIO(data))
        body = document.element.body
    except Exception as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ExtractionError(f"not a readable DOCX: {detail}") from exc

    builder = DocumentBuilder()
    for el in _iter_body(body):
        if el.tag == _w("w:tbl"):
            builder.add("table", _table_text(el, document))
            continue
        paragraph = Paragraph(el, document)
        text = paragraph.text
        if not text.strip() or _is_toc(paragraph):
            continue
        level = _heading_level(paragraph)
        if level:
            builder.add("heading", " ".join(text.split()), level=level)
            continue
        list_level = _list_level(paragraph)
        if list_level:
            builder.add("list_item", text, level=list_level)
        else:
            builder.add("paragraph", text)
    if not builder.blocks:
        raise ExtractionError("DOCX document without text")

    props = document.core_properties
    modified = props.modified
    if isinstance(modified, dt.datetime):
        modified = modified.replace(tzinfo=dt.UTC) if modified.tzinfo is None else modified.astimezone(dt.UTC)
    else:
        modified = None
    title = (props.title or "").strip() or None
    mime = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return builder.build(title=title, language=_language(props.language), modified=modified, mime=mime)
