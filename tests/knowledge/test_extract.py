"""Extraction of PDF, DOCX, HTML, Markdown and text files; fixtures are generated in tmp_path."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import os
import struct
import zlib
from pathlib import Path

import pytest

from rathaus.core.language import detect_language
from rathaus.knowledge.document import ExtractedDocument, ExtractionError
from rathaus.knowledge.extract import SUPPORTED_SUFFIXES, detect_kind, extract_bytes, extract_file

GERMAN = (
    "Die Stadtverwaltung erhebt für die Benutzung ihrer öffentlichen Einrichtungen Gebühren nach Maßgabe "
    "dieser Satzung. Die Gebührenpflicht entsteht mit der Inanspruchnahme der Leistung durch die Bürgerinnen "
    "und Bürger."
)
ENGLISH = (
    "The city council publishes the opening hours of all public offices on its website. Citizens can book "
    "an appointment online or call the service centre during office hours."
)
UKRAINIAN = (
    "Міська рада повідомляє про нові години роботи центру надання адміністративних послуг. Їх змінено з "
    "першого числа, і відвідувачі можуть записатися на прийом через інтернет або телефоном."
)
RUSSIAN = (
    "Городской совет сообщает о новых часах работы центра административных услуг. Посетители могут "
    "записаться на прием через интернет или по телефону."
)


def assert_consistent(doc: ExtractedDocument) -> None:
    """Blocks are non-empty, in order, separated by exactly one blank line, and cover the text."""
    assert doc.blocks
    assert doc.blocks[0].start == 0
    assert doc.blocks[-1].end == len(doc.text)
    for block in doc.blocks:
        text = doc.block_text(block)
        assert text and text == text.strip()
    for a, b in itertools.pairwise(doc.blocks):
        assert doc.text[a.end : b.start] == "\n\n"


def kinds(doc: ExtractedDocument) -> list[tuple[str, int, str]]:
    return [(b.kind, b.level, doc.block_text(b)) for b in doc.blocks]


# --- fixture builders ---------------------------------------------------------------------------------------


def png_bytes(width: int = 32, height: int = 32) -> bytes:
    """A small greyscale PNG made from plain bytes."""
    raw = b"".join(b"\x00" + bytes((x * 7 + y * 3) % 256 for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def make_report_pdf(path: Path) -> Path:
    """A born-digital two-page PDF with title, numbered headings and body paragraphs."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    styles = getSampleStyleSheet()
    doc = SimpleDocTemplate(str(path), pagesize=A4, title="Gebührensatzung der Stadt", invariant=1)
    doc.build(
        [
            Paragraph("1 Allgemeines", styles["Heading1"]),
            Paragraph(GERMAN + " " + GERMAN, styles["BodyText"]),
            Paragraph("Ein zweiter Absatz über die Verwaltungsgebühren der Stadt.", styles["BodyText"]),
            Paragraph("1.1 Geltungsbereich", styles["Heading2"]),
            Paragraph(
                "Diese Satzung gilt für das gesamte Stadtgebiet einschließlich aller Ortsteile.", styles["BodyText"]
            ),
            PageBreak(),
            Paragraph("2 Gebühren", styles["Heading1"]),
            Paragraph(
                "Die Höhe der Gebühren ergibt sich aus dem Gebührenverzeichnis in der Anlage.", styles["BodyText"]
            ),
        ]
    )
    return path


