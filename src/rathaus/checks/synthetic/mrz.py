"""Machine-readable zones (ICAO 9303) for the synthetic ID documents: TD1 (German ID card, "IDD") and TD3
(passports), with all check digits computed here – independently of rathaus.checks.validators.mrz, so the
generator can test the validator rather than share its mistakes."""

from __future__ import annotations

import unicodedata
from datetime import date

_SPECIAL = {"Ä": "AE", "Ö": "OE", "Ü": "UE", "ß": "SS", "ẞ": "SS", "Æ": "AE", "Ø": "OE", "Å": "AA", "ı": "I",
            "İ": "I", "Ł": "L", "Đ": "D", "Ð": "D", "Þ": "TH"}


def check_digit(text: str) -> str:
    """ICAO 9303 check digit: weights 7, 3, 1; digits count as themselves, A–Z as 10–35, the filler < as 0."""
    total = 0
    for index, char in enumerate(text):
        if char.isdigit():
            value = int(char)
        elif "A" <= char <= "Z":
            value = ord(char) - 55
        else:
            value = 0
        total += value * (7, 3, 1)[index % 3]
    return str(total % 10)


def transliterate(name: str) -> str:
    """A name as the MRZ writes it: upper case Latin letters, umlauts as AE/OE/UE, ß as SS, other marks dropped,
    spaces and hyphens as fillers."""
    out = []
    for char in name.upper():
        if char in _SPECIAL:
            out.append(_SPECIAL[char])
            continue
        base = unicodedata.normalize("NFKD", char)[0]
        if "A" <= base <= "Z":
            out.append(base)
        elif base in " -'":
            out.append("<")
    return "".join(out)


def _yymmdd(value: date) -> str:
    return value.strftime("%y%m%d")


def _names(surname: str, given_names: str, width: int) -> str:
    text = f"{transliterate(surname)}<<{transliterate(given_names)}"
    return text[:width].ljust(width, "<")


def td1_german_id(document_number: str, surname: str, given_names: str, birth_date: date,
                  expiry_date: date) -> list[str]:
    """The three 30-character lines of a German ID card (since 2010: no sex, nationality "D<<")."""
    number = document_number.ljust(9, "<")[:9]
    upper_optional = "<" * 15
    line1 = f"IDD<<{number}{check_digit(number)}{upper_optional}"
    birth = _yymmdd(birth_date)
    expiry = _yymmdd(expiry_date)
    lower_optional = "<" * 11
    composite_source = (line1[5:30] + birth + check_digit(birth) + expiry + check_digit(expiry) + lower_optional)
    line2 = (f"{birth}{check_digit(birth)}<{expiry}{check_digit(expiry)}D<<{lower_optional}"
             f"{check_digit(composite_source)}")
    line3 = _names(surname, given_names, 30)
    return [line1, line2, line3]


def td3_passport(document_number: str, issuing_state: str, nationality: str, surname: str, given_names: str,
                 birth_date: date, sex: str, expiry_date: date) -> list[str]:
    """The two 44-character lines of a passport data page (personal number empty, its check digit a filler as
    on German passports)."""
    state = issuing_state.ljust(3, "<")
    line1 = f"P<{state}{_names(surname, given_names, 39)}"
    number = document_number.ljust(9, "<")[:9]
    birth = _yymmdd(birth_date)
    expiry = _yymmdd(expiry_date)
    personal = "<" * 14
    part_number = number + check_digit(number)
    part_birth = birth + check_digit(birth)
    part_expiry = expiry + check_digit(expiry)
    composite = check_digit(part_number + part_birth + part_expiry + personal + "<")
    line2 = f"{part_number}{nationality.ljust(3, '<')}{part_birth}{sex}{part_expiry}{personal}<{composite}"
    return [line1, line2]


def break_check_digit(lines: list[str], rng_index: int) -> list[str]:
    """The same MRZ with one check digit wrong (the document number's or the birth date's, by ``rng_index``)."""
    broken = list(lines)
    if len(lines) == 3:  # TD1: document number check digit line 1 pos 14, birth date check digit line 2 pos 6
        row, pos = (0, 14) if rng_index % 2 == 0 else (1, 6)
    else:  # TD3: document number check digit line 2 pos 9, birth date check digit line 2 pos 19
        row, pos = (1, 9) if rng_index % 2 == 0 else (1, 19)
    old = broken[row][pos]
    new = str((int(old) + 3 + rng_index % 5) % 10) if old.isdigit() else "7"
    broken[row] = broken[row][:pos] + new + broken[row][pos + 1:]
    return broken


def td1(document_code: str, issuing_state: str, document_number: str, surname: str, given_names: str,
        birth_date: date, sex: str, expiry_date: date, nationality: str) -> list[str]:
    """The three 30-character lines of a TD1 card (e.g. the German electronic residence permit, code "AR")."""
    number = document_number.ljust(9, "<")[:9]
    line1 = f"{document_code.ljust(2, '<')}{issuing_state.ljust(3, '<')}{number}{check_digit(number)}" + "<" * 15
    birth, expiry = _yymmdd(birth_date), _yymmdd(expiry_date)
    optional = "<" * 11
    composite = check_digit(line1[5:30] + birth + check_digit(birth) + expiry + check_digit(expiry) + optional)
    line2 = (f"{birth}{check_digit(birth)}{sex}{expiry}{check_digit(expiry)}{nationality.ljust(3, '<')}{optional}"
             f"{composite}")
    return [line1, line2, _names(surname, given_names, 30)]
