"""Readers for the library's files: the catalogue as CSV or MARC21 (binary), loans and searches as CSV.

Every reader returns clean rows and per-line (CSV) or per-record (MARC) problems with the field and a reason in
German and English; a file that cannot be read at all raises one ``LibraryFileError``. CSV files may be UTF-8
(with or without BOM) or Windows-1252/Latin-1, delimited by comma, semicolon or tab, with German or English
column names. Loans and searches are turned into pseudonyms here (``privacy.reader_key``): raw reader ids never
leave this module, and no problem ever quotes one.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from rathaus.core.imports import ProblemList, RowProblem, UnreadableFile
from rathaus.core.textfiles import decode_text, looks_binary, sniff_delimiter
from rathaus.library.privacy import KnownNames, normalise_reader_id, reader_key, scrub_catalogue_text, scrub_query
from rathaus.library.vocabulary import AgeGroup, CatalogueFormat, MediaType

#: the shipped sample: katalog.csv (40 items), ausleihen.csv (synthetic readers L-0001 …), suchen.csv
SAMPLE_DIR = Path(__file__).resolve().parent / "samples"
MEDIA_TYPES: tuple[str, ...] = tuple(m.value for m in MediaType)
AGE_GROUPS: tuple[str, ...] = tuple(a.value for a in AgeGroup)

# column names (normalised: lower case, umlauts folded, _ for blanks and hyphens) → field
CATALOGUE_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "item_id", "record_id", "medien_id", "mediennummer", "titelnummer", "titel_id", "katkey", "nummer",
           "datensatz_id", "ppn"),
    "title": ("title", "titel", "haupttitel"),
    "authors": ("authors", "author", "autor", "autoren", "autorin", "verfasser", "urheber", "creator", "creators"),
    "media_type": ("media_type", "mediatype", "medientyp", "medienart", "medium", "typ", "type", "format"),
    "isbn": ("isbn", "isbn13", "isbn_13"),
    "language": ("language", "sprache", "lang"),
    "subjects": ("subjects", "subject", "schlagwoerter", "schlagworte", "schlagwort", "themen", "thema", "topics"),
    "description": ("description", "beschreibung", "inhalt", "annotation", "zusammenfassung", "abstract"),
    "age_group": ("age_group", "altersgruppe", "zielgruppe", "alter", "audience"),
    "year": ("year", "jahr", "erscheinungsjahr", "publication_year"),
}
LOAN_COLUMNS: dict[str, tuple[str, ...]] = {
    "reader": ("reader", "reader_id", "leser", "leser_id", "lesernummer", "ausweis", "ausweisnummer", "benutzer",
               "benutzernummer", "benutzer_id", "patron", "patron_id", "card", "card_number"),
    "item": ("item", "item_id", "medium", "medium_id", "mediennummer", "medien_id", "exemplar", "record_id",
             "titel_id", "id"),
    "date": ("date", "datum", "loaned_on", "loan_date", "ausleihdatum", "ausleihe", "ausgeliehen_am"),
}
SEARCH_COLUMNS: dict[str, tuple[str, ...]] = {
    "reader": LOAN_COLUMNS["reader"],
    "query": ("query", "suche", "suchbegriff", "suchanfrage", "search", "q", "begriff", "suchtext"),
    "date": ("date", "datum", "searched_on", "search_date", "zeitpunkt", "timestamp", "zeit"),
}
MEDIA_ALIASES = {
    "buch": "buch", "book": "buch", "bücher": "buch", "text": "buch", "sachbuch": "buch", "roman": "buch",
    "bilderbuch": "buch", "comic": "buch", "taschenbuch": "buch",
    "ebook": "ebook", "e-book": "ebook", "e_book": "ebook", "onleihe": "ebook",
    "hörbuch": "hoerbuch", "hoerbuch": "hoerbuch", "audiobook": "hoerbuch", "hörbuch-cd": "hoerbuch",
    "tonie": "hoerbuch", "gesprochenes wort": "hoerbuch", "spoken word": "hoerbuch",
    "dvd": "film", "blu-ray": "film", "bluray": "film", "film": "film", "video": "film", "movie": "film",
    "zweidimensionales bewegtes bild": "film", "two-dimensional moving image": "film",
    "cd": "musik", "musik": "musik", "music": "musik", "musik-cd": "musik", "aufgeführte musik": "musik",
    "performed music": "musik", "schallplatte": "musik",
    "noten": "noten", "notated music": "noten", "noten (notation)": "noten",
    "zeitschrift": "zeitschrift", "magazin": "zeitschrift", "journal": "zeitschrift", "magazine": "zeitschrift",
    "spiel": "spiel", "brettspiel": "spiel", "game": "spiel", "konsolenspiel": "spiel",
    "karte": "karte", "map": "karte", "kartografisches bild": "karte", "cartographic image": "karte",
    "software": "software", "computerprogramm": "software", "computer program": "software",
}
# MARC leader/06 (type of record)
LEADER_TYPES = {"a": "buch", "t": "buch", "c": "noten", "d": "noten", "e": "karte", "f": "karte", "g": "film",
                "i": "hoerbuch", "j": "musik", "m": "software", "r": "spiel", "k": "sonstiges", "o": "sonstiges",
                "p": "sonstiges"}
LANGUAGE_ALIASES = {
    "de": "ger", "deu": "ger", "ger": "ger", "deutsch": "ger", "german": "ger",
    "en": "eng", "eng": "eng", "englisch": "eng", "english": "eng",
    "fr": "fre", "fra": "fre", "fre": "fre", "französisch": "fre", "french": "fre",
    "tr": "tur", "tur": "tur", "türkisch": "tur", "turkish": "tur",
    "es": "spa", "spa": "spa", "spanisch": "spa", "spanish": "spa",
    "it": "ita", "ita": "ita", "italienisch": "ita", "italian": "ita",
    "ar": "ara", "ara": "ara", "arabisch": "ara", "arabic": "ara",
    "uk": "ukr", "ukr": "ukr", "ukrainisch": "ukr", "ukrainian": "ukr",
    "ru": "rus", "rus": "rus", "russisch": "rus", "russian": "rus",
    "pl": "pol", "pol": "pol", "polnisch": "pol", "polish": "pol",
}
AGE_ALIASES = {
    "kinder": "kinder", "kind": "kinder", "children": "kinder", "kids": "kinder", "juvenile": "kinder",
    "jugend": "jugend", "jugendliche": "jugend", "young adult": "jugend", "teens": "jugend", "ya": "jugend",
    "erwachsene": "erwachsene", "erwachsener": "erwachsene", "adult": "erwachsene", "adults": "erwachsene",
}


class LibraryFileError(UnreadableFile):
    """The file is not a library file that rathaus can read (HTTP 422); nothing was stored."""

    status, code, title = 422, "unreadable-library-file", "Not a readable library file"


@dataclass(frozen=True)
class Problem(RowProblem):
    """A problem with one CSV line (1 = header) or one MARC record (1 = first); never quotes a reader id.
    The library's API has always called the column ``field``."""

    column_key: ClassVar[str] = "field"

    @property
    def field(self) -> str | None:
        return self.column


