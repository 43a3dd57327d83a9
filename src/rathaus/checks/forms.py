"""The form of an application type as documents: a fillable PDF (AcroForm, made with reportlab from the type's fields),
the same PDF filled (pypdf), and the structured export for the specialist procedure – JSON and XML – with the
published JSON Schema and XSD they validate against (served at /api/v1/checks/schemas/<type>.json and .xsd).

Values are the dialogue's (rathaus.checks.dialogue): strings as the contract says – dates ISO (YYYY-MM-DD), amounts
decimals with a dot, booleans "true"/"false". The PDF fields carry the same strings (checkboxes: checked or not),
so intake reads a filled form back into the same values.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rathaus.checks.definitions import ApplicationType, FormField

SCHEMA_VERSION = "1"
NAMESPACE = "urn:rathaus:checks:application:{type_id}:" + SCHEMA_VERSION
SCHEMA_PATH = "/api/v1/checks/schemas/{type_id}"

#: titles of the sections the shipped types use (a type's own section without a title here shows its id)
SECTION_TITLES: dict[str, tuple[str, str]] = {
    "antragsteller": ("Antragstellerin oder Antragsteller", "Applicant"),
    "person": ("Angaben zur Person", "Personal details"),
    "haushalt": ("Haushalt", "Household"),
    "wohnung": ("Wohnung und Miete", "Home and rent"),
    "einkommen": ("Einkommen", "Income"),
    "bank": ("Bankverbindung", "Bank details"),
    "fahrzeug": ("Fahrzeug", "Vehicle"),
    "beschaeftigung": ("Beschäftigung", "Employment"),
    "erklaerung": ("Erklärung und Unterschrift", "Declaration and signature"),
}

#: how the choices of the shipped types read (a choice without an entry shows its code with spaces)
CHOICE_LABELS: dict[str, tuple[str, str]] = {
    "ledig": ("ledig", "single"),
    "verheiratet": ("verheiratet", "married"),
    "eingetragene_lebenspartnerschaft": ("eingetragene Lebenspartnerschaft", "registered civil partnership"),
    "getrennt_lebend": ("getrennt lebend", "separated"),
    "geschieden": ("geschieden", "divorced"),
    "verwitwet": ("verwitwet", "widowed"),
    "erwerbstaetigkeit": ("Arbeit (angestellt oder selbständig)", "Work (employed or self-employed)"),
    "rente": ("Rente oder Pension", "Pension"),
    "sonstiges": ("Etwas anderes", "Something else"),
    "hauptwohnsitz": ("Hauptwohnsitz", "main residence"),
    "nebenwohnsitz": ("Nebenwohnsitz", "secondary residence"),
    "antragsteller": ("auf mich", "to me"),
    "andere_person": ("auf eine andere Person", "to another person"),
    "firma": ("auf eine Firma", "to a company"),
    "fachkraft_berufsausbildung": ("Fachkraft mit Berufsausbildung", "skilled worker with vocational training"),
    "fachkraft_akademisch": ("Fachkraft mit Hochschulabschluss", "skilled worker with a university degree"),
    "blaue_karte_eu": ("Blaue Karte EU", "EU Blue Card"),
}


def section_title(section: str, lang: str = "de") -> str:
    de, en = SECTION_TITLES.get(section, (section.replace("_", " ").capitalize() or "Angaben", ""))
    return en if lang == "en" and en else de


def choice_label(code: str, lang: str = "de") -> str:
    de, en = CHOICE_LABELS.get(code, (code.replace("_", " "), ""))
    return en if lang == "en" and en else de


def pdf_name(item: FormField) -> str:
    return item.pdf_field or item.id


# --- conditions ---------------------------------------------------------------------------------------------------

_WHEN = re.compile(r"^\s*([a-z][a-z0-9_]*)\s*(?:(==|!=)\s*(.+?))?\s*$")


def _truthy(value: str | None) -> bool:
    return value not in (None, "", "false", "0", "nein", "no")


def when_holds(when: str | None, values: dict[str, Any]) -> bool:
    """A field's or document's condition: "<field> == <value>", "<field> != <value>" or "<field>" (truthy).
    A condition on a field that has no answer yet: "==" and truthy are false, "!=" is true only once answered."""
    if not when:
        return True
    match = _WHEN.match(when)
    if match is None:
        raise ValueError(f"condition {when!r} is not '<field> == <value>', '<field> != <value>' or '<field>'")
    name, op, expected = match.groups()
    value = values.get(name)
    value = None if value is None else str(value)
    if op is None:
        return _truthy(value)
    expected = expected.strip().strip("'\"")
    if op == "==":
        return value == expected
    return value is not None and value != expected


def visible_fields(app_type: ApplicationType, values: dict[str, Any]) -> list[FormField]:
    """The fields asked, in section order (sections in the order they first appear), conditions honoured."""
    order: list[str] = []
    for item in app_type.fields:
        if item.section not in order:
            order.append(item.section)
    ranked = sorted(app_type.fields, key=lambda f: order.index(f.section))  # stable: YAML order within a section
    return [f for f in ranked if when_holds(f.when, values)]


# --- the PDF form -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Layout:
    margin: float = 56
    label_size: float = 9
    field_height: float = 18
    gap: float = 10


def form_pdf(app_type: ApplicationType) -> bytes:
    """A fillable AcroForm PDF of the type: title, sections, one field per form field named by its ``pdf_field``
    (default: its id); booleans are checkboxes, choices drop-down lists, everything else text fields."""
    from reportlab.lib.colors import HexColor, black, white  # type: ignore[import-untyped]
    from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
    from reportlab.pdfgen import canvas  # type: ignore[import-untyped]

    layout = _Layout()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    pdf.setTitle(app_type.title.de)
    pdf.setSubject(f"rathaus checks: {app_type.id} (schema {SCHEMA_VERSION})")
    pdf.setCreator("rathaus")
    width, height = A4
    usable = width - 2 * layout.margin
    y = height - layout.margin

    def new_page() -> float:
        pdf.showPage()
        return height - layout.margin

    pdf.setFont("Helvetica-Bold", 15)
    pdf.drawString(layout.margin, y, app_type.title.de)
    y -= 16
    pdf.setFont("Helvetica", 9)
    for line in _wrap(app_type.description.de, 105):
        pdf.drawString(layout.margin, y, line)
        y -= 11
    if app_type.annex_iii:
        pdf.drawString(layout.margin, y, "Über den Antrag entscheidet eine Sachbearbeiterin oder ein Sachbearbeiter.")
        y -= 11
    y -= 6
    section = None
    for item in visible_fields_all(app_type):  # every field: conditional ones say when they apply
        needed = layout.field_height + layout.label_size + layout.gap + (24 if item.section != section else 0)
        if y - needed < layout.margin:
            y = new_page()
        if item.section != section:
            section = item.section
            y -= 8
            pdf.setFont("Helvetica-Bold", 11)
            pdf.drawString(layout.margin, y, section_title(section, "de"))
            y -= 16
        pdf.setFont("Helvetica", layout.label_size)
        label = item.label.de + ("" if item.required else " (freiwillig)")
        if item.when:
            label += f" – nur wenn {_describe_when(app_type, item.when)}"
        label = _wrap(label, 110)[0]
        name = pdf_name(item)
        if item.type == "bool":
            pdf.acroForm.checkbox(name=name, tooltip=item.label.de, x=layout.margin, y=y - 12, size=12,
                                  buttonStyle="check", borderColor=black, fillColor=white, textColor=black,
                                  forceBorder=True)
            pdf.drawString(layout.margin + 18, y - 9, label)
            y -= 12 + layout.gap + 4
            continue
        pdf.drawString(layout.margin, y, label)
        y -= 2 + layout.field_height
        field_width = usable if item.type in ("text", "address", "name", "email") else min(usable, 220)
        pdf.acroForm.textfield(name=name, tooltip=item.label.de, x=layout.margin, y=y, width=field_width,
                               height=layout.field_height, borderColor=black, fillColor=HexColor("#f4f7fb"),
                               textColor=black, fontSize=10, forceBorder=True, maxlen=200)
        hint = format_hint(item, "de")
        if hint:
            pdf.setFont("Helvetica", 7)
            pdf.drawString(layout.margin, y - 8, hint)
        y -= layout.gap + 6
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def visible_fields_all(app_type: ApplicationType) -> list[FormField]:
    """Every field in section order (the printed form shows conditional fields too)."""
    order: list[str] = []
    for item in app_type.fields:
        if item.section not in order:
            order.append(item.section)
    return sorted(app_type.fields, key=lambda f: order.index(f.section))


def _describe_when(app_type: ApplicationType, when: str) -> str:
    match = _WHEN.match(when)
    if match is None:
        return when
    name, op, expected = match.groups()
    try:
        label = app_type.field(name).label.de
    except KeyError:
        label = name
    if op is None:
        return f"„{label}“ angekreuzt"
    shown = choice_label(expected.strip().strip("'\""), "de")
    return f"„{label}“ {'=' if op == '==' else '≠'} {shown}"


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(" ".join(text.split()), width) or [""]


def format_hint(item: FormField, lang: str = "de") -> str:
    """The expected format of a field, e.g. "TT.MM.JJJJ" for a date."""
    de = lang != "en"
    hints = {
        "date": "TT.MM.JJJJ, zum Beispiel 14.03.1985" if de else "DD.MM.YYYY, e.g. 14.03.1985",
        "iban": "DE und 20 Ziffern, Leerzeichen sind erlaubt" if de else "DE and 20 digits, spaces allowed",
        "postcode": "5 Ziffern" if de else "5 digits",
        "email": "name@beispiel.de" if de else "name@example.org",
        "phone": "zum Beispiel 089 1234567" if de else "e.g. +49 89 1234567",
        "bool": "Ja oder Nein" if de else "Yes or No",
    }
    if item.type == "choice":
        return ("eines von: " if de else "one of: ") + " | ".join(item.choices)
    if item.type in hints:
        return hints[item.type]
    if item.type in ("integer", "amount"):
        parts = ["ganze Zahl" if de else "whole number"] if item.type == "integer" else [
            "Betrag, zum Beispiel 612,50" if de else "amount, e.g. 612.50"]
        if item.min is not None:
            parts.append(f"mindestens {_num(item.min, de)}" if de else f"at least {_num(item.min, de)}")
        if item.max is not None:
            parts.append(f"höchstens {_num(item.max, de)}" if de else f"at most {_num(item.max, de)}")
        return ", ".join(parts)
    return ""


def _num(value: float, de: bool) -> str:
    text = f"{value:g}"
    return text.replace(".", ",") if de else text


def pdf_value(item: FormField, value: Any) -> str:
    """The string a PDF text/choice field carries for a value (the contract's: ISO dates, dot decimals)."""
    return "" if value is None else str(value)


def fill_form_pdf(app_type: ApplicationType, values: dict[str, Any]) -> bytes:
    """:func:`form_pdf` with the values filled in (pypdf); NeedAppearances makes viewers draw them."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject

    reader = PdfReader(io.BytesIO(form_pdf(app_type)))
    writer = PdfWriter(clone_from=reader)
    texts: dict[str, str] = {}
    checks: dict[str, bool] = {}
    for item in app_type.fields:
        if item.id not in values or values[item.id] in (None, ""):
            continue
        if item.type == "bool":
            checks[pdf_name(item)] = str(values[item.id]).lower() == "true"
        else:
            texts[pdf_name(item)] = pdf_value(item, values[item.id])
    for page in writer.pages:
        names = {str(annot.get_object().get("/T")) for annot in page.get("/Annots", []) or []}
        page_texts = {k: v for k, v in texts.items() if k in names}
        if page_texts:
            writer.update_page_form_field_values(page, page_texts, auto_regenerate=False)
        for annot in page.get("/Annots", []) or []:
            widget = annot.get_object()
            name = str(widget.get("/T"))
            if name in checks:
                state = NameObject("/Yes" if checks[name] else "/Off")
                widget[NameObject("/V")] = state
                widget[NameObject("/AS")] = state
    writer.set_need_appearances_writer(True)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def read_form_pdf(data: bytes) -> dict[str, str]:
    """The fields of a filled form PDF as strings (checkboxes "true"/"false") – for tests and a quick look."""
    from pypdf import PdfReader

    fields = PdfReader(io.BytesIO(data)).get_fields() or {}
    out: dict[str, str] = {}
    for name, spec in fields.items():
        value = spec.get("/V")
        if spec.get("/FT") == "/Btn":
            out[name] = "true" if str(value) == "/Yes" else "false"
        else:
            out[name] = "" if value is None else str(value)
    return out


# --- JSON and XML export ------------------------------------------------------------------------------------------

class ExportInvalid(ValueError):
    """The values do not fit the published schema (names where)."""


@dataclass(frozen=True)
class ExportDocument:
    """An uploaded document named in the export (the file itself goes with the packet)."""

    requirement: str
    filename: str
    content_type: str
    sha256: str
    size: int


_AMOUNT = r"^-?[0-9]+(\.[0-9]{1,2})?$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_POSTCODE = r"^[0-9]{5}$"
_IBAN = r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$"


def _json_property(item: FormField) -> dict[str, Any]:
    prop: dict[str, Any] = {"title": item.label.de, "description": item.label.en or item.label.de}
    if item.type == "bool":
        prop["type"] = "boolean"
    elif item.type == "integer":
        prop["type"] = "integer"
        if item.min is not None:
            prop["minimum"] = int(item.min)
        if item.max is not None:
            prop["maximum"] = int(item.max)
    elif item.type == "amount":
        prop.update(type="string", pattern=_AMOUNT)  # exact decimal with a dot (no binary float)
    elif item.type == "date":
        prop.update(type="string", format="date", pattern=_DATE)
    elif item.type == "choice":
        prop.update(type="string", enum=list(item.choices))
    elif item.type == "postcode":
        prop.update(type="string", pattern=_POSTCODE)
    elif item.type == "iban":
        prop.update(type="string", pattern=_IBAN)
    elif item.type == "email":
        prop.update(type="string", format="email", maxLength=300)
    else:
        prop.update(type="string", minLength=1, maxLength=200)
    return prop


def _json_condition(when: str) -> dict[str, Any]:
    match = _WHEN.match(when)
    assert match is not None
    name, op, expected = match.groups()
    if op is None:
        return {"properties": {name: {"const": True}}, "required": [name]}
    value = expected.strip().strip("'\"")
    test: dict[str, Any] = {"const": value} if op == "==" else {"not": {"const": value}}
    return {"properties": {name: test}, "required": [name]}


def json_schema(app_type: ApplicationType) -> dict[str, Any]:
    """The published JSON Schema (draft 2020-12) of the type's export: required fields, formats, choices, and the
    conditional fields required when their condition holds (if/then)."""
    properties = {item.id: _json_property(item) for item in app_type.fields}
    required = [item.id for item in app_type.fields if item.required and not item.when]
    conditional = [{"if": _json_condition(item.when), "then": {"required": [item.id]}}
                   for item in app_type.fields if item.required and item.when]
    values: dict[str, Any] = {"type": "object", "properties": properties, "required": required,
                              "additionalProperties": False}
    if conditional:
        values["allOf"] = conditional
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": NAMESPACE.format(type_id=app_type.id),
        "title": f"{app_type.title.de} – Export für das Fachverfahren",
        "description": f"rathaus checks, application type {app_type.id}, schema version {SCHEMA_VERSION}; "
                       f"published at {SCHEMA_PATH.format(type_id=app_type.id)}.json",
        "type": "object",
        "required": ["type_id", "schema_version", "created", "language", "values", "documents"],
        "additionalProperties": False,
        "properties": {
            "type_id": {"const": app_type.id},
            "schema_version": {"const": SCHEMA_VERSION},
            "created": {"type": "string", "format": "date-time"},
            "language": {"type": "string", "pattern": "^[a-z]{2}$"},
            "reference": {"type": ["string", "null"]},
            "values": values,
            "documents": {"type": "array", "items": {
                "type": "object", "additionalProperties": False,
                "required": ["requirement", "filename", "content_type", "sha256", "size"],
                "properties": {"requirement": {"type": "string"}, "filename": {"type": "string"},
                               "content_type": {"type": "string"},
                               "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                               "size": {"type": "integer", "minimum": 0}}}},
        },
    }


def typed_values(app_type: ApplicationType, values: dict[str, Any]) -> dict[str, Any]:
    """The answers as the export types them (booleans, integers), unanswered and hidden fields left out."""
    shown = {item.id for item in visible_fields(app_type, values)}
    out: dict[str, Any] = {}
    for item in app_type.fields:
        value = values.get(item.id)
        if item.id not in shown or value in (None, ""):
            continue
        if item.type == "bool":
            out[item.id] = str(value).lower() == "true"
        elif item.type == "integer":
            out[item.id] = int(value)
        else:
            out[item.id] = str(value)
    return out


def export_json(app_type: ApplicationType, values: dict[str, Any], documents: Sequence[ExportDocument] = (),
                *, language: str = "de", reference: str | None = None,
                created: dt.datetime | None = None) -> dict[str, Any]:
    """The export for the specialist procedure, validated against :func:`json_schema` (jsonschema raises
    ValidationError naming the field when the values do not fit)."""
    import jsonschema  # type: ignore[import-untyped]

    data = {
        "type_id": app_type.id, "schema_version": SCHEMA_VERSION,
        "created": (created or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"),
        "language": language, "reference": reference, "values": typed_values(app_type, values),
        "documents": [d.__dict__.copy() for d in documents],
    }
    validator = jsonschema.Draft202012Validator(json_schema(app_type), format_checker=jsonschema.FormatChecker())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        raise ExportInvalid(f"export of {app_type.id} does not fit its schema at {where}: {error.message}")
    return data


_XS = "http://www.w3.org/2001/XMLSchema"


def xsd(app_type: ApplicationType) -> bytes:
    """The published XML Schema of the type's XML export (element per field in form order; conditional and
    optional fields may be missing – their conditions are in the JSON Schema)."""
    from lxml import etree

    ns = NAMESPACE.format(type_id=app_type.id)
    x = f"{{{_XS}}}"
    root = etree.Element(x + "schema", nsmap={"xs": _XS, "a": ns})
    root.set("targetNamespace", ns)
    root.set("elementFormDefault", "qualified")
    root.set("version", SCHEMA_VERSION)
    doc = etree.SubElement(etree.SubElement(root, x + "annotation"), x + "documentation")
    doc.text = (f"{app_type.title.de} – Export für das Fachverfahren (rathaus checks, {app_type.id}, "
                f"Version {SCHEMA_VERSION})")
    antrag = etree.SubElement(root, x + "element", name="antrag")
    complex_type = etree.SubElement(antrag, x + "complexType")
    sequence = etree.SubElement(complex_type, x + "sequence")
    angaben = etree.SubElement(etree.SubElement(etree.SubElement(
        sequence, x + "element", name="angaben"), x + "complexType"), x + "sequence")
    for item in visible_fields_all(app_type):
        element = etree.SubElement(angaben, x + "element", name=item.id)
        if not item.required or item.when:
            element.set("minOccurs", "0")
        etree.SubElement(etree.SubElement(element, x + "annotation"), x + "documentation").text = item.label.de
        _xsd_type(element, item)
    unterlagen = etree.SubElement(etree.SubElement(etree.SubElement(
        sequence, x + "element", name="unterlagen"), x + "complexType"), x + "sequence")
    unterlage = etree.SubElement(unterlagen, x + "element", name="unterlage", minOccurs="0", maxOccurs="unbounded")
    attrs = etree.SubElement(unterlage, x + "complexType")
    for name, kind in (("anforderung", "xs:string"), ("datei", "xs:string"), ("medientyp", "xs:string"),
                       ("sha256", "xs:string"), ("groesse", "xs:nonNegativeInteger")):
        etree.SubElement(attrs, x + "attribute", name=name, type=kind, use="required")
    for name, kind, use in (("typ", "xs:string", "required"), ("version", "xs:string", "required"),
                            ("erstellt", "xs:dateTime", "required"), ("sprache", "xs:language", "required"),
                            ("aktenzeichen", "xs:string", "optional")):
        etree.SubElement(complex_type, x + "attribute", name=name, type=kind, use=use)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _xsd_type(element: Any, item: FormField) -> None:
    from lxml import etree

    x = f"{{{_XS}}}"
    simple = {"bool": "xs:boolean", "date": "xs:date", "integer": "xs:integer"}
    if item.type in simple and not (item.type == "integer" and (item.min is not None or item.max is not None)):
        element.set("type", simple[item.type])
        return
    restriction = etree.SubElement(etree.SubElement(element, x + "simpleType"), x + "restriction")
    if item.type == "integer":
        restriction.set("base", "xs:integer")
    elif item.type == "amount":
        restriction.set("base", "xs:decimal")
        etree.SubElement(restriction, x + "fractionDigits", value="2")
    else:
        restriction.set("base", "xs:string")
    if item.type in ("integer", "amount"):
        if item.min is not None:
            etree.SubElement(restriction, x + "minInclusive", value=_xsd_number(item.min, item.type))
        if item.max is not None:
            etree.SubElement(restriction, x + "maxInclusive", value=_xsd_number(item.max, item.type))
    elif item.type == "choice":
        for choice in item.choices:
            etree.SubElement(restriction, x + "enumeration", value=choice)
    elif item.type == "postcode":
        etree.SubElement(restriction, x + "pattern", value="[0-9]{5}")
    elif item.type == "iban":
        etree.SubElement(restriction, x + "pattern", value="[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
    else:
        etree.SubElement(restriction, x + "minLength", value="1")
        etree.SubElement(restriction, x + "maxLength", value="300")


def _xsd_number(value: float, kind: str) -> str:
    return str(int(value)) if kind == "integer" or float(value).is_integer() else f"{value}"


def export_xml(app_type: ApplicationType, values: dict[str, Any], documents: Iterable[ExportDocument] = (),
               *, language: str = "de", reference: str | None = None,
               created: dt.datetime | None = None) -> bytes:
    """The XML export (namespace per type), validated against :func:`xsd` (lxml raises DocumentInvalid)."""
    from lxml import etree

    ns = NAMESPACE.format(type_id=app_type.id)
    a = f"{{{ns}}}"
    root = etree.Element(a + "antrag", nsmap={None: ns})
    root.set("typ", app_type.id)
    root.set("version", SCHEMA_VERSION)
    root.set("erstellt", (created or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds"))
    root.set("sprache", language)
    if reference:
        root.set("aktenzeichen", reference)
    angaben = etree.SubElement(root, a + "angaben")
    typed = typed_values(app_type, values)
    for item in visible_fields_all(app_type):
        if item.id in typed:
            value = typed[item.id]
            etree.SubElement(angaben, a + item.id).text = (
                ("true" if value else "false") if isinstance(value, bool) else str(value))
    unterlagen = etree.SubElement(root, a + "unterlagen")
    for document in documents:
        etree.SubElement(unterlagen, a + "unterlage", anforderung=document.requirement, datei=document.filename,
                         medientyp=document.content_type, sha256=document.sha256, groesse=str(document.size))
    schema = etree.XMLSchema(etree.fromstring(xsd(app_type)))
    if not schema.validate(root):
        raise ExportInvalid(f"XML export of {app_type.id} does not fit its XSD: {schema.error_log.last_error}")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
