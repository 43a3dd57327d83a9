"""Data takeover ("automatisierte Datenübernahme"): the fields a specialist procedure needs, read from a message.

    from rathaus.inbox.extraction import extract_message, validate_extraction
    doc = extract_message(message)            # dict conforming to extraction.schema.json
    validate_extraction(doc)                  # jsonschema check, e.g. before an export

Found: the sender (header, else the name under the closing formula), case numbers (configurable regexes with a
named group ``value``), dates and deadlines (German numeric and written formats; "bis zum …", "spätestens",
"Frist", "innerhalb von 14 Tagen"), amounts in euro (babel parses the German number format), IBANs (python-stdnum
checks country format and mod-97; invalid ones are reported with ``valid: false``), postal addresses, person names,
phone numbers and e-mail addresses (the platform's PII detector, :func:`rathaus.safety.pii.detect`), and the
application types the message refers to (lemma or compound match against a configurable list).

Every field has a normalised ``value``, the ``text`` it was read from, ``start``/``end`` offsets into the text of
its ``source`` ("subject", "body", "attachment:<name>", or "header" without offsets), a ``confidence`` and a
``data_class`` (:class:`rathaus.core.classification.DataClass`). Confidence is a fixed prior per method that says how
often that method is right in our tests and on the PII benchmark (checksum-verified IBAN 0.99, cue-led case number
0.9, bare date 0.8 …) times the PII detector's own score where it found the field; it is NOT calibrated on real
inbox data. Texts longer than ``max_chars`` in total are cut (a note says where): nothing fails on size.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from rathaus.core.classification import DataClass
from rathaus.inbox.message import IncomingMessage

SCHEMA_VERSION = "1"
MAX_CHARS = 100_000  # the PII detector's limit (rathaus.safety.pii.MAX_CHARS); more is cut, with a note
FIELD_KINDS = ("sender_name", "sender_email", "case_number", "date", "deadline", "birth_date", "amount", "iban",
               "address", "person", "phone", "email", "application_type")

# Label -> regex. The named group ``value`` is the number itself; the rest is the cue that makes it one.
_NUM = r"(?P<value>[A-Za-z0-9](?:[A-Za-z0-9/.\-]|\s(?=\d))*\d[A-Za-z0-9/\-]*)"
DEFAULT_CASE_PATTERNS: dict[str, str] = {
    "Aktenzeichen": r"\b(?:Aktenzeichen|Az\.?|AZ|Geschäftszeichen|Gz\.?|Ihr Zeichen|Unser Zeichen)\s*[:.]?\s*" + _NUM,
    "Kundennummer": r"\b(?:Kundennummer|Kunden-?Nr\.?|Kd\.?-?Nr\.?)\s*[:.]?\s*" + _NUM,
    "Kassenzeichen": r"\bKassenzeichen\s*[:.]?\s*" + _NUM,
    "Vorgangsnummer": r"\b(?:Vorgangsnummer|Vorgangs-?Nr\.?|Antragsnummer|Antrags-?Nr\.?|Ticket-?Nr\.?)\s*[:.]?\s*"
                      + _NUM,
}
# Application type -> other words that name it (lower case). Matching also takes inflected forms and compounds.
DEFAULT_APPLICATION_TYPES: dict[str, list[str]] = {
    "Wohngeld": ["mietzuschuss", "lastenzuschuss"],
    "Bewohnerparkausweis": ["anwohnerparkausweis", "bewohnerparken", "anwohnerparken", "parkausweis"],
    "Aufenthaltserlaubnis": ["aufenthaltstitel", "niederlassungserlaubnis", "visumverlängerung"],
    "Meldebescheinigung": ["meldebestätigung", "wohnsitzbescheinigung"],
    "Personalausweis": ["ausweis"],
    "Reisepass": ["kinderreisepass"],
    "Baugenehmigung": ["bauantrag", "bauvoranfrage"],
    "Gewerbeanmeldung": ["gewerbeummeldung", "gewerbeabmeldung", "gewerbeschein"],
    "Führungszeugnis": [],
    "Hundesteuer": ["hundeanmeldung"],
    "Elterngeld": [],
    "Kita-Platz": ["kitaplatz", "betreuungsplatz", "kindertagesstätte"],
}

_PERSONAL = DataClass.PERSONENBEZOGEN
_INTERNAL = DataClass.INTERN
DATA_CLASSES: dict[str, DataClass] = {
    "sender_name": _PERSONAL, "sender_email": _PERSONAL, "case_number": _PERSONAL, "birth_date": _PERSONAL,
    "iban": _PERSONAL, "address": _PERSONAL, "person": _PERSONAL, "phone": _PERSONAL, "email": _PERSONAL,
    # not identifying on their own; the message as a whole stays personenbezogen
    "date": _INTERNAL, "deadline": _INTERNAL, "amount": _INTERNAL, "application_type": _INTERNAL,
}


@dataclass
class Field:
    kind: str
    value: str
    text: str
    source: str
    start: int | None
    end: int | None
    confidence: float
    method: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "value": self.value, "text": self.text, "source": self.source, "start": self.start, "end": self.end,
            "confidence": round(min(max(self.confidence, 0.0), 1.0), 3), "method": self.method,
            "data_class": DATA_CLASSES[self.kind].value,
        }
        out.update(self.extra)
        return out


# ------------------------------------------------------------------------------------------------ dates
@cache
def _months() -> dict[str, int]:
    """German month names and abbreviations from CLDR (babel), lower case, plus common extra spellings."""
    from babel.dates import get_month_names

    names: dict[str, int] = {}
    for width, context in (("wide", "format"), ("abbreviated", "format"), ("abbreviated", "stand-alone")):
        for number, name in get_month_names(width, context, locale="de").items():  # type: ignore[arg-type]
            names[str(name).lower().rstrip(".")] = int(number)
    names.update({"jänner": 1, "maerz": 3, "mrz": 3, "sep": 9, "sept": 9})
    return names


@cache
def _date_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    month_alt = "|".join(sorted((re.escape(m) for m in _months()), key=len, reverse=True))
    numeric = re.compile(r"(?<![\d.])(?P<d>[0-3]?\d)\.\s?(?P<m>[01]?\d)\.\s?(?P<y>\d{4}|\d{2})(?![\d])")
    written = re.compile(r"(?<![\d.])(?P<d>[0-3]?\d)\.\s*(?P<m>" + month_alt + r")\.?(?:\s+(?P<y>\d{4}))?(?![\wäöü])",
                         re.IGNORECASE)
    iso = re.compile(r"(?<![\d-])(?P<y>\d{4})-(?P<m>[01]\d)-(?P<d>[0-3]\d)(?![\d])")
    return numeric, written, iso


_DEADLINE_CUE = re.compile(
    r"(?i)(?:\bbis\s+(?:zum|spätestens|einschließlich|einschl\.)?|\bspätestens(?:\s+(?:am|bis))?|\bFrist\w*"
    r"|\bfällig\w*|\beinzureichen|\bAbgabe(?:termin|frist)?|\bStichtag|\bnicht\s+später\s+als|\bEingang\s+bis)"
    r"[^.!?\n]{0,25}$"
)
_BIRTH_CUE = re.compile(r"(?i)\b(?:geb(?:oren)?\.?|geb\.-?datum|Geburtsdatum|Geburtstag)\b[^.!?\n]{0,15}$")
_BIRTH_AFTER = re.compile(r"(?i)\s+geboren\b")
_RELATIVE = re.compile(
    r"(?i)\binnerhalb\s+(?:von\s+)?(?P<n>\d{1,3}|eine[rm]?|zwei|drei|vier|sechs|acht|zehn|vierzehn)\s+"
    r"(?P<unit>Tag(?:e|en)?|Woche(?:n)?|Monat(?:e|en)?)\b"
)
_NUMBER_WORDS = {"ein": 1, "eine": 1, "einem": 1, "einer": 1, "zwei": 2, "drei": 3, "vier": 4, "sechs": 6, "acht": 8,
                 "zehn": 10, "vierzehn": 14}


def _year(raw: str | None, reference: dt.date) -> tuple[int, bool]:
    """The year and whether it was written: two digits pivot around the reference year + 10."""
    if raw is None:
        return reference.year, False
    y = int(raw)
    if len(raw) == 2:
        y += 2000 if y <= (reference.year % 100) + 10 else 1900
    return y, True


def _dates(text: str, source: str, reference: dt.date) -> list[Field]:
    numeric, written, iso = _date_patterns()
    found: list[Field] = []
    taken: list[tuple[int, int]] = []
    for pattern, method in ((iso, "iso"), (written, "written"), (numeric, "numeric")):
        for m in pattern.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            month = _months().get(m["m"].lower().rstrip(".")) if method == "written" else int(m["m"])
            year, has_year = _year(m["y"], reference)
            try:
                day = dt.date(year, month or 0, int(m["d"]))
            except ValueError:
                continue  # 31.02., 12.13.2026: not a date
            if not has_year and day < reference - dt.timedelta(days=31):
                day = day.replace(year=year + 1) if not (day.month == 2 and day.day == 29) else day
            taken.append((m.start(), m.end()))
            cue = _DEADLINE_CUE.search(text[max(0, m.start() - 60):m.start()])
            if _BIRTH_CUE.search(text[max(0, m.start() - 30):m.start()]) or _BIRTH_AFTER.match(text, m.end()):
                found.append(Field("birth_date", day.isoformat(), m.group(), source, m.start(), m.end(), 0.9,
                                   f"regex:{method}+cue"))
                continue
            confidence = {"iso": 0.9, "written": 0.9, "numeric": 0.85}[method] - (0 if has_year else 0.15)
            extra: dict[str, Any] = {"year_inferred": not has_year}
            if cue:
                extra["cue"] = cue.group().strip()
            found.append(Field("deadline" if cue else "date", day.isoformat(), m.group(), source, m.start(), m.end(),
                               confidence - (0.05 if cue else 0), f"regex:{method}", extra))
    for m in _RELATIVE.finditer(text):
        raw = m["n"].lower()
        n = int(raw) if raw.isdigit() else _NUMBER_WORDS.get(raw, 1)
        unit = m["unit"].lower()
        days = n * (7 if unit.startswith("woche") else 30 if unit.startswith("monat") else 1)
        due = reference + dt.timedelta(days=days)
        found.append(Field("deadline", due.isoformat(), m.group(), source, m.start(), m.end(), 0.6, "regex:relative",
                           {"relative_to": reference.isoformat(), "cue": m.group()}))
    return found


# ---------------------------------------------------------------------------------------------- amounts
_NUMBER = r"(?P<num>\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?|\d+(?:,\d{1,2})?)(?:,-{1,2})?"
_AMOUNT = re.compile(
    r"(?<![\d.,])" + _NUMBER + r"\s?(?P<cur>€|EUR\b|Euro\b)"
    r"|(?P<cur2>€|\bEUR|\bEuro)\s?" + _NUMBER.replace("num", "num2") + r"(?![\d,])"
)


def _amounts(text: str, source: str) -> list[Field]:
    from babel.numbers import NumberFormatError, parse_decimal

    found: list[Field] = []
    for m in _AMOUNT.finditer(text):
        raw = m["num"] or m["num2"]
        try:
            value = parse_decimal(raw, locale="de_DE", strict=True)
        except NumberFormatError:
            continue
        value = value.quantize(Decimal("0.01"))
        found.append(Field("amount", str(value), m.group(), source, m.start(), m.end(), 0.9, "regex+babel",
                           {"currency": "EUR"}))
    return found


# ------------------------------------------------------------------------------------------------ IBANs
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?(?![A-Za-z0-9])")


def _ibans(text: str, source: str) -> list[Field]:
    from stdnum import iban

    found: list[Field] = []
    for m in _IBAN.finditer(text):
        compact = iban.compact(m.group())
        valid = iban.is_valid(compact)
        found.append(Field("iban", compact, m.group(), source, m.start(), m.end(), 0.99 if valid else 0.3,
                           "regex+mod97", {"valid": valid}))
    return found


# ----------------------------------------------------------------------------------------- case numbers
def compile_case_patterns(patterns: Mapping[str, str] | None) -> dict[str, re.Pattern[str]]:
    """Compile label -> regex; a clear ValueError names the label whose pattern is wrong."""
    compiled: dict[str, re.Pattern[str]] = {}
    for label, pattern in (DEFAULT_CASE_PATTERNS if patterns is None else patterns).items():
        try:
            compiled[label] = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"case number pattern {label!r} is not a valid regular expression: {exc}") from None
    return compiled


def _case_numbers(text: str, source: str, patterns: Mapping[str, re.Pattern[str]]) -> list[Field]:
    found: list[Field] = []
    for label, pattern in patterns.items():
        for m in pattern.finditer(text):
            group = "value" if "value" in pattern.groupindex else 0
            start, end = m.span(group)
            raw = m.group(group)
            stripped = raw.rstrip(".,;:-/")
            end -= len(raw) - len(stripped)
            if not stripped:
                continue
            value = re.sub(r"\s+", "", stripped).upper()
            found.append(Field("case_number", value, stripped, source, start, end, 0.9, "regex:cue",
                               {"label": label}))
    return found


# ------------------------------------------------------------------------------------ application types
_WORD = re.compile(r"[A-Za-zÄÖÜäöüß][A-Za-zÄÖÜäöüß-]+")


def _application_types(text: str, source: str, types: Mapping[str, Sequence[str]]) -> list[Field]:
    import simplemma

    keys = {name: [name.lower(), *(s.lower() for s in synonyms)] for name, synonyms in types.items()}
    found: list[Field] = []
    for name, words in keys.items():
        best: Field | None = None
        mentions = 0
        for m in _WORD.finditer(text):
            token = m.group().lower()
            lemma = simplemma.lemmatize(m.group(), lang="de").lower()
            confidence = 0.0
            for i, word in enumerate(words):
                if lemma == word or token == word:
                    confidence = max(confidence, 0.9 if i == 0 else 0.8)
                elif len(word) >= 6 and (token.startswith(word) or token.endswith(word)):
                    confidence = max(confidence, 0.75 if i == 0 else 0.65)  # compound: Wohngeldantrag
            if confidence:
                mentions += 1
                if best is None or confidence > best.confidence:
                    best = Field("application_type", name, m.group(), source, m.start(), m.end(), confidence,
                                 "lemma" if confidence in (0.9, 0.8) else "compound")
        if best is not None:
            best.extra["mentions"] = mentions
            best.confidence = min(0.99, best.confidence + 0.03 * (mentions - 1))
            found.append(best)
    return found


# ------------------------------------------------------------------------------ PII detector: people etc.
_CLOSING = re.compile(r"(?i)(?:mit\s+)?(?:freundlichen|besten|herzlichen|vielen)\s+(?:grüßen|gruß|dank)|\bMfG\b|"
                      r"\bLG\b|\bViele\s+Grüße|\bBeste\s+Grüße|\bHochachtungsvoll")


def _pii_fields(text: str, source: str) -> list[Field]:
    import phonenumbers

    from rathaus.safety.pii import detect

    spans = detect(text, {"PERSON", "ADRESSE", "PLZ_ORT", "TELEFON", "EMAIL", "GEBURTSDATUM"})
    found: list[Field] = []
    closing = _CLOSING.search(text)
    i = 0
    while i < len(spans):
        s = spans[i]
        raw = text[s.start:s.end]
        if s.kind in ("ADRESSE", "PLZ_ORT"):
            end, parts = s.end, {"street" if s.kind == "ADRESSE" else "postcode_town": raw}
            nxt = spans[i + 1] if i + 1 < len(spans) else None
            if (s.kind == "ADRESSE" and nxt is not None and nxt.kind == "PLZ_ORT"
                    and re.fullmatch(r"[\s,;]*", text[s.end:nxt.start])):
                end, parts["postcode_town"] = nxt.end, text[nxt.start:nxt.end]
                i += 1
            value = ", ".join(re.sub(r"\s+", " ", p).strip() for p in parts.values())
            confidence = s.score * (1.0 if len(parts) == 2 else 0.8)
            found.append(Field("address", value, text[s.start:end], source, s.start, end, confidence,
                               f"pii:{s.detector}", {"parts": parts}))
        elif s.kind == "PERSON":
            found.append(Field("person", re.sub(r"\s+", " ", raw), raw, source, s.start, s.end, s.score,
                               f"pii:{s.detector}"))
            if closing and 0 < s.start - closing.end() < 40 and not any(f.kind == "sender_name" for f in found):
                found.append(Field("sender_name", re.sub(r"\s+", " ", raw), raw, source, s.start, s.end,
                                   s.score * 0.85, "signature"))
        elif s.kind == "TELEFON":
            try:
                value = phonenumbers.format_number(phonenumbers.parse(raw, "DE"),
                                                   phonenumbers.PhoneNumberFormat.E164)
            except phonenumbers.NumberParseException:
                value = re.sub(r"[^\d+]", "", raw)
            found.append(Field("phone", value, raw, source, s.start, s.end, s.score, f"pii:{s.detector}"))
        elif s.kind == "EMAIL":
            found.append(Field("email", raw.lower(), raw, source, s.start, s.end, s.score, f"pii:{s.detector}"))
        elif s.kind == "GEBURTSDATUM":
            found.append(Field("birth_date", raw, raw, source, s.start, s.end, s.score, f"pii:{s.detector}"))
        i += 1
    return found


# ------------------------------------------------------------------------------------------------ main
def _cut(sources: Iterable[tuple[str, str]], max_chars: int) -> tuple[list[tuple[str, str]], list[dict[str, Any]],
                                                                      list[str]]:
    kept: list[tuple[str, str]] = []
    info: list[dict[str, Any]] = []
    notes: list[str] = []
    budget = max_chars
    for name, text in sources:
        if not isinstance(text, str):
            raise TypeError(f"text of source {name!r} must be a string, not {type(text).__name__}")
        if not re.fullmatch(r"subject|body|attachment:.+", name):
            raise ValueError(f"unknown source {name!r}: use 'subject', 'body' or 'attachment:<name>'")
        cut = text[:max(budget, 0)]
        if len(cut) < len(text):
            notes.append(f"{name}: nur die ersten {len(cut):,} von {len(text):,} Zeichen gelesen / "
                         f"only the first {len(cut):,} of {len(text):,} characters read (limit {max_chars:,})")
        budget -= len(cut)
        info.append({"source": name, "chars": len(text), "read_chars": len(cut)})
        if cut.strip():
            kept.append((name, cut))
    return kept, info, notes


def _birth_dates_win(fields: list[Field]) -> list[Field]:
    """A date inside a date of birth found by the PII detector is that birth date (personenbezogen), not a date or
    a deadline. The detector's own span is used only for this: the value comes from the date parser."""
    births = [f for f in fields if f.kind == "birth_date" and f.method.startswith("pii:")]
    out: list[Field] = []
    for f in fields:
        if f in births:
            continue
        if f.kind in ("date", "deadline") and f.start is not None and f.end is not None:
            for b in births:
                if b.source == f.source and b.start is not None and b.end is not None and b.start <= f.start \
                        and f.end <= b.end:
                    f = Field("birth_date", f.value, f.text, f.source, f.start, f.end, max(f.confidence, b.confidence),
                              f"{f.method}+{b.method}")
                    break
        out.append(f)
    return out