def canvas_pdf(path: Path, pages: list[list[str]], **kwargs: object) -> Path:
    """One line of Helvetica 11 per string, 14 pt line spacing; each inner list is a page."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), invariant=1, **kwargs)
    for lines in pages:
        y = 760
        for line in lines:
            if line:
                c.setFont("Helvetica", 11)
                c.drawString(72, y, line)
            y -= 14
        c.showPage()
    c.save()
    return path


def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = "Dienstanweisung Datenschutz"
    document.core_properties.language = "de-DE"
    document.core_properties.modified = dt.datetime(2024, 5, 17, 9, 30)
    document.add_heading("Geltungsbereich", level=1)
    document.add_paragraph(GERMAN)
    document.add_paragraph("Erster Punkt", style="List Bullet")
    document.add_paragraph("Unterpunkt", style="List Bullet 2")
    document.add_paragraph("Zweiter Punkt", style="List Number")
    table = document.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate([("Rolle", "Aufgabe"), ("DSB", "Beratung"), ("Amt", "Umsetzung\nund Kontrolle")]):
        table.rows[r].cells[0].text = a
        table.rows[r].cells[1].text = b
    document.add_heading("Zuständigkeiten", level=2)
    document.add_paragraph("Zuständig ist das Hauptamt.")
    document.save(str(path))
    return path


# --- PDF ------------------------------------------------------------------------------------------------------


def test_pdf_headings_paragraphs_pages(tmp_path: Path) -> None:
    doc = extract_file(make_report_pdf(tmp_path / "satzung.pdf"))
    assert_consistent(doc)
    assert doc.mime == "application/pdf"
    assert doc.pages == 2
    assert doc.title == "Gebührensatzung der Stadt"
    assert doc.language == "de"
    assert doc.modified == dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # ModDate of an invariant reportlab PDF
    assert doc.warnings == []
    blocks = kinds(doc)
    assert blocks[0] == ("heading", 1, "1 Allgemeines")
    assert blocks[1] == ("paragraph", 0, GERMAN + " " + GERMAN)  # wrapped lines joined
    assert blocks[2] == ("paragraph", 0, "Ein zweiter Absatz über die Verwaltungsgebühren der Stadt.")
    assert blocks[3] == ("heading", 2, "1.1 Geltungsbereich")
    assert blocks[5] == ("heading", 1, "2 Gebühren")
    assert [b.page for b in doc.blocks] == [1, 1, 1, 1, 1, 2, 2]


def test_pdf_dehyphenation_and_line_joining(tmp_path: Path) -> None:
    path = canvas_pdf(
        tmp_path / "hyphen.pdf",
        [
            [
                "Die Verwal-",
                "tung der Stadt tagt im Verwaltungs-",
                "und Finanzausschuss. Anträge bitte per E-",
                "Mail an das Bürger-",
                "Service-Center senden.",
            ]
        ],
    )
    doc = extract_file(path)
    assert kinds(doc) == [
        (
            "paragraph",
            0,
            "Die Verwaltung der Stadt tagt im Verwaltungs- und Finanzausschuss. Anträge bitte per E-Mail an "
            "das Bürger-Service-Center senden.",
        )
    ]


def test_pdf_paragraph_gaps_bullets_and_page_numbers(tmp_path: Path) -> None:
    first = ["Erster Absatz, Zeile eins", "geht hier weiter.", "", "Zweiter Absatz nach einer Leerzeile."]
    second = ["• Personalausweis", "• Reisepass", "", "Dritter Absatz."]
    pages = [[*first, *[""] * 40, "Seite 1 von 2"], [*second, *[""] * 40, "Seite 2 von 2"]]
    doc = extract_file(canvas_pdf(tmp_path / "absatz.pdf", pages))
    assert_consistent(doc)
    assert kinds(doc) == [
        ("paragraph", 0, "Erster Absatz, Zeile eins geht hier weiter."),
        ("paragraph", 0, "Zweiter Absatz nach einer Leerzeile."),
        ("list_item", 1, "Personalausweis"),
        ("list_item", 1, "Reisepass"),
        ("paragraph", 0, "Dritter Absatz."),
    ]
    assert "Seite" not in doc.text
    assert [b.page for b in doc.blocks] == [1, 1, 2, 2, 2]


def test_pdf_font_size_from_text_matrix_and_bold_headings(tmp_path: Path) -> None:
    """Producers that write "1 Tf" and scale the text matrix; a bold body-size line is a heading too."""
    from reportlab.pdfgen import canvas

    path = tmp_path / "matrix.pdf"
    c = canvas.Canvas(str(path), invariant=1)
    y = 760
    for text, font, size in [
        ("Amtsblatt der Stadt", "Helvetica-Bold", 18),
        ("Bekanntmachungen des Ordnungsamts im Monat Mai für alle Ortsteile.", "Helvetica", 10),
        ("Sperrung der Hauptstraße", "Helvetica-Bold", 10),
        ("Die Hauptstraße wird wegen Bauarbeiten gesperrt.", "Helvetica", 10),
    ]:
        t = c.beginText()
        t.setTextTransform(size, 0, 0, size, 72, y)
        t.setFont(font, 1)
        t.textLine(text)
        c.drawText(t)
        y -= size * 2.2
    c.showPage()
    c.save()
    doc = extract_file(path)
    assert kinds(doc) == [
        ("heading", 1, "Amtsblatt der Stadt"),
        ("paragraph", 0, "Bekanntmachungen des Ordnungsamts im Monat Mai für alle Ortsteile."),
        ("heading", 2, "Sperrung der Hauptstraße"),
        ("paragraph", 0, "Die Hauptstraße wird wegen Bauarbeiten gesperrt."),
    ]
    assert doc.title == "Amtsblatt der Stadt"  # reportlab's "untitled" metadata is ignored


def test_pdf_scanned_page_is_a_warning(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    image = tmp_path / "scan.png"
    image.write_bytes(png_bytes())
    path = tmp_path / "teilweise.pdf"
    c = canvas.Canvas(str(path), invariant=1)
    c.drawString(72, 760, GERMAN[:90])
    c.showPage()
    c.drawImage(str(image), 50, 50, 400, 400)
    c.showPage()
    c.save()
    doc = extract_file(path)
    assert doc.pages == 2
    assert doc.warnings == ["page 2 has no text layer (scanned?); OCR is not available"]
    assert {b.page for b in doc.blocks} == {1}


def test_pdf_without_any_text_layer_fails(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    image = tmp_path / "scan.png"
    image.write_bytes(png_bytes())
    path = tmp_path / "scan.pdf"
    c = canvas.Canvas(str(path))
    for _ in range(2):
        c.drawImage(str(image), 50, 50, 400, 400)
        c.showPage()
    c.save()
    with pytest.raises(ExtractionError, match=r"^no text layer on any page \(scanned PDF\?\)$"):
        extract_file(path)


def test_pdf_encrypted_fails(tmp_path: Path) -> None:
    path = canvas_pdf(tmp_path / "geheim.pdf", [["Vertraulicher Inhalt der Akte."]], encrypt="secret")
    with pytest.raises(ExtractionError) as info:
        extract_file(path)
    assert str(info.value) == "encrypted PDF (password protected)"


def test_pdf_with_owner_password_only_is_readable(tmp_path: Path) -> None:
    from reportlab.lib.pdfencrypt import StandardEncryption

    encryption = StandardEncryption("", ownerPassword="owner", canPrint=0)
    path = canvas_pdf(tmp_path / "drucksperre.pdf", [["Öffentliche Bekanntmachung der Stadt."]], encrypt=encryption)
    assert extract_file(path).text == "Öffentliche Bekanntmachung der Stadt."


def test_pdf_truncated_is_not_readable(tmp_path: Path) -> None:
    source = make_report_pdf(tmp_path / "voll.pdf").read_bytes()
    path = tmp_path / "kaputt.pdf"
    path.write_bytes(source[:1500])
    with pytest.raises(ExtractionError, match=r"^not a readable PDF: "):
        extract_file(path)
    with pytest.raises(ExtractionError, match=r"^not a readable PDF: "):
        extract_bytes(b"%PDF-1.7\n garbage garbage", name="x.pdf")


# --- DOCX -----------------------------------------------------------------------------------------------------


def test_docx_structure_in_document_order(tmp_path: Path) -> None:
    doc = extract_file(make_docx(tmp_path / "anweisung.docx"))
    assert_consistent(doc)
    assert doc.mime == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert doc.title == "Dienstanweisung Datenschutz"
    assert doc.language == "de"
    assert doc.modified == dt.datetime(2024, 5, 17, 9, 30, tzinfo=dt.UTC)
    assert kinds(doc) == [
        ("heading", 1, "Geltungsbereich"),
        ("paragraph", 0, GERMAN),
        ("list_item", 1, "Erster Punkt"),
        ("list_item", 2, "Unterpunkt"),
        ("list_item", 1, "Zweiter Punkt"),
        ("table", 0, "Rolle | Aufgabe\nDSB | Beratung\nAmt | Umsetzung und Kontrolle"),
        ("heading", 2, "Zuständigkeiten"),
        ("paragraph", 0, "Zuständig ist das Hauptamt."),
    ]


def test_docx_german_style_names_and_detected_language(tmp_path: Path) -> None:
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    heading = document.styles.add_style("Überschrift 2", WD_STYLE_TYPE.PARAGRAPH)
    listing = document.styles.add_style("Aufzählung Liste", WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("Antragstellung", style=heading)
    document.add_paragraph(ENGLISH)
    document.add_paragraph("Formular ausfüllen", style=listing)
    path = tmp_path / "de.docx"
    document.save(str(path))
    doc = extract_file(path)
    assert kinds(doc) == [
        ("heading", 2, "Antragstellung"),
        ("paragraph", 0, ENGLISH),
        ("list_item", 1, "Formular ausfüllen"),
    ]
    assert doc.title == "Antragstellung"  # no core title: first heading
    assert doc.language == "en"


def test_docx_corrupt(tmp_path: Path) -> None:
    data = make_docx(tmp_path / "a.docx").read_bytes()
    with pytest.raises(ExtractionError, match=r"^not a readable DOCX: "):
        extract_bytes(data[: len(data) // 2], name="kaputt.docx")
    with pytest.raises(ExtractionError, match=r"^not a readable DOCX: "):
        extract_bytes(b"this is not a zip file at all", name="kaputt.docx")


# --- HTML -----------------------------------------------------------------------------------------------------

PAGE = """<!DOCTYPE html>
<html lang="de-DE"><head><meta charset="windows-1252"><title>Bürgeramt – Stadt Musterstadt</title>
<meta property="og:title" content="Bürgeramt">
<meta property="article:modified_time" content="2024-03-05T10:00:00+01:00">
<style>p { color: red }</style><script>var tracking = "Nicht indexieren";</script></head>
<body>
<header><nav><a href="/">Startseite</a> <a href="/kontakt">Kontakt</a></nav></header>
<aside>Aktuelle Meldungen am Rand</aside>
<main>
 <article>
  <header><h1>Bürgeramt</h1></header>
  <p>Das Bürgeramt ist die <b>zentrale</b> Anlaufstelle für <a href="/x">Meldeangelegenheiten</a>.<br>Bitte
     Termin buchen.</p>
  <div hidden>versteckter Text</div><div style="display: none">auch versteckt</div>
  <span aria-hidden="true">Symbol</span>
  <h2>Leistungen</h2>
  <ul>
   <li>Personalausweis
     <ul><li>Erstantrag</li><li><p>Verlängerung</p></li></ul>
   </li>
   <li>Reisepass</li>
  </ul>
  <table>
   <thead><tr><th>Leistung</th><th>Gebühr</th></tr></thead>
   <tbody><tr><td>Personalausweis</td><td>37,00 €</td></tr><tr><td>Reisepass</td><td>70,00 €</td></tr></tbody>
  </table>
  <pre>Öffnungszeiten:
  Mo–Fr  8–12 Uhr</pre>
  <div>Text direkt im div <em>mit Betonung</em></div>
  <form><label>Suche</label><input name="q"></form>
 </article>