@dataclass
class Problems(ProblemList):
    """Problems of one file (rathaus.core.imports.ProblemList) as library ``Problem``s."""

    problem_type: type[RowProblem] = Problem


@dataclass
class ItemRow:
    id: str
    title: str
    authors: list[str]
    media_type: str
    isbn: str | None = None
    language: str | None = None
    subjects: list[str] = field(default_factory=list)
    description: str | None = None
    age_group: str | None = None
    year: int | None = None
    where: int = 0  # line or record number

    def values(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "authors": self.authors, "media_type": self.media_type,
                "isbn": self.isbn, "language": self.language, "subjects": self.subjects,
                "description": self.description, "age_group": self.age_group, "year": self.year}


@dataclass
class ParsedCatalogue:
    kind: str  # catalogue-csv | catalogue-marc
    encoding: str | None
    delimiter: str | None
    rows_read: int
    items: list[ItemRow]
    problems: Problems
    rejected: int = 0
    personal_data: dict[str, int] = field(default_factory=dict)  # kinds found in descriptions/subjects (counts)


@dataclass
class EventRow:
    """A loan (``value`` = item id) or a search (``value`` = scrubbed query) of a pseudonymous reader."""

    reader_key: str
    value: str
    day: dt.date
    line: int


@dataclass
class ParsedEvents:
    kind: str  # loans | searches
    encoding: str
    delimiter: str
    rows_read: int
    rows: list[EventRow]
    problems: Problems
    rejected: int = 0
    masked: int = 0  # searches with personal data replaced
    dropped: int = 0  # searches that were nothing but personal data
    personal_data: dict[str, int] = field(default_factory=dict)


