"""Privacy of library readers: keyed pseudonyms, retention, opt-out and scrubbing of free text.

* A reader id (card number) becomes ``reader_key = HMAC-SHA256(key, normalised id)`` (hex, 32 characters) the
  moment a file is read; the raw id is never stored, logged or put into an import problem. Without the key the
  pseudonym cannot be recomputed from a guessed card number (a plain hash could: card numbers are short).
  This is pseudonymisation in the sense of GDPR Art. 4(5), not anonymisation: the data stay personal data.
* Loans and searches older than ``library_loan_retention_days`` are not imported and are purged.
* A reader who opts out loses their loans and searches; their pseudonym is kept in ``library_optouts`` so later
  imports skip them (counted, never listed).
* Search queries are scrubbed of personal data with ``rathaus.safety.pii`` (e-mail, phone, IBAN, names that are
  not authors or titles of the catalogue, reader card numbers …); catalogue texts are flagged and contact data
  masked. Detected values never reach a problem, a summary or a log — only their kinds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from rathaus.core.errors import BadRequest, ConfigError
from rathaus.core.keyfiles import load_or_create_key_file
from rathaus.core.settings import Settings
from rathaus.library.schema import LibraryLoan, LibraryOptOut, LibrarySearch
from rathaus.library.settings import LibrarySettings
from rathaus.safety.pii import detect
from rathaus.safety.pii import kinds as k

KEY_FILE = Path("secrets") / "library-reader-key"
KEY_CHARS = 32  # 128 bits of the HMAC: no collisions among any realistic number of readers
DEFAULT_RETENTION_DAYS = 730
MAX_QUERY_CHARS = 200
Key = Settings | SecretStr | str | bytes

#: kinds replaced in search queries (ORT – a bare place name – is a topic, not a person)
QUERY_KINDS = frozenset({k.PERSON, k.ADRESSE, k.PLZ_ORT, k.TELEFON, k.EMAIL, k.IBAN, k.STEUER_ID, k.GEBURTSDATUM,
                         k.AUSWEIS, k.KFZ})
#: kinds flagged in catalogue texts (names of authors and characters are normal there, so no PERSON/ORT)
CATALOGUE_FLAG_KINDS = frozenset({k.EMAIL, k.TELEFON, k.IBAN, k.STEUER_ID, k.AUSWEIS, k.ADRESSE})
#: kinds masked in catalogue texts
CATALOGUE_MASK_KINDS = frozenset({k.EMAIL, k.TELEFON, k.IBAN})
READER_CARD = "LESERAUSWEIS"
# a library card number typed into the search box: "L-0001", "LA123456"; ISBNs are digits only
_CARD = re.compile(r"(?<![\w-])[A-Z]{1,3}-?\d{4,12}(?![\w-])")
_PLACEHOLDER = re.compile(r"\[[A-Z_]+\]")
_DIGIT_OR_AT = re.compile(r"[\d@]")


# --- the key ---------------------------------------------------------------------------------------------------

def key_file(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE


def key_bytes(key: Key) -> bytes:
    """The HMAC key from settings (or given directly). With settings and no ``library_reader_key``: the key file
    in ``data_dir`` for the embedded default; an external database needs the setting (all replicas must agree)."""
    if isinstance(key, Settings):
        configured = key.section(LibrarySettings).library_reader_key
        if configured is not None:
            return configured.get_secret_value().encode("utf-8")
        if not key.embedded_database:
            raise ConfigError("RATHAUS_LIBRARY_READER_KEY fehlt / is not set: with an external database every "
                              "replica must use the same key for reader pseudonyms")
        return load_or_create_key_file(key_file(key))
    if isinstance(key, SecretStr):
        key = key.get_secret_value()
    raw = key.encode("utf-8") if isinstance(key, str) else key
    if len(raw) < 16:
        raise ConfigError("Schlüssel für Leser-Pseudonyme zu kurz / reader key shorter than 16 characters")
    return raw


def normalise_reader_id(raw_id: str) -> str:
    """``" l-0001 "`` and ``"L-0001"`` are the same reader: NFKC, no whitespace, upper case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", raw_id)).upper()


