"""Validators of an application check (issue 16): pure functions, no database.

- :mod:`.iban` – IBAN checksum, length, structure and bank (schwifty)
- :mod:`.mrz` – ICAO 9303 machine-readable zones, every check digit, OCR-tolerant
- :mod:`.mrz_image` – find and read the MRZ on a photo or scan (Tesseract through tesserocr)
- :mod:`.matching` – same person on form and documents (names, birth dates, addresses)
- :mod:`.dates`, :mod:`.amounts` – German dates and amounts, plausibility
"""

from rathaus.checks.validators.amounts import amount_problem, amount_text, format_euro, parse_amount
from rathaus.checks.validators.dates import age_on, birth_date_problem, date_problem, expiry_problem, parse_date
from rathaus.checks.validators.iban import IbanResult, validate_iban
from rathaus.checks.validators.matching import (
    Match,
    match_address,
    match_birth_date,
    match_name,
    match_person_name,
    name_similarity,
)
from rathaus.checks.validators.mrz import MrzResult, check_digit, mrz_from_text, parse_mrz
from rathaus.checks.validators.mrz_image import find_mrz

__all__ = [
    "IbanResult", "Match", "MrzResult", "age_on", "amount_problem", "amount_text", "birth_date_problem",
    "check_digit", "date_problem", "expiry_problem", "find_mrz", "format_euro", "match_address",
    "match_birth_date", "match_name", "match_person_name", "mrz_from_text", "name_similarity", "parse_amount",
    "parse_date", "parse_mrz", "validate_iban",
]
