"""Document images for the synthetic packets: German ID card (front, back with TD1 MRZ), passport data page
(TD3 MRZ), payslip, rental contract (two pages), registration certificate, bank statement, pension notice and
employer declaration (two pages). OCR-friendly but laid out like the real documents; every page is marked
"MUSTER – synthetische Daten"."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from PIL import Image

from rathaus.checks.synthetic.facts import Facts, format_iban, german_amount, german_date
from rathaus.checks.synthetic.mrz import break_check_digit, td1, td1_german_id, td3_passport
from rathaus.checks.synthetic.sheet import Sheet

MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
          "November", "Dezember")


@dataclass
class Page:
    image: Image.Image
    text: str
    number: int
    count: int


@dataclass
class DocSpec:
    """What to render: the kind, and per-document settings that defects change."""

    kind: str
    requirement: str | None = None  # document requirement id it is meant to meet
    period: date | None = None  # first day of the month for payslips / pension notices / statements
    mrz_broken: bool = False
    signed: bool = True
    index: int = 0  # the n-th document of its kind in the packet (varies the layout a little)


@dataclass
class Rendered:
    kind: str
    pages: list[Page]
    fields: dict[str, str] = field(default_factory=dict)  # the truth of the document fields (CHECKS.md keys)


A4 = (210.0, 297.0)
ID1 = (85.6, 54.0)
TD3_PAGE = (125.0, 88.0)


def _a4(dpi: int) -> Sheet:
    sheet = Sheet(*A4, dpi)
    sheet.stamp(195, 8)
    return sheet


def _footer(sheet: Sheet, number: int, count: int, left: str) -> None:
    sheet.rule(280, 15, 195, 0.2)
    sheet.row(282.5, [(15, left), (195, f"Seite {number} von {count}")], 9, right_from=1)


def _month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def id_card(facts: Facts, spec: DocSpec, rng: random.Random, dpi: int) -> Rendered:
    card_dpi = round(dpi * 1.5)
    front = Sheet(*ID1, card_dpi)
    front.gradient((226, 238, 232), (236, 226, 236))
    front.text(4, 2.5, "BUNDESREPUBLIK DEUTSCHLAND", 7, bold=True)
    front.text(4, 6.3, "PERSONALAUSWEIS / IDENTITY CARD", 5.5)
    front.text(82, 2.5, facts.id_number, 7, bold=True, mono=True, right=True)
    front.portrait(4, 11, 27, 41, rng)
    y = 11.0
    for label, value in (("Name / Surname", facts.surname.upper()),
                         ("Vornamen / Given names", facts.given_names.upper()),
                         ("Geburtstag / Date of birth", german_date(facts.birth_date)),
                         ("Staatsangehörigkeit / Nationality", "DEUTSCH"),
                         ("Geburtsort / Place of birth", facts.birth_place.upper()),
                         ("Gültig bis / Date of expiry", german_date(facts.id_expiry_date))):
        y = front.text(30, y, label, 4.2, color=(70, 70, 90))
        y = front.text(30, y - 0.2, value, 6.2, bold=True) + 0.2
    front.stamp(4, 48.5, 5.5, right=False)

    back = Sheet(*ID1, card_dpi)
    back.gradient((236, 228, 236), (226, 238, 232))
    back.text(4, 3, "Anschrift / Address", 4.2, color=(70, 70, 90))
    back.text(4, 5.3, facts.street.upper(), 6.2, bold=True)
    back.text(4, 8.6, f"{facts.postcode} {facts.city.upper()}", 6.2, bold=True)
    back.text(4, 13, "Ausstellungsdatum / Date of issue", 4.2, color=(70, 70, 90))
    back.text(4, 15.3, german_date(facts.id_issue_date), 6.2, bold=True)
    back.text(46, 13, "Behörde / Authority", 4.2, color=(70, 70, 90))
    back.text(46, 15.3, f"STADT {facts.city.upper()}"[:24], 6.2, bold=True)
    back.stamp(82, 20, 5.5)
    mrz = td1_german_id(facts.id_number, facts.surname, facts.given_names, facts.birth_date, facts.id_expiry_date)
    if spec.mrz_broken:
        mrz = break_check_digit(mrz, rng.randrange(10))
    back.box(0, 31, 85.6, 54, fill=(250, 250, 250), outline=None)
    y = 33.5
    for line in mrz:
        y = back.text(3.2, y, line, 8.6, mono=True, color=(10, 10, 10)) + 0.9
    pages = [Page(front.image, front.truth, 1, 2), Page(back.image, back.truth, 2, 2)]
    return Rendered("id_card", pages, {
        "surname": facts.surname, "given_names": facts.given_names, "birth_date": facts.birth_date.isoformat(),
        "address": facts.address, "document_number": facts.id_number, "nationality": "DEU",
        "expiry_date": facts.id_expiry_date.isoformat(), "issue_date": facts.id_issue_date.isoformat(),
        "mrz": "\n".join(mrz), "mrz_valid": "false" if spec.mrz_broken else "true"})


def passport(facts: Facts, spec: DocSpec, rng: random.Random, dpi: int) -> Rendered:
    sheet = Sheet(*TD3_PAGE, round(dpi * 1.6))
    sheet.gradient((238, 234, 222), (226, 232, 240))
    german = facts.nationality == "DEU"
    sheet.text(5, 3, facts.issuing_state_name, 7.5, bold=True)
    sheet.text(5, 7.5, "REISEPASS / PASSPORT" if german else "PASSPORT / PASSEPORT", 6.5)
    sheet.text(120, 3, facts.passport_number, 8, bold=True, mono=True, right=True)
    sheet.portrait(5, 13, 35, 52, rng)
    nationality = "DEUTSCH" if german else facts.nationality
    y = 13.0
    for label, value in (("Typ / Type   Code", f"P   {'D' if german else facts.nationality}"),
                         ("Name / Surname", facts.surname.upper()),
                         ("Vornamen / Given names", facts.given_names.upper()),
                         ("Staatsangehörigkeit / Nationality", nationality),
                         ("Geburtstag / Date of birth", german_date(facts.birth_date)),
                         ("Geschlecht / Sex", facts.sex),
                         ("Geburtsort / Place of birth", facts.birth_place.upper()),
                         ("Ausstellungsdatum / Date of issue", german_date(facts.id_issue_date)),
                         ("Gültig bis / Date of expiry", german_date(facts.id_expiry_date))):
        y = sheet.text(40, y, label, 4.6, color=(70, 70, 90))
        y = sheet.text(40, y - 0.3, value, 6.0, bold=True) - 0.15
    sheet.stamp(5, 56, 5.5, right=False)
    state = "D" if german else facts.nationality
    mrz = td3_passport(facts.passport_number, state, state, facts.surname, facts.given_names, facts.birth_date,
                       facts.sex, facts.id_expiry_date)
    if spec.mrz_broken:
        mrz = break_check_digit(mrz, rng.randrange(10))
    sheet.box(0, 70, 125, 88, fill=(250, 250, 250), outline=None)
    y = 72.5
    for line in mrz:
        y = sheet.text(3.5, y, line, 8.7, mono=True, color=(10, 10, 10)) + 1.2
    return Rendered("passport", [Page(sheet.image, sheet.truth, 1, 1)], {
        "surname": facts.surname, "given_names": facts.given_names, "birth_date": facts.birth_date.isoformat(),
        "document_number": facts.passport_number, "nationality": facts.nationality,
        "expiry_date": facts.id_expiry_date.isoformat(), "issue_date": facts.id_issue_date.isoformat(),
        "mrz": "\n".join(mrz), "mrz_valid": "false" if spec.mrz_broken else "true"})


def _letterhead(sheet: Sheet, sender: str, sender_address: str, facts: Facts, place_date: str) -> float:
    sheet.text(15, 14, sender, 13, bold=True)
    sheet.text(15, 20, sender_address, 8.5, color=(80, 80, 80))
    y = sheet.paragraph(15, 38, [f"{facts.given_names} {facts.surname}", facts.street,
                                 f"{facts.postcode} {facts.city}"], 10)
    sheet.text(195, 38, place_date, 10, right=True)
    return y + 10


def payslip(facts: Facts, spec: DocSpec, rng: random.Random, dpi: int) -> Rendered:
    period = spec.period or facts.submitted_on.replace(day=1)
    end = _month_end(period)
    sheet = _a4(dpi)
    y = _letterhead(sheet, facts.employer, facts.employer_address, facts, german_date(end))
    y = sheet.text(15, y, f"Verdienstabrechnung {MONTHS[period.month - 1]} {period.year}", 15, bold=True) + 2
    personnel = 1000 + (sum(map(ord, facts.surname)) * 7) % 9000
    y = sheet.row(y, [(15, f"Abrechnungszeitraum: {german_date(period)} – {german_date(end)}"),
                      (130, f"Personalnummer: {personnel}")])
    y = sheet.row(y, [(15, f"Steuerklasse: {1 if facts.household_size == 1 else 3}"),
                      (130, f"Eintritt: {german_date(facts.employment_start)}")]) + 4
    sheet.rule(y, 15, 195)
    y = sheet.row(y + 2, [(15, "Bezeichnung"), (195, "Betrag EUR")], 10, bold=True, right_from=1)
    gross = facts.gross_income
    deductions = [("Lohnsteuer", gross * 0.14), ("Solidaritätszuschlag", 0.0), ("Kirchensteuer", gross * 0.011),
                  ("Krankenversicherung", gross * 0.0815), ("Rentenversicherung", gross * 0.093),
                  ("Arbeitslosenversicherung", gross * 0.013), ("Pflegeversicherung", gross * 0.017)]
    total = sum(round(v, 2) for _, v in deductions)
    net = facts.net_income
    y = sheet.row(y, [(15, "Grundgehalt"), (195, german_amount(gross))], right_from=1)
    y = sheet.row(y, [(15, "Gesamtbrutto"), (195, german_amount(gross))], bold=True, right_from=1) + 2
    for label, value in deductions:
        y = sheet.row(y, [(15, label), (195, german_amount(round(value, 2)))], right_from=1)
    y = sheet.row(y, [(15, "Summe Abzüge"), (195, german_amount(total))], right_from=1) + 2
    sheet.rule(y, 15, 195)
    y = sheet.row(y + 2, [(15, "Auszahlungsbetrag (netto)"), (195, german_amount(net))], 11, bold=True,
                  right_from=1) + 6
    y = sheet.text(15, y, f"Überweisung an: {facts.bank_name}", 10)
    sheet.text(15, y, f"IBAN: {format_iban(facts.iban)}", 10)
    _footer(sheet, 1, 1, "Diese Abrechnung wurde maschinell erstellt und ist ohne Unterschrift gültig.")
    return Rendered("payslip", [Page(sheet.image, sheet.truth, 1, 1)], {
        "surname": facts.surname, "given_names": facts.given_names, "address": facts.address,
        "employer": facts.employer, "period": f"{period:%Y-%m}", "issue_date": end.isoformat(),
        "gross_income": f"{gross:.2f}", "net_income": f"{net:.2f}", "iban": facts.iban, "page_of": "1/1"})


def rental_contract(facts: Facts, spec: DocSpec, rng: random.Random, dpi: int) -> Rendered:
    first = _a4(dpi)
    y = first.text(105 - 40, 18, "Mietvertrag für Wohnraum", 17, bold=True) + 6
    y = first.text(15, y, "Zwischen", 10)
    y = first.text(15, y, f"{facts.landlord}, {facts.landlord_address}", 10, bold=True)
    y = first.text(15, y, "– nachstehend Vermieter genannt – und", 10)
    y = first.text(15, y, f"{facts.given_names} {facts.surname}, geboren am {german_date(facts.birth_date)}", 10,
                   bold=True)
    y = first.text(15, y, "– nachstehend Mieter genannt – wird folgender Mietvertrag geschlossen:", 10) + 5
    y = first.text(15, y, "§ 1 Mietsache", 11, bold=True)
    y = first.paragraph(15, y, [
        f"Vermietet wird die Wohnung {facts.street}, {facts.postcode} {facts.city},",
        f"{rng.choice(('Erdgeschoss', '1. Obergeschoss', '2. Obergeschoss', '3. Obergeschoss'))}, "
        f"bestehend aus {facts.rooms} Zimmer(n), Küche, Bad.",
        f"Die Wohnfläche beträgt {facts.living_space} m².",
    ], 10) + 4
    y = first.text(15, y, "§ 2 Mietzeit", 11, bold=True)
    y = first.paragraph(15, y, [f"Das Mietverhältnis beginnt am {german_date(facts.move_in)} und läuft auf "
                                "unbestimmte Zeit."], 10) + 4
    y = first.text(15, y, "§ 3 Miete und Nebenkosten", 11, bold=True)
    y = first.text(15, y, "Die monatliche Miete beträgt:", 10)
    for label, value in (("Grundmiete (netto kalt)", facts.rent_base),
                         ("Vorauszahlung Betriebskosten", facts.rent_costs),
                         ("Vorauszahlung Heizkosten", facts.rent_heating)):
        y = first.row(y, [(25, label), (150, f"{german_amount(value)} EUR")], right_from=1)
    total = facts.rent_base + facts.rent_costs + facts.rent_heating
    y = first.row(y, [(25, "Gesamtmiete monatlich"), (150, f"{german_amount(total)} EUR")], bold=True,
                  right_from=1) + 2
    y = first.paragraph(15, y, ["Die Miete ist monatlich im Voraus, spätestens am dritten Werktag, auf das Konto",
                                "des Vermieters zu zahlen."], 10)
    _footer(first, 1, 2, "Mietvertrag für Wohnraum")

    second = _a4(dpi)
    y = 20.0
    y = second.text(15, y, "§ 4 Kaution", 11, bold=True)
    y = second.paragraph(15, y, [f"Der Mieter leistet eine Kaution von {german_amount(facts.rent_base * 3)} EUR.",
                                 "Sie ist getrennt vom Vermögen des Vermieters anzulegen."], 10) + 4
    y = second.text(15, y, "§ 5 Schönheitsreparaturen und Hausordnung", 11, bold=True)
    y = second.paragraph(15, y, ["Die Hausordnung ist Bestandteil dieses Vertrages. Tierhaltung bedarf der",
                                 "Zustimmung des Vermieters, ausgenommen Kleintiere."], 10) + 4
    y = second.text(15, y, "§ 6 Sonstige Vereinbarungen", 11, bold=True)
    y = second.text(15, y, "Keine.", 10) + 12
    signed_on = facts.move_in - timedelta(days=rng.randint(10, 40))
    y = second.text(15, y, f"{facts.city}, den {german_date(signed_on)}", 10) + 16
    if spec.signed:
        second.signature(18, y - 6, 50, rng)
        second.signature(118, y - 6, 45, rng)
    second.rule(y, 15, 85, 0.2)
    second.rule(y, 115, 185, 0.2)
    second.row(y + 1.5, [(15, "Vermieter"), (115, "Mieter")], 9)
    _footer(second, 2, 2, "Mietvertrag für Wohnraum")
    rent = facts.rent
    return Rendered("rental_contract", [Page(first.image, first.truth, 1, 2), Page(second.image, second.truth, 2, 2)],
                    {"surname": facts.surname, "given_names": facts.given_names, "address": facts.address,
                     "rent": f"{rent:.2f}", "issue_date": signed_on.isoformat(),
                     "living_space": str(facts.living_space), "landlord": facts.landlord,
                     "signature": "true" if spec.signed else "false", "page_of": "2/2"})


def registration_certificate(facts: Facts, spec: DocSpec, rng: random.Random, dpi: int) -> Rendered:
    sheet = _a4(dpi)
    issued = facts.submitted_on - timedelta(days=rng.randint(3, 40))
    sheet.text(15, 14, f"Stadt {facts.city}", 13, bold=True)
    sheet.text(15, 20, "Bürgerbüro – Meldebehörde", 9, color=(80, 80, 80))
    sheet.text(195, 20, german_date(issued), 10, right=True)
    y = sheet.text(15, 40, "Meldebestätigung", 17, bold=True)
    y = sheet.text(15, y, "(einfache Meldebescheinigung nach § 18 Abs. 1 Bundesmeldegesetz)", 9) + 6
    for label, value in (("Familienname", facts.surname), ("Vornamen", facts.given_names),
                         ("Geburtsdatum", german_date(facts.birth_date)), ("Geburtsort", facts.birth_place),
                         ("Staatsangehörigkeit", facts.nationality_word),
                         ("Anschrift", f"{facts.street}, {facts.postcode} {facts.city}"),
                         ("Wohnungsstatus", "alleinige Wohnung"),
                         ("Einzugsdatum", german_date(facts.move_in))):
        y = sheet.row(y, [(15, f"{label}:"), (70, value)], 10.5) + 1
    y += 8
    y = sheet.paragraph(15, y, ["Diese Bescheinigung wurde maschinell erstellt und ist ohne Unterschrift gültig.",
                                f"Stadt {facts.city}, Bürgerbüro"], 9)
    _footer(sheet, 1, 1, "Meldebestätigung")
    return Rendered("registration_certificate", [Page(sheet.image, sheet.truth, 1, 1)], {
        "surname": facts.surname, "given_names": facts.given_names, "birth_date": facts.birth_date.isoformat(),
        "address": facts.address, "issue_date": issued.isoformat(), "page_of": "1/1"})


def bank_statement(facts: Facts, spec: DocSpec, rng: random.Random, dpi: int) -> Rendered:
    period = spec.period or (facts.submitted_on.replace(day=1) - timedelta(days=1)).replace(day=1)
    end = _month_end(period)
    sheet = _a4(dpi)
    y = _letterhead(sheet, facts.bank_name, f"BIC {facts.bic}", facts, german_date(end))
    y = sheet.text(15, y, f"Kontoauszug {period.month}/{period.year}", 15, bold=True) + 1
    y = sheet.text(15, y, f"Kontoinhaber: {facts.given_names} {facts.surname}", 10)
    y = sheet.text(15, y, f"IBAN: {format_iban(facts.iban)}", 10)
    y = sheet.text(15, y, f"Zeitraum: {german_date(period)} bis {german_date(end)}", 10) + 4
    balance = round(rng.uniform(200, 3000), 2)
    y = sheet.row(y, [(15, "Alter Kontostand"), (195, f"{german_amount(balance)} H")], bold=True, right_from=1)
    sheet.rule(y, 15, 195)
    y = sheet.row(y + 1.5, [(15, "Datum"), (40, "Buchungstext"), (195, "Betrag EUR")], bold=True, right_from=2)
    entries = [(2, f"Miete {MONTHS[period.month - 1]} {facts.landlord}", -facts.rent),
               (5, "Lastschrift Stadtwerke Strom", -round(rng.uniform(40, 90), 2)),
               (9, "Kartenzahlung Supermarkt", -round(rng.uniform(20, 120), 2)),
               (14, "Lastschrift Telefon Internet", -round(rng.uniform(20, 50), 2)),
               (27, f"Gehalt {facts.employer}", facts.net_income)]
    for day, text, amount in entries:
        balance += amount
        y = sheet.row(y, [(15, german_date(period.replace(day=day))), (40, text[:48]),
                          (195, f"{german_amount(abs(amount))} {'S' if amount < 0 else 'H'}")], 9.5, right_from=2)
    sheet.rule(y + 1, 15, 195)
    sheet.row(y + 3, [(15, "Neuer Kontostand"), (195, f"{german_amount(balance)} H")], bold=True, right_from=1)
    _footer(sheet, 1, 1, f"{facts.bank_name} · Kontoauszug {period.month}/{period.year}")
    return Rendered("bank_statement", [Page(sheet.image, sheet.truth, 1, 1)], {
        "surname": facts.surname, "given_names": facts.given_names, "address": facts.address, "iban": facts.iban,
        "period": f"{period:%Y-%m}", "issue_date": end.isoformat(), "page_of": "1/1"})


def pension_notice(facts: Facts, spec: DocSpec, rng: random.Random, dpi: int) -> Rendered:
    period = spec.period or facts.submitted_on.replace(day=1)
    issued = period - timedelta(days=rng.randint(10, 25))
    sheet = _a4(dpi)
    y = _letterhead(sheet, "Deutsche Rentenversicherung Bund", "10704 Berlin", facts, german_date(issued))
    y = sheet.text(15, y, f"Versicherungsnummer: {facts.insurance_number}", 10) + 3
    y = sheet.text(15, y, "Rentenanpassung – Mitteilung über die Höhe Ihrer Rente", 13, bold=True) + 2
    y = sheet.paragraph(15, y, [f"Ihre Altersrente wird ab {german_date(period)} in folgender Höhe gezahlt:"],
                        10) + 2
    kv = round(facts.pension_gross * 0.0815, 2)
    pv = round(facts.pension_gross - kv - facts.pension_net, 2)
    for label, value, bold in (("Monatliche Rente (brutto)", facts.pension_gross, False),
                               ("Beitragsanteil Krankenversicherung", kv, False),
                               ("Beitrag Pflegeversicherung", pv, False),
                               ("Zahlbetrag monatlich", facts.pension_net, True)):
        y = sheet.row(y, [(20, label), (170, f"{german_amount(value)} EUR")], bold=bold, right_from=1)
    y += 4
    y = sheet.paragraph(15, y, [f"Die Rente wird auf das Konto IBAN {format_iban(facts.iban)} überwiesen.",
                                "Dieser Bescheid wurde maschinell erstellt und ist ohne Unterschrift gültig."], 10)
    _footer(sheet, 1, 1, "Deutsche Rentenversicherung")
    return Rendered("pension_notice", [Page(sheet.image, sheet.truth, 1, 1)], {
        "surname": facts.surname, "given_names": facts.given_names, "address": facts.address,
        "period": f"{period:%Y-%m}", "issue_date": issued.isoformat(), "gross_income": f"{facts.pension_gross:.2f}",
        "net_income": f"{facts.pension_net:.2f}", "iban": facts.iban, "page_of": "1/1"})


def employer_declaration(facts: Facts, spec: DocSpec, rng: random.Random, dpi: int) -> Rendered:
    issued = facts.submitted_on - timedelta(days=rng.randint(3, 30))
    first = _a4(dpi)
    first.text(15, 14, "Erklärung zum Beschäftigungsverhältnis", 16, bold=True)
    first.text(15, 21, "zur Vorlage bei der Ausländerbehörde und der Bundesagentur für Arbeit", 9)
    y = first.text(15, 32, "1. Angaben zum Arbeitgeber", 11, bold=True)
    for label, value in (("Name / Firma", facts.employer), ("Anschrift", facts.employer_address),
                         ("Betriebsnummer", facts.employer_number)):
        y = first.row(y, [(15, f"{label}:"), (70, value)]) + 0.5
    y = first.text(15, y + 5, "2. Angaben zur Arbeitnehmerin / zum Arbeitnehmer", 11, bold=True)
    for label, value in (("Familienname", facts.surname), ("Vornamen", facts.given_names),
                         ("Geburtsdatum", german_date(facts.birth_date)),
                         ("Staatsangehörigkeit", facts.nationality_word),
                         ("Anschrift", facts.address)):
        y = first.row(y, [(15, f"{label}:"), (70, value)]) + 0.5
    y = first.text(15, y + 5, "3. Angaben zur Beschäftigung", 11, bold=True)
    for label, value in (("Tätigkeit", facts.job_title), ("Beginn", german_date(facts.employment_start)),
                         ("Wöchentliche Arbeitszeit", f"{facts.weekly_hours} Stunden"),
                         ("Bruttoarbeitsentgelt", f"{german_amount(facts.gross_income)} EUR monatlich")):
        y = first.row(y, [(15, f"{label}:"), (70, value)]) + 0.5
    _footer(first, 1, 2, "Erklärung zum Beschäftigungsverhältnis")

    second = _a4(dpi)
    y = second.text(15, 20, "4. Arbeitsbedingungen", 11, bold=True)
    y = second.paragraph(15, y, ["Die Beschäftigung erfolgt zu den gleichen Arbeitsbedingungen wie für",
                                 "vergleichbare inländische Beschäftigte. Urlaubsanspruch: 30 Arbeitstage.",
                                 "Die Stelle ist sozialversicherungspflichtig."], 10) + 6
    y = second.text(15, y, "5. Erklärung des Arbeitgebers", 11, bold=True)
    y = second.paragraph(15, y, ["Ich versichere, dass die Angaben richtig und vollständig sind."], 10) + 10
    y = second.text(15, y, f"{facts.employer_address.split(', ')[-1]}, den {german_date(issued)}", 10) + 16
    if spec.signed:
        second.signature(18, y - 6, 55, rng)
    second.rule(y, 15, 95, 0.2)
    second.text(15, y + 1.5, "Unterschrift und Stempel des Arbeitgebers", 9)
    _footer(second, 2, 2, "Erklärung zum Beschäftigungsverhältnis")
    return Rendered("employer_declaration",
                    [Page(first.image, first.truth, 1, 2), Page(second.image, second.truth, 2, 2)], {
                        "surname": facts.surname, "given_names": facts.given_names,
                        "birth_date": facts.birth_date.isoformat(), "address": facts.address,
                        "employer": facts.employer, "gross_income": f"{facts.gross_income:.2f}",
                        "issue_date": issued.isoformat(), "signature": "true" if spec.signed else "false",
                        "page_of": "2/2"})


def residence_permit(facts: Facts, spec: DocSpec, rng: random.Random, dpi: int) -> Rendered:
    """The electronic residence permit card (eAT): front with the title, back with address and TD1 MRZ "AR"."""
    card_dpi = round(dpi * 1.5)
    front = Sheet(*ID1, card_dpi)
    front.gradient((232, 236, 226), (226, 230, 240))
    front.text(4, 2.5, "AUFENTHALTSTITEL", 7, bold=True)
    front.text(4, 6.3, "RESIDENCE PERMIT / TITRE DE SÉJOUR", 5.5)
    front.text(82, 2.5, facts.permit_number, 7, bold=True, mono=True, right=True)
    front.portrait(4, 11, 27, 41, rng)
    y = 11.0
    for label, value in (("Name / Surname", facts.surname.upper()),
                         ("Vornamen / Given names", facts.given_names.upper()),
                         ("Art des Titels / Type of permit", "AUFENTHALTSERLAUBNIS"),
                         ("Gültig bis / Valid until", german_date(facts.id_expiry_date)),
                         ("Staatsangehörigkeit / Nationality", facts.nationality)):
        y = front.text(30, y, label, 4.2, color=(70, 70, 90))
        y = front.text(30, y - 0.2, value, 6.2, bold=True) + 0.2
    front.stamp(4, 48.5, 5.5, right=False)
    back = Sheet(*ID1, card_dpi)
    back.gradient((226, 230, 240), (232, 236, 226))
    back.text(4, 3, "Anschrift / Address", 4.2, color=(70, 70, 90))
    back.text(4, 5.3, facts.street.upper(), 6.2, bold=True)
    back.text(4, 8.6, f"{facts.postcode} {facts.city.upper()}", 6.2, bold=True)
    back.text(4, 13, "Geburtstag / Date of birth", 4.2, color=(70, 70, 90))
    back.text(4, 15.3, german_date(facts.birth_date), 6.2, bold=True)
    back.text(46, 13, "Ausstellungsdatum / Date of issue", 4.2, color=(70, 70, 90))
    back.text(46, 15.3, german_date(facts.id_issue_date), 6.2, bold=True)
    back.stamp(82, 20, 5.5)
    mrz = td1("AR", "D", facts.permit_number, facts.surname, facts.given_names, facts.birth_date, facts.sex,
              facts.id_expiry_date, facts.nationality)
    if spec.mrz_broken:
        mrz = break_check_digit(mrz, rng.randrange(10))
    back.box(0, 31, 85.6, 54, fill=(250, 250, 250), outline=None)
    y = 33.5
    for line in mrz:
        y = back.text(3.2, y, line, 8.6, mono=True, color=(10, 10, 10)) + 0.9
    return Rendered("residence_permit", [Page(front.image, front.truth, 1, 2), Page(back.image, back.truth, 2, 2)], {
        "surname": facts.surname, "given_names": facts.given_names, "birth_date": facts.birth_date.isoformat(),
        "address": facts.address, "document_number": facts.permit_number, "nationality": facts.nationality,
        "expiry_date": facts.id_expiry_date.isoformat(), "issue_date": facts.id_issue_date.isoformat(),
        "mrz": "\n".join(mrz), "mrz_valid": "false" if spec.mrz_broken else "true"})


def vehicle_registration(facts: Facts, spec: DocSpec, rng: random.Random, dpi: int) -> Rendered:
    """Zulassungsbescheinigung Teil I (Fahrzeugschein), unfolded: 210 × 105 mm as FZV Anlage 6 prescribes, the
    entries next to their harmonised field codes (A plate, B first registration, C.1.1–C.1.3 holder, D make and
    trade name, E vehicle identification number, I date of this registration) in capitals, the holder's address
    in two lines (street; postcode and town) and the month of the next general inspection ("Nächste HU")."""
    sheet = Sheet(210, 105, round(dpi * 1.25))
    sheet.gradient((232, 240, 226), (240, 236, 222))
    sheet.stamp(205, 4)
    sheet.text(5, 4, "Zulassungsbescheinigung Teil I", 11, bold=True)
    sheet.text(5, 9.5, "Europäische Gemeinschaft – Bundesrepublik Deutschland", 7)
    issued = facts.submitted_on - timedelta(days=rng.randint(30, 1500))
    company = any(word in facts.vehicle_holder for word in ("GmbH", "AG", "KG", "mbH", "OHG", "e.V."))
    if facts.vehicle_holder and company:
        holder_surname, holder_given = facts.vehicle_holder, ""
    elif facts.vehicle_holder:
        holder_given, _, holder_surname = facts.vehicle_holder.partition(" ")
    else:
        holder_surname, holder_given = facts.surname, facts.given_names
    vin = "WVW" + "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(14))
    first_registration = issued - timedelta(days=900)
    inspection = _next_inspection(first_registration, facts.submitted_on)
    y = 17.0
    for code, label, value in (("A", "Amtliches Kennzeichen", facts.licence_plate),
                               ("B", "Datum der Erstzulassung", german_date(first_registration)),
                               ("C.1.1", "Name oder Firmenname", holder_surname.upper()),
                               ("C.1.2", "Vorname(n)", holder_given.upper() or "–"),
                               ("C.1.3", "Anschrift", facts.street.upper()),
                               ("", "", f"{facts.postcode} {facts.city.upper()}"),
                               ("D.1", "Marke", facts.vehicle.split()[0].upper()),
                               ("D.3", "Handelsbezeichnung", " ".join(facts.vehicle.split()[1:]).upper() or "–"),
                               ("E", "Fahrzeug-Identifizierungsnummer", vin),
                               ("I", "Datum dieser Zulassung", german_date(issued)),
                               ("", "Nächste HU", f"{inspection.month:02d}/{inspection.year}")):
        y = sheet.row(y, [(5, code), (22, label), (85, value)], 8.5) + 0.8
    sheet.text(5, y + 3, f"Zulassungsbehörde Stadt {facts.city}", 8)
    fields = {"license_plate": facts.licence_plate, "surname": holder_surname, "issue_date": issued.isoformat(),
              "address": facts.address, "first_registration_date": first_registration.isoformat(),
              "inspection_due": f"{inspection.year:04d}-{inspection.month:02d}"}
    if holder_given:
        fields["given_names"] = holder_given
    return Rendered("vehicle_registration", [Page(sheet.image, sheet.truth, 1, 1)], fields)


def _next_inspection(first_registration: date, on: date) -> date:
    """The month of the next general inspection (HU): three years after the first registration, then every two
    years (passenger cars, § 29 StVZO Anlage VIII), the first such month not before ``on``."""
    due = first_registration.replace(day=1)
    years = 3
    while True:
        candidate = due.replace(year=first_registration.year + years)
        if candidate >= on.replace(day=1):
            return candidate
        years += 2


def photo(facts: Facts, spec: DocSpec, rng: random.Random, dpi: int) -> Rendered:
    """A biometric passport photo (35 × 45 mm): a face placeholder, no text."""
    sheet = Sheet(35, 45, round(dpi * 1.5), background=(232, 234, 236))
    sheet.portrait(0, 0, 35, 45, rng)
    return Rendered("photo", [Page(sheet.image, "", 1, 1)], {})


def employment_contract(facts: Facts, spec: DocSpec, rng: random.Random, dpi: int) -> Rendered:
    signed_on = facts.submitted_on - timedelta(days=rng.randint(15, 60))
    first = _a4(dpi)
    y = first.text(70, 18, "Arbeitsvertrag", 17, bold=True) + 6
    y = first.text(15, y, "Zwischen", 10)
    y = first.text(15, y, f"{facts.employer}, {facts.employer_address}", 10, bold=True)
    y = first.text(15, y, "– nachfolgend Arbeitgeber – und", 10)
    y = first.text(15, y, f"{facts.given_names} {facts.surname}, geboren am {german_date(facts.birth_date)},", 10,
                   bold=True)
    y = first.text(15, y, f"wohnhaft {facts.address} – nachfolgend Arbeitnehmer –", 10) + 5
    for title, lines in (
            ("§ 1 Beginn und Tätigkeit", [f"Das Arbeitsverhältnis beginnt am {german_date(facts.employment_start)}.",
                                          f"Der Arbeitnehmer wird als {facts.job_title} eingestellt."]),
            ("§ 2 Probezeit", ["Die ersten sechs Monate gelten als Probezeit."]),
            ("§ 3 Arbeitszeit", [f"Die regelmäßige wöchentliche Arbeitszeit beträgt {facts.weekly_hours} Stunden."]),
            ("§ 4 Vergütung", [f"Das monatliche Bruttogehalt beträgt {german_amount(facts.gross_income)} EUR.",
                               "Es ist jeweils am Monatsende fällig."])):
        y = first.text(15, y, title, 11, bold=True)
        y = first.paragraph(15, y, lines, 10) + 4
    _footer(first, 1, 2, "Arbeitsvertrag")
    second = _a4(dpi)
    y = 20.0
    for title, lines in (("§ 5 Urlaub", ["Der Arbeitnehmer hat Anspruch auf 30 Arbeitstage Urlaub im Kalenderjahr."]),
                         ("§ 6 Kündigung", ["Es gelten die gesetzlichen Kündigungsfristen."]),
                         ("§ 7 Aufenthaltsrecht", ["Der Vertrag steht unter der Bedingung, dass die erforderliche",
                                                   "Aufenthaltserlaubnis erteilt wird."])):
        y = second.text(15, y, title, 11, bold=True)
        y = second.paragraph(15, y, lines, 10) + 4
    y = second.text(15, y + 6, f"{facts.employer_address.split(', ')[-1]}, den {german_date(signed_on)}", 10) + 16
    if spec.signed:
        second.signature(18, y - 6, 50, rng)
        second.signature(118, y - 6, 45, rng)
    second.rule(y, 15, 85, 0.2)
    second.rule(y, 115, 185, 0.2)
    second.row(y + 1.5, [(15, "Arbeitgeber"), (115, "Arbeitnehmer")], 9)
    _footer(second, 2, 2, "Arbeitsvertrag")
    return Rendered("employment_contract",
                    [Page(first.image, first.truth, 1, 2), Page(second.image, second.truth, 2, 2)], {
                        "surname": facts.surname, "given_names": facts.given_names,
                        "birth_date": facts.birth_date.isoformat(), "address": facts.address,
                        "employer": facts.employer, "gross_income": f"{facts.gross_income:.2f}",
                        "issue_date": signed_on.isoformat(), "signature": "true" if spec.signed else "false",
                        "page_of": "2/2"})


def qualification_certificate(facts: Facts, spec: DocSpec, rng: random.Random, dpi: int) -> Rendered:
    """A statement of comparability of a foreign degree (Zeugnisbewertung)."""
    issued = facts.submitted_on - timedelta(days=rng.randint(60, 700))
    sheet = _a4(dpi)
    y = _letterhead(sheet, "Zentralstelle für ausländisches Bildungswesen", "Graurheindorfer Straße 157, 53117 Bonn",
                    facts, german_date(issued))
    y = sheet.text(15, y, "Zeugnisbewertung für ausländische Hochschulqualifikationen", 13, bold=True) + 3
    for label, value in (("Inhaber/in", f"{facts.given_names} {facts.surname}"),
                         ("Geburtsdatum", german_date(facts.birth_date)),
                         ("Abschluss", facts.degree), ("Hochschule", facts.university),
                         ("Land", facts.issuing_state_name.title())):
        y = sheet.row(y, [(15, f"{label}:"), (60, value)]) + 0.8
    y += 5
    sheet.paragraph(15, y, ["Der Abschluss entspricht einem deutschen Hochschulabschluss auf Bachelorebene.",
                            "Diese Bewertung wurde maschinell erstellt und ist ohne Unterschrift gültig."], 10)
    _footer(sheet, 1, 1, "Zeugnisbewertung")
    return Rendered("qualification_certificate", [Page(sheet.image, sheet.truth, 1, 1)], {
        "surname": facts.surname, "given_names": facts.given_names, "birth_date": facts.birth_date.isoformat(),
        "issue_date": issued.isoformat(), "page_of": "1/1"})


def health_insurance_certificate(facts: Facts, spec: DocSpec, rng: random.Random, dpi: int) -> Rendered:
    issued = facts.submitted_on - timedelta(days=rng.randint(3, 40))
    since = min(facts.employment_start, issued)
    sheet = _a4(dpi)
    y = _letterhead(sheet, facts.insurer, "Versichertenservice", facts, german_date(issued))
    y = sheet.text(15, y, "Mitgliedsbescheinigung", 15, bold=True) + 3
    number = facts.surname[0].upper() + "".join(str(rng.randrange(10)) for _ in range(9))
    for label, value in (("Name", f"{facts.given_names} {facts.surname}"),
                         ("Geburtsdatum", german_date(facts.birth_date)),
                         ("Versichertennummer", number), ("Mitglied seit", german_date(since))):
        y = sheet.row(y, [(15, f"{label}:"), (65, value)]) + 0.8
    sheet.paragraph(15, y + 5, [f"Hiermit bestätigen wir, dass die oben genannte Person bei der {facts.insurer}",
                                "gesetzlich krankenversichert ist.",
                                "Diese Bescheinigung wurde maschinell erstellt und ist ohne Unterschrift gültig."], 10)
    _footer(sheet, 1, 1, "Mitgliedsbescheinigung")
    return Rendered("health_insurance_certificate", [Page(sheet.image, sheet.truth, 1, 1)], {
        "surname": facts.surname, "given_names": facts.given_names, "birth_date": facts.birth_date.isoformat(),
        "address": facts.address, "issue_date": issued.isoformat(), "page_of": "1/1"})


RENDERERS: dict[str, Callable[[Facts, DocSpec, random.Random, int], Rendered]] = {
    "id_card": id_card,
    "passport": passport,
    "payslip": payslip,
    "rental_contract": rental_contract,
    "registration_certificate": registration_certificate,
    "bank_statement": bank_statement,
    "pension_notice": pension_notice,
    "employer_declaration": employer_declaration,
    "residence_permit": residence_permit,
    "vehicle_registration": vehicle_registration,
    "photo": photo,
    "employment_contract": employment_contract,
    "qualification_certificate": qualification_certificate,
    "health_insurance_certificate": health_insurance_certificate,
}

# German file-name stems, as an applicant would name the uploads.
FILE_STEMS = {
    "id_card": "personalausweis", "passport": "reisepass", "payslip": "gehaltsabrechnung",
    "rental_contract": "mietvertrag", "registration_certificate": "meldebestaetigung",
    "bank_statement": "kontoauszug", "pension_notice": "rentenbescheid",
    "employer_declaration": "arbeitgebererklaerung", "residence_permit": "aufenthaltstitel",
    "vehicle_registration": "fahrzeugschein", "photo": "passfoto", "employment_contract": "arbeitsvertrag",
    "qualification_certificate": "zeugnisbewertung", "health_insurance_certificate": "krankenversicherung",
}