# --- text files ----------------------------------------------------------------------------------------------

def decode(data: bytes, name: str = "file") -> tuple[str, str]:
    """Text and encoding: UTF-8 (with or without BOM), else Windows-1252/Latin-1."""
    if looks_binary(data):
        raise LibraryFileError(f"{name}: keine Textdatei / not a text file (binary content); expected a CSV file")
    if not data.strip():
        raise LibraryFileError(f"{name}: Datei ist leer / the file is empty")
    return decode_text(data)


def norm_column(name: str) -> str:
    s = name.strip().strip('"').strip().lstrip("\ufeff").lower()
    s = s.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    return re.sub(r"[\s\-./]+", "_", s)


@dataclass
class CsvFile:
    columns: dict[str, int]  # field → column index
    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    encoding: str
    delimiter: str

    def get(self, row: list[str], fld: str) -> str:
        i = self.columns.get(fld)
        return row[i].strip() if i is not None and len(row) > i else ""


def read_csv(data: bytes, name: str, wanted: dict[str, tuple[str, ...]], required: tuple[str, ...],
             what: str, *, echo: bool = True) -> CsvFile:
    """Decode, sniff the delimiter, map the header to fields; missing required columns raise LibraryFileError.
    ``echo=False`` keeps the first line out of the message (a loans file without header starts with a reader id)."""
    text, encoding = decode(data, name)
    text = text.lstrip("\ufeff")
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = sniff_delimiter(first)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows, lines = [], []
    try:
        header = next(reader, [])
        while header is not None and not any(c.strip() for c in header):
            header = next(reader, None)  # type: ignore[arg-type]
        for row in reader:
            if any(c.strip() for c in row):
                rows.append(row)
                lines.append(reader.line_num)
    except csv.Error as exc:
        raise LibraryFileError(f"{name}: kein lesbares CSV / not a readable CSV: {exc}") from None
    header = header or []
    normed = [norm_column(h) for h in header]
    columns: dict[str, int] = {}
    for fld, names in wanted.items():
        for alias in names:
            if alias in normed:
                columns[fld] = normed.index(alias)
                break
    missing = [f for f in required if f not in columns]
    if missing:
        shown = ", ".join(h.strip()[:40] for h in header[:8] if h.strip()) or "keine / none"
        expected = "; ".join(f"{f}: {' | '.join(wanted[f][:4])}" for f in missing)
        found = f"; gefunden / found: {shown}" if echo else f"; {len(header)} Spalten / columns found"
        raise LibraryFileError(f"{name}: keine {what} erkannt / not a {what} file – Spalten fehlen / missing "
                               f"columns ({expected}){found}")
    if not rows:
        raise LibraryFileError(f"{name}: keine Datenzeilen / no data rows below the header")
    return CsvFile(columns, header, rows, lines, encoding, delimiter)


# --- values -----------------------------------------------------------------------------------------------------

