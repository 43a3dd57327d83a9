"""Plain text files: decoding (UTF-8, else the city's usual Windows-1252/Latin-1), paragraphs, simple headings."""

from __future__ import annotations

import codecs
import re
import unicodedata

from rathaus.knowledge.document import BlockKind, DocumentBuilder, ExtractedDocument, ExtractionError

# Single-byte encodings of Latin script: charset-normalizer often guesses cp1250 for short German text,
# but the city's legacy files are Windows-1252/Latin-1, which decode umlauts and ß identically.
_CONTROL_BYTES = frozenset(set(range(32)) - {9, 10, 12, 13, 27})
_SNIFF_BYTES = 8192

_BULLET = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>[-*•·–▪◦]|\d{1,3}[.)]|[a-z][.)])[ \t]+(?P<text>\S.*)$")
_NUMBERED_HEADING = re.compile(r"^(?P<num>\d{1,2}(?:\.\d{1,2})*)\.?[ \t]+\S")
_UNDERLINE = re.compile(r"^[ \t]*(?P<ch>[=\-])(?P=ch){2,}[ \t]*$")
_BLANK_SPLIT = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")
_GREETING = re.compile(r"^(?:mit freundlichen|freundliche grüße|viele grüße|sehr geehrte|hochachtungsvoll)", re.I)
# "Verwaltungs- und Finanzausschuss": a line ending in "-" before these words is not a hyphenated word
KEEP_HYPHEN_BEFORE = frozenset({"und", "oder", "bzw", "bzw.", "sowie", "als", "bis", "wie", "noch", "u.", "o."})


def dehyphenate(lines: list[str]) -> list[str]:
    """Join "Verwal-" + "tung" (next line starts lower-case) into one line; other line breaks stay."""
    out: list[str] = []
    for line in lines:
        stripped = line.strip()
        if out and len(out[-1]) >= 2 and out[-1].endswith("-") and out[-1][-2].isalpha() and stripped[:1].islower():
            first_word = stripped.split(" ", 1)[0]
            if first_word.lower() not in KEEP_HYPHEN_BEFORE:
                out[-1] = out[-1][:-1] + stripped
                continue
        out.append(line.rstrip())
    return out


def looks_binary(data: bytes) -> bool:
    """True for data that is clearly not text (NUL bytes or many control characters)."""
    sample = data[:_SNIFF_BYTES]
    if not sample:
        return False
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    nul = sample.count(0)
    control = sum(1 for b in sample if b in _CONTROL_BYTES)
    return nul > len(sample) * 0.01 or control > len(sample) * 0.05


def _mostly_non_latin(text: str) -> bool:
    letters = [ch for ch in text if ord(ch) > 127 and ch.isalpha()]
    if not letters:
        return False
    latin = sum(1 for ch in letters if unicodedata.name(ch, "").startswith("LATIN"))
    return latin < len(letters) / 2


def decode_fallback(data: bytes) -> tuple[str, str]:
    """Decode bytes that are not UTF-8; returns (text, encoding label for the warning)."""
    from charset_normalizer import from_bytes

    guess = from_bytes(data[:200_000]).best()
    if guess is not None and guess.encoding:
        try:
            decoded = data.decode(guess.encoding, errors="replace")
        except LookupError:
            decoded = ""
        if decoded and _mostly_non_latin(decoded):  # e.g. cp1251 (Cyrillic), not a Latin code page
            return decoded, guess.encoding.replace("_", "-")
    return data.decode("cp1252", errors="replace"), "windows-1252"


