"""Born-digital PDFs via pypdfium2 (PDFium): text lines with font size and position, grouped into blocks.

No OCR: pages without a text layer are reported as warnings, a PDF without any text is an error.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import itertools
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rathaus.knowledge.document import BlockKind, DocumentBuilder, ExtractedDocument, ExtractionError
from rathaus.knowledge.extract.text import KEEP_HYPHEN_BEFORE

if TYPE_CHECKING:
    import pypdfium2

_PDFIUM_LOCK = threading.Lock()  # PDFium is not thread-safe: one document at a time per process
MIN_PAGE_CHARS = 10  # fewer non-space characters than this: the page has "no or almost no text"
MAX_HEADING_CHARS = 100
_FONT_BIGGER = 1.15  # a heading's font is at least this much larger than the body text
_GAP_FACTOR = 1.4  # a vertical gap this much larger than the usual line spacing starts a new paragraph

_BULLET = re.compile(r"^(?:[•·▪◦‣∙\uf0b7\uf0a7\uf076\uf0d8-]|\d{1,2}[.)]|[a-z]\))\s+")
_BULLET_SYMBOL = re.compile(r"^[•·▪◦‣∙\uf0b7\uf0a7\uf076\uf0d8-]\s+")
_NUMBERED = re.compile(r"^(?P<num>\d{1,2}(?:\.\d{1,2})*)\.?\s+\S")
_MULTILEVEL = re.compile(r"^\d{1,2}(?:\.\d{1,2})+\.?\s+\S")
_PAGE_NUMBER = re.compile(
    r"^(?:[-–]\s*)?(?:seite|page|s\.)?\s*(?:\d{1,4}|[ivxl]{1,6})(?:\s*(?:von|of|/)\s*\d{1,4})?(?:\s*[-–])?$",
    re.IGNORECASE,
)
_DOT_LEADER = re.compile(r"(?:\.\s?){4,}\s*[\divxlc]+$|…\s*\d+$", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\u00a0]+")
_HYPHENS = ("-", "\u00ad", "\u2010")
_SOFT_HYPHENS = ("\u00ad",)
_JUNK_TITLE = re.compile(
    r"^\(?(?:untitled|unbenannt|ohne titel|anonymous|dokument\d*|document\d*|title|titel)\)?$", re.IGNORECASE
)


@dataclass
class _Line:
    text: str
    size: float
    bold: bool
    x: float
    y: float  # baseline, PDF coordinates (grows upwards)
    right: float


@dataclass
class _Group:
    lines: list[_Line]
    page: int
    gap_before: bool  # a paragraph gap (or page start) precedes the group
    gap_after: bool = False
    kind: BlockKind = "paragraph"
    level: int = 0
    text: str = ""


@dataclass
class _Page:
    number: int
    lines: list[_Line] = field(default_factory=list)
    chars: int = 0
    has_images: bool = False


def _pdf_date(value: str | None) -> dt.datetime | None:
    """PDF date "D:YYYYMMDDHHmmSS+HH'mm'" → aware UTC datetime."""
    if not value:
        return None
    m = re.match(
        r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?\s*(?:([Zz+\-])(\d{2})?'?(\d{2})?'?)?", value.strip()
    )
    if not m:
        return None
    defaults = (0, 1, 1, 0, 0, 0)
    year, month, day, hour, minute, second = (int(g) if g else d for g, d in zip(m.groups()[:6], defaults, strict=True))
    try:
        parsed = dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    sign, tz_h, tz_m = m.group(7), m.group(8), m.group(9)
    offset = dt.timedelta(hours=int(tz_h or 0), minutes=int(tz_m or 0))
    if sign == "-":
        offset = -offset
    if sign in ("+", "-") and offset < dt.timedelta(hours=24):
        parsed = parsed.replace(tzinfo=dt.timezone(offset))
    else:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _clean_title(value: str | None) -> str | None:
    if not value:
        return None
    title = " ".join(value.replace("\x00", "").split())
    title = re.sub(r"^Microsoft (?:Word|PowerPoint|Excel) - ", "", title)
    file_name = re.search(r"\.(?:docx?|odt|pdf|rtf|xlsx?|pptx?|indd|tmp)$", title, re.IGNORECASE)
    if not title or _JUNK_TITLE.match(title) or file_name:
        return None
    return title


def _font_info(textpage: object, index: int, raw: object) -> tuple[str, int]:
    buffer = ctypes.create_string_buffer(128)
    flags = ctypes.c_int(0)
    raw.FPDFText_GetFontInfo(textpage, index, buffer, 128, ctypes.byref(flags))  # type: ignore[attr-defined]
    return buffer.value.decode("utf-8", errors="ignore"), flags.value


def _is_bold(textpage: object, index: int, raw: object) -> bool:
    name, flags = _font_info(textpage, index, raw)
    if flags & (1 << 18):  # ForceBold
        return True
    lowered = name.lower()
    if any(word in lowered for word in ("bold", "black", "heavy", "semibold", "demi")):
        return True
    return raw.FPDFText_GetFontWeight(textpage, index) >= 600  # type: ignore[attr-defined]


def _page_lines(textpage: object, raw: object) -> tuple[list[_Line], int]:
    """Text lines of a page with font size, boldness and position; plus the count of non-space chars."""
    count = textpage.count_chars()  # type: ignore[attr-defined]
    if count <= 0:
        return [], 0
    text = textpage.get_text_range()  # type: ignore[attr-defined]
    exact = len(text) == count
    x = ctypes.c_double()
    y = ctypes.c_double()
    left, right, bottom, top = ctypes.c_double(), ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    matrix = raw.FS_MATRIX()  # type: ignore[attr-defined]

    def char_index(text_index: int) -> int:
        if exact:
            return text_index
        return raw.FPDFText_GetCharIndexFromTextIndex(textpage, text_index)  # type: ignore[attr-defined]

    lines: list[_Line] = []
    non_space = 0
    # PDFium joins a line ending in "-" with the next one and marks the hyphen as U+FFFE (or U+0002): split there
    for m in re.finditer(r"[^\r\n\ufffe\x02]+[\ufffe\x02]?|[\ufffe\x02]", text):
        raw_line = m.group()
        stripped = raw_line.strip()
        if not stripped:
            continue
        non_space += len(stripped) - stripped.count(" ")
        first = char_index(m.start() + len(raw_line) - len(raw_line.lstrip()))
        last = char_index(m.start() + len(raw_line.rstrip()) - 1)
        if not (0 <= first < count):
            first = 0
        if not (0 <= last < count):
            last = first
        # font size times the text matrix scale: many producers write "1 Tf" and scale the text matrix instead
        size = float(raw.FPDFText_GetFontSize(textpage, first))  # type: ignore[attr-defined]
        if raw.FPDFText_GetMatrix(textpage, first, ctypes.byref(matrix)):  # type: ignore[attr-defined]
            scale = math.sqrt(abs(matrix.a * matrix.d - matrix.b * matrix.c))
            if scale > 0:
                size *= scale
        raw.FPDFText_GetCharOrigin(textpage, first, ctypes.byref(x), ctypes.byref(y))  # type: ignore[attr-defined]
        raw.FPDFText_GetCharBox(  # type: ignore[attr-defined]
            textpage, last, ctypes.byref(left), ctypes.byref(right), ctypes.byref(bottom), ctypes.byref(top)
        )
        bold = _is_bold(textpage, first, raw) and _is_bold(textpage, last, raw)
        line_text = _SPACES.sub(" ", stripped.replace("\ufffe", "-").replace("\x02", "-"))
        lines.append(_Line(line_text, round(size, 1), bold, x.value, y.value, right.value))
    return lines, non_space


def _line_key(text: str) -> str:
    return re.sub(r"\d+", "#", text.lower())


def _drop_furniture(pages: list[_Page]) -> None:
    """Remove page numbers and running headers/footers (same line at the top/bottom of many pages)."""
    edge_counts: Counter[str] = Counter()
    for page in pages:
        edges = {_line_key(line.text) for line in page.lines[:2] + page.lines[-2:]}
        edge_counts.update(edges)
    threshold = max(3, len(pages) // 2)
    repeated = {key for key, n in edge_counts.items() if n >= threshold}
    for page in pages:
        if not page.lines:
            continue
        n = len(page.lines)
        keep: list[_Line] = []
        for i, line in enumerate(page.lines):
            at_edge = i < 2 or i >= n - 2
            if at_edge and (_PAGE_NUMBER.match(line.text) or _line_key(line.text) in repeated):
                continue
            keep.append(line)
        page.lines = keep


def _typical_spacing(lines: list[_Line], body_size: float) -> float | None:
    """The most common baseline distance between consecutive body-text lines of a page."""
    gaps = Counter(
        round(a.y - b.y, 1)
        for a, b in itertools.pairwise(lines)
        if a.size == b.size == body_size and 0 < a.y - b.y < 3 * body_size
    )
    if not gaps:
        return None
    best, n = gaps.most_common(1)[0]
    return best if n >= 2 else min(gaps)


def _is_heading_shape(text: str) -> bool:
    if _DOT_LEADER.search(text):  # a table of contents entry "1 Einleitung . . . . 3"
        return False
    return len(text) < MAX_HEADING_CHARS and text[-1] not in ".,;" and any(ch.isalpha() for ch in text)


def _group_page(page: _Page, body_size: float) -> list[_Group]:
    lines = page.lines
    if not lines:
        return []
    spacing = _typical_spacing(lines, body_size)
    rights = sorted(line.right for line in lines)
    full_width = rights[int(len(rights) * 0.9)] if len(rights) >= 4 else None
    groups: list[_Group] = []
    current: list[_Line] = []
    gap_before = True

    def is_big(line: _Line) -> bool:
        return line.size >= body_size * _FONT_BIGGER

    for line in lines:
        if current:
            prev = current[-1]
            dy = prev.y - line.y
            expected = spacing if spacing is not None else 1.2 * max(prev.size, line.size)
            big_gap = dy < 0 or dy > expected * _GAP_FACTOR + 0.5
            short_end = (
                full_width is not None
                and prev.text[-1] in ".!?:"
                and prev.right < full_width - max(0.15 * (full_width - min(ln.x for ln in lines)), 20)
            )
            style_change = abs(prev.size - line.size) > 0.12 * max(prev.size, line.size) or prev.bold != line.bold
            starts_item = bool(_BULLET.match(line.text)) and (
                bool(_BULLET_SYMBOL.match(line.text)) or prev.text[-1] in ".!?:;" or bool(_BULLET.match(prev.text))
            )
            shift = line.x - prev.x
            indent_change = abs(shift) > 1.5 * max(line.size, 1) and not (len(current) == 1 and shift < 0)
            if big_gap or short_end or style_change or starts_item or indent_change or is_big(line) != is_big(prev):
                groups.append(_Group(current, page.number, gap_before))
                current = []
                gap_before = big_gap
            elif _MULTILEVEL.match(line.text) and _is_heading_shape(line.text) and prev.text[-1] in ".!?:":
                groups.append(_Group(current, page.number, gap_before))
                current = []
                gap_before = False
        current.append(line)
    if current:
        groups.append(_Group(current, page.number, gap_before))
    for a, b in itertools.pairwise(groups):
        a.gap_after = b.gap_before
    groups[-1].gap_after = True
    return groups


def _join_lines(lines: list[str]) -> str:
    """Join wrapped lines; de-hyphenate "Verwal-" + "tung" when the next line starts lower-case."""
    out = lines[0]
    for line in lines[1:]:
        if out.endswith(_SOFT_HYPHENS):
            out = out[:-1] + line
        elif out.endswith(_HYPHENS) and len(out) >= 2 and out[-2].isalpha():
            first_word = line.split(" ", 1)[0]
            if line[:1].islower() and first_word.lower() not in KEEP_HYPHEN_BEFORE:
                out = out[:-1] + line
            elif line[:1].islower():
                out = f"{out} {line}"
            else:
                out = out + line  # "E-" + "Mail", "Bürger-" + "Service"
        else:
            out = f"{out} {line}"
    return out


def _classify(groups: list[_Group], body_size: float) -> None:
    heading_sizes = sorted(
        {
            g.lines[0].size
            for g in groups
            if g.lines[0].size >= body_size * _FONT_BIGGER and len(g.lines) <= 3 and _is_heading_shape(g.lines[-1].text)
        },
        reverse=True,
    )
    for g in groups:
        texts = [line.text for line in g.lines]
        first = g.lines[0]
        joined = " ".join(texts)
        big = first.size >= body_size * _FONT_BIGGER
        if big and len(g.lines) <= 3 and len(joined) < 2 * MAX_HEADING_CHARS and _is_heading_shape(texts[-1]):
            g.kind, g.text = "heading", joined
            numbered = _NUMBERED.match(joined)
            g.level = min(6, heading_sizes.index(first.size) + 1) if first.size in heading_sizes else 1
            if numbered and not heading_sizes:
                g.level = min(6, numbered.group("num").count(".") + 1)
            continue
        if len(g.lines) == 1 and _is_heading_shape(joined):
            numbered = _NUMBERED.match(joined)
            letters = [ch for ch in joined if ch.isalpha()]
            all_caps = len(letters) >= 4 and all(ch.isupper() for ch in letters)
            standalone = g.gap_before and g.gap_after
            multilevel = bool(_MULTILEVEL.match(joined))
            if (
                first.bold
                or multilevel
                or (numbered and standalone and joined[numbered.end() - 1].isupper())
                or (all_caps and standalone)
            ):
                g.kind, g.text = "heading", joined
                if numbered:
                    g.level = min(6, numbered.group("num").count(".") + 1)
                else:
                    g.level = min(6, len(heading_sizes) + 1)
                continue
        if _BULLET.match(texts[0]):
            g.kind, g.level = "list_item", 1
            texts = [_BULLET.sub("", texts[0], count=1), *texts[1:]]
        g.text = _join_lines(texts)


def _open(data: bytes) -> pypdfium2.PdfDocument:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        message = str(exc)
        if getattr(exc, "err_code", None) == 4 or "password" in message.lower():
            raise ExtractionError("encrypted PDF (password protected)") from exc
        m = re.search(r"PDFium: ([^)]+)", message)
        detail = (m.group(1) if m else message).strip().rstrip(".").lower()
        raise ExtractionError(f"not a readable PDF: {detail}") from exc
    except Exception as exc:
        raise ExtractionError(f"not a readable PDF: {exc}") from exc


def extract_pdf(data: bytes) -> ExtractedDocument:
    with _PDFIUM_LOCK:
        pages, metadata, total = _read_pages(data)
    return _build(pages, metadata, total)


def _read_pages(data: bytes) -> tuple[list[_Page], dict[str, str], int]:
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    pdf = _open(data)
    pages: list[_Page] = []
    try:
        metadata = pdf.get_metadata_dict()
        total = len(pdf)
        for index in range(total):
            page = pdf[index]
            try:
                textpage = page.get_textpage()
                try:
                    lines, chars = _page_lines(textpage, raw)
                finally:
                    textpage.close()
                info = _Page(index + 1, lines, chars)
                if chars < MIN_PAGE_CHARS:
                    info.has_images = any(obj.type == raw.FPDF_PAGEOBJ_IMAGE for obj in page.get_objects(max_depth=3))
                pages.append(info)
            finally:
                page.close()
    except pdfium.PdfiumError as exc:
        raise ExtractionError(f"not a readable PDF: {exc}") from exc
    finally:
        pdf.close()
    return pages, metadata, total


def _build(pages: list[_Page], metadata: dict[str, str], total: int) -> ExtractedDocument:
    warnings: list[str] = []
    scanned = [p.number for p in pages if p.chars < MIN_PAGE_CHARS and p.has_images]
    if len(scanned) <= 5:
        warnings += [f"page {n} has no text layer (scanned?); OCR is not available" for n in scanned]
    else:
        listed = ", ".join(str(n) for n in scanned)
        warnings.append(f"{len(scanned)} pages have no text layer (scanned?): {listed}; OCR is not available")
    for p in pages:  # a near-empty scanned page may carry a stray stamp or page number
        if p.number in scanned:
            p.lines = []

    _drop_furniture(pages)
    size_weights: Counter[float] = Counter()
    for p in pages:
        for line in p.lines:
            size_weights[line.size] += len(line.text)
    if not size_weights:
        raise ExtractionError("no text layer on any page (scanned PDF?)")
    body_size = size_weights.most_common(1)[0][0]

    groups = [g for p in pages for g in _group_page(p, body_size)]
    _classify(groups, body_size)
    builder = DocumentBuilder()
    for g in groups:
        builder.add(g.kind, g.text, level=g.level, page=g.page)
    if not builder.blocks:
        raise ExtractionError("no text layer on any page (scanned PDF?)")
    return builder.build(
        title=_clean_title(metadata.get("Title")),
        modified=_pdf_date(metadata.get("ModDate")) or _pdf_date(metadata.get("CreationDate")),
        mime="application/pdf",
        pages=total,
        warnings=warnings,
    )