def split_list(value: str) -> list[str]:
    """``"a; b | c"`` → ``["a", "b", "c"]`` (empty and repeated entries removed)."""
    out: list[str] = []
    for part in re.split(r"[;|]", value):
        part = " ".join(part.split())
        if part and part not in out:
            out.append(part)
    return out


def media_type(value: str) -> str | None:
    """A normalised media type, or None when the value is unknown."""
    s = " ".join(value.strip().lower().split())
    if not s:
        return None
    if s in MEDIA_TYPES:
        return s
    return MEDIA_ALIASES.get(s)


def language(value: str) -> str | None:
    s = value.strip().lower()
    if not s:
        return None
    if s in LANGUAGE_ALIASES:
        return LANGUAGE_ALIASES[s]
    return s if re.fullmatch(r"[a-z]{3}", s) else None


def age_group(value: str) -> str | None:
    """``kinder``/``jugend``/``erwachsene`` from a word or a minimum age ("ab 6 Jahren", "12+", "FSK 16")."""
    s = " ".join(value.strip().lower().split())
    if not s:
        return None
    if s in AGE_ALIASES:
        return AGE_ALIASES[s]
    for word, group in AGE_ALIASES.items():
        if re.search(rf"\b{re.escape(word)}", s):
            return group
    m = re.search(r"\d{1,2}", s)
    if m:
        age = int(m.group(0))
        return "kinder" if age < 12 else "jugend" if age < 18 else "erwachsene"
    return None


def year(value: str) -> int | None:
    m = re.search(r"(?<!\d)(1[4-9]\d\d|20\d\d)(?!\d)", value)
    return int(m.group(0)) if m and int(m.group(0)) <= dt.date.today().year + 1 else None


def isbn(value: str) -> str | None:
    """The first ISBN in ``value`` as digits (and X), qualifiers like "(Gb.)" dropped; None if there is none."""
    for m in re.finditer(r"(?:97[89][\s-]?)?(?:\d[\s-]?){9}[\dXx]", value):
        digits = re.sub(r"[\s-]", "", m.group(0)).upper()
        if len(digits) in (10, 13):
            return digits
    return None


_ISO_DAY = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_GERMAN_DAY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})")


def parse_day(value: str) -> dt.date | None:
    """ISO ``2025-03-01`` or German ``01.03.2025`` / ``1.3.25`` (a time after the date is ignored)."""
    s = value.strip().split(" ")[0].split("T")[0]
    if m := _ISO_DAY.fullmatch(s):
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    elif m := _GERMAN_DAY.fullmatch(s):
        d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        y += 2000 if len(m.group(3)) == 2 else 0
    else:
        return None
    try:
        return dt.date(y, mo, d)
    except ValueError:
        return None


def _scrub_item(item: ItemRow, problems: Problems, found: dict[str, int], where: dict[str, int]) -> None:
    """Mask contact data in description and subjects; report kinds, never values."""
    texts: list[tuple[str, str]] = [("description", item.description)] if item.description else []
    texts += [("subjects", s) for s in item.subjects]
    if not texts:
        return
    subjects: list[str] = []
    for fld, text in texts:
        result = scrub_catalogue_text(text)
        if fld == "description":
            item.description = result.text
        else:
            subjects.append(result.text or "")
        if result.kinds:
            kinds = ", ".join(sorted(result.kinds))
            for kind, n in result.kinds.items():
                found[kind] = found.get(kind, 0) + n
            problems.add(where.get("line"), fld, f"enthält vermutlich personenbezogene Daten ({kinds}); E-Mail, "
                                                 f"Telefon und IBAN maskiert / probably contains personal data "
                                                 f"({kinds}); e-mail, phone and IBAN masked",
                         record=where.get("record"))
    if item.subjects:
        item.subjects = subjects


# --- catalogue: CSV ---------------------------------------------------------------------------------------------

