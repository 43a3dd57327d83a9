"""Deterministic validation of one answer of a guided application: the answer as typed → the value as the contract
stores it (ISO dates, amounts with a dot, "true"/"false", choice codes), or a clear message in German and English
that says what is wrong and what is expected. No model is involved; the rules are the type's (format, min/max,
choices, pattern) and a few plausibility checks (a birth date lies in the past, an IBAN's checksum is right).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from rathaus.checks.definitions import FormField
from rathaus.checks.forms import choice_label
from rathaus.checks.validators.iban import expected_length, validate_iban

MAX_TEXT = 200

#: message code → (German, English); {placeholders} filled from the error's params
MESSAGES: dict[str, tuple[str, str]] = {
    "required": ("Bitte beantworten Sie diese Frage.", "Please answer this question."),
    "too_long": ("Bitte höchstens {max} Zeichen.", "Please use at most {max} characters."),
    "name": ("Bitte nur Buchstaben, Leerzeichen, Bindestrich oder Apostroph.",
             "Please use letters, spaces, hyphens or apostrophes only."),
    "address": ("Bitte Straße und Hausnummer angeben, zum Beispiel Lindwurmstraße 12.",
                "Please give the street and house number, e.g. Lindwurmstraße 12."),
    "date": ("Das ist kein gültiges Datum. Bitte so schreiben: TT.MM.JJJJ, zum Beispiel 14.03.1985.",
             "This is not a valid date. Please write it as DD.MM.YYYY, e.g. 14.03.1985."),
    "date_year": ("Bitte das Jahr mit vier Ziffern schreiben, zum Beispiel 14.03.1985.",
                  "Please write the year with four digits, e.g. 14.03.1985."),
    "date_future": ("Dieses Datum liegt in der Zukunft. Bitte prüfen Sie es.",
                    "This date is in the future. Please check it."),
    "date_old": ("Dieses Datum liegt vor {year} – das kann nicht stimmen. Bitte prüfen Sie es.",
                 "This date is before {year} – that cannot be right. Please check it."),
    "date_far": ("Dieses Datum liegt zu weit in der Zukunft. Bitte prüfen Sie es.",
                 "This date is too far in the future. Please check it."),
    "integer": ("Bitte eine ganze Zahl eingeben, zum Beispiel 2.", "Please enter a whole number, e.g. 2."),
    "amount": ("Bitte einen Betrag eingeben, zum Beispiel 612,50.", "Please enter an amount, e.g. 612.50."),
    "amount_cents": ("Bitte höchstens zwei Stellen nach dem Komma.", "Please use at most two decimal places."),
    "min": ("Der Wert muss mindestens {min} sein.", "The value must be at least {min}."),
    "max": ("Der Wert darf höchstens {max} sein.", "The value must be at most {max}."),
    "postcode": ("Eine Postleitzahl hat fünf Ziffern, zum Beispiel 80331.",
                 "A postcode has five digits, e.g. 80331."),
    "iban_format": ("Das ist keine IBAN. Eine deutsche IBAN beginnt mit DE und hat 22 Zeichen.",
                    "This is not an IBAN. A German IBAN starts with DE and has 22 characters."),
    "iban_length": ("Die IBAN hat {found} Zeichen; eine IBAN aus {country} hat {expected}. Bitte prüfen Sie sie.",
                    "The IBAN has {found} characters; an IBAN from {country} has {expected}. Please check it."),
    "iban_checksum": ("Die Prüfziffer der IBAN stimmt nicht – wahrscheinlich ist ein Zeichen vertauscht oder "
                      "falsch. Bitte schreiben Sie sie noch einmal genau ab.",
                      "The IBAN's check digits do not match – probably a character is wrong or swapped. Please "
                      "copy it again carefully."),
    "email": ("Das ist keine gültige E-Mail-Adresse, zum Beispiel name@beispiel.de.",
              "This is not a valid email address, e.g. name@example.org."),
    "phone": ("Das ist keine gültige Telefonnummer, zum Beispiel 089 1234567.",
              "This is not a valid telephone number, e.g. 089 1234567."),
    "choice": ("Bitte wählen Sie eine der Möglichkeiten: {choices}.", "Please choose one of: {choices}."),
    "bool": ("Bitte wählen Sie Ja oder Nein.", "Please choose Yes or No."),
    "pattern": ("Das Format stimmt nicht. Bitte schreiben Sie es wie im Beispiel im Hinweis.",
                "The format is not right. Please write it like the example in the hint."),
    "document_number": ("Bitte die Nummer wie im Dokument: 6 bis 20 Buchstaben und Ziffern.",
                        "Please give the number as in the document: 6 to 20 letters and digits."),
}


@dataclass
class Invalid(Exception):
    """An answer that does not pass; :meth:`message` in the applicant's language (German for any other)."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "de") -> str:
        de, en = MESSAGES[self.code]
        return (en if lang == "en" else de).format(**self.params)

    def __str__(self) -> str:
        return self.message("de")