</main>
<footer>Impressum · Datenschutz</footer>
</body></html>
"""


def test_html_main_content_structure() -> None:
    doc = extract_bytes(PAGE.encode("cp1252"), name="buergeramt.html")
    assert_consistent(doc)
    assert doc.mime == "text/html"
    assert doc.title == "Bürgeramt – Stadt Musterstadt"
    assert doc.language == "de"
    assert doc.modified == dt.datetime(2024, 3, 5, 9, 0, tzinfo=dt.UTC)
    assert kinds(doc) == [
        ("heading", 1, "Bürgeramt"),
        ("paragraph", 0, "Das Bürgeramt ist die zentrale Anlaufstelle für Meldeangelegenheiten.\nBitte Termin buchen."),
        ("heading", 2, "Leistungen"),
        ("list_item", 1, "Personalausweis"),
        ("list_item", 2, "Erstantrag"),
        ("list_item", 2, "Verlängerung"),
        ("list_item", 1, "Reisepass"),
        ("table", 0, "Leistung | Gebühr\nPersonalausweis | 37,00 €\nReisepass | 70,00 €"),
        ("code", 0, "Öffnungszeiten:\n  Mo–Fr  8–12 Uhr"),
        ("paragraph", 0, "Text direkt im div mit Betonung"),
    ]
    for dropped in ("Startseite", "Impressum", "versteckt", "Symbol", "tracking", "Suche", "Rand", "color"):
        assert dropped not in doc.text


def test_html_body_fallback_and_charset_from_content_type() -> None:
    html = "<html><body><div>Grüße aus dem Rathaus</div><p>Zweiter Absatz</p>Text<br><br>Neuer Absatz</body></html>"
    doc = extract_bytes(html.encode("latin-1"), name="seite", content_type="text/html; charset=ISO-8859-1")
    assert [b.kind for b in doc.blocks] == ["paragraph"] * 4
    assert doc.text == "Grüße aus dem Rathaus\n\nZweiter Absatz\n\nText\n\nNeuer Absatz"
    assert doc.title == "Grüße aus dem Rathaus"  # no <title>, no heading: first line
    # a wrong declared charset falls back to UTF-8
    doc = extract_bytes(html.encode("utf-8"), name="seite.html", content_type="text/html; charset=us-ascii")
    assert doc.text.startswith("Grüße")


def test_html_role_main_og_title_and_modified_argument() -> None:
    html = (
        '<html><head><meta property="og:title" content="Wahlen 2025">'
        '<meta name="last-modified" content="2020-01-01"></head><body>'
        '<div>Navigation links</div><div role="main"><h3>Briefwahl</h3><p>Die Unterlagen kommen per Post.</p></div>'
        "</body></html>"
    )
    modified = dt.datetime(2025, 2, 1, 12, 0, tzinfo=dt.UTC)
    doc = extract_bytes(html.encode(), name="wahl.html", source_url="https://stadt.example/wahl", modified=modified)
    assert kinds(doc) == [("heading", 3, "Briefwahl"), ("paragraph", 0, "Die Unterlagen kommen per Post.")]
    assert doc.title == "Wahlen 2025"
    assert doc.modified == modified  # the crawler's Last-Modified wins over the page's meta
    assert doc.source_url == "https://stadt.example/wahl"
    assert extract_bytes(html.encode(), name="wahl.html").modified == dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def test_html_without_text_fails() -> None:
    html = b"<html><head><title>Leer</title><script>x()</script></head><body><nav>Menu</nav></body></html>"
    with pytest.raises(ExtractionError, match=r"^HTML page without text$"):
        extract_bytes(html, name="leer.html")


# --- Markdown -------------------------------------------------------------------------------------------------

MARKDOWN = """---
title: "Leitfaden KI-Nutzung"
---
# Leitfaden **KI** in der Verwaltung

