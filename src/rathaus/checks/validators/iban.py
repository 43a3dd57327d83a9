"""IBAN validation with schwifty: length per country, the ISO 7064 mod-97 checksum, the national structure and,
where schwifty's bank registry knows it (Germany: the Bundesbank's bank code list, shipped in the package, no
network), the bank's name and BIC. Messages are German and say which kind of error it is."""

from __future__ import annotations

import re
from dataclasses import dataclass

from schwifty import IBAN, registry
from schwifty import exceptions as errors


@dataclass(frozen=True)
class IbanResult:
    valid: bool
    normalised: str  # compact, upper case, without spaces ("" when nothing IBAN-like was given)
    message: str  # German: "IBAN gültig" or what is wrong
    error: str = ""  # "", "empty", "country", "length", "checksum", "structure", "bank"
    formatted: str = ""  # in groups of four, for display
    bank_name: str = ""
    bic: str = ""


def _compact(text: str) -> str:
    return re.sub(r"[\s\-.]", "", text).upper()


def validate_iban(text: str) -> IbanResult:
    """Validate an IBAN as typed or read by OCR: spaces, dots, hyphens and lower case are tolerated."""
    compact = _compact(text or "")
    if not compact:
        return IbanResult(False, "", "Keine IBAN angegeben", "empty")
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}", compact):
        return IbanResult(False, compact, "Keine IBAN: erwartet zwei Buchstaben (Land), zwei Prüfziffern und die "
                          "Kontonummer", "structure")
    try:
        iban = IBAN(compact, validate_bban=True)
    except errors.InvalidCountryCode:
        return IbanResult(False, compact, f"Unbekanntes Länderkürzel {compact[:2]!r} am Anfang der IBAN", "country")
    except errors.InvalidLength:
        expected = _expected_length(compact[:2])
        detail = f" (eine IBAN aus {compact[:2]} hat {expected} Zeichen)" if expected else ""
        return IbanResult(False, compact, f"IBAN hat die falsche Länge: {len(compact)} Zeichen{detail}", "length")
    except errors.InvalidChecksumDigits:
        return IbanResult(False, compact, "Prüfziffer der IBAN stimmt nicht – vermutlich ein Tippfehler", "checksum")
    except (errors.InvalidBankCode, errors.InvalidBranchCode):
        return IbanResult(False, compact, "Die Bankleitzahl in der IBAN ist nicht bekannt", "bank")
    except (errors.InvalidStructure, errors.InvalidAccountCode, errors.InvalidBBANChecksum) as exc:
        return IbanResult(False, compact, f"IBAN hat nicht den Aufbau des Landes {compact[:2]} ({exc})", "structure")
    except errors.SchwiftyException as exc:
        return IbanResult(False, compact, f"IBAN ungültig ({exc})", "structure")
    bank_name = (iban.bank_name or "") if iban.bank else ""
    bic = str(iban.bic) if iban.bic else ""
    return IbanResult(True, iban.compact, "IBAN gültig", "", iban.formatted, bank_name, bic)


def _expected_length(country: str) -> int | None:
    try:
        return int(registry.get_iban_spec(country).iban_length)  # the IBAN registry table schwifty ships
    except (KeyError, ValueError, errors.SchwiftyException):
        return None
