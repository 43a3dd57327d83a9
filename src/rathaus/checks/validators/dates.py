"""German dates as written on forms and documents, and whether a date is plausible for its purpose.

Accepted: 01.02.2026, 1.2.2026, 01.02.26 (two-digit years: the nearest past for birth dates, otherwise 19xx/20xx
by the pivot below), 1. Februar 2026, 1. Feb. 2026, 1 Februar 2026, 2026-02-01 (ISO), 01/02/2026."""

from __future__ import annotations

import re
from datetime import date

MONTHS = {
    "januar": 1, "jänner": 1, "jan": 1, "februar": 2, "feb": 2, "märz": 3, "maerz": 3, "mär": 3, "mrz": 3,
    "april": 4, "apr": 4, "mai": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10, "november": 11, "nov": 11, "dezember": 12,
    "dez": 12,
}
_NUMERIC = re.compile(r"(?<!\d)(\d{1,2})\s*[./]\s*(\d{1,2})\s*[./]\s*(\d{4}|\d{2})(?!\d)")
_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_WORDS = re.compile(r"(?<!\d)(\d{1,2})\.?\s*([A-Za-zÄÖÜäöü]+)\.?\s*(\d{4})(?!\d)")
MAX_AGE = 120  # years: older birth dates are implausible


def _year(two_or_four: str, today: date, past: bool) -> int:
    year = int(two_or_four)
    if len(two_or_four) == 4:
        return year
    century = today.year // 100 * 100
    candidate = century + year
    if past:
        return candidate if candidate <= today.year else candidate - 100
    return candidate if candidate <= today.year + 30 else candidate - 100


def parse_date(text: str, *, today: date | None = None, past: bool = False) -> date | None:
    """The first date in ``text`` (None when there is none or it does not exist, e.g. 31.02.2026).
    ``past``: a two-digit year means the most recent such year (birth dates)."""
    today = today or date.today()
    text = text.strip()
    try:
        if m := _ISO.search(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _NUMERIC.search(text):
            return date(_year(m[3], today, past), int(m[2]), int(m[1]))
        if (m := _WORDS.search(text)) and m[2].lower() in MONTHS:
            return date(int(m[3]), MONTHS[m[2].lower()], int(m[1]))
    except ValueError:
        return None
    return None


def age_on(birth: date, day: date) -> int:
    """Completed years of life on ``day``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def birth_date_problem(birth: date, *, today: date, min_age: int = 0, max_age: int = MAX_AGE) -> str | None:
    """German message when a birth date is implausible (in the future, or age outside the range), else None."""
    if birth > today:
        return f"Geburtsdatum {birth:%d.%m.%Y} liegt in der Zukunft"
    age = age_on(birth, today)
    if age < min_age:
        return f"Alter {age} Jahre liegt unter dem Mindestalter von {min_age} Jahren"
    if age > max_age:
        return f"Alter {age} Jahre ist nicht plausibel (mehr als {max_age} Jahre)"
    return None


def date_problem(day: date, *, today: date, not_future: bool = True, max_age_days: int | None = None,
                 what: str = "Datum") -> str | None:
    """German message when a document or form date is implausible: in the future, or older than allowed."""
    if not_future and day > today:
        return f"{what} {day:%d.%m.%Y} liegt in der Zukunft"
    if max_age_days is not None and (today - day).days > max_age_days:
        return f"{what} {day:%d.%m.%Y} ist älter als {max_age_days} Tage"
    return None


def expiry_problem(expiry: date, *, on: date) -> str | None:
    """German message when a document expired before ``on`` (e.g. the submission date)."""
    if expiry < on:
        return f"Dokument abgelaufen am {expiry:%d.%m.%Y}"
    return None
