"""The check of one upload of a guided application, at once while the applicant waits: is it a file we can read
(PDF, JPEG, PNG, TIFF – by its bytes, not its name), not empty, not too large, not password-protected, with pages,
an image large enough to read? When the packet reader (rathaus.checks.intake, issue 16 point 2) is installed, it
also says which document it recognised, so "this looks like a bank statement, not a payslip" is said before
submitting. A problem never loses what was uploaded before.
"""

from __future__ import annotations

import datetime as dt
import importlib
import io
import logging
from dataclasses import dataclass, field
from typing import Any

from rathaus.checks.definitions import DocumentRequirement

log = logging.getLogger(__name__)

MAX_PAGES = 50
MIN_IMAGE_SIDE = 500  # pixels on the shorter side below which a scan or photo is too small to read

#: what the reader may recognise, in German and English (rathaus.checks.model.DOCUMENT_KINDS)
KIND_LABELS: dict[str, tuple[str, str]] = {
    "id_card": ("Personalausweis", "ID card"),
    "passport": ("Reisepass", "passport"),
    "residence_permit": ("Aufenthaltstitel", "residence permit"),
    "payslip": ("Lohnabrechnung", "payslip"),
    "rental_contract": ("Mietvertrag", "rental contract"),
    "bank_statement": ("Kontoauszug", "bank statement"),
    "registration_certificate": ("Meldebescheinigung", "registration certificate"),
    "pension_notice": ("Rentenbescheid", "pension notice"),
    "employer_declaration": ("Arbeitgebererklärung", "employer's declaration"),
    "form": ("Antragsformular", "application form"),
}

MESSAGES: dict[str, tuple[str, str]] = {
    "empty": ("Die Datei „{name}“ ist leer.", "The file “{name}” is empty."),
    "too_large": ("Die Datei „{name}“ ist zu groß ({size} MB). Höchstens {max} MB.",
                  "The file “{name}” is too large ({size} MB). At most {max} MB."),
    "type": ("„{name}“ ist keine PDF-Datei und kein Bild (JPEG, PNG, TIFF). Bitte laden Sie eine PDF-Datei oder "
             "ein Foto hoch.", "“{name}” is neither a PDF nor an image (JPEG, PNG, TIFF). Please upload a PDF or "
             "a photo."),
    "heic": ("„{name}“ ist ein HEIC-Foto (iPhone). Bitte speichern Sie es als JPEG und laden Sie es noch einmal "
             "hoch.", "“{name}” is a HEIC photo (iPhone). Please save it as JPEG and upload it again."),
    "pdf_broken": ("Die PDF-Datei „{name}“ ist beschädigt und lässt sich nicht öffnen.",
                   "The PDF “{name}” is damaged and cannot be opened."),
    "pdf_password": ("Die PDF-Datei „{name}“ ist mit einem Passwort geschützt. Bitte laden Sie sie ohne "
                     "Passwort hoch.", "The PDF “{name}” is password-protected. Please upload it without one."),
    "pdf_pages": ("Die PDF-Datei „{name}“ hat {pages} Seiten; höchstens {max}. Bitte laden Sie nur die nötigen "
                  "Seiten hoch.", "The PDF “{name}” has {pages} pages; at most {max}. Please upload only the "
                  "pages needed."),
    "pdf_none": ("Die PDF-Datei „{name}“ hat keine Seiten.", "The PDF “{name}” has no pages."),
    "image_broken": ("Das Bild „{name}“ ist beschädigt und lässt sich nicht öffnen.",
                     "The image “{name}” is damaged and cannot be opened."),
    "image_small": ("Das Bild „{name}“ ist zu klein zum Lesen ({width} × {height} Pixel). Bitte fotografieren "
                    "oder scannen Sie das Dokument größer.", "The image “{name}” is too small to read ({width} × "
                    "{height} pixels). Please photograph or scan the document larger."),
    "ok": ("„{name}“ ist angekommen und lesbar.", "“{name}” has arrived and is readable."),
    "recognised": ("Erkannt: {kind}.", "Recognised: {kind}."),
    "other_kind": ("Das sieht nach {kind} aus, nicht nach {expected}. Bitte prüfen Sie, ob es die richtige Datei "
                   "ist.", "This looks like a {kind}, not a {expected}. Please check that it is the right file."),
    "unreadable": ("Wir konnten „{name}“ nicht lesen: {detail}", "We could not read “{name}”: {detail}"),
}


