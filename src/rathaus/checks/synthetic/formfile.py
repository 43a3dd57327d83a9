"""The application form of a synthetic packet as a filled AcroForm PDF and as the online form's JSON export –
written by rathaus.checks.forms, exactly as the guided application writes them."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import ArrayObject, ByteStringObject, DictionaryObject, NameObject, TextStringObject

from rathaus.checks import forms
from rathaus.checks.definitions import ApplicationType
from rathaus.checks.synthetic.sheet import MUSTER


def form_pdf(app_type: ApplicationType, values: dict[str, Any]) -> bytes:
    return _marked(forms.fill_form_pdf(app_type, values))


def _stamp(width: float, height: float) -> PageObject:
    from reportlab.pdfgen import canvas  # type: ignore[import-untyped]

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(width, height), invariant=1)
    pdf.setFont("Helvetica-Bold", 9)
    pdf.setFillColorRGB(0.75, 0.1, 0.1)
    pdf.drawRightString(width - 24, height - 18, MUSTER.replace("–", "-"))
    pdf.showPage()
    pdf.save()
    return PdfReader(io.BytesIO(buffer.getvalue())).pages[0]


def _marked(data: bytes) -> bytes:
    """The PDF marked "MUSTER – synthetische Daten" on every page, with a fixed creation date and file identifier
    (the same seed gives the same bytes)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    for page in writer.pages:
        page.merge_page(_stamp(float(page.mediabox.width), float(page.mediabox.height)))
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
    try:
        data = forms.export_json(app_type, values, created=created, reference=MUSTER)
    except forms.ExportInvalid:
        data = {"type_id": app_type.id, "schema_version": forms.SCHEMA_VERSION,
                "created": created.isoformat(timespec="seconds"), "language": "de", "reference": MUSTER,
                "values": forms.typed_values(app_type, values), "documents": []}
    return json.dumps(data, ensure_ascii=False, indent=2)
