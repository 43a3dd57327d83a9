"""The application form of a synthetic packet as a filled AcroForm PDF and as JSON.

Uses rathaus.checks.forms (fill_form_pdf / export_json, the dialogue's form writer) when it is there, so the
generator produces exactly what the guided application produces; otherwise a small reportlab AcroForm of its
own (temporary, until forms.py is merged) with one text field per form field, named like ``pdf_field`` or the id.
"""

from __future__ import annotations

import datetime as dt
import importlib
import io
import json
import unicodedata
from typing import Any

from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.pdfgen import canvas  # type: ignore[import-untyped]

from rathaus.checks.definitions import ApplicationType
from rathaus.checks.synthetic.sheet import MUSTER


def _forms_module() -> Any:
    try:
        return importlib.import_module("rathaus.checks.forms")
    except ImportError:
        return None


def _text(value: Any) -> str:
    """The value as the fallback form writes it: the standard PDF fonts know Windows-1252 only, so other letters
    (ı, ğ, ş, …) lose their marks there (forms.py writes Unicode)."""
    if isinstance(value, bool):
        return "ja" if value else "nein"
    text = "" if value is None else str(value)
    out = []
    for char in text:
        try:
            char.encode("cp1252")
            out.append(char)
        except UnicodeEncodeError:
            out.append({"ı": "i", "İ": "I"}.get(char, unicodedata.normalize("NFKD", char)[0]))
    return "".join(out)


def form_pdf(app_type: ApplicationType, values: dict[str, Any]) -> bytes:
    forms = _forms_module()
    if forms is not None and hasattr(forms, "fill_form_pdf"):
        return _fixed_dates(bytes(forms.fill_form_pdf(app_type, values)))
    return _fallback_pdf(app_type, values)


def _fixed_dates(data: bytes) -> bytes:
    """The PDF with a fixed creation date and file identifier, so the same seed gives the same bytes."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, ByteStringObject, DictionaryObject, NameObject, TextStringObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    info = writer._info.get_object() if writer._info is not None else None
    if isinstance(info, DictionaryObject):
        for key in ("/CreationDate", "/ModDate"):
            info[NameObject(key)] = TextStringObject("D:20260101000000Z")
    writer._ID = ArrayObject([ByteStringObject(b"rathaus-synthet"), ByteStringObject(b"rathaus-synthet")])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def form_json(app_type: ApplicationType, values: dict[str, Any], created: dt.datetime) -> str:
    """The online form's JSON export. Values that the export's schema refuses (the defects: an IBAN with a typo,
    a missing signature) are written in the same structure without validation – as a form that did not check."""
    forms = _forms_module()
    data: Any = None
    if forms is not None and hasattr(forms, "export_json"):
        try:
            data = forms.export_json(app_type, values, created=created)
        except ValueError:
            data = {"type_id": app_type.id, "schema_version": getattr(forms, "SCHEMA_VERSION", ""),
                    "created": created.isoformat(timespec="seconds"), "language": "de", "reference": None,
                    "values": forms.typed_values(app_type, values), "documents": []}
    if data is None:
        data = {"type_id": app_type.id, "values": values}
    if isinstance(data, bytes):
        return data.decode("utf-8")
    if isinstance(data, str):
        return data
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


def _fallback_pdf(app_type: ApplicationType, values: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)  # no creation date: the same seed gives the same bytes
    pdf.setTitle(f"{app_type.title.de} – {MUSTER}")
    width, height = A4
    y = height - 60

    def header() -> None:
        pdf.setFont("Helvetica-Bold", 14)
        pdf.drawString(40, height - 40, app_type.title.de)
        pdf.setFont("Helvetica-Bold", 8)
        pdf.setFillColorRGB(0.75, 0.1, 0.1)
        pdf.drawRightString(width - 40, height - 40, MUSTER)
        pdf.setFillColorRGB(0, 0, 0)

    header()
    for item in app_type.fields:
        if y < 60:
            pdf.showPage()
            header()
            y = height - 60
        name = item.pdf_field or item.id
        pdf.setFont("Helvetica", 8)
        pdf.drawString(40, y, item.label.de[:90])
        value = values.get(item.id)
        if item.type == "bool":
            pdf.acroForm.checkbox(name=name, x=40, y=y - 16, size=12, checked=bool(value), buttonStyle="check")
        else:
            pdf.acroForm.textfield(name=name, value=_text(value), x=40, y=y - 18, width=width - 80, height=14,
                                   fontSize=9, borderWidth=0.5)
        y -= 34
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