@dataclass
class Note:
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str = "de") -> str:
        de, en = MESSAGES[self.code]
        params = dict(self.params)
        if "kind" in params:  # document kinds are kept as codes and named in the reader's language
            params["kind"] = kind_label(params["kind"], lang)
        if "expected" in params:
            params["expected"] = " / ".join(kind_label(k, lang) for k in params["expected"])
        return (en if lang == "en" else de).format(**params)


@dataclass
class UploadCheck:
    """The result: ``ok`` (stored) or not, the detected media type, pages, and what to tell the applicant."""

    ok: bool
    content_type: str
    pages: int = 0
    notes: list[Note] = field(default_factory=list)
    kind: str | None = None  # the recognised document kind, if the reader ran

    def messages(self, lang: str = "de") -> list[str]:
        return [note.text(lang) for note in self.notes]


def sniff(data: bytes) -> str:
    """The media type by the file's first bytes."""
    if data.startswith(b"%PDF-") or b"%PDF-" in data[:1024]:
        return "application/pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis"):
        return "image/heic"
    return "application/octet-stream"


def check_upload(name: str, data: bytes, requirement: DocumentRequirement | None = None, *,
                 max_bytes: int = 20 * 1024 * 1024, lang_names: bool = True) -> UploadCheck:
    """Check one uploaded file; ``ok`` False with the reason when it cannot be used."""
    shown = name[-80:] or "Datei"
    if not data:
        return UploadCheck(False, "application/octet-stream", notes=[Note("empty", {"name": shown})])
    if len(data) > max_bytes:
        return UploadCheck(False, "application/octet-stream", notes=[Note("too_large", {
            "name": shown, "size": f"{len(data) / 1048576:.1f}", "max": max_bytes // 1048576})])
    content_type = sniff(data)
    if content_type == "image/heic" and not _heif_opener():
        return UploadCheck(False, content_type, notes=[Note("heic", {"name": shown})])
    if content_type == "application/pdf":
        problem, pages = _pdf(data)
    elif content_type.startswith("image/"):
        problem, pages = _image(data)
    else:
        return UploadCheck(False, content_type, notes=[Note("type", {"name": shown})])
    if problem is not None:
        problem.params.setdefault("name", shown)
        return UploadCheck(False, content_type, pages, notes=[problem])
    result = UploadCheck(True, content_type, pages, notes=[Note("ok", {"name": shown})])
    _recognise(result, name, data, requirement)
    return result


def _heif_opener() -> bool:
    """Let PIL open HEIC/HEIF phone photos when pillow-heif is installed (the packet reader uses it too)."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return False
    register_heif_opener()
    return True


def _pdf(data: bytes) -> tuple[Note | None, int]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            return Note("pdf_password"), 0
        pages = len(reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        if "password" in str(exc).lower() or "encrypt" in str(exc).lower():
            return Note("pdf_password"), 0
        return Note("pdf_broken"), 0
    if pages == 0:
        return Note("pdf_none"), 0
    if pages > MAX_PAGES:
        return Note("pdf_pages", {"pages": pages, "max": MAX_PAGES}), pages
    return None, pages


def _image(data: bytes) -> tuple[Note | None, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            frames = getattr(image, "n_frames", 1)
            image.load()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return Note("image_broken"), 0
    if min(width, height) < MIN_IMAGE_SIDE:
        return Note("image_small", {"width": width, "height": height}), frames
    return None, frames


def _reader() -> Any:
    """rathaus.checks.intake.read_packet, if the packet reader is installed (issue 16, point 2)."""
    try:
        return importlib.import_module("rathaus.checks.intake").read_packet
    except (ImportError, AttributeError):
        return None


def _recognise(result: UploadCheck, name: str, data: bytes, requirement: DocumentRequirement | None) -> None:
    read_packet = _reader()
    if read_packet is None:
        return
    try:
        packet = read_packet([(name, data)], dt.date.today())
    except Exception as exc:  # the reader is optional here; the file is stored and checked again with the packet
        log.warning("upload check: the reader failed on a %s: %s", result.content_type, type(exc).__name__)
        return
    for problem in packet.problems:
        result.notes.append(Note("unreadable", {"name": name[-80:], "detail": problem.message}))
    kinds = [d.kind for d in packet.documents if d.kind not in ("unknown", "form")]
    if not kinds:
        return
    result.kind = kinds[0]
    expected = [o.kind for o in requirement.any_of] if requirement is not None else []
    if expected and result.kind not in expected:
        result.notes.append(Note("other_kind", {"kind": result.kind, "expected": expected}))
    else:
        result.notes.append(Note("recognised", {"kind": result.kind}))


def kind_label(kind: str, lang: str = "de") -> str:
    de, en = KIND_LABELS.get(kind, (kind.replace("_", " "), kind.replace("_", " ")))
    return en if lang == "en" else de