def _merge_application_types(fields: list[Field]) -> list[Field]:
    """One field per application type over all sources: the best-matched mention, all mentions counted."""
    best: dict[str, Field] = {}
    mentions: dict[str, int] = {}
    for f in fields:
        if f.kind == "application_type":
            mentions[f.value] = mentions.get(f.value, 0) + int(f.extra["mentions"])
            if f.value not in best or f.confidence > best[f.value].confidence:
                best[f.value] = f
    for name, f in best.items():
        f.extra["mentions"] = mentions[name]
    return [f for f in fields if f.kind != "application_type" or best[f.value] is f]


def extract(sources: Sequence[tuple[str, str]], *, sender_name: str | None = None,
            sender_address: str | None = None, case_patterns: Mapping[str, str] | None = None,
            application_types: Mapping[str, Sequence[str]] | None = None, reference_date: dt.date | None = None,
            max_chars: int = MAX_CHARS) -> dict[str, Any]:
    """Extract the takeover fields from ``sources``: (name, text) pairs, name "subject", "body" or
    "attachment:<filename>". ``reference_date`` (default today) completes dates without a year and relative
    deadlines. Returns a dict conforming to ``extraction.schema.json``."""
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    patterns = compile_case_patterns(case_patterns)
    types = DEFAULT_APPLICATION_TYPES if application_types is None else application_types
    reference = reference_date or dt.date.today()
    kept, info, notes = _cut(sources, max_chars)
    fields: list[Field] = []
    if sender_address:
        fields.append(Field("sender_email", sender_address.strip().lower(), sender_address, "header", None, None,
                            0.99, "header"))
    if sender_name and sender_name.strip():
        fields.append(Field("sender_name", re.sub(r"\s+", " ", sender_name.strip()), sender_name, "header", None,
                            None, 0.95, "header"))
    for name, text in kept:
        fields += _case_numbers(text, name, patterns)
        fields += _dates(text, name, reference)
        fields += _amounts(text, name)
        fields += _ibans(text, name)
        fields += _application_types(text, name, types)
        pii = _pii_fields(text, name)
        if any(f.kind == "sender_name" for f in fields):
            pii = [f for f in pii if f.kind != "sender_name"]
        fields += pii
    fields = _merge_application_types(_birth_dates_win(fields))
    if not kept:
        notes.append("kein Text / no text")
    grouped: dict[str, list[dict[str, Any]]] = {kind: [] for kind in FIELD_KINDS}
    for f in sorted(fields, key=lambda f: (f.source != "header", f.source, f.start or 0)):
        grouped[f.kind].append(f.to_dict())
    return {"schema_version": SCHEMA_VERSION, "reference_date": reference.isoformat(), "sources": info,
            "notes": notes, "fields": grouped}


def extract_message(message: IncomingMessage, **options: Any) -> dict[str, Any]:
    """:func:`extract` over a message's subject, body and the extracted text of each attachment; the sender from
    its headers; dates without a year completed from its ``received_at``."""
    sources = [("subject", message.subject or ""), ("body", message.body or "")]
    sources += [(f"attachment:{a.filename}", a.text) for a in message.attachments if a.text]
    if message.received_at is not None and "reference_date" not in options:
        options["reference_date"] = message.received_at.date()
    return extract(sources, sender_name=message.sender_name, sender_address=message.sender_address, **options)


@cache
def schema() -> dict[str, Any]:
    """The published JSON Schema (draft 2020-12) of :func:`extract`'s output."""
    text = resources.files("rathaus.inbox").joinpath("extraction.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def validate_extraction(document: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` with the first problem when ``document`` does not conform to the schema."""
    import jsonschema  # type: ignore[import-untyped]

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(root)"
        raise ValueError(f"extraction does not conform to its schema at {where}: {errors[0].message}")
