"""Reading an application packet: the form's fields and the attached documents, file by file.

:func:`read_packet` recognises each file by its content, not its name: a PDF with AcroForm fields (the form:
pypdf), a PDF's pages (text layer read directly with pypdfium2; a page without one rendered at 300 dpi and read by
OCR), images (JPEG, PNG, TIFF with several pages, HEIC/HEIF from phones via pillow-heif, others Pillow opens;
EXIF orientation applied), and JSON or XML form data from an online form. A file that cannot be read becomes a
:class:`~rathaus.checks.model.FileProblem` with a German message, and the rest of the packet is still read.
The pages then go to :func:`rathaus.checks.documents.recognise`.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from rathaus.checks import documents as recognition
from rathaus.checks import ocr
from rathaus.checks.document_fields import iso_date
from rathaus.checks.layout import ReadPage, Word
from rathaus.checks.model import Document, Evidence, FileProblem, Packet, PageText, Value

log = logging.getLogger(__name__)

MAX_PAGES = 40  # pages read per file; the rest is reported (a 10-page packet takes ~20 s on 2 cores)
LOW_CONFIDENCE = 0.55  # an OCR page read with less mean word confidence is reported as hard to read
MIN_TEXT_CHARS = 25  # a PDF page with fewer characters in its text layer is a scan: rendered and read by OCR
FORM_DATA = "Formulardaten"  # the "file" named in the evidence of form data passed as form_data=
_TYPE_KEYS = ("type_id", "typ", "antragstyp", "antragsart", "application_type")
_VALUE_KEYS = ("values", "felder", "angaben", "fields", "form")


@dataclass
class _Read:
    """What one file contributed."""

    pages: list[ReadPage]
    form: dict[str, Value]
    problems: list[FileProblem]
    type_id: str | None = None


def read_packet(files: list[tuple[str, bytes]], submitted_on: date, *, form_data: Mapping[str, Any] | None = None,
                max_pages: int = MAX_PAGES) -> Packet:
    """Read a packet: ``files`` as (name, content); ``form_data`` fields of an online form (field id → value).

    Never raises for what is wrong in a file: each problem is reported in ``packet.problems`` (German)."""
    packet = Packet(submitted_on=submitted_on)
    pages: list[ReadPage] = []
    sources: dict[str, str] = {}
    if form_data:
        values, problems, type_id = _form_from_mapping(form_data, FORM_DATA)
        _merge_form(packet, values, FORM_DATA, sources)
        packet.problems.extend(problems)
        packet.type_id = type_id
    for name, data in files:
        try:
            read = _read_file(name, data, max_pages)
        except ocr.OcrUnavailable:
            raise
        except Exception as exc:  # one broken file must not stop the packet; say what happened
            log.warning("checks intake: %s could not be read: %s", name, type(exc).__name__)
            read = _Read([], {}, [FileProblem(name, f"Die Datei konnte nicht gelesen werden ({type(exc).__name__}).")])
        pages.extend(read.pages)
        _merge_form(packet, read.form, name, sources)
        packet.problems.extend(read.problems)
        if read.type_id and not packet.type_id:
            packet.type_id = read.type_id
    form_pages = [page for page in pages if page.text.source == "form"]
    other = [page for page in pages if page.text.source != "form"]
    if form_pages:
        packet.documents.append(Document(file=form_pages[0].text.file, kind="form", confidence=1.0,
                                         pages=[page.text for page in form_pages]))
    documents = recognition.recognise(other)
    for document in documents:
        if document.kind == "form" and "signature" in document.fields and "unterschrift" not in packet.form:
            packet.form["unterschrift"] = document.fields["signature"]  # a signed paper form, scanned
    packet.documents.extend(documents)
    return packet


def _merge_form(packet: Packet, values: dict[str, Value], source: str, sources: dict[str, str]) -> None:
    for key, value in values.items():
        if key in packet.form and packet.form[key].value != value.value:
            packet.problems.append(FileProblem(source, f"Das Feld „{key}“ steht in {sources[key]} und in {source} "
                                                       f"mit verschiedenen Werten; verwendet wird der aus "
                                                       f"{sources[key]}."))
            continue
        packet.form.setdefault(key, value)
        sources.setdefault(key, source)


# --- sniffing -----------------------------------------------------------------------------------------------------

def sniff(data: bytes) -> str:
    """The kind of content: pdf, jpeg, png, tiff, heif, gif, bmp, webp, json, xml, zip, or unknown."""
    head = data[:64]
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1",
                                               b"msf1", b"avif"):
        return "heif"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:2] == b"BM":
        return "bmp"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    text = data[:256].lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] in (b"{", b"["):
        return "json"
    if text[:1] == b"<":
        return "xml"
    return "unknown"


def _read_file(name: str, data: bytes, max_pages: int) -> _Read:
    if not data:
        return _Read([], {}, [FileProblem(name, "Die Datei ist leer (0 Bytes).")])
    kind = sniff(data)
    if kind == "pdf":
        return _read_pdf(name, data, max_pages)
    if kind in ("jpeg", "png", "tiff", "heif", "gif", "bmp", "webp"):
        return _read_image(name, data, kind, max_pages)
    if kind == "json":
        return _read_json(name, data)
    if kind == "xml":
        return _read_xml(name, data)
    if kind == "zip":
        return _Read([], {}, [FileProblem(name, "Dateityp nicht unterstützt (ZIP-Archiv oder Office-Dokument). "
                                                "Bitte als PDF oder Bild (JPEG, PNG) einreichen.")])
    return _Read([], {}, [FileProblem(name, "Dateityp nicht unterstützt. Erlaubt sind PDF, JPEG, PNG, TIFF, HEIC "
                                            "sowie Formulardaten als JSON oder XML.")])


# --- PDF ----------------------------------------------------------------------------------------------------------

def _read_pdf(name: str, data: bytes, max_pages: int) -> _Read:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            return _Read([], {}, [FileProblem(name, "Die PDF-Datei ist mit einem Passwort geschützt und kann nicht "
                                                    "gelesen werden. Bitte ohne Passwortschutz einreichen.")])
        return _Read([], {}, [FileProblem(name, "Die PDF-Datei ist beschädigt und kann nicht gelesen werden.")])
    try:
        problems: list[FileProblem] = []
        form, type_id, signed_by_field = _acroform(name, data, problems)
        count = len(pdf)
        if count == 0:
            return _Read([], form, [*problems, FileProblem(name, "Die PDF-Datei enthält keine Seiten.")], type_id)
        if count > max_pages:
            problems.append(FileProblem(name, f"Die PDF-Datei hat {count} Seiten; gelesen wurden nur die ersten "
                                              f"{max_pages}. Bitte nur die verlangten Unterlagen einreichen."))
        pages: list[ReadPage] = []
        for index in range(min(count, max_pages)):
            number = index + 1
            try:
                page = pdf[index]
                read = _pdf_page(name, number, page, is_form=bool(form))
            except pdfium.PdfiumError:
                problems.append(FileProblem(name, f"Seite {number} ist beschädigt und wurde übersprungen.", number))
                continue
            pages.append(read)
            problems.extend(_legibility(read))
        if form and signed_by_field is not None and "unterschrift" not in form:
            form["unterschrift"] = signed_by_field
        return _Read(pages, form, problems, type_id)
    finally:
        pdf.close()


def _pdf_page(name: str, number: int, page: Any, *, is_form: bool) -> ReadPage:
    scale = ocr.RENDER_DPI / 72
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n")
        if sum(c.isalnum() for c in text) >= MIN_TEXT_CHARS:
            words = _pdf_words(textpage, text, page.get_height(), scale)
            source: Literal["text", "form"] = "form" if is_form else "text"
            page_text = PageText(file=name, number=number, text=text.strip(), confidence=1.0, source=source,
                                 words=words)
            image = None
            if not is_form and re.search(r"unterschrift|mieter|arbeitgeber|signature", text, re.IGNORECASE):
                image = page.render(scale=scale).to_pil()  # for the ink check of signature lines
            return ReadPage(page_text, image)
    finally:
        textpage.close()
    image = page.render(scale=scale).to_pil()
    result = ocr.ocr_image(image, file=name, number=number)
    return ReadPage(result.text, result.image, result.upright_words)


def _pdf_words(textpage: Any, text: str, page_height: float, scale: float) -> list[Word]:
    """Words of a PDF text layer with boxes in pixels of the page rendered at RENDER_DPI."""
    count = textpage.count_chars()
    words: list[Word] = []
    current = ""
    box: list[float] = []
    index = 0
    raw = textpage.get_text_range()
    for index in range(min(count, len(raw))):
        char = raw[index]
        if char.isspace():
            if current:
                words.append(_pdf_word(current, box, page_height, scale))
            current, box = "", []
            continue
        left, bottom, right, top = textpage.get_charbox(index)
        box = [left, bottom, right, top] if not box else [min(box[0], left), min(box[1], bottom),
                                                             max(box[2], right), max(box[3], top)]
        current += char
    if current:
        words.append(_pdf_word(current, box, page_height, scale))
    return words


def _pdf_word(text: str, box: list[float], page_height: float, scale: float) -> Word:
    left, bottom, right, top = box
    return (text, (round(left * scale), round((page_height - top) * scale), round(right * scale),
                   round((page_height - bottom) * scale)), 1.0)


def _acroform(name: str, data: bytes, problems: list[FileProblem]) -> tuple[dict[str, Value], str | None,
                                                                             Value | None]:
    """The filled fields of a PDF form (field id → Value), the type it declares, and a signature field's state."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            reader.decrypt("")
        root: Any = reader.trailer["/Root"]
        if "/AcroForm" not in root:
            return {}, None, None
        fields = reader.get_fields() or {}
    except (PdfReadError, ValueError, KeyError, TypeError, NotImplementedError) as exc:
        log.info("checks intake: no form fields read from %s: %s", name, type(exc).__name__)
        return {}, None, None
    places = _widget_places(reader)
    form: dict[str, Value] = {}
    signed: Value | None = None
    for field_name, spec in fields.items():
        kind = spec.get("/FT")
        value = spec.get("/V")
        page, bbox = places.get(field_name, (None, None))
        evidence = Evidence(name, page, f"Formularfeld {field_name}", bbox)
        if kind == "/Sig":
            signed = Value("true" if value is not None else "false", 1.0, evidence)
            continue
        if value is None:
            continue
        if kind == "/Btn":
            state = str(value).lstrip("/")
            text = "false" if state in ("Off", "") else ("true" if state in ("Yes", "On", "1", "Ja") else state)
        else:
            text = str(value).strip()
        if not text:
            continue
        key = str(field_name).split(".")[-1]
        form[key] = Value(_normalise(key, text), 1.0, evidence)
    subject = str(reader.metadata.subject) if reader.metadata and reader.metadata.subject else ""
    declared = re.search(r"checks:\s*([a-z0-9\-]+)", subject)
    type_id = form.pop("typ").value if "typ" in form else (declared.group(1) if declared else None)
    return form, type_id, signed


