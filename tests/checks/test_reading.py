"""Reading a packet with the real Tesseract: documents rendered here (PIL, reportlab), turned, skewed, blurred;
form data as AcroForm PDF, JSON and XML; and every kind of bad file next to a good one."""

from __future__ import annotations

import importlib.util
import io
import json
import math
from datetime import date
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from rathaus.checks import documents, ocr
from rathaus.checks.intake import read_packet, sniff
from rathaus.checks.layout import ReadPage
from rathaus.checks.model import Packet

pytest.importorskip("tesserocr")
FONTS = Path("/usr/share/fonts/truetype/dejavu")
if not (FONTS / "DejaVuSans.ttf").is_file():
    pytest.skip("DejaVu fonts (fonts-dejavu-core) are needed to render the test documents", allow_module_level=True)
try:
    ocr.tessdata_path()
except ocr.OcrUnavailable as exc:
    pytest.skip(str(exc), allow_module_level=True)

SUBMITTED = date(2025, 4, 10)
A4 = (1240, 1754)  # 150 dpi


def font(size: int, bold: bool = False, mono: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSansMono.ttf" if mono else ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    return ImageFont.truetype(str(FONTS / name), size)


def png(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def rows_page(title: str, rows: list[tuple[str, str]], header: list[str] | None = None,
              footer: str = "Seite 1 von 1", signature_line: str | None = None,
              signed: bool = False) -> tuple[Image.Image, dict[str, tuple[int, int]]]:
    """An A4 page at 150 dpi: letterhead lines, a bold title, "label  value" rows, an optional signature line.
    Returns the image and where (x, y) some texts start."""
    image = Image.new("L", A4, 255)
    draw = ImageDraw.Draw(image)
    where: dict[str, tuple[int, int]] = {}
    y = 90
    for line in header or []:
        draw.text((110, y), line, font=font(26), fill=0)
        y += 40
    y += 50
    where["title"] = (110, y)
    draw.text((110, y), title, font=font(40, bold=True), fill=0)
    y += 110
    for label, value in rows:
        draw.text((110, y), label, font=font(26), fill=0)
        draw.text((560, y), value, font=font(26), fill=0)
        where[label] = (560, y)
        y += 48
    if signature_line:
        y += 140
        draw.line((110, y, 620, y), fill=0, width=3)
        draw.text((110, y + 10), signature_line, font=font(22), fill=0)
        if signed:
            points = [(130 + i * 10, y - 30 - 25 * math.sin(i / 2.2)) for i in range(40)]
            draw.line(points, fill=30, width=5)
    draw.text((950, 1650), footer, font=font(22), fill=0)
    return image, where


def payslip(month: str = "März 2025") -> Image.Image:
    image, _ = rows_page(
        f"Verdienstabrechnung {month}",
        [("Personalnummer", "4711"), ("Steuerklasse", "1"), ("Gesamtbrutto", "3.250,00"),
         ("Lohnsteuer", "412,16"), ("Auszahlungsbetrag", "2.104,37"), ("IBAN", "DE89 3704 0044 0532 0130 00")],
        header=["Bäckerei Sonnenschein GmbH, Leopoldstraße 12, 80802 München", "", "Erika Mustermann",
                "Heidestraße 17", "51147 Köln"])
    return image


def registration() -> tuple[Image.Image, dict[str, tuple[int, int]]]:
    return rows_page(
        "Meldebestätigung",
        [("Familienname:", "Mustermann"), ("Vornamen:", "Erika"), ("Geburtsdatum:", "12.08.1983"),
         ("Staatsangehörigkeit:", "deutsch"), ("Anschrift:", "Heidestraße 17, 51147 Köln"),
         ("Einzugsdatum:", "01.02.2020")],
        header=["Stadt Köln", "Bürgeramt – Meldebehörde"])


def check_digit(text: str) -> str:
    values = {**{str(d): d for d in range(10)}, **{chr(65 + i): 10 + i for i in range(26)}, "<": 0}
    return str(sum(values[c] * (7, 3, 1)[i % 3] for i, c in enumerate(text)) % 10)


def german_id_mrz() -> list[str]:
    """A TD1 MRZ of a German ID card (ICAO 9303 part 5) with all check digits right."""
    number, birth, expiry = "T22000129", "830812", "310101"
    line1 = f"IDD<<{number}{check_digit(number)}".ljust(30, "<")
    line2 = f"{birth}{check_digit(birth)}<{expiry}{check_digit(expiry)}D".ljust(29, "<")
    composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    line2 += check_digit(composite)
    line3 = "MUSTERMANN<<ERIKA".ljust(30, "<")
    return [line1, line2, line3]


def id_card() -> Image.Image:
    """Front and back of a German ID card side by side on a scan (visual zone and MRZ)."""
    image = Image.new("L", (1700, 1100), 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 1660, 1060), outline=0, width=3)
    draw.text((80, 70), "BUNDESREPUBLIK DEUTSCHLAND", font=font(34, bold=True), fill=0)
    draw.text((80, 120), "PERSONALAUSWEIS / IDENTITY CARD", font=font(28), fill=0)
    draw.text((1300, 70), "T22000129", font=font(34, mono=True), fill=0)
    y = 200
    for label, value in (("Name / Surname", "MUSTERMANN"), ("Vornamen / Given names", "ERIKA"),
                         ("Geburtstag / Date of birth", "12.08.1983"), ("Gültig bis / Date of expiry", "01.01.2031")):
        draw.text((420, y), label, font=font(22), fill=60)
        draw.text((420, y + 30), value, font=font(32, bold=True), fill=0)
        y += 95
    draw.rectangle((80, 200, 380, 580), outline=0, width=2)
    y = 800
    for line in german_id_mrz():
        draw.text((80, y), line, font=font(46, mono=True), fill=0)
        y += 70
    return image


def read(*files: tuple[str, bytes], **kwargs: object) -> Packet:
    return read_packet(list(files), SUBMITTED, **kwargs)  # type: ignore[arg-type]


def only(packet: Packet, kind: str):
    found = [doc for doc in packet.documents if doc.kind == kind]
    assert len(found) == 1, [(doc.kind, doc.confidence) for doc in packet.documents]
    return found[0]


# --- scans ----------------------------------------------------------------------------------------------------------

def test_payslip_scan_is_recognised_and_its_fields_read():
    packet = read(("lohn.png", png(payslip())))
    assert packet.problems == []
    doc = only(packet, "payslip")
    assert doc.confidence >= 0.8
    fields = {key: value.value for key, value in doc.fields.items()}
    assert fields["period"] == "2025-03"
    assert fields["gross_income"] == "3250.00"
    assert fields["net_income"] == "2104.37"
    assert fields["iban"] == "DE89370400440532013000"
    assert fields["employer"].startswith("Bäckerei Sonnenschein GmbH")
    assert (fields["surname"], fields["given_names"]) == ("Mustermann", "Erika")
    assert fields["address"] == "Heidestraße 17, 51147 Köln"
    assert doc.fields["iban"].confidence >= 0.95  # checksum holds
    evidence = doc.fields["net_income"].evidence
    assert (evidence.file, evidence.page) == ("lohn.png", 1)
    assert evidence.bbox is not None and "Auszahlungsbetrag" in evidence.snippet
    x0, y0, x1, y1 = evidence.bbox
    assert 500 < x0 < x1 < 900 and 300 < y0 < y1 < 900  # the value's words, on the page


@pytest.mark.parametrize("turn", [90, 180, 270])
def test_turned_scan_is_set_upright_and_boxes_point_into_the_original(turn):
    upright, where = registration()
    turned = upright.rotate(turn, expand=True)
    packet = read(("melde.jpg", png(turned.convert("RGB"), "JPEG", quality=85)))
    doc = only(packet, "registration_certificate")
    page = doc.pages[0]
    assert page.source == "ocr"
    assert page.rotation == (360 - turn) % 360  # counter-clockwise degrees that set it upright
    assert doc.fields["surname"].value == "Mustermann"
    assert doc.fields["birth_date"].value == "1983-08-12"
    assert doc.fields["address"].value == "Heidestraße 17, 51147 Köln"
    # the surname's box is where "Mustermann" lies in the turned image as uploaded
    x, y = where["Familienname:"]
    w, h = upright.size
    expected = {90: (y, w - x), 180: (w - x, h - y), 270: (h - y, x)}[turn]
    x0, y0, x1, y1 = doc.fields["surname"].evidence.bbox
    corner = {90: (x0, y1), 180: (x1, y1), 270: (x1, y0)}[turn]  # the word's top-left corner, turned
    assert abs(corner[0] - expected[0]) < 25 and abs(corner[1] - expected[1]) < 25


def test_skewed_and_blurred_scan_is_straightened():
    upright, _ = registration()
    skewed = upright.rotate(3, expand=True, fillcolor=255, resample=Image.Resampling.BICUBIC)
    blurred = skewed.filter(ImageFilter.GaussianBlur(1.2))
    packet = read(("melde.png", png(blurred)))
    doc = only(packet, "registration_certificate")
    assert 2.0 <= abs(doc.pages[0].skew) <= 4.0
    assert doc.pages[0].skew < 0  # turned 3° counter-clockwise, corrected clockwise
    assert doc.fields["surname"].value == "Mustermann"
    assert doc.fields["given_names"].value == "Erika"
    assert doc.fields["page_of"].value == "1/1"


def test_id_card_visual_zone_and_machine_readable_zone():
    packet = read(("ausweis.png", png(id_card())))
    doc = only(packet, "id_card")
    fields = {key: value.value for key, value in doc.fields.items()}
    assert fields["surname"] == "Mustermann"
    assert fields["given_names"] == "Erika"
    assert fields["birth_date"] == "1983-08-12"
    assert fields["expiry_date"] == "2031-01-01"
    assert fields["document_number"] == "T22000129"
    if importlib.util.find_spec("rathaus.checks.validators") is None:
        pytest.skip("MRZ parsing comes with rathaus.checks.validators (branch checks-validators)")
    assert fields["mrz_valid"] == "true"
    assert fields["mrz"].splitlines()[0].startswith("IDD<<T22000129")
    assert doc.fields["document_number"].confidence >= 0.95


def test_signature_ink_on_the_signature_line():
    def declaration(signed: bool) -> bytes:
        image, _ = rows_page("Erklärung zum Beschäftigungsverhältnis",
                             [("Familienname:", "Mustermann"), ("Vornamen:", "Erika")],
                             signature_line="Unterschrift des Arbeitgebers", signed=signed, footer="Seite 1 von 1")
        return png(image)

    signed = only(read(("erklaerung.png", declaration(True))), "employer_declaration")
    unsigned = only(read(("erklaerung.png", declaration(False))), "employer_declaration")
    assert signed.fields["signature"].value == "true"
    assert unsigned.fields["signature"].value == "false"


def test_photo_exif_orientation_is_honoured():
    upright, _ = registration()
    stored = upright.rotate(90, expand=True).convert("RGB")  # the camera stores it turned, EXIF says so
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90° clockwise to display" (undoes the stored counter-clockwise turn)
    packet = read(("handy.jpg", png(stored, "JPEG", quality=90, exif=exif.tobytes())))
    doc = only(packet, "registration_certificate")
    assert doc.pages[0].rotation == 0  # upright after the EXIF orientation: OCR had nothing left to turn
    assert doc.fields["surname"].value == "Mustermann"


def test_multi_page_tiff_and_heic():
    first, second = payslip("Januar 2025"), payslip("Februar 2025")
    buffer = io.BytesIO()
    first.save(buffer, "TIFF", save_all=True, append_images=[second], compression="tiff_deflate")
    from pillow_heif import register_heif_opener

    register_heif_opener()
    heic = png(registration()[0].convert("RGB"), "HEIF", quality=90)
    assert sniff(heic) == "heif"
    packet = read(("scan.tiff", buffer.getvalue()), ("foto.heic", heic))
    slips = sorted(doc.fields["period"].value for doc in packet.documents if doc.kind == "payslip")
    assert slips == ["2025-01", "2025-02"]  # two months: two documents, not one
    assert only(packet, "registration_certificate").fields["surname"].value == "Mustermann"


def test_pages_of_one_document_are_grouped_and_a_new_count_starts_a_new_one():
    def contract_page(number: int) -> Image.Image:
        image, _ = rows_page("Mietvertrag für Wohnraum" if number == 1 else "§ 5 Schönheitsreparaturen",
                             [("Vermieter", "Hans Huber"), ("Gesamtmiete monatlich", "612,50 EUR")]
                             if number == 1 else [("Sonstiges", "keine")], footer=f"Seite {number} von 2")
        return image

    packet = read(("seite1.png", png(contract_page(1))), ("seite2.png", png(contract_page(2))),
                  ("lohn.png", png(payslip())))
    contract = only(packet, "rental_contract")
    assert [(p.file, p.number) for p in contract.pages] == [("seite1.png", 1), ("seite2.png", 1)]
    assert contract.fields["rent"].value == "612.50"
    assert contract.fields["page_of"].value == "1/2 2/2"
    assert only(packet, "payslip").pages[0].file == "lohn.png"


# --- born-digital PDF and form data ---------------------------------------------------------------------------------

def _text_pdf(pages: list[list[str]]) -> bytes:
    from reportlab.lib.pagesizes import A4 as PDF_A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=PDF_A4)
    for lines in pages:
        y = 780
        for line in lines:
            pdf.setFont("Helvetica", 11)
            pdf.drawString(60, y, line)
            y -= 22
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def test_born_digital_pdf_is_read_without_ocr():
    data = _text_pdf([["Stadtsparkasse Köln", "Kontoauszug 3/2025", "Kontoinhaber: Erika Mustermann",
                       "IBAN: DE89 3704 0044 0532 0130 00", "Alter Kontostand 1.200,00 H",
                       "03.03.2025 Miete März Hans Huber 612,50 S", "Seite 1 von 1"]])
    packet = read(("auszug.pdf", data))
    doc = only(packet, "bank_statement")
    assert doc.pages[0].source == "text" and doc.pages[0].confidence == 1.0
    assert doc.fields["iban"].value == "DE89370400440532013000"
    assert doc.fields["period"].value == "2025-03"
    assert doc.fields["surname"].value == "Mustermann"
    x0, y0, x1, y1 = doc.fields["iban"].evidence.bbox
    assert 0 < x0 < x1 < 2480 and 0 < y0 < y1 < 3508  # pixels of the page at 300 dpi


