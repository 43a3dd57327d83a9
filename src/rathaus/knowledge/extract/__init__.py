"""Turn files (PDF, DOCX, HTML, Markdown, plain text) into ``ExtractedDocument``s.

Entry points: ``extract_file`` for files on disk, ``extract_bytes`` for downloaded content. Both raise
``ExtractionError`` with a one-line reason for files that cannot be read.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path, PurePosixPath

from rathaus.core.language import detect_language
from rathaus.knowledge.document import ExtractedDocument, ExtractionError
from rathaus.knowledge.extract.text import looks_binary

__all__ = [
    "SUPPORTED_SUFFIXES",
    "ExtractionError",
    "detect_kind",
    "detect_language",
    "extract_bytes",
    "extract_file",
]

DEFAULT_MAX_BYTES = 50_000_000
TITLE_MAX_CHARS = 200
LANGUAGE_SAMPLE_CHARS = 2000

_SUFFIX_KINDS = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_SUFFIX_KINDS)

_CONTENT_TYPE_KINDS = {
    "application/pdf": "pdf",
    "application/x-pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/plain": "text",
}
_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE | re.DOTALL
)
_HTML_ANYWHERE = re.compile(rb"<(?:html|body)\b[^>]*>", re.IGNORECASE)


def _suffix(name: str) -> str:
    # URLs and Windows paths alike: the last path segment without query string
    base = re.split(r"[?#]", name, maxsplit=1)[0].replace("\\", "/")
    return PurePosixPath(base).suffix.lower()


def _is_docx_zip(data: bytes) -> bool:
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return b"word/document.xml" in data[:65536]  # truncated archive: look at the local file headers


def _looks_like_html(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf")
    return bool(_HTML_START.match(head) or _HTML_ANYWHERE.search(head))


def detect_kind(name: str, content_type: str | None, data: bytes) -> str:
    """Kind of a document ("pdf", "docx", "html", "markdown" or "text") from magic bytes, suffix and content type.

    Magic bytes win over a wrong suffix (a PDF saved as .html, an HTML error page served for a .pdf link).
    Raises ExtractionError for unsupported types.
    """
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if _is_docx_zip(data):
        return "docx"
    suffix = _suffix(name)
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    declared = _SUFFIX_KINDS.get(suffix) or _CONTENT_TYPE_KINDS.get(mime)
    if declared in ("pdf", "docx") and _looks_like_html(data):
        return "html"  # e.g. a login or error page delivered instead of the document
    if declared:
        return declared
    if _looks_like_html(data):
        return "html"
    if (not suffix or mime.startswith("text/")) and not looks_binary(data) and not data.startswith(b"PK\x03\x04"):
        return "text"
    shown = suffix or (f"({mime})" if mime else "(no suffix)")
    supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
    raise ExtractionError(f"unsupported file type {shown} (supported: {supported})")


def _too_large(size: int, max_bytes: int) -> ExtractionError:
    return ExtractionError(f"file too large: {size / 1_000_000:.1f} MB (limit {max_bytes / 1_000_000:g} MB)")


FIRST_LINE_TITLE_CHARS = 100


def _shorten(text: str, limit: int = TITLE_MAX_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:-") + "…"


def _fallback_title(doc: ExtractedDocument, name: str) -> str:
    """A heading; else a short first line; else the file name (a long first line is a paragraph, not a title)."""
    for block in doc.blocks:
        if block.kind == "heading":
            return _shorten(doc.block_text(block))
    base = re.split(r"[?#]", name, maxsplit=1)[0].replace("\\", "/").rstrip("/")
    file_name = PurePosixPath(base).name
    for line in doc.text.splitlines():
        if line.strip():
            if len(" ".join(line.split())) <= FIRST_LINE_TITLE_CHARS or not file_name:
                return _shorten(line)
            break
    return file_name or name


def _language_sample(doc: ExtractedDocument) -> str:
    parts: list[str] = []
    size = 0
    for block in doc.blocks:
        if block.kind in ("code", "table"):
            continue
        parts.append(doc.block_text(block))
        size += len(parts[-1]) + 1
        if size >= LANGUAGE_SAMPLE_CHARS:
            break
    sample = "\n".join(parts) if parts else doc.text
    return sample[:LANGUAGE_SAMPLE_CHARS]


def _extract(kind: str, data: bytes, content_type: str | None) -> ExtractedDocument:
    if kind == "pdf":
        from rathaus.knowledge.extract.pdf import extract_pdf

        return extract_pdf(data)
    if kind == "docx":
        from rathaus.knowledge.extract.docx import extract_docx

        return extract_docx(data)
    if kind == "html":
        from rathaus.knowledge.extract.html import extract_html

        return extract_html(data, content_type)
    if kind == "markdown":
        from rathaus.knowledge.extract.markdown import extract_markdown

        return extract_markdown(data)
    from rathaus.knowledge.extract.text import extract_text

    return extract_text(data)


def extract_bytes(
    data: bytes,
    *,
    name: str,
    content_type: str | None = None,
    source_url: str | None = None,
    modified: dt.datetime | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ExtractedDocument:
    """Extract a document from bytes, e.g. from the crawler.

    ``name`` (file name or URL) gives the suffix, ``content_type`` the HTTP Content-Type (its charset is used for
    HTML). ``modified`` (e.g. the Last-Modified header) wins over dates found inside the document.
    """
    if len(data) > max_bytes:
        raise _too_large(len(data), max_bytes)
    if not data.strip():
        raise ExtractionError("empty file")
    kind = detect_kind(name, content_type, data)
    doc = _extract(kind, data, content_type)
    if not doc.title:
        doc.title = _fallback_title(doc, name)
    else:
        doc.title = _shorten(doc.title)
    if doc.language is None:
        doc.language = detect_language(_language_sample(doc))
    if modified is not None:
        doc.modified = modified.astimezone(dt.UTC) if modified.tzinfo else modified.replace(tzinfo=dt.UTC)
    if source_url is not None:
        doc.source_url = source_url
    return doc


def extract_file(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ExtractedDocument:
    """Extract a document from a file; the modification date is the document's own (PDF/DOCX/HTML metadata)
    when it has one, else the file's mtime (UTC)."""
    path = Path(path)
    try:
        stat = path.stat()
        if stat.st_size > max_bytes:
            raise _too_large(stat.st_size, max_bytes)
        data = path.read_bytes()
    except OSError as exc:
        raise ExtractionError(f"cannot read file: {exc.strerror or exc}") from exc
    doc = extract_bytes(data, name=path.name, max_bytes=max_bytes)
    if doc.modified is None:
        doc.modified = dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC)
    return doc
