"""What a packet's upload may contain, checked before anything is stored: the files' kinds by their content (not
their names), their number and size, and form data given as JSON or XML (an online form's export naming its type).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lxml import etree

from rathaus.checks.errors import BadFormData, EmptyFile, FileTooLarge, NoFiles, TooManyFiles, UnsupportedFile

#: the kinds a packet's file may be, by content
UNUSABLE = "application/octet-stream"  # kept and reported per file by the check
KINDS = {
    "application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG", "image/tiff": "TIFF", "image/heic": "HEIC",
    "application/json": "JSON", "application/xml": "XML",
}
HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"heif")
TYPE_KEYS = ("type_id", "antragsart", "application_type", "type")
MAX_FORM_BYTES = 2_000_000
MAX_FORM_FIELDS = 500


@dataclass(frozen=True)
class Upload:
    """One file as given: its name, its bytes, the content type it was sent with (informative only)."""

    filename: str
    data: bytes
    content_type: str = "application/octet-stream"


def sniff(data: bytes) -> str | None:
    """The content type of ``data`` by its first bytes; None when it is none of :data:`KINDS`."""
    head = data[:64]
    if head.startswith(b"%PDF-") or b"%PDF-" in data[:1024]:
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "image/heic"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return "application/json"
    if text.startswith(b"<"):
        return "application/xml"
    return None


def safe_name(name: str) -> str:
    cleaned = "".join(c for c in name.replace("\\", "/").rsplit("/", 1)[-1] if c.isprintable()).strip()
    return cleaned[:200] or "datei"


def check_uploads(files: list[Upload], *, max_files: int, max_bytes: int) -> list[Upload]:
    """The files with safe, unique names and sniffed content types. An empty file or one of a kind we cannot read
    is kept (type application/octet-stream) so the check reports it per file and checks the rest; when no file
    is usable at all, or one is too large to keep, a specific problem is raised and nothing is stored."""
    if not files:
        raise NoFiles("Keine Dateien im Antrag / the packet has no files")
    if len(files) > max_files:
        raise TooManyFiles(f"{len(files)} Dateien, höchstens {max_files} / {len(files)} files, at most {max_files}")
    checked: list[Upload] = []
    unusable: list[tuple[str, bool]] = []  # name, empty
    seen: set[str] = set()
    for upload in files:
        name = safe_name(upload.filename)
        if len(upload.data) > max_bytes:
            raise FileTooLarge(f"{name}: {len(upload.data) / 1e6:.1f} MB, höchstens {max_bytes / 1e6:.0f} MB / "
                               f"file too large (at most {max_bytes / 1e6:.0f} MB)")
        kind = sniff(upload.data) if upload.data else None
        if kind is None:
            unusable.append((name, not upload.data))
        stem, dot, ext = name.rpartition(".")
        unique, n = name, 2
        while unique in seen:
            unique = f"{stem}-{n}.{ext}" if dot else f"{name}-{n}"
            n += 1
        seen.add(unique)
        checked.append(Upload(unique, upload.data, kind or UNUSABLE))
    if len(unusable) == len(checked):  # nothing to check: say why for the first file
        name, empty = unusable[0]
        if empty:
            raise EmptyFile(f"{name}: Datei ist leer (0 Bytes) / file is empty (0 bytes)")
        raise UnsupportedFile(f"{name}: kein PDF, JPEG, PNG, TIFF, HEIC, JSON oder XML / not a PDF, JPEG, "
                              "PNG, TIFF, HEIC, JSON or XML file")
    return checked


def _scalar(key: str, value: Any) -> str | bool | int | float | None:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise BadFormData(f"Formularfeld {key!r}: erwartet ein einzelner Wert / field {key!r}: expected one value, "
                      f"not {type(value).__name__}")


def _from_mapping(data: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    type_id = next((str(data[k]) for k in TYPE_KEYS if isinstance(data.get(k), str) and data[k].strip()), None)
    fields = data.get("fields", data.get("values"))
    if fields is None:
        fields = {k: v for k, v in data.items() if k not in TYPE_KEYS}
    if not isinstance(fields, dict):
        raise BadFormData("Formulardaten: 'fields' muss ein Objekt sein / 'fields' must be an object")
    if len(fields) > MAX_FORM_FIELDS:
        raise BadFormData(f"Formulardaten: höchstens {MAX_FORM_FIELDS} Felder / at most {MAX_FORM_FIELDS} fields")
    return (type_id.strip() if type_id else None), {str(k)[:100]: _scalar(str(k), v) for k, v in fields.items()}


def _xml_fields(root: Any) -> tuple[str | None, dict[str, Any]]:
    type_id = next((root.get(k) for k in TYPE_KEYS if root.get(k)), None)
    container = root
    fields: dict[str, Any] = {}
    for child in root:
        if not isinstance(child.tag, str):
            continue
        tag = etree.QName(child).localname
        if tag in TYPE_KEYS and (child.text or "").strip():
            type_id = child.text.strip()
        elif tag in ("fields", "values", "felder"):
            container = child
    for child in container:
        if not isinstance(child.tag, str):
            continue
        tag = etree.QName(child).localname
        if tag in TYPE_KEYS or tag in ("fields", "values", "felder"):
            continue
        key = child.get("id") or child.get("name") or tag
        fields[key[:100]] = (child.text or "").strip()
        if len(fields) > MAX_FORM_FIELDS:
            raise BadFormData(f"Formulardaten: höchstens {MAX_FORM_FIELDS} Felder / at most {MAX_FORM_FIELDS} fields")
    return type_id, fields


def parse_form_data(raw: str | bytes) -> tuple[str | None, dict[str, Any]]:
    """Form data of an online form as JSON (``{"type_id": …, "fields": {…}}`` or flat) or XML (the type as the
    root's ``type_id`` attribute or element, the fields as ``<fields><iban>…</iban></fields>`` or
    ``<field id="iban">…</field>``): the type it names (or None) and the fields."""
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    if len(data) > MAX_FORM_BYTES:
        raise BadFormData(f"Formulardaten größer als {MAX_FORM_BYTES // 1_000_000} MB / form data too large")
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"<"):
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
        try:
            root = etree.fromstring(stripped, parser)
        except etree.XMLSyntaxError as exc:
            raise BadFormData(f"Formulardaten sind kein gültiges XML / form data is not valid XML: {exc}") from None
        return _xml_fields(root)
    try:
        parsed = json.loads(stripped.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadFormData(f"Formulardaten sind weder JSON noch XML / form data is neither JSON nor XML: {exc}"
                          ) from None
    if not isinstance(parsed, dict):
        raise BadFormData("Formulardaten: erwartet ein JSON-Objekt / form data must be a JSON object")
    return _from_mapping(parsed)
