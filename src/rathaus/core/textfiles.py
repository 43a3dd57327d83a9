"""Uploaded text files (CSV and the like): tell binary content from text, and decode text the way German
administrations write it (UTF-8 with or without BOM, else Windows-1252/Latin-1)."""

from __future__ import annotations

BINARY_MAGIC = (b"%PDF", b"PK\x03\x04", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"\xd0\xcf\x11\xe0")


def looks_binary(data: bytes) -> bool:
    """PDF, ZIP/Office, images, gzip, old Office files, or NUL bytes in the first 4 KB."""
    head = data[:4096]
    return any(head.startswith(m) for m in BINARY_MAGIC) or b"\x00" in head


def decode_text(data: bytes) -> tuple[str, str]:
    """Text and encoding name: UTF-8 (BOM removed), else Windows-1252, else Latin-1 (never fails)."""
    try:
        return data.decode("utf-8-sig"), "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def sniff_delimiter(header: str) -> str:
    """The CSV delimiter of a header line: the most frequent of ``;``, tab and ``,`` (comma when none)."""
    counts = {d: header.count(d) for d in (";", "\t", ",")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","