def _acroform_pdf(values: dict[str, str], checked: dict[str, bool]) -> bytes:
    from reportlab.lib.pagesizes import A4 as PDF_A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=PDF_A4)
    pdf.setSubject("rathaus checks: wohngeld-erstantrag (schema 1)")
    pdf.drawString(60, 800, "Antrag auf Wohngeld – Erstantrag")
    y = 760
    for name, value in values.items():
        pdf.drawString(60, y + 4, name)
        pdf.acroForm.textfield(name=name, value=value, x=200, y=y, width=250, height=18)
        y -= 40
    for name, state in checked.items():
        pdf.drawString(60, y + 4, name)
        pdf.acroForm.checkbox(name=name, checked=state, x=200, y=y, size=14)
        y -= 40
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def test_acroform_pdf_gives_the_form_fields():
    data = _acroform_pdf({"vorname": "Erika", "nachname": "Mustermann", "geburtsdatum": "12.08.1983",
                          "miete": "612,50", "iban": "DE89370400440532013000"},
                         {"unterschrift": True, "drittstaat": False})
    packet = read(("antrag.pdf", data))
    form = {key: value.value for key, value in packet.form.items()}
    assert form["vorname"] == "Erika" and form["nachname"] == "Mustermann"
    assert form["geburtsdatum"] == "1983-08-12"  # ISO, as the contract says
    assert form["miete"] == "612.50"
    assert form["unterschrift"] == "true" and form["drittstaat"] == "false"
    assert packet.type_id == "wohngeld-erstantrag"
    evidence = packet.form["nachname"].evidence
    assert (evidence.file, evidence.page) == ("antrag.pdf", 1) and evidence.bbox is not None
    assert packet.form["nachname"].confidence == 1.0
    assert [doc.kind for doc in packet.documents] == ["form"]


