"""Amounts as written in German documents ("1.234,56 €", "EUR 1234,56", "1 234,56", "-12,50") and plausible ranges.
Results are Decimals; :func:`amount_text` gives the contract's form (a dot, two decimals: "1234.56")."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_CURRENCY = re.compile(r"(€|EUR|Euro)", re.IGNORECASE)


def parse_amount(text: str) -> Decimal | None:
    """The first amount in ``text`` (German notation: '.' groups thousands, ',' separates cents); a dot followed by
    exactly 1–2 digits at the end is read as the decimal point when no comma is present ("1234.56")."""
    body = _CURRENCY.sub(" ", text or "").strip()
    m = re.search(r"[-−+]?\s*\d[\d.,\s' ]*", body)
    if not m:
        return None
    raw = re.sub(r"[\s' ]", "", m.group()).replace("−", "-").rstrip(".,")
    if "," in raw:
        whole, _, cents = raw.rpartition(",")
        if "," in whole:
            return None
        if "." in whole and not re.fullmatch(r"[-+]?\d{1,3}(\.\d{3})+", whole):
            return None
        raw = whole.replace(".", "") + "." + cents
    elif re.fullmatch(r"[-+]?\d{1,3}(\.\d{3})+", raw):
        raw = raw.replace(".", "")  # 1.234 = one thousand two hundred thirty-four
    elif raw.count(".") > 1:
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        return None


def amount_text(value: Decimal) -> str:
    """The contract's form of an amount: decimal point, two decimals."""
    return f"{value.quantize(Decimal('0.01'))}"


def amount_problem(value: Decimal, *, low: Decimal | None = None, high: Decimal | None = None,
                   what: str = "Betrag") -> str | None:
    """German message when an amount lies outside its plausible range, else None."""
    if low is not None and value < low:
        return f"{what} {format_euro(value)} ist unplausibel niedrig (unter {format_euro(low)})"
    if high is not None and value > high:
        return f"{what} {format_euro(value)} ist unplausibel hoch (über {format_euro(high)})"
    return None


def format_euro(value: Decimal) -> str:
    """German display: 1.234,56 €."""
    text = f"{value.quantize(Decimal('0.01')):,.2f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".") + " €"
