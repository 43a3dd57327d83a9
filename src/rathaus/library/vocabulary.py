"""The library's vocabulary, one enum per concept, in a module without dependencies (the CLI's options and the
API's parameters use it without loading the readers): media types, age groups, what an imported file holds and
the catalogue's file format.
"""

from __future__ import annotations

from enum import StrEnum


class MediaType(StrEnum):
    """The media types of the catalogue (MARC leader, RDA 336 and local names are mapped onto them)."""

    BUCH = "buch"
    EBOOK = "ebook"
    HOERBUCH = "hoerbuch"
    FILM = "film"
    MUSIK = "musik"
    NOTEN = "noten"
    ZEITSCHRIFT = "zeitschrift"
    SPIEL = "spiel"
    KARTE = "karte"
    SOFTWARE = "software"
    SONSTIGES = "sonstiges"


class AgeGroup(StrEnum):
    """Who an item is for (the table's check constraint allows exactly these)."""

    KINDER = "kinder"
    JUGEND = "jugend"
    ERWACHSENE = "erwachsene"


class ImportKind(StrEnum):
    """What a library file holds."""

    CATALOGUE = "catalogue"  # CSV or MARC21
    LOANS = "loans"
    SEARCHES = "searches"


class CatalogueFormat(StrEnum):
    """The catalogue file's format (``auto``: MARC21 when the bytes start like a MARC record, else CSV)."""

    AUTO = "auto"
    CSV = "csv"
    MARC = "marc"