def reader_key(settings_or_key: Key, raw_id: str) -> str:
    """The pseudonym of a reader: HMAC-SHA256 over the normalised id, hex, 32 characters."""
    norm = normalise_reader_id(raw_id)
    if not norm:
        raise BadRequest("Leser-ID fehlt / reader id is empty")
    secret = settings_or_key if isinstance(settings_or_key, bytes) else key_bytes(settings_or_key)
    return hmac.new(secret, norm.encode("utf-8"), hashlib.sha256).hexdigest()[:KEY_CHARS]


# --- retention and opt-out -------------------------------------------------------------------------------------

def cutoff(days: int, today: dt.date | None = None) -> dt.date:
    """The oldest day still kept: loans and searches before it are expired."""
    if days < 1:
        raise BadRequest("retention must be at least one day")
    return (today or dt.date.today()) - dt.timedelta(days=days)


def purge_expired(session: Session, days: int, *, today: dt.date | None = None) -> int:
    """Delete loans and searches older than ``days``; returns how many rows went."""
    limit = cutoff(days, today)
    loans = session.execute(sa.delete(LibraryLoan).where(LibraryLoan.loaned_on < limit)).rowcount  # type: ignore[attr-defined]
    searches = session.execute(sa.delete(LibrarySearch).where(LibrarySearch.searched_on < limit)).rowcount  # type: ignore[attr-defined]
    return int(loans) + int(searches)


def opt_out(session: Session, key: Key, raw_reader_id: str) -> dict[str, Any]:
    """A reader's objection: delete their loans and searches and skip them in later imports.
    Returns counts only (and the pseudonym, which identifies nobody without the key)."""
    rk = reader_key(key, raw_reader_id)
    loans = session.execute(sa.delete(LibraryLoan).where(LibraryLoan.reader_key == rk)).rowcount  # type: ignore[attr-defined]
    searches = session.execute(sa.delete(LibrarySearch).where(LibrarySearch.reader_key == rk)).rowcount  # type: ignore[attr-defined]
    inserted = session.execute(pg_insert(LibraryOptOut).values(reader_key=rk).on_conflict_do_nothing()).rowcount  # type: ignore[attr-defined]
    return {"reader_key": rk, "loans_deleted": int(loans), "searches_deleted": int(searches),
            "already_opted_out": not inserted}


def opt_in(session: Session, key: Key, raw_reader_id: str) -> dict[str, Any]:
    """Undo an opt-out: later imports use the reader's loans again (deleted ones do not come back by themselves)."""
    rk = reader_key(key, raw_reader_id)
    removed = session.execute(sa.delete(LibraryOptOut).where(LibraryOptOut.reader_key == rk)).rowcount  # type: ignore[attr-defined]
    return {"reader_key": rk, "was_opted_out": bool(removed)}


def opted_out(session: Session, keys: Iterable[str] | None = None) -> set[str]:
    """The opted-out pseudonyms (all, or those among ``keys``)."""
    stmt = sa.select(LibraryOptOut.reader_key)
    if keys is not None:
        keys = list(set(keys))
        if not keys:
            return set()
        stmt = stmt.where(LibraryOptOut.reader_key.in_(keys))
    return set(session.scalars(stmt))


# --- free text ----------------------------------------------------------------------------------------------

def _tokens(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold()))


@dataclass
class KnownNames:
    """Word sequences (1–3 words) of the catalogue's authors and titles: a name found in a query that is one of
    them ("Kästner", "Erich Kästner", "Harry Potter") is what the reader searched for, not personal data."""

    grams: set[tuple[str, ...]] = field(default_factory=set)

    def add(self, text: str) -> None:
        words = _tokens(text)
        for n in (1, 2, 3):
            self.grams.update(words[i:i + n] for i in range(len(words) - n + 1))

    def add_author(self, name: str) -> None:
        self.add(name)
        if "," in name:  # "Kästner, Erich" → also "Erich Kästner"
            last, _, first = name.partition(",")
            self.add(f"{first} {last}")

    def __contains__(self, text: object) -> bool:
        words = _tokens(str(text))
        return bool(words) and (words in self.grams or (len(words) > 3 and words[:3] in self.grams))