def parse_catalogue_csv(data: bytes, name: str = "katalog.csv") -> ParsedCatalogue:
    f = read_csv(data, name, CATALOGUE_COLUMNS, ("id", "title"), "Katalogdatei / catalogue")
    problems, items, found = Problems(), {}, {}  # type: ignore[var-annotated]
    rejected = 0
    for row, line in zip(f.rows, f.lines, strict=True):
        item_id, title = f.get(row, "id"), " ".join(f.get(row, "title").split())
        if not item_id or not title:
            problems.add(line, "id" if not item_id else "title", "Pflichtfeld fehlt, Zeile abgelehnt / required "
                                                                 "field missing, line rejected")
            rejected += 1
            continue
        raw_type = f.get(row, "media_type")
        mtype = media_type(raw_type)
        if mtype is None:
            if raw_type:
                problems.add(line, "media_type", f"unbekannter Medientyp {raw_type[:40]!r}, als 'sonstiges' "
                                                 "gespeichert / unknown media type, stored as 'sonstiges'")
            mtype = "sonstiges" if raw_type else "buch"
        raw_age, raw_year, raw_lang = f.get(row, "age_group"), f.get(row, "year"), f.get(row, "language")
        item = ItemRow(item_id, title, split_list(f.get(row, "authors")), mtype, isbn(f.get(row, "isbn")),
                       language(raw_lang), split_list(f.get(row, "subjects")),
                       f.get(row, "description") or None, age_group(raw_age), year(raw_year), line)
        for fld, raw, value in (("age_group", raw_age, item.age_group), ("year", raw_year, item.year),
                                ("language", raw_lang, item.language)):
            if raw and value is None:
                problems.add(line, fld, f"Wert unlesbar, leer gespeichert / unreadable value {raw[:40]!r}, "
                                        "stored as empty")
        _scrub_item(item, problems, found, {"line": line})
        if item_id in items:
            problems.add(line, "id", f"ID doppelt in der Datei (zuerst Zeile {items[item_id].where}), die letzte "
                                     f"Zeile gilt / id repeated in the file, the last line wins")
        items[item_id] = item
    return ParsedCatalogue("catalogue-csv", f.encoding, f.delimiter, len(f.rows), list(items.values()), problems,
                           rejected, found)


# --- catalogue: MARC21 ------------------------------------------------------------------------------------------

def looks_like_marc(data: bytes) -> bool:
    """MARC21 transmission format: a five-digit record length, a leader, field and record terminators."""
    return len(data) >= 24 and data[:5].isdigit() and b"\x1d" in data[:100_000] and b"\x1e" in data[:100_000]


_ISBD_END = re.compile(r"[\s/:;,.=]+$")


def _clean(value: str | None) -> str:
    """A subfield without the ISBD punctuation that ends it ("Emil und die Detektive /" → "… Detektive")."""
    return _ISBD_END.sub("", " ".join((value or "").split()))


def _subfields(record: Any, tags: tuple[str, ...], code: str) -> list[str]:
    out: list[str] = []
    for fld in record.get_fields(*tags):
        for value in fld.get_subfields(code):
            value = _clean(value)
            if value and value not in out:
                out.append(value)
    return out