YES = {"ja", "j", "yes", "y", "true", "1", "on", "wahr"}
NO = {"nein", "n", "no", "false", "0", "off", "falsch"}
_NAME = re.compile(r"^[^\W\d_]+(?:[ '’\-.]+[^\W\d_]+)*\.?$")
_DATE_DE = re.compile(r"^(\d{1,2})\.\s*(\d{1,2})\.\s*(\d{2,4})$")
_DATE_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_POSTCODE = re.compile(r"^\d{5}$")


def normalise(item: FormField, raw: str | None, *, today: dt.date | None = None,
              max_age_years: float | None = None) -> str | None:
    """The value of ``item`` for the answer ``raw``: None for an empty answer to an optional field; raises
    :class:`Invalid` with the reason otherwise."""
    text = " ".join((raw or "").split())
    if not text:
        if item.required:
            raise Invalid("bool" if item.type == "bool" else "choice" if item.type == "choice" else "required",
                          {"choices": _choices(item)})
        return None
    if len(text) > MAX_TEXT:
        raise Invalid("too_long", {"max": MAX_TEXT})
    today = today or dt.date.today()
    value = _by_type(item, text, today, max_age_years)
    if item.pattern and item.type not in ("bool", "choice") and not re.search(item.pattern, value):
        raise Invalid("pattern")
    return value


def _choices(item: FormField, lang: str = "de") -> str:
    return ", ".join(choice_label(c, lang) for c in item.choices)


