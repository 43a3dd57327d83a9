"""Is it the same person? Names, birth dates and addresses compared across the form and the documents, tolerant
of the ways the same value is written: umlauts (Müller, Mueller, MUELLER in an MRZ, MULLER), ß/ss, case, accents,
hyphens, the order of given names, a missing middle name, and OCR noise (a character or two).

Each function returns a :class:`Match`: a similarity 0..1 and a verdict. The thresholds are named constants;
tests/checks/test_validators.py shows the cases on each side of them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Literal

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from rathaus.checks.validators.dates import parse_date

Verdict = Literal["same", "different", "unsure"]

# Names (token_sort_ratio over the spellings): spelling variants score 1.0 and one inserted character in a longer
# name ("Mülller" 0.93) stays "same"; one changed letter in a short name ("Erlka" 0.80, "Mueiler" 0.86) is as
# close as a really different name ("Miller" 0.83, "Meyer" 0.80, "Schmitt" 0.86) – so those are "unsure" and a
# person looks; clearly different names ("Schneider" 0.63, "Jens"/"Hans" 0.50) are below 0.75.
NAME_SAME = 0.90
NAME_DIFFERENT = 0.75
# Addresses: street names are longer and abbreviated ("Str."), so the street alone may differ more; the postcode
# and the house number must agree exactly for "same".
STREET_SAME = 0.85
STREET_DIFFERENT = 0.60

_UMLAUTS = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "oe", "å": "aa"}


@dataclass(frozen=True)
class Match:
    similarity: float  # 0..1
    verdict: Verdict
    reason: str = ""  # German, for the case worker


def _verdict(similarity: float, same: float, different: float) -> Verdict:
    if similarity >= same:
        return "same"
    if similarity < different:
        return "different"
    return "unsure"


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def name_variants(name: str) -> set[str]:
    """Normalised spellings of a name: lower case, hyphens/'<'/punctuation as spaces, accents removed, and the
    umlauts both transliterated (ü → ue, as ICAO 9303 and German passports do) and dropped (ü → u)."""
    text = name.casefold().replace("<", " ")
    text = re.sub(r"[-‐‑–'’`´.,/]", " ", text)
    spelled = "".join(_UMLAUTS.get(c, c) for c in text)
    dropped = text.replace("ß", "ss")
    out = {re.sub(r"\s+", " ", _strip_accents(v)).strip() for v in (spelled, dropped)}
    # a form may spell it "Mueller" and the card "MULLER": drop the e after a/o/u in the ASCII spelling too
    out |= {re.sub(r"([aou])e", r"\1", v) for v in list(out)}
    return {v for v in out if v}


def name_similarity(a: str, b: str) -> float:
    """0..1: the best token-order-insensitive similarity over the spellings of both names."""
    best = 0.0
    for x in name_variants(a):
        for y in name_variants(b):
            best = max(best, fuzz.token_sort_ratio(x, y) / 100)
    return best


def match_name(a: str, b: str) -> Match:
    """Compare two full names (or two surnames). Given names in another order count as the same; a missing second
    given name ("Anna Maria" / "Anna") makes it unsure at most, never different."""
    if not a.strip() or not b.strip():
        return Match(0.0, "unsure", "Name fehlt")
    similarity = name_similarity(a, b)
    verdict = _verdict(similarity, NAME_SAME, NAME_DIFFERENT)
    if verdict == "different":
        subset = max(fuzz.token_set_ratio(x, y) / 100 for x in name_variants(a) for y in name_variants(b))
        if subset >= NAME_SAME:
            return Match(similarity, "unsure", "Ein Namensteil fehlt in einer der Angaben")
    reason = {"same": "Namen stimmen überein", "unsure": "Namen ähnlich, aber nicht gleich – bitte prüfen",
              "different": "Namen weichen ab"}[verdict]
    return Match(similarity, verdict, reason)


def match_person_name(given_a: str, surname_a: str, given_b: str, surname_b: str) -> Match:
    """Form vs document: the surname decides (it must match), given names may lack a middle name."""
    surname = match_name(surname_a, surname_b)
    given = match_name(given_a, given_b)
    similarity = min(surname.similarity, max(given.similarity, 0.0))
    if surname.verdict == "different":
        return Match(similarity, "different", "Nachname weicht ab")
    if given.verdict == "different":
        return Match(similarity, "different", "Vorname weicht ab")
    if surname.verdict == "same" and given.verdict == "same":
        return Match(similarity, "same", "Namen stimmen überein")
    return Match(similarity, "unsure", "Namen ähnlich, aber nicht gleich – bitte prüfen")


def match_birth_date(a: str | date, b: str | date) -> Match:
    """Same day → same. One digit differs (OCR) or day and month swapped → unsure. Otherwise different."""
    da = a if isinstance(a, date) else parse_date(a, past=True)
    db = b if isinstance(b, date) else parse_date(b, past=True)
    if da is None or db is None:
        return Match(0.0, "unsure", "Geburtsdatum nicht lesbar")
    if da == db:
        return Match(1.0, "same", "Geburtsdatum stimmt überein")
    digits_a, digits_b = da.strftime("%Y%m%d"), db.strftime("%Y%m%d")
    distance = Levenshtein.distance(digits_a, digits_b)
    similarity = 1 - distance / 8
    swapped = da.year == db.year and da.month == db.day and da.day == db.month
    if swapped:
        return Match(similarity, "unsure", "Tag und Monat des Geburtsdatums vertauscht?")
    if distance == 1:
        return Match(similarity, "unsure", "Geburtsdatum weicht in einer Stelle ab – Lesefehler möglich")
    return Match(similarity, "different", "Geburtsdatum weicht ab")


_STREET_ABBREVIATIONS = ((r"\bstr\b\.?", "strasse"), (r"str\.", "strasse"), (r"\bpl\b\.?", "platz"))


def _street(text: str) -> str:
    text = "".join(_UMLAUTS.get(c, c) for c in text.casefold())
    for pattern, full in _STREET_ABBREVIATIONS:
        text = re.sub(pattern, full, text)
    text = re.sub(r"[-.,/]", " ", _strip_accents(text))
    return re.sub(r"\s+", " ", text).replace("strasse", "str").strip()


def split_address(address: str) -> tuple[str, str, str, str]:
    """("Hauptstr. 5a, 80331 München") → street, house number, postcode, town (parts "" when not found)."""
    m = re.search(r"(?<!\d)(\d{5})(?!\d)\s*(.*)$", address)
    postcode, town = (m[1], m[2].strip(" ,")) if m else ("", "")
    head = address[: m.start()] if m else address
    n = re.search(r"(\d+\s*[a-zA-Z]?(?:\s*[-/]\s*\d+\s*[a-zA-Z]?)?)\s*,?\s*$", head.strip(" ,"))
    number = re.sub(r"\s+", "", n[1]).lower() if n else ""
    street = head.strip(" ,")[: n.start()].strip(" ,") if n else head.strip(" ,")
    return street, number, postcode, town


def match_address(a: str, b: str) -> Match:
    """Compare "Straße Nr, PLZ Ort" lines: postcode and house number must agree; street and town by similarity
    ("Hauptstr." = "Hauptstraße")."""
    sa, na, pa, ta = split_address(a)
    sb, nb, pb, tb = split_address(b)
    if not (sa and sb):
        return Match(0.0, "unsure", "Adresse unvollständig")
    street = fuzz.ratio(_street(sa), _street(sb)) / 100
    town = fuzz.ratio(_street(ta), _street(tb)) / 100 if ta and tb else 1.0
    similarity = min(street, town)
    if pa and pb and pa != pb:
        near = Levenshtein.distance(pa, pb) == 1 and street >= STREET_SAME
        return Match(similarity * 0.5, "unsure" if near else "different",
                     "Postleitzahl weicht in einer Stelle ab" if near else "Postleitzahl weicht ab")
    if na and nb and na != nb:
        return Match(similarity * 0.5, "different", "Hausnummer weicht ab")
    verdict = _verdict(similarity, STREET_SAME, STREET_DIFFERENT)
    if verdict == "same" and not (pa and pb and na and nb):
        verdict = "unsure"  # without postcode or number on both sides, the street alone does not decide
    reason = {"same": "Adresse stimmt überein", "unsure": "Adresse ähnlich oder unvollständig – bitte prüfen",
              "different": "Adresse weicht ab"}[verdict]
    return Match(similarity, verdict, reason)
