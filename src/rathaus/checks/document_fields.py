"""The fields read from a recognised document (keys of CHECKS.md: surname, given_names, birth_date, address,
document_number, nationality, expiry_date, issue_date, period, mrz, mrz_valid, iban, net_income, gross_income,
rent, employer, signature, page_of, license_plate,
first_registration_date, inspection_due), each a :class:`Value` with confidence and evidence.

Values are found by their printed labels in the rows of the page (rows rebuilt from word boxes, so a label and
its value stay together), by the shape of a letter (recipient block, date line) and, for identity documents, by
the machine-readable zone. Dates come out ISO, amounts with a dot. A value whose check fails (MRZ check digit,
IBAN checksum) keeps a low confidence so that the rules call it "unsure" instead of "invalid" when OCR may be to
blame.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from rathaus.checks.layout import Found, PageView, ReadPage
from rathaus.checks.model import Evidence, Value
from rathaus.checks.signature import signature_lines
from rathaus.checks.validators import amount_text, parse_amount, parse_date, validate_iban

MONTHS = {name: number for number, names in enumerate((
    ("januar", "jan", "january", "jänner"), ("februar", "feb", "february"), ("märz", "mär", "maerz", "march", "mrz"),
    ("april", "apr"), ("mai", "may"), ("juni", "jun", "june"), ("juli", "jul", "july"), ("august", "aug"),
    ("september", "sep", "sept"), ("oktober", "okt", "october", "oct"), ("november", "nov"),
    ("dezember", "dez", "december", "dec")), 1) for name in names}
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
DATE = (rf"(?:\d{{1,2}}\s?\.\s?\d{{1,2}}\s?\.\s?(?:\d{{4}}|\d{{2}})|\d{{4}}-\d{{2}}-\d{{2}}|"
        rf"\d{{1,2}}\.?\s+(?:{_MONTH_NAMES})\.?\s+\d{{4}})")
AMOUNT = r"-?\d{1,3}(?:[.\s']\d{3})*(?:,\d{2})|-?\d+(?:,\d{2})|-?\d{1,3}(?:,\d{3})*\.\d{2}"
IBAN = r"\b[A-Z]{2}\s?\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b"
STREET = r"[A-ZÄÖÜ][\w.ßäöüÄÖÜ\-]*(?:\s[\w.ßäöüÄÖÜ\-]+){0,4}?\s\d{1,4}\s?[a-zA-Z]?(?:\s?[-/]\s?\d{1,4}[a-z]?)?"
PLACE = r"\d{5}\s+[A-ZÄÖÜ][\wßäöüÄÖÜ.\-]*(?:[ \-/][\wßäöüÄÖÜ.()\-]+){0,3}"
PLATE = r"[A-ZÄÖÜ]{1,3}[\s\-–]{1,2}[A-Z]{1,2}[\s\-]?\d{1,4}[EH]?"
NAME_WORD = r"[A-ZÄÖÜ][\wßäöüÄÖÜéèáàçñ'\-]+"
_NATIONALITIES = {"deutsch": "DEU", "german": "DEU", "deutschland": "DEU", "d": "DEU", "österreichisch": "AUT",
                  "italienisch": "ITA", "französisch": "FRA", "polnisch": "POL", "türkisch": "TUR",
                  "indisch": "IND", "ukrainisch": "UKR", "spanisch": "ESP", "griechisch": "GRC"}
_NOISE_ROW = re.compile(r"(?i:synthetisch)|\bMUSTER\b|^\W*$")


# --- values -------------------------------------------------------------------------------------------------------

def iso_date(text: str) -> str | None:
    """A German/ISO date as ISO (``None`` when it is none or impossible)."""
    parsed = parse_date(text)
    return parsed.isoformat() if parsed else None


def decimal_amount(text: str) -> str | None:
    """A German (or English) amount as a decimal with a dot: "1.234,56" → "1234.56"."""
    amount = parse_amount(text)
    return amount_text(amount) if amount is not None else None


def iban_check(iban: str) -> bool:
    """IBAN checksum, length and bank (schwifty, through the validators)."""
    return validate_iban(iban).valid


# --- per kind -----------------------------------------------------------------------------------------------------

ID_KINDS = ("id_card", "passport", "residence_permit")
LETTER_KINDS = ("payslip", "bank_statement", "pension_notice", "health_insurance_certificate",
                "registration_certificate", "qualification_certificate")


def extract(kind: str, pages: list[ReadPage], mrz: Any = None) -> dict[str, Value]:
    """The fields of a document of ``kind`` from its pages (``mrz``: a parsed MRZ found on them, if any)."""
    views = [PageView(page) for page in pages]
    fields: dict[str, Value] = {}
    if kind in ID_KINDS:
        fields.update(_identity(views, mrz))
    elif kind == "vehicle_registration":
        fields.update(_vehicle(views))
    else:
        fields.update(_person(views, kind))
        fields.update(_money(views, kind))
        fields.update(_dates(views, kind))
    iban = _iban(views)
    if iban and kind not in ID_KINDS:
        fields["iban"] = iban
    if kind in ("payslip", "employer_declaration", "employment_contract") and "employer" not in fields:
        employer = _employer(views, kind)
        if employer:
            fields["employer"] = employer
    signature = _signature(pages)
    if signature:
        fields["signature"] = signature
    page_of = _page_of(views)
    if page_of:
        fields["page_of"] = page_of
    return fields


def _first(views: list[PageView], label: str, value: str = r".+", *, after: tuple[int, int] | None = None,
           next_rows: int = 1) -> Found | None:
    for number, view in enumerate(views):
        if after is not None and number < after[0]:
            continue
        start = after[1] + 1 if after is not None and number == after[0] else 0
        found = view.labelled(label, value, start_row=start, next_rows=next_rows)
        if found:
            return found[0]
    return None


def _first_with_row(views: list[PageView], label: str, value: str = r".+") -> tuple[Found, tuple[int, int]] | None:
    for number, view in enumerate(views):
        found = view.labelled(label, value)
        if found:
            return found[0], (number, found[1])
    return None


def _search(views: list[PageView], pattern: str, group: int | str = 0) -> Found | None:
    for view in views:
        found = view.search(pattern, group)
        if found:
            return found[0]
    return None


def _date_value(found: Found | None, weight: float = 0.95) -> Value | None:
    if found is None:
        return None
    match = re.search(DATE, found.text, re.IGNORECASE)
    iso = iso_date(match.group(0)) if match else None
    return found.value(iso, weight=weight) if iso else None


def _name_value(found: Found | None, weight: float = 0.95) -> Value | None:
    if found is None:
        return None
    text = re.sub(r"\s{2,}.*$", "", found.text)  # a second column on the same row
    text = re.sub(r"[^\wßäöüÄÖÜéèáàçñ' \-]", " ", text)
    text = " ".join(w for w in text.split() if not any(c.isdigit() for c in w))
    if not text:
        return None
    return found.value(" ".join(part.capitalize() if part.isupper() else part for part in text.split()) if
                       text.isupper() else text, weight=weight)


def _identity(views: list[PageView], mrz: Any) -> dict[str, Value]:
    fields: dict[str, Value] = {}
    surname = _name_value(_first(views, r"(?:Familienname|Name)(?:\s*/\s*Surname)?|Surname", rf"{NAME_WORD}.*"))
    given = _name_value(_first(views, r"Vornamen?(?:\s*/\s*Given\s+names?)?|Given\s+names?", rf"{NAME_WORD}.*"))
    birth = _date_value(_first(views, r"Geburtstag|Geburtsdatum|Date of birth|Geburtstag\s*/\s*Date of birth",
                               rf".*?{DATE}"))
    expiry = _date_value(_first(views, r"G[üu]ltig bis(?:\s*/\s*(?:Date of expiry|Valid until))?|Date of expiry",
                                rf".*?{DATE}"))
    issue = _date_value(_first(views, r"Ausstellungsdatum(?:\s*/\s*Date of issue)?|Date of issue", rf".*?{DATE}"))
    nationality = _first(views, r"Staatsangeh[öo]rigkeit(?:\s*/\s*Nationality)?|Nationality", r"[A-Za-zÄÖÜäöü]+")
    for key, value in (("surname", surname), ("given_names", given), ("birth_date", birth),
                       ("expiry_date", expiry), ("issue_date", issue)):
        if value is not None:
            fields[key] = value
    if nationality is not None:
        code = _NATIONALITIES.get(nationality.text.lower()) or (
            nationality.text if re.fullmatch(r"[A-Z]{3}", nationality.text) else None)
        if code:
            fields["nationality"] = nationality.value(code, weight=0.9)
    number = _search(views, r"(?<![A-Z0-9])(?=[A-Z0-9]{8,10}(?![A-Z0-9]))(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]+")
    if number is not None and number.row.text.strip() != "" and "<" not in number.row.text:
        fields["document_number"] = number.value(weight=0.7)
    address = _two_row_address(views, r"Anschrift(?:\s*/\s*Address)?|Address|Wohnort")
    if address:
        fields["address"] = address
    if mrz is not None:
        fields.update(_mrz_fields(mrz, views, fields))
    return fields


def _mrz_fields(mrz: Any, views: list[PageView], visual: dict[str, Value]) -> dict[str, Value]:
    """Fields from a parsed MRZ (validators.mrz.MrzResult): sure when all check digits hold."""
    lines = list(getattr(mrz, "lines", ()) or ())
    raw = "\n".join(lines)
    page = next((view.page for view in views if "<<" in view.page.text.text), views[-1].page if views else None)
    file = page.text.file if page else ""
    number = page.text.number if page else None
    box = _mrz_box(page) if page else None
    valid = bool(getattr(mrz, "valid", False))
    checks = {"document_number": getattr(mrz, "document_number_check", valid),
              "birth_date": getattr(mrz, "birth_date_check", valid),
              "expiry_date": getattr(mrz, "expiry_date_check", valid)}
    fields: dict[str, Value] = {}

    def put(key: str, value: str | None, sure: bool) -> None:
        if value:
            fields[key] = Value(value, 0.99 if sure else 0.55, Evidence(file, number, raw[:200], box))

    surname = str(getattr(mrz, "surname", "") or "").title()
    given = str(getattr(mrz, "given_names", "") or "").title()
    put("surname", visual["surname"].value if "surname" in visual and _same(visual["surname"].value, surname)
        else surname, valid)
    put("given_names", visual["given_names"].value if "given_names" in visual
        and _same(visual["given_names"].value, given) else given, valid)
    put("document_number", str(getattr(mrz, "document_number", "") or ""), bool(checks["document_number"]))
    put("birth_date", getattr(mrz, "birth_date", None), bool(checks["birth_date"]))
    put("expiry_date", getattr(mrz, "expiry_date", None), bool(checks["expiry_date"]))
    put("nationality", str(getattr(mrz, "nationality", "") or "").replace("D", "DEU") if
        getattr(mrz, "nationality", "") == "D" else str(getattr(mrz, "nationality", "") or ""), valid)
    put("mrz", raw, True)
    # mrz_valid is read with the confidence of the reading: a failed check digit may be OCR's fault
    fields["mrz_valid"] = Value("true" if valid else "false", 0.99 if valid else 0.8,
                                Evidence(file, number, "; ".join(getattr(mrz, "messages", []) or [])[:200] or raw[:200],
                                         box))
    return fields


def _same(a: str, b: str) -> bool:
    def fold(text: str) -> str:
        text = text.upper()
        for umlaut, plain in (("Ä", "AE"), ("Ö", "OE"), ("Ü", "UE"), ("ß", "SS")):
            text = text.replace(umlaut, plain)
        return re.sub(r"[^A-Z]", "", text)
    return fold(a) == fold(b)


def _mrz_box(page: ReadPage) -> tuple[int, int, int, int] | None:
    boxes = [box for text, box, _ in page.text.words if text.count("<") >= 2]
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _two_row_address(views: list[PageView], label: str, *, start_row: int = 0) -> Value | None:
    """An address under (or after) a label: "Straße Nr" and "PLZ Ort" on one or two rows."""
    for view in views:
        hit = view.labelled(label, r".+", next_rows=1, start_row=start_row)
        if not hit:
            continue
        found, row = hit
        one = re.search(rf"({STREET})\s*,?\s+({PLACE})", found.text)
        if one:
            return found.value(_address_text(one.group(1), one.group(2)), weight=0.9)
        if re.fullmatch(STREET, found.text.strip()) and row + 1 < len(view.rows):
            place = re.search(PLACE, view.rows[row + 1].text)
            if place:
                return found.value(_address_text(found.text, place.group(0)), weight=0.85)
    return None


def _address_text(street: str, place: str) -> str:
    def tidy(text: str) -> str:
        text = re.sub(r"\s{2,}.*$", "", text.strip())
        return " ".join(part.title() if part.isupper() and len(part) > 2 else part for part in text.split())
    return f"{tidy(street)}, {tidy(place)}"


def _letter_address(views: list[PageView]) -> tuple[Value, Found, tuple[int, int]] | None:
    """The recipient block of a letter: a row "Straße Nr" directly followed by a row "PLZ Ort" (the sender's
    address is usually one row with commas and is skipped)."""
    for number, view in enumerate(views):
        for index, row in enumerate(view.rows[:-1]):
            first_column = re.split(r"\s{2,}", row.text.strip())[0]
            if "," in first_column or not re.fullmatch(STREET, first_column):
                continue
            place = re.match(PLACE, re.split(r"\s{2,}", view.rows[index + 1].text.strip())[0])
            if place:
                found = Found(first_column, view.page, row, row.text.find(first_column),
                              row.text.find(first_column) + len(first_column))
                return found.value(_address_text(first_column, place.group(0)), weight=0.9), found, (number, index)
    return None


def _person(views: list[PageView], kind: str) -> dict[str, Value]:
    fields: dict[str, Value] = {}
    surname_hit = _first_with_row(views, r"Familienname|Name oder Firmenname|Nachname", rf"{NAME_WORD}.*")
    if surname_hit:
        found, where = surname_hit
        value = _name_value(found)
        if value:
            fields["surname"] = value
        given = _name_value(_first(views, r"Vornamen?|Vorname\(n\)", rf"{NAME_WORD}.*"))
        if given:
            fields["given_names"] = given
        birth = _date_value(_first(views, r"Geburtsdatum|Geburtstag|geboren am", rf".*?{DATE}", after=where))
        if birth:
            fields["birth_date"] = birth
        address = _two_row_address([views[where[0]]], r"Anschrift|Wohnanschrift|Adresse|Wohnung",
                                   start_row=where[1] + 1)
        if address is None:
            after = _first(views, r"Anschrift|Wohnanschrift|Adresse", rf"{STREET}.*", after=where)
            if after is not None:
                match = re.search(rf"({STREET})\s*,?\s+({PLACE})", after.text)
                if match:
                    address = after.value(_address_text(match.group(1), match.group(2)), weight=0.9)
        if address:
            fields["address"] = address
    born = _search(views, rf"^\W*((?:{NAME_WORD}\s+){{1,4}}{NAME_WORD}),?\s+geb(?:oren|\.)\s*(?:am\s*)?({DATE})")
    if born is not None:
        match = re.search(rf"((?:{NAME_WORD}\s+){{1,4}}{NAME_WORD}),?\s+geb(?:oren|\.)\s*(?:am\s*)?({DATE})",
                          born.text)
        if match:
            fields.setdefault("surname", born.value(match.group(1).split()[-1], weight=0.9))
            fields.setdefault("given_names", born.value(" ".join(match.group(1).split()[:-1]), weight=0.9))
            if iso := iso_date(match.group(2)):
                fields.setdefault("birth_date", born.value(iso, weight=0.95))
    holder = _first(views, r"Kontoinhaber(?:in)?|Versicherte[rn]?|Inhaber(?:/?in)?|Name",
                    rf"{NAME_WORD}(?:\s+{NAME_WORD}){{1,4}}")
    if holder is not None and "surname" not in fields:
        parts = re.sub(r"\s{2,}.*$", "", holder.text).split()
        fields["surname"] = holder.value(parts[-1], weight=0.9)
        fields["given_names"] = holder.value(" ".join(parts[:-1]), weight=0.9)
    if "birth_date" not in fields:
        birth = _date_value(_first(views, r"Geburtsdatum|Geburtstag|geboren am", rf".*?{DATE}"))
        if birth:
            fields["birth_date"] = birth
    if kind in ("rental_contract", "employment_contract"):
        home = rf"(?:Wohnung|Mietsache|Mietobjekt|Lage|wohnhaft(?: in)?)\s+({STREET})\s*,?\s+({PLACE})"
        flat = _search(views, home)
        if flat is not None:
            match = re.search(home, flat.text, re.IGNORECASE)
            if match:
                fields["address"] = flat.value(_address_text(match.group(1), match.group(2)), weight=0.9)
        party = _party(views, "Vermieter" if kind == "rental_contract" else "Arbeitgeber")
        if party is not None:
            fields["landlord" if kind == "rental_contract" else "employer"] = party
    if "address" not in fields and kind in (*LETTER_KINDS, "employer_declaration", "employment_contract"):
        letter = _letter_address(views)
        if letter:
            value, _, (page_number, row) = letter
            fields["address"] = value
            if "surname" not in fields and row > 0:
                name_row = views[page_number].rows[row - 1]
                name = re.split(r"\s{2,}", name_row.text.strip())[0]
                parts = [p for p in name.split() if re.fullmatch(NAME_WORD, p)]
                if len(parts) >= 2:
                    found = Found(name, views[page_number].page, name_row, 0, len(name))
                    fields["surname"] = found.value(parts[-1], weight=0.85)
                    fields["given_names"] = found.value(" ".join(parts[:-1]), weight=0.85)
    return fields


def _party(views: list[PageView], role: str) -> Value | None:
    """A contract party named in the row before "– nachstehend Vermieter genannt –" (name before the comma)."""
    for view in views:
        hit = view.search(rf"nach(?:stehend|folgend)\s+(?:„|\")?{role}")
        if hit and hit[1] > 0:
            row = view.rows[hit[1] - 1]
            name = row.text.split(",")[0].strip()
            if re.search(r"[A-Za-zÄÖÜäöü]{2}", name) and not re.search(r"zwischen", name, re.IGNORECASE):
                return Found(name, view.page, row, 0, len(name)).value(weight=0.85)
    return None


def _money(views: list[PageView], kind: str) -> dict[str, Value]:
    fields: dict[str, Value] = {}
    labels = {
        "net_income": r"Auszahlungsbetrag|Netto-?(?:verdienst|entgelt|bez[üu]ge|lohn|gehalt|betrag)|"
                      r"[ÜU]berweisungsbetrag|Zahlbetrag|Nettorente",
        "gross_income": r"Gesamtbrutto|Brutto-?(?:entgelt|lohn|gehalt|bez[üu]ge|verdienst|rente)|"
                        r"Bruttoarbeitsentgelt|Monatliche Rente \(brutto\)|Rente \(brutto\)|Gesamt-Brutto",
        "rent": r"Gesamtmiete|Miete (?:insgesamt|gesamt)|Monatliche Gesamtmiete|Gesamtbetrag der Miete",
    }
    wanted = {"payslip": ("net_income", "gross_income"), "pension_notice": ("net_income", "gross_income"),
              "employer_declaration": ("gross_income",), "employment_contract": ("gross_income",),
              "rental_contract": ("rent",)}.get(kind, ())
    for key in wanted:
        found = _search(views, rf"(?:{labels[key]})\b.*?({AMOUNT})(?!.*\d)", 1)
        if found is None:
            found = _search(views, rf"(?:{labels[key]})\b.*?({AMOUNT})", 1)
        amount = decimal_amount(found.text) if found else None
        if found is not None and amount is not None:
            fields[key] = found.value(amount, weight=0.95)
    if "rent" in wanted and "rent" not in fields:
        rent = _largest_rent(views)
        if rent is not None:
            fields["rent"] = rent
    return fields


def _largest_rent(views: list[PageView]) -> Value | None:
    """No total read (its label misread): the largest amount on a row about rent – the total comes last and
    is the sum of the rows above it – with less confidence."""
    best: tuple[Decimal, Found] | None = None
    pattern = re.compile(rf"mie?te.*?({AMOUNT})\s*(?:EUR|€)?\s*$", re.IGNORECASE)
    for view in views:
        for row in view.rows:
            match = pattern.search(row.text)
            if not match or re.search(r"kaution|sicherheit", row.text, re.IGNORECASE):
                continue
            amount = decimal_amount(match.group(1))
            if amount is not None and (best is None or Decimal(amount) > best[0]):
                best = (Decimal(amount), Found(match.group(1), view.page, row, match.start(1), match.end(1)))
    return best[1].value(f"{best[0]:.2f}", weight=0.7) if best else None


def _dates(views: list[PageView], kind: str) -> dict[str, Value]:
    fields: dict[str, Value] = {}
    period = _period(views, kind)
    if period:
        fields["period"] = period
    issue: Value | None = None
    labelled = _first(views, r"Ausstellungsdatum|Datum|Ausgestellt am|Bescheiddatum|Datum dieser Zulassung",
                      rf".*?{DATE}")
    if labelled is not None and kind != "bank_statement":
        issue = _date_value(labelled)
    if issue is None:
        signed = _search(views, rf"[A-ZÄÖÜ][\wäöüß.\- ]+,\s*(?:den\s*)?({DATE})\s*$", 1)
        issue = _date_value(signed, 0.9)
    if issue is None:
        for view in views[:1]:
            for row in view.rows[: max(6, len(view.rows) // 4)]:
                match = re.search(rf"(?:^|\s{{2}})({DATE})\s*$", row.text)
                if match and not re.search(r"geb|Geburt", row.text, re.IGNORECASE):
                    issue = _date_value(Found(match.group(1), view.page, row, match.start(1), match.end(1)), 0.85)
                    break
            if issue:
                break
    if issue:
        fields["issue_date"] = issue
    return fields


def _period(views: list[PageView], kind: str) -> Value | None:
    if kind not in ("payslip", "pension_notice", "bank_statement"):
        return None
    title = _search(views, rf"(?:abrechnung|Kontoauszug|Rente|Monat|Abrechnungsmonat)\w*\s+(?:f[üu]r\s+)?"
                           rf"((?:{_MONTH_NAMES})\.?\s+\d{{4}}|\d{{1,2}}\s?/\s?\d{{4}})", 1)
    if title is not None:
        text = title.text.lower().replace(" ", "")
        match = re.fullmatch(rf"({_MONTH_NAMES})\.?(\d{{4}})", text)
        month, year = (MONTHS[match.group(1)], int(match.group(2))) if match else (
            int(text.split("/")[0]), int(text.split("/")[1]))
        if 1 <= month <= 12:
            return title.value(f"{year:04d}-{month:02d}", weight=0.95)
    span = _search(views, rf"(?:Abrechnungszeitraum|Zeitraum|ab dem|ab)\s*:?\s*({DATE})", 1)
    if span is not None and (iso := iso_date(span.text)):
        return span.value(iso[:7], weight=0.9)
    return None


def _iban(views: list[PageView]) -> Value | None:
    found = _search(views, IBAN)
    if found is None:
        return None
    iban = re.sub(r"\s", "", found.text).upper()
    ok = iban_check(iban)
    if ok:
        return found.value(iban, confidence=0.99)
    return found.value(iban, weight=0.6)  # a checksum that fails on an OCR reading: unsure, not invalid


def _employer(views: list[PageView], kind: str) -> Value | None:
    labelled = _first(views, r"Arbeitgeber(?:in)?|Name\s*/\s*Firma|Firma", r"[\wÄÖÜ].+")
    if labelled is not None and not re.fullmatch(r"\W*(?:Arbeitnehmer\w*|Seite.*|Unterschrift.*)",
                                                 labelled.text, re.IGNORECASE):
        return labelled.value(re.sub(r"\s{2,}.*$", "", labelled.text).strip(), weight=0.9)
    if kind == "payslip" and views:
        for row in views[0].rows[:5]:
            text = re.split(r"\s{2,}", row.text.strip())[0]
            if _NOISE_ROW.search(text) or len(text) < 3:
                continue
            text = text.split(",")[0].strip()
            found = Found(text, views[0].page, row, row.text.find(text), row.text.find(text) + len(text))
            return found.value(text, weight=0.75)
    return None


#: the harmonised field codes of the Zulassungsbescheinigung Teil I (Directive 1999/37/EC, FZV Anlage 6) whose
#: entries are read: field key → printed label
VEHICLE_LABELS = {"license_plate": "Amtliches Kennzeichen", "first_registration_date": "Datum der Erstzulassung",
                  "surname": "Name oder Firmenname", "given_names": "Vorname(n)", "address": "Anschrift",
                  "issue_date": "Datum dieser Zulassung", "inspection_due": "Nächste HU"}
_MONTH_YEAR = r"(?<!\d)(\d{1,2})\s?[/.\-]\s?(\d{4})(?!\d)"


def _vehicle(views: list[PageView]) -> dict[str, Value]:
    """Zulassungsbescheinigung Teil I: each entry next to its label (A, B, C.1.1–C.1.3, I, "Nächste HU"), the
    labels found by similarity because OCR garbles the small field codes before them; the holder's address
    may run over two rows (street; postcode and town). Where a label is not read at all, the address is taken
    from the one "Straße Nr, PLZ Ort" on the page, with less confidence."""
    fields: dict[str, Value] = {}
    for view in views:
        rows = view.label_rows(VEHICLE_LABELS)
        for key, where in rows.items():
            if key in fields:
                continue
            value = _vehicle_value(view, key, where, rows)
            if value is not None:
                fields[key] = value
    if "address" not in fields:
        address = _loose_address(views)
        if address is not None:
            fields["address"] = address
    return fields


def _loose_address(views: list[PageView]) -> Value | None:
    """The one address on the page without its label: "Straße Nr, PLZ Ort" on a row, or a row that is only
    "Straße Nr" with a row that is only "PLZ Ort" up to two rows below (a tilted photo puts the label between)."""
    found = _search(views, rf"({STREET})\s*,?\s+({PLACE})")
    match = re.search(rf"({STREET})\s*,?\s+({PLACE})", found.text) if found else None
    if found is not None and match:
        return found.value(_address_text(match.group(1), match.group(2)), weight=0.8)
    for view in views:
        for number, row in enumerate(view.rows):
            street = row.text.strip()
            if not re.fullmatch(STREET, street):
                continue
            for below in view.rows[number + 1:number + 3]:
                if re.fullmatch(PLACE, below.text.strip()):
                    begin = row.text.find(street)
                    return Found(street, view.page, row, begin, begin + len(street)).value(
                        _address_text(street, below.text.strip()), weight=0.8)
    return None


def _vehicle_value(view: PageView, key: str, where: tuple[int, int], rows: dict[str, tuple[int, int]]
                   ) -> Value | None:
    if key == "license_plate":
        found = view.after_label(where, rf".*?{PLATE}", others=rows, above=True)
        match = re.search(PLATE, found.text) if found else None
        if found is None or match is None:
            return None
        plate = re.sub(r"[\s–]+", " ", match.group(0)).replace(" -", "-").replace("- ", "-")
        return found.value(plate, weight=0.95)
    if key in ("first_registration_date", "issue_date"):
        return _date_value(view.after_label(where, rf".*?{DATE}", others=rows, above=True))
    if key in ("surname", "given_names"):
        return _name_value(view.after_label(where, rf"{NAME_WORD}.*", others=rows), weight=0.9)
    if key == "inspection_due":
        found = view.after_label(where, rf".*?{_MONTH_YEAR}", others=rows, above=True)
        match = re.search(_MONTH_YEAR, found.text) if found else None
        if found is None or match is None or not 1 <= int(match.group(1)) <= 12:
            return None
        return found.value(f"{int(match.group(2)):04d}-{int(match.group(1)):02d}", weight=0.9)
    return _vehicle_address(view, where, rows)


def _vehicle_address(view: PageView, where: tuple[int, int], rows: dict[str, tuple[int, int]]) -> Value | None:
    """ "Straße Nr, PLZ Ort" after the label, or the street there and "PLZ Ort" on the next row."""
    found = view.after_label(where, rf"{STREET}.*", others=rows)
    if found is None:
        return None
    one = re.search(rf"({STREET})\s*,?\s+({PLACE})", found.text)
    if one:
        return found.value(_address_text(one.group(1), one.group(2)), weight=0.9)
    number = view.rows.index(found.row)
    taken = {row for row, _ in rows.values()} - {where[0]}
    if number + 1 < len(view.rows) and number + 1 not in taken:
        place = re.search(PLACE, view.rows[number + 1].text)
        street = re.match(STREET, found.text)
        if place and street:
            return found.value(_address_text(street.group(0), place.group(0)), weight=0.9)
    return None


def _signature(pages: list[ReadPage]) -> Value | None:
    """Signed if any signature line on the document's pages carries ink; unsigned if lines exist but none does."""
    seen: list[tuple[ReadPage, Any]] = []
    for page in pages:
        if page.image is None:
            continue
        for line in signature_lines(page.image, page.upright_words):
            seen.append((page, line))
    if not seen:
        return None
    signed = [(page, line) for page, line in seen if line.signed]
    page, line = (signed or seen)[0]
    label = page.upright_words[line.label_word][0]
    original = page.text.words[line.label_word][1] if line.label_word < len(page.text.words) else None
    evidence = Evidence(page.text.file, page.text.number, f"Unterschriftszeile „{label}“", original)
    return Value("true" if signed else "false", 0.85 if signed else 0.75, evidence)


def _page_of(views: list[PageView]) -> Value | None:
    shown: list[str] = []
    first: Found | None = None
    for view in views:
        hit = view.search(r"(?:Seite|Page|S\.)\s*([\dlI|]{1,3})\s*(?:von|of|/)\s*([\dlI|]{1,3})")
        if hit:
            found = hit[0]
            match = re.search(r"([\dlI|]{1,3})\s*(?:von|of|/)\s*([\dlI|]{1,3})$", found.text)
            if match:
                number, total = (re.sub(r"[lI|]", "1", group) for group in match.groups())
                shown.append(f"{int(number)}/{int(total)}")
                first = first or found
    if not shown or first is None:
        return None
    return first.value(" ".join(shown), weight=0.95)