def _by_type(item: FormField, text: str, today: dt.date, max_age_years: float | None) -> str:
    kind = item.type
    if kind == "bool":
        low = text.lower()
        if low in YES:
            return "true"
        if low in NO:
            return "false"
        raise Invalid("bool")
    if kind == "choice":
        return _choice(item, text)
    if kind == "date":
        return _date(item, text, today, max_age_years).isoformat()
    if kind == "integer":
        if not re.fullmatch(r"[+]?\d{1,9}", text.replace(" ", "")):
            raise Invalid("integer")
        number = int(text.replace(" ", ""))
        _range(item, Decimal(number))
        return str(number)
    if kind == "amount":
        amount = parse_amount(text)
        _range(item, amount)
        return f"{amount:.2f}"
    if kind == "postcode":
        compact = text.replace(" ", "")
        if not _POSTCODE.match(compact):
            raise Invalid("postcode")
        return compact
    if kind == "iban":
        return check_iban(text)
    if kind == "email":
        from email_validator import EmailNotValidError, validate_email

        try:
            return str(validate_email(text, check_deliverability=False).normalized)
        except EmailNotValidError:
            raise Invalid("email") from None
    if kind == "phone":
        import phonenumbers

        try:
            phone = phonenumbers.parse(text, "DE")
        except phonenumbers.NumberParseException:
            raise Invalid("phone") from None
        if not phonenumbers.is_possible_number(phone):
            raise Invalid("phone")
        return phonenumbers.format_number(phone, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    if kind == "name":
        if not _NAME.match(text):
            raise Invalid("name")
        return text
    if kind == "address":
        if not (re.search(r"[^\W\d_]{2,}", text) and re.search(r"\d", text)):
            raise Invalid("address")
        return text
    if kind == "document_number":
        compact = text.replace(" ", "").upper()
        if not re.fullmatch(r"[A-Z0-9]{6,20}", compact):
            raise Invalid("document_number")
        return compact
    return text


def _choice(item: FormField, text: str) -> str:
    low = text.strip().lower()
    for code in item.choices:
        if low in (code.lower(), choice_label(code, "de").lower(), choice_label(code, "en").lower()):
            return code
    if low.isdigit() and 1 <= int(low) <= len(item.choices):  # "2": the second choice, as read out
        return item.choices[int(low) - 1]
    raise Invalid("choice", {"choices": _choices(item)})


def _date(item: FormField, text: str, today: dt.date, max_age_years: float | None) -> dt.date:
    match = _DATE_DE.match(text) or _DATE_ISO.match(text)
    if match is None:
        raise Invalid("date")
    if match.re is _DATE_ISO:
        year, month, day = (int(g) for g in match.groups())
    else:
        day_text, month_text, year_text = match.groups()
        if len(year_text) != 4:
            raise Invalid("date_year")
        day, month, year = int(day_text), int(month_text), int(year_text)
    try:
        value = dt.date(year, month, day)
    except ValueError:
        raise Invalid("date") from None
    birth = "geburtsdatum" in item.id
    oldest = today.year - int(max_age_years or 120)
    if value.year < oldest:
        raise Invalid("date_old", {"year": oldest})
    if (birth or item.id == "antragsdatum") and value > today:
        raise Invalid("date_future")
    if value > today + dt.timedelta(days=366):
        raise Invalid("date_far")
    return value


def parse_amount(text: str) -> Decimal:
    """A German or English amount ("1.234,56", "612,50", "612.50", "1234 €") as a Decimal."""
    compact = re.sub(r"(?i)\s|€|eur(o)?", "", text)
    if not re.fullmatch(r"[+]?[\d.,]*\d[\d.,]*", compact):
        raise Invalid("amount")
    if "," in compact and "." in compact:
        decimal_mark = "," if compact.rfind(",") > compact.rfind(".") else "."
    elif "," in compact:
        decimal_mark = ","
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+", compact):
        decimal_mark = ","  # "1.234": thousands
    else:
        decimal_mark = "."
    thousands = "." if decimal_mark == "," else ","
    whole, _, cents = compact.replace(thousands, "").partition(decimal_mark)
    if decimal_mark in cents or (not whole.lstrip("+").isdigit() and whole.lstrip("+") != ""):
        raise Invalid("amount")
    if len(cents) > 2:
        raise Invalid("amount_cents")
    try:
        return Decimal(f"{whole or '0'}.{cents or '0'}")
    except InvalidOperation:
        raise Invalid("amount") from None


def _range(item: FormField, value: Decimal) -> None:
    if item.min is not None and value < Decimal(str(item.min)):
        raise Invalid("min", {"min": _shown(item.min)})
    if item.max is not None and value > Decimal(str(item.max)):
        raise Invalid("max", {"max": _shown(item.max)})


def _shown(number: float) -> str:
    return f"{number:g}".replace(".", ",")


def check_iban(text: str) -> str:
    """The IBAN without spaces in capitals, if its structure, country length and checksum are right (a bank code
    missing from the shipped bank list is accepted: the case worker's check points it out)."""
    result = validate_iban(text)
    if result.valid or result.error == "bank":
        return result.normalised
    if result.error == "length":
        country = result.normalised[:2]
        raise Invalid("iban_length", {"found": len(result.normalised), "country": country,
                                      "expected": expected_length(country) or "?"})
    if result.error == "checksum":
        raise Invalid("iban_checksum")
    raise Invalid("iban_format")


def display(item: FormField, value: str | None, lang: str = "de") -> str:
    """A stored value as the applicant reads it (German dates and amounts in German)."""
    if value is None or value == "":
        return ""
    de = lang != "en"
    if item.type == "bool":
        return ("Ja" if de else "Yes") if value == "true" else ("Nein" if de else "No")
    if item.type == "choice":
        return choice_label(value, lang)
    if item.type == "date" and _DATE_ISO.match(value):
        year, month, day = value.split("-")
        return f"{day}.{month}.{year}"
    if item.type == "amount" and de:
        return value.replace(".", ",")
    if item.type == "iban":
        return " ".join(value[i:i + 4] for i in range(0, len(value), 4))
    return value
