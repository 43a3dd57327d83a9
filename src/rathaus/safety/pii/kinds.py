"""What a detected piece of personal data is: its kind, where it is and who found it.

Kinds are German words because they become the placeholders a model and a user read
(``[PERSON_1]``, ``[ADRESSE_1]``); the English meaning is in :data:`KIND_DESCRIPTIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass

PERSON = "PERSON"
ADRESSE = "ADRESSE"  # street and house number
PLZ_ORT = "PLZ_ORT"  # postcode and town
ORT = "ORT"  # a place name (city, country, region) without street or postcode
TELEFON = "TELEFON"
EMAIL = "EMAIL"
IBAN = "IBAN"
STEUER_ID = "STEUER_ID"
GEBURTSDATUM = "GEBURTSDATUM"
AUSWEIS = "AUSWEIS"  # Personalausweis / Reisepass serial number
KFZ = "KFZ"  # licence plate

KIND_DESCRIPTIONS: dict[str, str] = {
    PERSON: "Name einer Person / person name",
    ADRESSE: "Straße und Hausnummer / street address",
    PLZ_ORT: "Postleitzahl und Ort / postcode and town",
    ORT: "Ortsname / place name",
    TELEFON: "Telefonnummer / phone number",
    EMAIL: "E-Mail-Adresse / e-mail address",
    IBAN: "IBAN (Prüfziffer geprüft) / IBAN (checksum verified)",
    STEUER_ID: "Steuerliche Identifikationsnummer (Prüfziffer geprüft) / German tax ID (checksum verified)",
    GEBURTSDATUM: "Geburtsdatum / date of birth",
    AUSWEIS: "Ausweis- oder Passnummer / ID card or passport number",
    KFZ: "Kfz-Kennzeichen / licence plate",
}
ALL_KINDS: frozenset[str] = frozenset(KIND_DESCRIPTIONS)
# A bare place name ("München") is not personal data by itself and replacing it makes answers worse;
# pseudonymisation leaves it alone unless asked for (detect() still finds it).
DEFAULT_PSEUDONYMISE_KINDS: frozenset[str] = ALL_KINDS - {ORT}


@dataclass(frozen=True, slots=True)
class PiiSpan:
    """One finding. ``start``/``end`` are offsets into the ORIGINAL text (``text[start:end]``)."""

    kind: str
    start: int
    end: int
    score: float
    detector: str  # e.g. "regex+checksum", "phonenumbers", "crf", "cue"
    text: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ALL_KINDS:
            raise ValueError(f"unknown kind {self.kind!r}")
        if not 0 <= self.start < self.end:
            raise ValueError(f"bad span {self.start}..{self.end}")

    def __len__(self) -> int:
        return self.end - self.start

    def overlaps(self, other: PiiSpan) -> bool:
        return self.start < other.end and other.start < self.end


def check_kinds(kinds: set[str] | frozenset[str] | None) -> frozenset[str]:
    """The kinds asked for, all when ``None``; unknown names are a ValueError (programming error)."""
    if kinds is None:
        return ALL_KINDS
    unknown = set(kinds) - ALL_KINDS
    if unknown:
        raise ValueError(f"unknown PII kinds: {', '.join(sorted(unknown))}; known: {', '.join(sorted(ALL_KINDS))}")
    return frozenset(kinds)