def test_json_and_xml_form_data():
    flat = json.dumps({"typ": "bewohnerparkausweis", "vorname": "Erika", "unterschrift": True,
                       "haushaltsmitglieder": 2}).encode()
    export = json.dumps({"type_id": "wohngeld-erstantrag", "schema_version": "1", "created": "2025-04-01T10:00:00",
                         "language": "de", "values": {"nachname": "Mustermann", "miete": "612.50"},
                         "documents": []}).encode()
    packet = read(("a.json", flat), ("b.json", export))
    form = {key: value.value for key, value in packet.form.items()}
    assert form == {"vorname": "Erika", "unterschrift": "true", "haushaltsmitglieder": "2",
                    "nachname": "Mustermann", "miete": "612.50"}
    assert packet.type_id == "bewohnerparkausweis"
    assert packet.problems == []

    xml = (b'<?xml version="1.0" encoding="UTF-8"?><antrag typ="wohngeld-erstantrag">'
           b'<feld name="vorname">Erika</feld><feld name="geburtsdatum">12.08.1983</feld></antrag>')
    exported = (b'<antrag xmlns="urn:rathaus:checks:application:x:1" typ="x"><angaben><nachname>Muster</nachname>'
                b'</angaben><unterlagen/></antrag>')
    packet = read(("c.xml", xml), ("d.xml", exported), form_data={"ort": "Köln"})
    form = {key: value.value for key, value in packet.form.items()}
    assert form == {"ort": "Köln", "vorname": "Erika", "geburtsdatum": "1983-08-12", "nachname": "Muster"}
    assert packet.form["vorname"].evidence.file == "c.xml"
    assert packet.type_id == "wohngeld-erstantrag"