def _marc_item(record: Any, number: int, problems: Problems) -> ItemRow | None:
    ctrl = record.get("001")
    item_id = (ctrl.data or "").strip() if ctrl is not None else ""
    f245 = record.get("245")
    title = " : ".join(p for p in (_clean(f245.get("a")), _clean(f245.get("b"))) if p) if f245 is not None else ""
    if not item_id or not title:
        problems.add(None, "001" if not item_id else "245", "Pflichtfeld fehlt (001 Kennung, 245 $a Titel), "
                                                            "Datensatz übersprungen / required field missing "
                                                            "(001 id, 245 $a title), record skipped", record=number)
        return None
    fixed = record.get("008")
    fixed_data = (fixed.data or "") if fixed is not None else ""
    langs = _subfields(record, ("041",), "a")
    lang = language(langs[0][:3]) if langs else language(fixed_data[35:38]) if len(fixed_data) >= 38 else None
    mtype = None
    for value in _subfields(record, ("336",), "a"):
        mtype = media_type(value)
        if mtype:
            break
    leader = str(record.leader)
    if mtype is None:
        mtype = LEADER_TYPES.get(leader[6:7], "sonstiges")
        if mtype == "buch" and leader[7:8] == "s":
            mtype = "zeitschrift"
    isbns = [v for v in (isbn(x) for x in _subfields(record, ("020",), "a")) if v]
    pub = _subfields(record, ("264", "260"), "c")
    yr = year(fixed_data[7:11]) if len(fixed_data) >= 11 else None
    if yr is None and pub:
        yr = year(pub[0])
    notes = [" ".join(v.split()) for f in record.get_fields("520") for v in f.get_subfields("a") if v.strip()]
    audience = _subfields(record, ("521",), "a")
    return ItemRow(item_id, title, _subfields(record, ("100", "110", "700", "710"), "a"), mtype,
                   isbns[0] if isbns else None, lang, _subfields(record, ("650", "651", "689"), "a"),
                   "\n".join(notes) or None, age_group(audience[0]) if audience else None, yr, number)


def parse_marc(data: bytes, name: str = "katalog.mrc") -> ParsedCatalogue:
    """MARC21 binary records (MARC-8 or UTF-8); a malformed record is reported by number and skipped."""
    from pymarc import MARCReader

    if not data.strip():
        raise LibraryFileError(f"{name}: Datei ist leer / the file is empty")
    if not looks_like_marc(data):
        raise LibraryFileError(f"{name}: kein MARC21-Datensatz / not MARC21 (binary transmission format); "
                               "MARC-XML and text exports are not read – export MARC21 or CSV")
    problems, items, found = Problems(), {}, {}  # type: ignore[var-annotated]
    number, rejected = 0, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymarc warns about bad UTF-8; we report the record instead
        reader = MARCReader(data, to_unicode=True, permissive=True, utf8_handling="replace")
        for record in reader:
            number += 1
            if record is None:
                exc = reader.current_exception
                reason = type(exc).__name__ if exc is not None else "unknown"
                fatal = reason in ("RecordLengthInvalid", "TruncatedRecord", "EndOfRecordNotFound")
                rest = ("; der Rest der Datei ist nicht lesbar / the rest of the file is unreadable"
                        if fatal else "")
                problems.add(None, None, f"Datensatz fehlerhaft / malformed record ({reason}), übersprungen / "
                                         f"skipped{rest}", record=number)
                rejected += 1
                continue
            try:
                item = _marc_item(record, number, problems)
            except Exception as exc:  # one odd record must not stop the import
                problems.add(None, None, f"Datensatz nicht auswertbar ({type(exc).__name__}), übersprungen / "
                                         "record could not be read, skipped", record=number)
                item = None
            if item is None:
                rejected += 1
                continue
            _scrub_item(item, problems, found, {"record": number})
            if item.id in items:
                problems.add(None, "001", f"Kennung doppelt (zuerst Datensatz {items[item.id].where}), der letzte "
                                          "gilt / id repeated, the last record wins", record=number)
            items[item.id] = item
    if not items:
        raise LibraryFileError(f"{name}: keine lesbaren MARC-Datensätze / no readable MARC records "
                               f"({number} read, all malformed)")
    return ParsedCatalogue("catalogue-marc", None, None, number, list(items.values()), problems, rejected, found)


def parse_catalogue(data: bytes, name: str = "katalog", fmt: CatalogueFormat | str = "auto") -> ParsedCatalogue:
    """Catalogue as CSV or MARC21; ``fmt`` auto looks at the bytes (MARC starts with a five-digit length)."""
    if fmt not in tuple(CatalogueFormat):
        raise LibraryFileError(f"unbekanntes Format / unknown format {fmt!r}; use auto, csv or marc")
    if fmt == CatalogueFormat.MARC or (fmt == CatalogueFormat.AUTO and looks_like_marc(data)):
        return parse_marc(data, name)
    return parse_catalogue_csv(data, name)


