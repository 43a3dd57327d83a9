"""The engine's one seam to rathaus.checks.validators (written in parallel, branch checks-validators).

Each function calls the validator of the planned API when it is importable and otherwise a small local
fallback, so the rules can be written and tested now. When the validators are merged, the lead can delete the
fallbacks (or this module, importing the validators in rathaus.checks.engine directly):

* ``validators.iban.validate_iban(s) -> IbanResult(valid, bank, message)``
* ``validators.matching.same_name(a, b) -> float`` and ``same_address(a, b) -> float`` (similarity 0..1)
* ``validators.dates.parse_date(s) -> date | None``
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from difflib import SequenceMatcher
from functools import cache
from typing import Any


@dataclass(frozen=True)
class IbanCheck:
    valid: bool
    bank: str | None
    message: str


@cache
def _real(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(f"rathaus.checks.validators.{module}"), name)
    except (ImportError, AttributeError):
        return None


def validate_iban(text: str) -> IbanCheck:
    real = _real("iban", "validate_iban")
    if real is not None:
        result = real(text)
        return IbanCheck(bool(result.valid), getattr(result, "bank", None), str(getattr(result, "message", "")))
    compact = re.sub(r"\s+", "", text).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return IbanCheck(False, None, "keine IBAN (Ländercode, Prüfziffer, Kontokennung)")
    if compact.startswith("DE") and len(compact) != 22:
        return IbanCheck(False, None, f"eine deutsche IBAN hat 22 Zeichen, nicht {len(compact)}")
    digits = "".join(str(int(ch, 36)) for ch in compact[4:] + compact[:4])
    if int(digits) % 97 != 1:
        return IbanCheck(False, None, "Prüfziffer der IBAN stimmt nicht")
    return IbanCheck(True, None, "Prüfziffer stimmt")


def _fold(text: str) -> str:
    """Lower case, umlauts and ß spelled out, other accents removed, only letters, digits and single spaces."""
    low = text.casefold().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    low = unicodedata.normalize("NFKD", low)
    low = "".join(ch for ch in low if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", low).split())


def _scale(score: Any) -> float:
    value = float(score)
    return value / 100.0 if value > 1.0 else value


def same_name(a: str, b: str) -> float:
    real = _real("matching", "same_name")
    if real is not None:
        return _scale(real(a, b))
    fa, fb = _fold(a), _fold(b)
    if not fa or not fb:
        return 0.0
    if fa == fb:
        return 1.0
    ta, tb = set(fa.split()), set(fb.split())
    if ta <= tb or tb <= ta:  # one spelling leaves out a middle name
        return 0.95
    return SequenceMatcher(None, " ".join(sorted(ta)), " ".join(sorted(tb))).ratio()


_STREET = re.compile(r"(stra(ss|ß)e|str\.?)(?=\s|\d|$)")


def same_address(a: str, b: str) -> float:
    real = _real("matching", "same_address")
    if real is not None:
        return _scale(real(a, b))
    fa = _fold(_STREET.sub("str", a.casefold()))
    fb = _fold(_STREET.sub("str", b.casefold()))
    if not fa or not fb:
        return 0.0
    if fa == fb:
        return 1.0
    digits_a, digits_b = re.findall(r"\d+", fa), re.findall(r"\d+", fb)
    ratio = SequenceMatcher(None, fa, fb).ratio()
    if digits_a != digits_b:  # another house number or postcode is another address
        return min(ratio, 0.6)
    return ratio


def parse_date(text: str) -> date | None:
    real = _real("dates", "parse_date")
    if real is not None:
        parsed = real(text)
        return parsed if isinstance(parsed, date) else None
    value = text.strip()
    for pattern, order in ((r"(\d{4})-(\d{1,2})-(\d{1,2})", "ymd"), (r"(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})", "dmy")):
        match = re.fullmatch(pattern, value)
        if match:
            parts = [int(p) for p in match.groups()]
            year, month, day = (parts[0], parts[1], parts[2]) if order == "ymd" else (parts[2], parts[1], parts[0])
            try:
                return date(year, month, day)
            except ValueError:
                return None
    return None


def parse_amount(text: str) -> Decimal | None:
    """A decimal with a dot ("612.50", the contract's form) or a German amount ("1.234,56 €")."""
    value = re.sub(r"\s|€|EUR", "", text.strip(), flags=re.IGNORECASE)
    if re.fullmatch(r"-?\d{1,3}(\.\d{3})+(,\d{1,2})?|-?\d+,\d{1,2}", value):
        value = value.replace(".", "").replace(",", ".")
    try:
        return Decimal(value) if re.fullmatch(r"-?\d+(\.\d+)?", value) else None
    except InvalidOperation:
        return None