@dataclass
class Scrubbed:
    text: str | None  # None: nothing but personal data was left, drop it
    kinds: dict[str, int] = field(default_factory=dict)  # what was replaced (counts, never values)


def _replace(text: str, spans: list[tuple[int, int, str]]) -> str:
    out, pos = [], 0
    for start, end, kind in sorted(spans):
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(f"[{kind}]")
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _isbn_like(value: str) -> bool:
    return bool(re.fullmatch(r"[\d -]{9,17}[\dXx]", value))


def scrub_query(query: str, known: KnownNames | None = None, reader_ids: Iterable[str] = ()) -> Scrubbed:
    """A search query without personal data: detected spans become ``[EMAIL]``, ``[TELEFON]``, ``[PERSON]`` …
    (names of the catalogue's authors and titles stay), reader card numbers ``[LESERAUSWEIS]``. When nothing
    but placeholders and punctuation remains the query is dropped (``text`` None). ``reader_ids``: normalised
    ids (``normalise_reader_id``) of the file, replaced wherever they occur as a word."""
    text = " ".join(unicodedata.normalize("NFKC", query).split())[:MAX_QUERY_CHARS]
    if not text:
        return Scrubbed(None)
    spans: list[tuple[int, int, str]] = []
    ids = reader_ids if isinstance(reader_ids, (set, frozenset)) else set(reader_ids)
    if ids:  # the ids of the file itself, e.g. a reader who typed their card number
        for m in re.finditer(r"[^\s,;:!?()\[\]\"']+", text):
            if normalise_reader_id(m.group(0).strip(".")) in ids:
                spans.append((m.start(), m.end(), READER_CARD))
    spans.extend((m.start(), m.end(), READER_CARD) for m in _CARD.finditer(text) if not _isbn_like(m.group(0)))
    for span in detect(text, QUERY_KINDS):
        if span.kind == k.PERSON and known is not None and text[span.start:span.end] in known:
            continue
        spans.append((span.start, span.end, span.kind))
    kinds: dict[str, int] = {}
    for _, _, kind in _dedupe(spans):
        kinds[kind] = kinds.get(kind, 0) + 1
    clean = _replace(text, _dedupe(spans)) if spans else text
    rest = _PLACEHOLDER.sub(" ", clean)
    if not re.search(r"\w", rest):
        return Scrubbed(None, kinds)
    return Scrubbed(clean, kinds)


def _dedupe(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Overlapping spans: the earlier (and on a tie the longer) one wins."""
    out: list[tuple[int, int, str]] = []
    for span in sorted(spans, key=lambda s: (s[0], -(s[1] - s[0]))):
        if out and span[0] < out[-1][1]:
            continue
        out.append(span)
    return out


def scrub_catalogue_text(text: str) -> Scrubbed:
    """A description or subject: contact data (e-mail, phone, IBAN) masked, other personal identifiers
    (tax id, ID card, street address) only reported by kind; names of authors and characters are left alone."""
    if not _DIGIT_OR_AT.search(text):
        return Scrubbed(text)  # every kind looked for here has an @ or a digit: skip the detector
    found = detect(text, CATALOGUE_FLAG_KINDS)
    kinds: dict[str, int] = {}
    for span in found:
        kinds[span.kind] = kinds.get(span.kind, 0) + 1
    masked = [(s.start, s.end, s.kind) for s in found if s.kind in CATALOGUE_MASK_KINDS]
    return Scrubbed(_replace(text, _dedupe(masked)) if masked else text, kinds)