def _widget_places(reader: Any) -> dict[str, tuple[int, tuple[int, int, int, int]]]:
    """Page (1-based) and box (pixels at RENDER_DPI) of each form field's widget."""
    scale = ocr.RENDER_DPI / 72
    places: dict[str, tuple[int, tuple[int, int, int, int]]] = {}
    for number, page in enumerate(reader.pages, 1):
        height = float(page.mediabox.height)
        for annot in page.get("/Annots", []) or []:
            widget = annot.get_object()
            title = widget.get("/T") or (widget.get("/Parent") or {}).get("/T")
            rect = widget.get("/Rect")
            if title is None or rect is None:
                continue
            x0, y0, x1, y1 = (float(v) for v in rect)
            places.setdefault(str(title), (number, (round(x0 * scale), round((height - y1) * scale),
                                                   round(x1 * scale), round((height - y0) * scale))))
    return places


# --- images -------------------------------------------------------------------------------------------------------

def _read_image(name: str, data: bytes, kind: str, max_pages: int) -> _Read:
    if kind == "heif":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    problems: list[FileProblem] = []
    try:
        image = Image.open(io.BytesIO(data))
        frames = list(_frames(image, max_pages + 1))
    except Image.DecompressionBombError:
        return _Read([], {}, [FileProblem(name, "Das Bild ist zu groß (zu viele Bildpunkte). Bitte mit geringerer "
                                                "Auflösung einreichen.")])
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return _Read([], {}, [FileProblem(name, "Die Bilddatei ist beschädigt oder unvollständig und kann nicht "
                                                "gelesen werden.")])
    if len(frames) > max_pages:
        problems.append(FileProblem(name, f"Die Bilddatei hat mehr als {max_pages} Seiten; gelesen wurden nur die "
                                          f"ersten {max_pages}."))
        frames = frames[:max_pages]
    pages: list[ReadPage] = []
    for number, frame in enumerate(frames, 1):
        result = ocr.ocr_image(frame, file=name, number=number)
        page = ReadPage(result.text, result.image, result.upright_words)
        pages.append(page)
        problems.extend(_legibility(page))
    return _Read(pages, {}, problems)