def test_conflicting_form_values_are_reported():
    packet = read(("a.json", b'{"vorname": "Erika"}'), ("b.json", b'{"vorname": "Erik"}'))
    assert packet.form["vorname"].value == "Erika"
    assert len(packet.problems) == 1 and "vorname" in packet.problems[0].message


# --- bad input ------------------------------------------------------------------------------------------------------

def _encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_text_pdf([["Geheim"] * 5]))))
    writer.encrypt(user_password="geheim", owner_password="geheimer", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_every_bad_file_is_reported_and_the_rest_is_read():
    noise = Image.effect_noise(A4, 120).filter(ImageFilter.GaussianBlur(2))  # a scan of nothing legible
    long_pdf = _text_pdf([[f"Anlage {n}", "Dies ist eine lange Anlage mit viel Text auf jeder Seite.",
                           f"Seite {n} von 200"] for n in range(1, 201)])
    good = json.dumps({"vorname": "Erika"}).encode()
    files = [
        ("leer.pdf", b""),
        ("kaputt.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF garbage" + bytes(range(256))),
        ("geheim.pdf", _encrypted_pdf()),
        ("tabelle.xlsx", b"PK\x03\x04" + b"\x00" * 100),
        ("notiz.txt", b"Nur ein Text"),
        ("lang.pdf", long_pdf),
        ("rauschen.png", png(noise)),
        ("unscharf.png", png(payslip().resize((620, 877)).filter(ImageFilter.GaussianBlur(3)))),
        ("kaputt.json", b'{"vorname": '),
        ("abgeschnitten.jpg", png(payslip().convert("RGB"), "JPEG")[:2000]),
        ("antrag.json", good),
        ("lohn.png", png(payslip())),
    ]
    packet = read(*files, max_pages=3)
    problems = {problem.file: problem for problem in packet.problems}
    assert "leer" in problems["leer.pdf"].message
    assert "beschädigt" in problems["kaputt.pdf"].message
    assert "Passwort" in problems["geheim.pdf"].message
    assert "nicht unterstützt" in problems["tabelle.xlsx"].message
    assert "nicht unterstützt" in problems["notiz.txt"].message
    assert "200 Seiten" in problems["lang.pdf"].message and "ersten 3" in problems["lang.pdf"].message
    assert problems["rauschen.png"].page == 1 and "Seite 1" in problems["rauschen.png"].message
    assert problems["unscharf.png"].page == 1 and "Seite 1" in problems["unscharf.png"].message
    assert "JSON" in problems["kaputt.json"].message
    assert "beschädigt" in problems["abgeschnitten.jpg"].message
    assert set(problems) == {name for name, _ in files[:10]}
    # the rest of the packet is read
    assert packet.form["vorname"].value == "Erika"
    assert only(packet, "payslip").fields["net_income"].value == "2104.37"
    long_pages = [page for doc in packet.documents for page in doc.pages if page.file == "lang.pdf"]
    assert [page.number for page in long_pages] == [1, 2, 3]


def test_sniffing_goes_by_content_not_by_name():
    assert sniff(png(payslip())) == "png"
    assert sniff(b"%PDF-1.4 ...") == "pdf"
    assert sniff(b'\xef\xbb\xbf  {"a": 1}') == "json"
    assert sniff(b"<antrag/>") == "xml"
    packet = read(("bild.pdf", png(payslip())))  # a PNG named .pdf is still read as an image
    assert only(packet, "payslip").pages[0].source == "ocr"


def test_kind_confidence_and_unknown_pages():
    image, _ = rows_page("Einkaufsliste", [("Milch", "2"), ("Brot", "1")])
    packet = read(("liste.png", png(image)))
    assert [doc.kind for doc in packet.documents] == ["unknown"]
    page = ReadPage(packet.documents[0].pages[0])
    assert documents.classify(page).kind == "unknown"
