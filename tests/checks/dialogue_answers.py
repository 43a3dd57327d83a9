"""A complete Wohngeld first application as an applicant types it (German formats), shared by the dialogue tests."""

from __future__ import annotations

import datetime as dt

from conftest import pdf_bytes

TODAY = dt.date.today()

#: field id → what the applicant types; employment income, so the employer is asked too
WOHNGELD = {
    "vorname": "Anna Maria",
    "nachname": "Müller-Lüdenscheidt",
    "geburtsdatum": "14.03.1985",
    "staatsangehoerigkeit": "deutsch",
    "drittstaat": "nein",
    "familienstand": "ledig",
    "strasse_hausnummer": "Lindwurmstraße 12",
    "plz": "80337",
    "ort": "München",
    "telefon": "",
    "email": "anna.mueller@example.org",
    "haushaltsmitglieder": "2",
    "einzugsdatum": "01.09.2019",
    "wohnflaeche": "54,5",
    "miete": "612,50",
    "vermieter": "Wohnbau Isar GmbH",
    "einkommensart": "erwerbstaetigkeit",
    "arbeitgeber": "Bäckerei Huber",
    "einkommen_brutto": "1.980,00",
    "iban": "DE89 3704 0044 0532 0130 00",
    "kontoinhaber": "Anna Maria Müller-Lüdenscheidt",
    "antragsdatum": TODAY.strftime("%d.%m.%Y"),
    "unterschrift": "ja",
}

#: the values as stored (the contract's formats)
STORED = {
    "geburtsdatum": "1985-03-14", "drittstaat": "false", "plz": "80337", "haushaltsmitglieder": "2",
    "einzugsdatum": "2019-09-01", "wohnflaeche": "54.50", "miete": "612.50", "einkommen_brutto": "1980.00",
    "iban": "DE89370400440532013000", "unterschrift": "true", "antragsdatum": TODAY.isoformat(),
}


pdf = pdf_bytes  # a born-digital PDF with one line of text per PDF line
