"""Hand-built packets for the rules' unit tests (pure logic: no OCR, no database)."""

from __future__ import annotations

from datetime import date

from rathaus.checks.model import Document, Evidence, Packet, PageText, Value

SUBMITTED = date(2025, 6, 16)


def val(text: str, confidence: float = 1.0, file: str = "antrag.json", page: int | None = None,
        bbox: tuple[int, int, int, int] | None = None) -> Value:
    return Value(text, confidence, Evidence(file, page, text, bbox))


def doc(kind: str, file: str, confidence: float = 0.95, pages: list[str] | None = None,
        **fields: str | Value) -> Document:
    texts = pages or [f"{kind} {file}"]
    page_texts = [PageText(file, number, text, 0.9, "ocr") for number, text in enumerate(texts, start=1)]
    values = {key: value if isinstance(value, Value) else val(value, 0.9, file, 1, (10, 20, 200, 40))
              for key, value in fields.items()}
    return Document(file, kind, confidence, page_texts, values)


PERSON = {"vorname": "Erika", "nachname": "Müller", "geburtsdatum": "1985-03-14",
          "strasse_hausnummer": "Lindwurmstraße 12", "plz": "80337", "ort": "München", "antragsdatum": "2025-06-14",
          "unterschrift": "true"}
NAME = {"surname": "MUELLER", "given_names": "ERIKA"}
ADDRESS = "Lindwurmstr. 12, 80337 München"


def wohngeld_packet(**overrides: str | None) -> Packet:
    """A complete first application for housing benefit (employed, German); ``overrides`` change or (None) drop
    form fields."""
    form = dict(PERSON, staatsangehoerigkeit="deutsch", drittstaat="false", familienstand="ledig",
                haushaltsmitglieder="2", einzugsdatum="2021-04-01", wohnflaeche="58", miete="812.50",
                vermieter="Hausverwaltung Isar GmbH", einkommensart="erwerbstaetigkeit", arbeitgeber="Stadtwerke",
                einkommen_brutto="2450.00", iban="DE89 3704 0044 0532 0130 00", kontoinhaber="Erika Müller")
    for key, value in overrides.items():
        if value is None:
            form.pop(key, None)
        else:
            form[key] = value
    documents = [
        doc("rental_contract", "mietvertrag.pdf", pages=["Mietvertrag Seite 1 von 2", "Unterschriften Seite 2 von 2"],
            rent="812.50", address=ADDRESS, **NAME),
        *[doc("payslip", f"lohn-{month}.jpg", period=f"2025-{month:02d}", net_income="1650.00", employer="Stadtwerke",
              **NAME) for month in (3, 4, 5)],
        doc("bank_statement", "konto.pdf", issue_date="2025-06-02", iban="DE89370400440532013000"),
    ]
    return Packet(submitted_on=SUBMITTED, form={key: val(value) for key, value in form.items()}, documents=documents)


def residence_packet(**overrides: str | None) -> Packet:
    """A complete first application for a residence permit for employment."""
    form = dict(PERSON, geburtsort="Pune, Indien", staatsangehoerigkeit="indisch", reisepass_nummer="C01X00T47",
                aufenthaltszweck="fachkraft_akademisch", arbeitgeber="Muster AG", berufsbezeichnung="Ingenieurin",
                beschaeftigung_beginn="2025-08-01", berufsausuebungserlaubnis_erforderlich="false",
                krankenversicherung="AOK Bayern")
    for key, value in overrides.items():
        if value is None:
            form.pop(key, None)
        else:
            form[key] = value
    documents = [
        doc("passport", "pass.jpg", document_number="C01X00T47", birth_date="1985-03-14", expiry_date="2031-01-31",
            mrz="P<INDMUELLER<<ERIKA<<<<\nC01X00T47...", mrz_valid="true", **NAME),
        doc("photo", "foto.jpg"),
        doc("employment_contract", "vertrag.pdf", pages=["Arbeitsvertrag Seite 1 von 1"], employer="Muster AG",
            signature="true", **NAME),
        doc("employer_declaration", "erklaerung.pdf", pages=["Erklärung Seite 1 von 2", "Seite 2 von 2"],
            employer="Muster AG", signature="true", **NAME),
        doc("qualification_certificate", "diplom.pdf"),
        doc("registration_certificate", "meldung.pdf", address=ADDRESS, birth_date="1985-03-14", **NAME),
        doc("health_insurance_certificate", "kv.pdf"),
    ]
    return Packet(submitted_on=SUBMITTED, form={key: val(value) for key, value in form.items()}, documents=documents)