def _frames(image: Image.Image, limit: int) -> Iterator[Image.Image]:
    for index, frame in enumerate(ImageSequence.Iterator(image)):
        if index >= limit:
            return
        upright = ImageOps.exif_transpose(frame.copy())  # phone photos: the orientation the camera recorded
        upright.load()
        yield upright


def _legibility(page: ReadPage) -> list[FileProblem]:
    text = page.text
    if text.source != "ocr":
        return []
    file, number = text.file, text.number
    if not text.words:
        if page.image is not None and recognition.looks_like_photo(page):
            return []  # a passport photo has no text
        return [FileProblem(file, f"Auf Seite {number} wurde kein Text erkannt (leere Seite oder unlesbare "
                                  f"Aufnahme).", number)]
    if text.confidence < LOW_CONFIDENCE:
        return [FileProblem(file, f"Seite {number} ist kaum lesbar (Erkennungssicherheit {text.confidence:.0%}). "
                                  f"Bitte eine schärfere, gerade und gut beleuchtete Aufnahme einreichen.", number)]
    return []


# --- form data ----------------------------------------------------------------------------------------------------

def _read_json(name: str, data: bytes) -> _Read:
    try:
        parsed = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _Read([], {}, [FileProblem(name, f"Die JSON-Datei ist fehlerhaft ({_short(exc)}).")])
    if not isinstance(parsed, dict):
        return _Read([], {}, [FileProblem(name, "Die JSON-Datei enthält keine Formularfelder (erwartet: ein Objekt "
                                                "Feldname → Wert).")])
    form, problems, type_id = _form_from_mapping(parsed, name)
    return _Read([], form, problems, type_id)