def decode_text(data: bytes) -> tuple[str, list[str]]:
    """Text of a plain text file plus warnings about how it was decoded."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), []
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), []
    if looks_binary(data):
        raise ExtractionError("not a text file")
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    text, label = decode_fallback(data)
    return text, [f"decoded as {label}"]


def _is_heading_candidate(line: str) -> bool:
    line = line.strip()
    if not line or len(line) > 80 or len(line.split()) > 12 or _GREETING.match(line):
        return False
    if line[-1] in ".,;:!?" or (_BULLET.match(line) and not _NUMBERED_HEADING.match(line)):
        return False
    first = line[0]
    return (first.isalpha() and first.isupper()) or first.isdigit()


def _is_strong_heading(line: str) -> bool:
    """Numbered ("2.1 Zuständigkeit") or ALL CAPS lines: headings even when the next paragraph is short."""
    line = line.strip()
    if _NUMBERED_HEADING.match(line) and any(ch.isalpha() for ch in line):
        return True
    letters = [ch for ch in line if ch.isalpha()]
    return len(letters) >= 4 and all(ch.isupper() for ch in letters)


def _heading_level(line: str, default: int) -> int:
    m = _NUMBERED_HEADING.match(line.strip())
    if m:
        return min(6, m.group("num").count(".") + 1)
    return default


def _list_items(lines: list[str]) -> list[tuple[str, int]] | None:
    """Split a paragraph whose lines are bullet items (with indented continuation lines) into (text, level)."""
    first = _BULLET.match(lines[0])
    if first is None:
        return None
    items: list[tuple[int, list[str]]] = []
    for line in lines:
        m = _BULLET.match(line)
        if m:
            indent = len(m.group("indent").expandtabs(4))
            items.append((indent, [m.group("text").strip()]))
        elif items and line[:1] in (" ", "\t"):
            items[-1][1].append(line.strip())
        else:
            return None
    if len(items) == 1 and len(lines) == 1 and not re.match(r"^\s*[-*•·–▪◦]", lines[0]):
        return None  # a lone "1. Januar 2024" line is no list
    indents = sorted({indent for indent, _ in items})
    return [(" ".join(dehyphenate(parts)), indents.index(indent) + 1) for indent, parts in items]


def _paragraph_blocks(text: str) -> list[tuple[BlockKind, str, int]]:
    """(kind, text, level) for each block of a plain text, in order."""
    raw: list[tuple[str, str, int]] = []  # "para" / "heading" with explicit level
    for para in _BLANK_SPLIT.split(text):
        lines = [line.rstrip() for line in para.split("\n")]
        while lines and not lines[0].strip():
            lines.pop(0)
        pending: list[str] = []
        for i, line in enumerate(lines):
            m = _UNDERLINE.match(line)
            if m and pending and i > 0 and pending[-1].strip():
                title = pending.pop()
                if pending:
                    raw.append(("para", "\n".join(pending), 0))
                raw.append(("heading", title.strip(), 1 if m.group("ch") == "=" else 2))
                pending = []
            elif m and not pending:
                continue  # a ruler line
            else:
                pending.append(line)
        if pending and any(line.strip() for line in pending):
            raw.append(("para", "\n".join(pending), 0))

    has_title_underline = any(kind == "heading" and level == 1 for kind, _, level in raw)
    default_level = 2 if has_title_underline else 1
    blocks: list[tuple[BlockKind, str, int]] = []
    for i, (kind, body, level) in enumerate(raw):
        if kind == "heading":
            blocks.append(("heading", body, level))
            continue
        lines = body.split("\n")
        nxt = raw[i + 1] if i + 1 < len(raw) else None
        if len(lines) == 1 and nxt is not None and _is_heading_candidate(lines[0]):
            # a heading introduces some text: a longer or multi-line paragraph, or a list
            next_lines = nxt[1].split("\n")
            substantial = nxt[0] == "heading" or len(next_lines) > 1 or len(nxt[1].strip()) >= 60
            if _is_strong_heading(lines[0]) or (substantial and not _is_heading_candidate(nxt[1])):
                blocks.append(("heading", lines[0].strip(), _heading_level(lines[0], default_level)))
                continue
        items = _list_items(lines)
        if items is not None:
            blocks.extend(("list_item", item, lvl) for item, lvl in items)
            continue
        blocks.append(("paragraph", "\n".join(line.strip() for line in dehyphenate(lines)), 0))
    return blocks


def extract_text(data: bytes) -> ExtractedDocument:
    text, warnings = decode_text(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n").replace("\x00", "")
    if not text.strip():
        raise ExtractionError("empty file")
    builder = DocumentBuilder()
    for kind, body, level in _paragraph_blocks(text):
        builder.add(kind, body, level)
    if not builder.blocks:
        raise ExtractionError("empty file")
    return builder.build(mime="text/plain", warnings=warnings)
