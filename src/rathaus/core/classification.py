"""Data classes (Schutzklassen) that every model request carries."""

from __future__ import annotations

from enum import StrEnum


class DataClass(StrEnum):
    """Ordered from least to most protected."""

    OEFFENTLICH = "oeffentlich"
    INTERN = "intern"
    VERTRAULICH = "vertraulich"
    PERSONENBEZOGEN = "personenbezogen"

    @property
    def label_de(self) -> str:
        return _LABELS_DE[self]

    @property
    def label_en(self) -> str:
        return _LABELS_EN[self]

    @classmethod
    def parse(cls, value: str) -> DataClass:
        """Accept the canonical value, umlaut spellings and English names."""
        key = value.strip().lower().replace("ö", "oe").replace("ä", "ae").replace("ü", "ue")
        key = _ALIASES.get(key, key)
        try:
            return cls(key)
        except ValueError:
            allowed = ", ".join(c.value for c in cls)
            raise ValueError(f"unknown data class {value!r}; allowed: {allowed}") from None


_LABELS_DE = {
    DataClass.OEFFENTLICH: "öffentlich",
    DataClass.INTERN: "intern",
    DataClass.VERTRAULICH: "vertraulich",
    DataClass.PERSONENBEZOGEN: "personenbezogen",
}
_LABELS_EN = {
    DataClass.OEFFENTLICH: "public",
    DataClass.INTERN: "internal",
    DataClass.VERTRAULICH: "confidential",
    DataClass.PERSONENBEZOGEN: "personal data",
}
_ALIASES = {
    "public": "oeffentlich",
    "internal": "intern",
    "confidential": "vertraulich",
    "personal": "personenbezogen",
    "personal data": "personenbezogen",
}