# --- loans and searches ------------------------------------------------------------------------------------------

def _events(data: bytes, name: str, kind: str, secret: bytes, today: dt.date,
            value: Callable[[str, int, Problems, set[str]], str | None]) -> ParsedEvents:
    columns = LOAN_COLUMNS if kind == "loans" else SEARCH_COLUMNS
    what = "Ausleihdatei / loans" if kind == "loans" else "Suchanfragen / searches"
    f = read_csv(data, name, columns, tuple(columns), what, echo=False)
    problems, rows, rejected = Problems(), [], 0
    raw_ids = {normalise_reader_id(f.get(r, "reader")) for r in f.rows} - {""} if kind == "searches" else set()
    second = "item" if kind == "loans" else "query"
    keys: dict[str, str] = {}  # raw id → pseudonym, for this file only
    for row, line in zip(f.rows, f.lines, strict=True):
        raw_reader = f.get(row, "reader")
        if not normalise_reader_id(raw_reader):
            problems.add(line, "reader", "Leser-ID fehlt, Zeile abgelehnt / reader id missing, line rejected")
            rejected += 1
            continue
        day = parse_day(f.get(row, "date"))
        if day is None:
            problems.add(line, "date", "Datum unlesbar (erwartet 2025-03-01 oder 01.03.2025), Zeile abgelehnt / "
                                       "unreadable date (expected 2025-03-01 or 01.03.2025), line rejected")
            rejected += 1
            continue
        if day > today + dt.timedelta(days=1):
            problems.add(line, "date", "Datum liegt in der Zukunft, Zeile abgelehnt / date in the future, "
                                       "line rejected")
            rejected += 1
            continue
        got = value(f.get(row, second), line, problems, raw_ids)
        if got is None:
            rejected += 1
            continue
        pseudonym = keys.get(raw_reader)
        if pseudonym is None:
            pseudonym = keys[raw_reader] = reader_key(secret, raw_reader)
        rows.append(EventRow(pseudonym, got, day, line))
    return ParsedEvents(kind, f.encoding, f.delimiter, len(f.rows), rows, problems, rejected)


def parse_loans(data: bytes, name: str, secret: bytes, today: dt.date | None = None) -> ParsedEvents:
    """Loans CSV (reader id, item id, date) → pseudonymous rows; the raw ids stay in this function."""

    def item(value: str, line: int, problems: Problems, _: set[str]) -> str | None:
        if not value:
            problems.add(line, "item", "Medien-ID fehlt, Zeile abgelehnt / item id missing, line rejected")
            return None
        return value

    return _events(data, name, "loans", secret, today or dt.date.today(), item)


def parse_searches(data: bytes, name: str, secret: bytes, known: KnownNames | None = None,
                   today: dt.date | None = None) -> ParsedEvents:
    """Searches CSV (reader id, query, date) → pseudonymous rows with scrubbed queries (see privacy.scrub_query).
    Masked and dropped queries are counted by kind; no value is ever reported."""
    counts = {"masked": 0, "dropped": 0}
    kinds: dict[str, int] = {}

    def query(value: str, line: int, problems: Problems, raw_ids: set[str]) -> str | None:
        if not value.strip():
            problems.add(line, "query", "Suchbegriff leer, Zeile abgelehnt / empty query, line rejected")
            return None
        result = scrub_query(value, known, raw_ids)
        for kind, n in result.kinds.items():
            kinds[kind] = kinds.get(kind, 0) + n
        if result.text is None:
            counts["dropped"] += 1
            return None
        if result.kinds:
            counts["masked"] += 1
        return result.text

    parsed = _events(data, name, "searches", secret, today or dt.date.today(), query)
    parsed.rejected -= counts["dropped"]  # dropped for privacy, not for a fault of the file
    parsed.masked, parsed.dropped, parsed.personal_data = counts["masked"], counts["dropped"], kinds
    return parsed