Ein [Link zur Seite](https://example.org/ki) und *kursiver* Text mit `code`.
Zweite Zeile.

- Eins
- Zwei
  - Zwei a
- Drei

| Modell | Lizenz |
|--------|--------|
| Qwen | Apache-2.0 |
| **Llama** | Community |

```python
print("hallo")
```

## Kontakt
"""


def test_markdown_structure() -> None:
    doc = extract_bytes(MARKDOWN.encode(), name="leitfaden.md")
    assert_consistent(doc)
    assert doc.mime == "text/markdown"
    assert doc.title == "Leitfaden KI-Nutzung"
    assert kinds(doc) == [
        ("heading", 1, "Leitfaden KI in der Verwaltung"),
        ("paragraph", 0, "Ein Link zur Seite und kursiver Text mit code.\nZweite Zeile."),
        ("list_item", 1, "Eins"),
        ("list_item", 1, "Zwei"),
        ("list_item", 2, "Zwei a"),
        ("list_item", 1, "Drei"),
        ("table", 0, "Modell | Lizenz\nQwen | Apache-2.0\nLlama | Community"),
        ("code", 0, 'print("hallo")'),
        ("heading", 2, "Kontakt"),
    ]
    assert "https://" not in doc.text and "**" not in doc.text


def test_markdown_title_from_first_heading() -> None:
    doc = extract_bytes(b"Vorwort ohne Titel.\n\n## Abschnitt\n\nText.", name="notiz.markdown")
    assert doc.title == "Abschnitt"


# --- plain text -----------------------------------------------------------------------------------------------


def test_text_latin1_headings_paragraphs_lists(tmp_path: Path) -> None:
    text = (
        "Bekanntmachung\n==============\n\n"
        "Die Stadt informiert über die Änderung der Öffnungszeiten.\nAb Montag gilt:\n\n"
        "Öffnungszeiten\n\n"
        "Montag bis Freitag von 8 bis 12 Uhr, donnerstags zusätzlich von 14 bis 18 Uhr.\n\n"
        "- Bürgerbüro\n- Standesamt\n  mit Trauzimmer\n    - Terminvergabe\n\n"
        "Unterstrichen\n-------------\nRest des Textes.\n"
    )
    path = tmp_path / "aushang.txt"
    path.write_bytes(text.encode("latin-1"))
    doc = extract_file(path)
    assert_consistent(doc)
    assert doc.warnings == ["decoded as windows-1252"]
    assert doc.mime == "text/plain"
    assert doc.title == "Bekanntmachung"
    assert doc.language == "de"
    assert kinds(doc) == [
        ("heading", 1, "Bekanntmachung"),
        ("paragraph", 0, "Die Stadt informiert über die Änderung der Öffnungszeiten.\nAb Montag gilt:"),
        ("heading", 2, "Öffnungszeiten"),
        ("paragraph", 0, "Montag bis Freitag von 8 bis 12 Uhr, donnerstags zusätzlich von 14 bis 18 Uhr."),
        ("list_item", 1, "Bürgerbüro"),
        ("list_item", 1, "Standesamt mit Trauzimmer"),
        ("list_item", 2, "Terminvergabe"),
        ("heading", 2, "Unterstrichen"),
        ("paragraph", 0, "Rest des Textes."),
    ]


def test_text_letter_closing_is_no_heading_and_wrapped_hyphens_join() -> None:
    text = (
        "Sehr geehrte Damen und Herren,\n\n"
        "die Verwal-\ntung prüft im Verwaltungs-\nund Finanzausschuss Ihren An-\nTrag.\n\n"
        "Mit freundlichen Grüßen\n\ngez. Müller\n"
    )
    doc = extract_bytes(text.encode(), name="brief.txt")
    assert kinds(doc) == [
        ("paragraph", 0, "Sehr geehrte Damen und Herren,"),
        ("paragraph", 0, "die Verwaltung prüft im Verwaltungs-\nund Finanzausschuss Ihren An-\nTrag."),
        ("paragraph", 0, "Mit freundlichen Grüßen"),
        ("paragraph", 0, "gez. Müller"),
    ]
    assert doc.title == "Sehr geehrte Damen und Herren,"


def test_text_utf8_bom_crlf_and_title_from_first_line() -> None:
    doc = extract_bytes(b"\xef\xbb\xbfErste Zeile des Vermerks.\r\nZweite Zeile.\r\n", name="vermerk.text")
    assert doc.warnings == []
    assert doc.text == "Erste Zeile des Vermerks.\nZweite Zeile."
    assert doc.title == "Erste Zeile des Vermerks."


def test_text_errors(tmp_path: Path) -> None:
    empty = tmp_path / "leer.txt"
    empty.write_bytes(b"")
    with pytest.raises(ExtractionError, match=r"^empty file$"):
        extract_file(empty)
    with pytest.raises(ExtractionError, match=r"^empty file$"):
        extract_bytes(b" \n\t\r\n ", name="leer.txt")
    garbage = bytes(range(256)) * 20
    with pytest.raises(ExtractionError, match=r"^not a text file$"):
        extract_bytes(garbage, name="daten.txt")
    with pytest.raises(ExtractionError, match=r"^cannot read file: "):
        extract_file(tmp_path / "fehlt.txt")


def test_long_first_line_is_no_title_the_file_name_is() -> None:
    line = " ".join(["Verwaltungsvorschrift"] * 30)
    assert extract_bytes(line.encode(), name="vv.txt").title == "vv.txt"
    assert extract_bytes(b"Kurzer Vermerk\n\n" + line.encode(), name="vv.txt").title == "Kurzer Vermerk"
    heading = "# " + line
    doc = extract_bytes(heading.encode(), name="vv.md")
    assert doc.title is not None and len(doc.title) <= 201 and doc.title.endswith("…")
    assert line.startswith(doc.title[:-1])


# --- entry points: limits, types, dates, language -------------------------------------------------------------


def test_too_large_is_rejected_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "gross.txt"
    path.write_bytes(b"a" * 3_000_000)
    with pytest.raises(ExtractionError) as info:
        extract_file(path, max_bytes=1_000_000)
    assert str(info.value) == "file too large: 3.0 MB (limit 1 MB)"
    with pytest.raises(ExtractionError, match=r"^file too large: 0.0 MB \(limit 1e-05 MB\)$"):
        extract_bytes(b"x" * 20, name="a.txt", max_bytes=10)


def test_unsupported_type(tmp_path: Path) -> None:
    path = tmp_path / "tabelle.xyz"
    path.write_bytes(b"\x01\x02\x03 binary \x00\x00\x00\x00")
    with pytest.raises(ExtractionError) as info:
        extract_file(path)
    message = str(info.value)
    assert message.startswith("unsupported file type .xyz (supported: ")
    assert all(suffix in message for suffix in SUPPORTED_SUFFIXES)
    with pytest.raises(ExtractionError, match=r"^unsupported file type \.doc "):
        extract_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, name="alt.doc")


def test_supported_suffixes() -> None:
    assert {".pdf", ".docx", ".html", ".htm", ".md", ".markdown", ".txt", ".text"} == set(SUPPORTED_SUFFIXES)


def test_detect_kind_sniffs_magic_bytes(tmp_path: Path) -> None:
    pdf = make_report_pdf(tmp_path / "r.pdf").read_bytes()
    docx_bytes = make_docx(tmp_path / "d.docx").read_bytes()
    html = b"<!DOCTYPE html><html><body><p>Hallo</p></body></html>"
    assert detect_kind("download", None, pdf) == "pdf"
    assert detect_kind("bericht.html", "text/html", pdf) == "pdf"  # magic bytes win
    assert detect_kind("anlage.bin", "application/octet-stream", docx_bytes) == "docx"
    assert detect_kind("index", None, html) == "html"
    assert detect_kind("bericht.pdf", "application/pdf", html) == "html"  # an error page instead of the PDF
    assert detect_kind("https://stadt.example/doc.pdf?download=1", None, pdf) == "pdf"
    assert detect_kind("news.php", "text/html; charset=utf-8", b"<p>kurz</p>") == "html"
    assert detect_kind("readme", "text/markdown", b"# Titel") == "markdown"
    assert detect_kind("README", None, b"Nur Text") == "text"
    assert detect_kind("notiz.md", None, b"# Titel") == "markdown"
    assert detect_kind("C:\\Daten\\brief.TXT", None, b"Hallo") == "text"
    with pytest.raises(ExtractionError, match="unsupported file type"):
        detect_kind("bild.png", "image/png", png_bytes())
    # extracting a PDF named .html works through the sniffing
    assert extract_bytes(pdf, name="falsch.html").mime == "application/pdf"


def test_modified_from_file_mtime(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("# Titel\n\nText der Notiz.", encoding="utf-8")
    stamp = dt.datetime(2023, 7, 1, 8, 0, tzinfo=dt.UTC).timestamp()
    os.utime(path, (stamp, stamp))
    assert extract_file(path).modified == dt.datetime(2023, 7, 1, 8, 0, tzinfo=dt.UTC)
    # a naive modified argument is taken as UTC
    doc = extract_bytes(b"Text", name="a.txt", modified=dt.datetime(2024, 1, 2, 3, 4))
    assert doc.modified == dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [(GERMAN, "de"), (ENGLISH, "en"), (UKRAINIAN, "uk"), (RUSSIAN, "ru"), ("Kurz.", None), ("12345 67890 ...", None)],
)
def test_detect_language(text: str, expected: str | None) -> None:
    assert detect_language(text) == expected


def test_language_detected_for_ukrainian_file(tmp_path: Path) -> None:
    path = tmp_path / "info_uk.txt"
    path.write_text(f"Інформація для біженців\n\n{UKRAINIAN}\n", encoding="utf-8")
    doc = extract_file(path)
    assert doc.language == "uk"
    assert doc.title == "Інформація для біженців"
    cp1251 = tmp_path / "info_cp1251.txt"
    cp1251.write_bytes(UKRAINIAN.encode("cp1251"))
    doc = extract_file(cp1251)
    assert doc.text == UKRAINIAN
    assert doc.language == "uk"
    assert doc.warnings and doc.warnings[0].startswith("decoded as cp1251")


def test_bytes_and_file_agree(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "x.docx")
    from_file = extract_file(path)
    from_bytes = extract_bytes(io.BytesIO(path.read_bytes()).getvalue(), name="x.docx")
    assert from_file.text == from_bytes.text
    assert from_file.blocks == from_bytes.blocks
