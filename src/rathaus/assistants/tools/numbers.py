"""Numbers, dates and amounts: extracted, normalised and checked against a source text.

Used by summarise, simplify and translate (and draft's point coverage). Every number, date and amount is
normalised — German and English digit grouping ("1.000", "1,000", "1 000" → 1000; "5,5" / "5.5" → 5.5), dates
("04.10.2024", "4.10.24", "4. Oktober 2024" → 2024-10-04; "Oktober 2024" → 2024-10), times ("12:50"), scale
words ("1,5 Mio." → also 1500000). A number of the output is *verified* when one of its readings occurs in
the source (the year of a source date and German number words "zwei" … "zwölf", "hundert" count as well).
List numbering ("1.", "(2)") at the start of a line and digits glued to letters ("CO2") are no facts and
are skipped. ``source_numbers_kept`` is the share of distinct source numbers found in the output (a
translation may write a date as "October 4, 2024": day and year suffice there, ``loose_dates``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from rathaus.assistants.tools.text import WORD_RE

MONTHS = {"januar": 1, "jänner": 1, "februar": 2, "märz": 3, "maerz": 3, "april": 4, "mai": 5, "juni": 6,
          "juli": 7, "august": 8, "september": 9, "oktober": 10, "november": 11, "dezember": 12}
NUMBER_WORDS = {"null": 0, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6, "sieben": 7, "acht": 8,
                "neun": 9, "zehn": 10, "elf": 11, "zwölf": 12, "zwanzig": 20, "dreißig": 30, "vierzig": 40,
                "fünfzig": 50, "hundert": 100, "tausend": 1000, "eins": 1, "einem": 1, "einer": 1,
                "doppelt": 2, "halb": 0.5, "hälfte": 0.5}
_SCALES = {"mio": 10**6, "million": 10**6, "millionen": 10**6, "mrd": 10**9, "milliarde": 10**9,
           "milliarden": 10**9, "tsd": 1000, "tausend": 1000, "thousand": 1000, "billion": 10**9}
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
_SPACE = " \u00a0\u202f\u2009"
NUMBER_RE = re.compile(
    r"(?<![^\W\d_])(?<![\d.,])(?:"
    r"(?P<d1>\d{1,2})\.\s?(?P<m1>\d{1,2})\.\s?(?P<y1>\d{4}|\d{2})(?![\d])"
    rf"|(?P<d2>\d{{1,2}})\.\s*(?P<m2>{_MONTH_RE})\b(?:\s+(?P<y2>\d{{4}})(?!\d))?"
    rf"|(?P<num>\d{{1,3}}(?:[{_SPACE}]\d{{3}})+(?:,\d+)?(?![\d.,]\d)|\d+(?:[.,:]\d+)*)"
    r")",
    re.IGNORECASE,
)
_MONTH_YEAR_RE = re.compile(rf"\b(?P<m>{_MONTH_RE})\s+(?P<y>\d{{4}})(?!\d)", re.IGNORECASE)

@dataclass(frozen=True)
class Number:
    raw: str
    values: frozenset[str]  # normalised readings ("1000", "5.5", "D:2024-10-04", "T:12:50")
    extras: frozenset[str] = frozenset()  # further readings a source allows (year and month of a date)
    parts: frozenset[str] = frozenset()  # loose components (day, month, year of a date)


def _canon(value: Decimal | int | float) -> str:
    d = Decimal(str(value))
    text = format(d.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _number_values(raw: str, following: str) -> set[str]:
    s = re.sub(f"[{_SPACE}]", "", raw)
    values: set[Decimal] = set()
    try:
        if ":" in s:
            parts = [int(p) for p in s.split(":")]
            half = re.match(r"\s*([ap])\.?\s?m\b", following, re.IGNORECASE)  # "3:30 PM" is 15:30
            if half and 1 <= parts[0] <= 12:
                parts[0] = parts[0] % 12 + (12 if half.group(1).lower() == "p" else 0)
            return {"T:" + ":".join(str(p) for p in parts)}
        if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", s):
            values.add(Decimal(s.replace(".", "")))
            if s.count(".") == 1:
                values.add(Decimal(s))
        elif re.fullmatch(r"\d{1,3}(?:,\d{3})+", s):
            values.add(Decimal(s.replace(",", "")))
            if s.count(",") == 1:
                values.add(Decimal(s.replace(",", ".")))
        elif re.fullmatch(r"\d{1,3}(?:\.\d{3})+,\d+", s):
            values.add(Decimal(s.replace(".", "").replace(",", ".")))
        elif re.fullmatch(r"\d{1,3}(?:,\d{3})+\.\d+", s):
            values.add(Decimal(s.replace(",", "")))
        elif re.fullmatch(r"\d+,\d+", s):
            values.add(Decimal(s.replace(",", ".")))
        elif re.fullmatch(r"\d+(?:\.\d+)?", s):
            values.add(Decimal(s))
        else:
            return {"S:" + s}
    except InvalidOperation:
        return {"S:" + s}
    scale = re.match(r"\s*([^\W\d_]+)", following)
    factor = _SCALES.get(scale.group(1).lower().rstrip(".")) if scale else None
    if factor:
        values |= {v * factor for v in values}
    return {_canon(v) for v in values}


def _date(day: int, month: int, year: int | None) -> Number | None:
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return None
    if year is None:
        return Number("", frozenset({f"DM:{month:02d}-{day:02d}"}), parts=frozenset({str(day), str(month)}))
    return Number("", frozenset({f"D:{year:04d}-{month:02d}-{day:02d}"}),
                  extras=frozenset({f"MY:{year:04d}-{month:02d}", f"DM:{month:02d}-{day:02d}", str(year)}),
                  parts=frozenset({str(day), str(year)}))


def extract_numbers(text: str) -> list[Number]:
    """Numbers, dates, times and amounts of ``text`` with their normalised readings (see module docstring)."""
    out: list[tuple[int, int, Number]] = []
    for m in NUMBER_RE.finditer(text):
        raw = m.group(0)
        number: Number | None = None
        if m.group("d1"):
            year = int(m.group("y1"))
            number = _date(int(m.group("d1")), int(m.group("m1")), year + 2000 if year < 100 else year)
        elif m.group("d2"):
            number = _date(int(m.group("d2")), MONTHS[m.group("m2").lower()],
                           int(m.group("y2")) if m.group("y2") else None)
        if number is None:
            line_start = text.rfind("\n", 0, m.start()) + 1
            if (re.fullmatch(r"\d{1,2}", raw) and re.fullmatch(r"[ \t>*]*\(?", text[line_start:m.start()])
                    and re.match(r"[.)](?:\s|$)", text[m.end():m.end() + 2])):
                continue  # list numbering "1. …", "(2) …"
            raw_num = m.group("num") or raw
            number = Number(raw_num, frozenset(_number_values(raw_num, text[m.end():m.end() + 12])))
        else:
            number = Number(raw.strip(), number.values, number.extras, number.parts)
        out.append((m.start(), m.end(), number))
    taken = [(a, b) for a, b, n in out if any(v.startswith(("D:", "DM:")) for v in n.values)]
    for m in _MONTH_YEAR_RE.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue  # part of "4. Oktober 2024"
        year, month = int(m.group("y")), MONTHS[m.group("m").lower()]
        out = [item for item in out if not (m.start() <= item[0] < m.end())]  # the year alone
        out.append((m.start(), m.end(), Number(m.group(0), frozenset({f"MY:{year:04d}-{month:02d}"}),
                                               extras=frozenset({str(year)}), parts=frozenset({str(year)}))))
    out.sort(key=lambda item: item[0])
    return [n for _, _, n in out]


def _word_numbers(text: str) -> set[str]:
    return {_canon(NUMBER_WORDS[w]) for w in (w.lower() for w in WORD_RE.findall(text)) if w in NUMBER_WORDS}


def distinct(numbers: list[Number]) -> list[Number]:
    seen: set[frozenset[str]] = set()
    out = []
    for n in numbers:
        if n.values not in seen:
            seen.add(n.values)
            out.append(n)
    return out


def check_numbers(source: str, output: str, *, loose_dates: bool = False) -> dict[str, Any]:
    """Numbers of ``output`` verified against ``source`` and source numbers kept in ``output``."""
    src, out = extract_numbers(source), distinct(extract_numbers(output))
    allowed: set[str] = set(_word_numbers(source))
    for n in src:
        allowed |= n.values | n.extras | (n.parts if loose_dates else frozenset())
    unverified = [n.raw for n in out if not n.values & allowed]
    out_readings: set[str] = set()
    out_parts: set[str] = set()
    for n in out:
        out_readings |= n.values | n.extras
        out_parts |= n.parts | {v for v in n.values if re.fullmatch(r"\d+", v)}
    distinct_src = distinct(src)
    kept, missing = 0, []
    for n in distinct_src:
        if n.values & out_readings or (loose_dates and n.parts and n.parts <= out_parts):
            kept += 1
        else:
            missing.append(n.raw)
    return {
        "numbers": len(out), "numbers_verified": len(out) - len(unverified),
        "unverified_numbers": list(dict.fromkeys(unverified)), "source_numbers": len(distinct_src),
        "source_numbers_kept": round(kept / len(distinct_src), 4) if distinct_src else 1.0,
        "missing_numbers": list(dict.fromkeys(missing)),
    }


def mark_unverified(text: str, unverified: list[str]) -> str:
    """Put "⚠" after each unverified number and list them below the text."""
    if not unverified:
        return text
    for raw in unverified:
        text = re.sub(rf"(?<![\d.,]){re.escape(raw)}(?![\d]|[.,]\d)(?! ⚠)", lambda m: m.group(0) + " ⚠", text)
    return f"{text}\n\n> ⚠ nicht in der Quelle: {', '.join(unverified)} – bitte prüfen."