def _read_xml(name: str, data: bytes) -> _Read:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        return _Read([], {}, [FileProblem(name, f"Die XML-Datei ist fehlerhaft ({_short(exc)}).")])
    values: dict[str, Any] = {}
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        local = etree.QName(element).localname
        if local == "feld" and element.get("name"):
            values[element.get("name")] = (element.text or "").strip()
        elif local == "angaben":
            for child in element:
                if isinstance(child.tag, str):
                    values[etree.QName(child).localname] = (child.text or "").strip()
    type_id = root.get("typ") or root.get("type")
    if not values:
        return _Read([], {}, [FileProblem(name, "Die XML-Datei enthält keine Formularfelder (erwartet: <antrag> "
                                                "mit <feld name=\"…\">Wert</feld>).")], type_id)
    form, problems, _ = _form_from_mapping(values, name)
    return _Read([], form, problems, type_id)


def _form_from_mapping(data: Mapping[str, Any], source: str) -> tuple[dict[str, Value], list[FileProblem],
                                                                      str | None]:
    """Form fields from a flat mapping, or from the "values" of an export ({"type_id": …, "values": {…}})."""
    type_id = next((str(data[key]) for key in _TYPE_KEYS if isinstance(data.get(key), str)), None)
    inner = next((data[key] for key in _VALUE_KEYS if isinstance(data.get(key), dict)), None)
    mapping = inner if inner is not None else {k: v for k, v in data.items() if k not in _TYPE_KEYS}
    form: dict[str, Value] = {}
    skipped: list[str] = []
    for key, raw in mapping.items():
        if raw is None or raw == "":
            continue
        if isinstance(raw, bool):
            text = "true" if raw else "false"
        elif isinstance(raw, int | float):
            text = str(raw)
        elif isinstance(raw, datetime | date):
            text = raw.isoformat()[:10]
        elif isinstance(raw, str):
            text = raw.strip()
        else:
            if inner is not None or key not in ("schema_version", "created", "language", "reference", "documents"):
                skipped.append(str(key))
            continue
        if text:
            form[str(key)] = Value(_normalise(str(key), text), 1.0, Evidence(source, None, f"{key}: {text}"[:200]))
    problems = [FileProblem(source, f"Das Feld „{key}“ hat keinen einfachen Wert und wurde übergangen.")
                for key in skipped]
    return form, problems, type_id


def _normalise(key: str, text: str) -> str:
    """The contract's formats: dates ISO, amounts with a dot; other values as given."""
    if re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}", text) and (iso := iso_date(text)):
        return iso
    if re.fullmatch(r"-?\d{1,3}(?:\.\d{3})+,\d{1,2}|-?\d+,\d{1,2}", text) and key not in ("telefon", "plz"):
        return text.replace(".", "").replace(",", ".")
    return text


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
