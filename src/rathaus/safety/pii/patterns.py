"""Pattern detectors: numbers and codes with a format, validated wherever a validator exists.

- e-mail addresses (regex),
- phone numbers (``phonenumbers``: German and international formats, only numbers it calls valid),
- IBAN (``python-stdnum``: country format and mod-97 checksum),
- German tax ID / Steuer-IdNr. (``python-stdnum`` de.idnr: check digit and digit-repetition rule),
- dates of birth (a real calendar date near "geb.", "geboren", "Geburtsdatum", "*"),
- ID card and passport numbers (serial alphabet of German documents; ICAO 9303 check digit, or a context word),
- licence plates (German district codes from Faker's list; "M-AB 1234", "M AB 1234E"),
- street addresses ("Marienplatz 8", "Leopoldstr. 12a", "Am Hang 3") and postcode + town ("80331 München").

All regexes run on the normalised text, use bounded or possessive quantifiers and are linear in its length.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator
from typing import NamedTuple

from rathaus.safety.pii import kinds as k
from rathaus.safety.pii.lexicon import load_plate_prefixes, words


class Candidate(NamedTuple):
    kind: str
    start: int
    end: int
    score: float
    detector: str


def _context(text: str, start: int, end: int, words: re.Pattern[str], before: int = 40, after: int = 0) -> bool:
    return words.search(text, max(0, start - before), min(len(text), end + after)) is not None


# --- e-mail ------------------------------------------------------------------------------------------
_EMAIL = re.compile(r"(?<![\w.%+-])[\w%+-]++(?:\.[\w%+-]++)*+@(?:[^\W_][\w-]{0,62}\.){1,8}[^\W\d_]{2,24}+(?![\w-])")


def emails(text: str) -> Iterator[Candidate]:
    for m in _EMAIL.finditer(text):
        yield Candidate(k.EMAIL, m.start(), m.end(), 0.99, "regex")


# --- phone -------------------------------------------------------------------------------------------
_PHONE_CONTEXT = re.compile(
    r"(?i)\b(?:tel|telefon|fon|handy|mobil|mobile|fax|phone|rufnummer|ruf|erreichbar|whatsapp)\b|☎|📞"
)


_NOT_A_PHONE = re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d{1,5}\s?[–-]\s?\d{1,5}")  # 1.692 / pages 383–387


def phones(text: str) -> Iterator[Candidate]:
    """Numbers ``phonenumbers`` calls valid; without a context word ("Tel.", "mobil") at least 7 digits and
    not shaped like a thousands figure or a range, which it would also accept."""
    import phonenumbers

    if sum(c.isdigit() for c in text[:200_000]) < 5:
        return
    for match in phonenumbers.PhoneNumberMatcher(text, "DE", leniency=phonenumbers.Leniency.VALID, max_tries=1_000_000):
        context = _context(text, match.start, match.end, _PHONE_CONTEXT)
        digits = sum(c.isdigit() for c in match.raw_string)
        if not context and (digits < 7 or _NOT_A_PHONE.fullmatch(match.raw_string.strip())):
            continue
        yield Candidate(k.TELEFON, match.start, match.end, 0.97 if context else 0.85, "phonenumbers")


# --- IBAN --------------------------------------------------------------------------------------------
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ \-]?[A-Za-z0-9]{4}){2,7}+(?:[ \-]?[A-Za-z0-9]{1,3})?(?![A-Za-z0-9])"
)


def ibans(text: str) -> Iterator[Candidate]:
    from stdnum import iban

    for m in _IBAN.finditer(text):
        value = m.group()
        # the optional tail may have swallowed a following word ("DE89 … 3000 und"): try shorter groupings too
        for end in _group_ends(value):
            if iban.is_valid(value[:end].upper()):
                yield Candidate(k.IBAN, m.start(), m.start() + end, 0.99, "regex+checksum")
                break


def _group_ends(value: str) -> list[int]:
    ends = [len(value)]
    for i in range(len(value) - 1, 14, -1):
        if value[i] in " -":
            ends.append(i)
    return ends


# --- tax ID ------------------------------------------------------------------------------------------
_IDNR = re.compile(r"(?<![\d.,/-])[1-9]\d(?:[ ./]?\d{3}){3}(?![\d]|[.,/-]\d)")
_IDNR_CONTEXT = re.compile(r"(?i)steuer|st\.?-?id|idnr|identifikationsnummer|\bTIN\b|finanzamt")


def tax_ids(text: str) -> Iterator[Candidate]:
    from stdnum.de import idnr

    for m in _IDNR.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if len(digits) == 11 and idnr.is_valid(digits):
            score = 0.97 if _context(text, m.start(), m.end(), _IDNR_CONTEXT, before=60) else 0.8
            yield Candidate(k.STEUER_ID, m.start(), m.end(), score, "regex+checksum")


# --- dates of birth ----------------------------------------------------------------------------------
MONTHS = {
    "januar": 1,
    "jänner": 1,
    "jan": 1,
    "februar": 2,
    "feb": 2,
    "märz": 3,
    "maerz": 3,
    "mär": 3,
    "mrz": 3,
    "april": 4,
    "apr": 4,
    "mai": 5,
    "juni": 6,
    "jun": 6,
    "juli": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sep": 9,
    "sept": 9,
    "oktober": 10,
    "okt": 10,
    "november": 11,
    "nov": 11,
    "dezember": 12,
    "dez": 12,
}
_DATE = (
    r"(?P<d1>\d{1,2})\.\s?(?P<m1>\d{1,2})\.\s?(?P<y1>\d{4}|\d{2})(?!\d)"
    r"|(?P<d2>\d{1,2})\.?\s(?P<mn>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?\s(?P<y2>\d{4})"
    r"|(?P<y3>\d{4})-(?P<m3>\d{2})-(?P<d3>\d{2})"
    r"|(?P<d4>\d{1,2})/(?P<m4>\d{1,2})/(?P<y4>\d{4})"
)
_DOB = re.compile(
    r"(?i)(?:\bgeb\.|\bgeboren|\bgeburtsdatum|\bgeburtstag|\bgeb\.-datum|\bgeb\.dat\.?|\bdate of birth|\bdob"
    r"|(?<![\w*])\*)[^\S\n]{0,3}+(?::|-)?[^\S\n]{0,3}+(?:(?:am|den|der|dem|on|:)\s{1,3}+){0,2}+"
    r"(?P<date>" + _DATE + ")"
)


def _valid_date(m: re.Match[str]) -> bool:
    g = m.groupdict()
    try:
        if g["d1"]:
            year = int(g["y1"])
            year = year + 1900 if year < 100 else year
            day, month = int(g["d1"]), int(g["m1"])
        elif g["d2"]:
            day, month, year = int(g["d2"]), MONTHS[g["mn"].lower()], int(g["y2"])
        elif g["y3"]:
            day, month, year = int(g["d3"]), int(g["m3"]), int(g["y3"])
        else:
            day, month, year = int(g["d4"]), int(g["m4"]), int(g["y4"])
        date = dt.date(year, month, day)
    except (ValueError, KeyError, TypeError):
        return False
    return 1880 <= date.year <= dt.date.today().year


def birth_dates(text: str) -> Iterator[Candidate]:
    for m in _DOB.finditer(text):
        if _valid_date(m):
            yield Candidate(k.GEBURTSDATUM, m.start("date"), m.end("date"), 0.95, "regex+context")


# --- ID card / passport ------------------------------------------------------------------------------
_DOC_ALPHABET = "CFGHJKLMNPRTVWXYZ0123456789"
_DOC = re.compile(r"(?<![A-Za-z0-9])[CFGHJKLMNPRTVWXYZ][CFGHJKLMNPRTVWXYZ0-9]{8}(?P<check>\d)?(?![A-Za-z0-9])")
_DOC_CONTEXT = re.compile(
    r"(?i)ausweis|reisepass|\bpass\b|pass-?nr|passnummer|dokumentennummer|seriennummer|"
    r"\bPA-?Nr|passport|id card|identity card|personalausweis"
)


def icao_check_digit(value: str) -> int:
    """ICAO 9303 check digit: weights 7, 3, 1; digits count as themselves, A–Z as 10–35."""
    total = 0
    for i, char in enumerate(value):
        n = int(char) if char.isdigit() else ord(char) - 55
        total += n * (7, 3, 1)[i % 3]
    return total % 10


def id_documents(text: str) -> Iterator[Candidate]:
    for m in _DOC.finditer(text):
        serial = m.group()[:9]
        if not any(c.isdigit() for c in serial) or (serial.isdigit() and not m.group("check")):
            continue
        has_check = m.group("check") is not None and icao_check_digit(serial) == int(m.group("check"))
        context = _context(text, m.start(), m.end(), _DOC_CONTEXT, before=60)
        if has_check:
            yield Candidate(k.AUSWEIS, m.start(), m.end(), 0.95 if context else 0.85, "regex+checksum")
        elif context and m.group("check") is None:
            yield Candidate(k.AUSWEIS, m.start(), m.end(), 0.9, "regex+context")


# --- licence plates ----------------------------------------------------------------------------------
_PLATE = re.compile(
    r"(?<![\w-])(?P<district>[A-ZÄÖÜ]{1,3})(?P<sep>[- ]|[-–] )(?P<letters>[A-Z]{1,2})[ -]?(?P<digits>[1-9]\d{0,3})"
    r"(?P<suffix>[EH])?(?![\w-]|[.,:]\d)"
)


@functools.cache
def _plate_prefixes() -> frozenset[str]:
    return load_plate_prefixes()


def plates(text: str) -> Iterator[Candidate]:
    prefixes = _plate_prefixes()
    for m in _PLATE.finditer(text):
        known = m.group("district") in prefixes
        if known:
            yield Candidate(k.KFZ, m.start(), m.end(), 0.9, "regex+district")
        elif m.group("sep").startswith("-") and len(m.group("district")) > 1:
            yield Candidate(k.KFZ, m.start(), m.end(), 0.6, "regex")


# --- addresses ---------------------------------------------------------------------------------------
_STREET_SUFFIX = (
    r"(?:straße|strasse|str\.|weg|platz|allee|gasse|ring|damm|ufer|chaussee|steig|pfad|markt|graben|"
    r"wall|steg|anger|zeile|kamp|stieg)"
)
_STREET_WORD = r"(?:Straße|Strasse|Str\.|Weg|Platz|Allee|Gasse|Ring|Damm|Ufer|Chaussee|Steig|Pfad|Markt|Graben|Wall)"
_HOUSE = (
    r"[^\S\n]{0,2}+(?P<no>[1-9]\d{0,2}(?:[^\S\n]?[a-zA-Z])?(?:[^\S\n]?[-–/][^\S\n]?\d{1,3}[a-zA-Z]?)?)(?![\w.,:]\w|\w)"
)
_ADDRESS = re.compile(
    r"(?<![\w-])(?:"
    # one word with a street suffix: Leopoldstr. 12a, Marienplatz 8, Karl-Marx-Allee 3
    r"[A-ZÄÖÜ][\w\-ßäöü]{0,40}?"
    + _STREET_SUFFIX
    +
    # or words before a separate street word: Lange Straße 5, Straße des 17. Juni 135
    r"|(?P<words>(?:[A-ZÄÖÜ][\wäöüß\-]{1,30}[^\S\n]){1,3})"
    + _STREET_WORD
    + r"|Straße[^\S\n]des[^\S\n]\d{1,2}\.[^\S\n][A-ZÄÖÜ][a-zäöü]+"
    # or a preposition street: Am Hang 3, An der Alster 5, Im Tal 12, Zur Mühle 1
    r"|(?P<prep>(?:Am|An\sder|An\sden|Auf\sder|Auf\sdem|Im|In\sder|In\sden|Zum|Zur|Hinter\sder|Unter\sden|Vor\sdem|Beim)"
    r"[^\S\n](?P<pword>[A-ZÄÖÜ][\wäöüß\-]{1,30}))"
    r")" + _HOUSE
)
# words after "Am"/"Im"/"Zum" that make a date, a count or a phrase, not a street
_NOT_STREET = words(
    "jahr jahre jahres alter ende anfang beginn beispiel kapitel abschnitt artikel absatz punkt seite montag dienstag "
    "mittwoch donnerstag freitag samstag sonntag wochenende tag abend morgen januar februar märz april mai juni juli "
    "august september oktober november dezember vergleich rahmen laufe zuge schluss folgenden sommer winter herbst "
    "frühjahr frühling durchschnitt schnitt gegensatz moment minute stunde spiel rang platz mittel"
)
_PLZ = re.compile(
    r"(?<![\w.,/-])(?:D-?[^\S\n]?)?(?P<plz>(?:0[1-9]|[1-9]\d)\d{3})[^\S\n]{1,2}+(?P<town>"
    r"(?:(?:Bad|Sankt|St\.|Neu|Alt|Groß|Klein|Markt|Hansestadt|Lutherstadt)[^\S\n])?"
    r"[A-ZÄÖÜ][\wäöüß\-]{1,40}+"
    r"(?:[^\S\n](?:(?:a\.|am|an[^\S\n]der|im|in|i\.|bei|ob[^\S\n]der|v\.[^\S\n]?d\.|vor[^\S\n]der)[^\S\n]"
    r"[A-ZÄÖÜ][\wäöüß\-.]{1,30}|\([A-ZÄÖÜ][\wäöüß\-.]{1,30}\)))?)"
)
_NOT_TOWN = words(
    "euro eur einwohner einwohnerinnen menschen mitglieder personen besucher stück exemplare zuschauer beschäftigte "
    "mitarbeiter mitarbeitende teilnehmer fälle kilometer meter tonnen stimmen dollar franken pfund jahre jahren tage "
    "stunden minuten"
)


_FUNCTION_WORDS = words(
    "auf der die das den dem des ein eine einen einem einer im am zum zur vom beim nach über unter vor hinter neben in "
    "an mit ohne für gegen durch bis seit jeder jede jedes erster erste zweiter zweite dritter dritte letzter letzte"
)


def addresses(text: str) -> Iterator[Candidate]:
    for m in _ADDRESS.finditer(text):
        if m.group("prep") and m.group("pword").lower() in _NOT_STREET:
            continue
        if m.group("words") and m.group("words").split()[-1].lower() in _FUNCTION_WORDS:
            continue  # "Auf Platz 3", "Der Weg 2" are not streets
        yield Candidate(k.ADRESSE, m.start(), m.end(), 0.9, "regex")
    for m in _PLZ.finditer(text):
        town = m.group("town")
        first = town.split()[0].lower()
        if first in _NOT_TOWN:
            continue
        yield Candidate(k.PLZ_ORT, m.start(), m.end(), 0.9, "regex")


DETECTORS = {
    k.EMAIL: emails,
    k.TELEFON: phones,
    k.IBAN: ibans,
    k.STEUER_ID: tax_ids,
    k.GEBURTSDATUM: birth_dates,
    k.AUSWEIS: id_documents,
    k.KFZ: plates,
}


def find_patterns(text: str, wanted: frozenset[str]) -> list[Candidate]:
    found: list[Candidate] = []
    for kind, detector in DETECTORS.items():
        if kind in wanted:
            found.extend(detector(text))
    if wanted & {k.ADRESSE, k.PLZ_ORT}:
        found.extend(c for c in addresses(text) if c.kind in wanted)
    return found
