"""The application form of a synthetic packet as a filled AcroForm PDF and as JSON.

Uses rathaus.checks.forms (fill_form_pdf / export_json, the dialogue's form writer) when it is there, so the
generator produces exactly what the guided application produces; otherwise a small reportlab AcroForm of its
own (temporary, until forms.py is merged) with one text field per form field, named like ``pdf_field`` or the id.
"""

from __future__ import annotations

import importlib
import io
import json
import unicodedata
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

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
        return bytes(forms.fill_form_pdf(app_type, values))
    return _fallback_pdf(app_type, values)


def form_json(app_type: ApplicationType, values: dict[str, Any]) -> str:
    forms = _forms_module()
    if forms is not None and hasattr(forms, "export_json"):
        exported = forms.export_json(app_type, values)
        if isinstance(exported, bytes):
            return exported.decode("utf-8")
        if isinstance(exported, str):
            return exported
        return json.dumps(exported, ensure_ascii=False, indent=2)
    return json.dumps({"type": app_type.id, "fields": values}, ensure_ascii=False, indent=2, default=str)


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
