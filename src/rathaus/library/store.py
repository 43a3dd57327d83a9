"""Storing and reading the library's catalogue, loans and searches.

* Catalogue: a re-import updates the items that changed (the catalogue is descriptive data, not measurements)
  and never deletes one; unchanged items are counted.
* Loans: pseudonymous (``privacy.reader_key``); a loan of an item missing in the catalogue is rejected with its
  line, loans older than the retention period and loans of opted-out readers are skipped (counted only), a
  loan already stored is ``unchanged`` (re-imports are idempotent).
* Searches: scrubbed of personal data before they are stored; otherwise as loans.

Each import is one transaction: a file that cannot be read raises ``LibraryFileError`` before anything is
written, and a failure while writing rolls everything back. Every batch is recorded in ``library_imports``
with its figures and at most 1,000 problems (total counted); neither ever holds a reader id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from rathaus.core import imports
from rathaus.core.db import Database
from rathaus.core.db import session_scope as _session
from rathaus.core.errors import BadRequest, NotFound
from rathaus.core.settings import Settings
from rathaus.library.catalogue import (
    ItemRow,
    ParsedCatalogue,
    ParsedEvents,
    parse_catalogue,
    parse_loans,
    parse_searches,
)
from rathaus.library.privacy import (
    DEFAULT_RETENTION_DAYS,
    Key,
    KnownNames,
    cutoff,
    key_bytes,
    opted_out,
)
from rathaus.library.schema import LibraryImport, LibraryItem, LibraryLoan, LibraryOptOut, LibrarySearch
from rathaus.library.settings import LibrarySettings
from rathaus.library.vocabulary import ImportKind

ITEM_FIELDS = ("title", "authors", "media_type", "isbn", "language", "subjects", "description", "age_group", "year")
BATCH = 5_000
LOAN_COLUMNS = (("reader_key", "text"), ("item_id", "text"), ("loaned_on", "date"))
SEARCH_COLUMNS = (("reader_key", "text"), ("searched_on", "date"), ("query", "text"))


@dataclass(kw_only=True)
class ImportReport(imports.ImportReport):
    """What one import did. Catalogue: figures count items (``updated`` = changed items); loans and searches:
    figures count lines. ``skipped`` = expired + opted-out (the breakdown is in ``skipped_expired`` and
    ``skipped_opted_out``); for searches ``masked``/``dropped`` count queries scrubbed of personal data."""

    updated: int = 0
    skipped: int = 0
    skipped_expired: int = 0
    skipped_opted_out: int = 0
    masked: int = 0
    dropped: int = 0
    personal_data: dict[str, int] = field(default_factory=dict)  # kinds found (counts, never values)

    def summary_line(self) -> str:
        return (f"{self.file_name}: {self.kind}, {self.rows_read} gelesen/read – neu/stored {self.stored}, "
                f"geändert/updated {self.updated}, unverändert/unchanged {self.unchanged}, "
                f"abgelehnt/rejected {self.rejected}, übersprungen/skipped {self.skipped}")


def _settings_of(session_or_db: Session | Database) -> Settings | None:
    settings = getattr(session_or_db, "settings", None)
    return settings if isinstance(settings, Settings) else None


def _key(session_or_db: Session | Database, key: Key | None) -> bytes:
    key = key if key is not None else _settings_of(session_or_db)
    if key is None:
        raise BadRequest("Schlüssel für Leser-Pseudonyme fehlt / no reader key: pass key= or a Database")
    return key_bytes(key)


def _retention(session_or_db: Session | Database, key: Key | None, days: int | None) -> int:
    if days is not None:
        return days
    settings = key if isinstance(key, Settings) else _settings_of(session_or_db)
    if settings is None:
        return DEFAULT_RETENTION_DAYS
    return settings.section(LibrarySettings).library_loan_retention_days


def _record(session: Session, report: ImportReport, user: str, summary: dict[str, Any]) -> int:
    report.take_problems(report.problems, report.problems_total)
    row = LibraryImport(file_name=report.file_name, sha256=report.sha256, kind=report.kind, encoding=report.encoding,
                        delimiter=report.delimiter, rows_read=report.rows_read, stored=report.stored,
                        updated=report.updated, unchanged=report.unchanged, rejected=report.rejected,
                        skipped=report.skipped, summary=summary, problems=report.problem_dicts(),
                        problems_total=report.problems_total, created_by=user, seconds=report.seconds)
    session.add(row)
    session.flush()
    return row.id


def _finish(session: Session, report: ImportReport, problems: imports.ProblemList, t0: float) -> None:
    """Final figures into the batch row created first (so the stored rows can point at it)."""
    report.take_problems(problems)
    report.seconds = time.perf_counter() - t0
    session.execute(sa.update(LibraryImport).where(LibraryImport.id == report.import_id).values(
        stored=report.stored, updated=report.updated, unchanged=report.unchanged, rejected=report.rejected,
        skipped=report.skipped, problems=report.problem_dicts(),
        problems_total=report.problems_total, seconds=report.seconds,
        summary={"skipped_expired": report.skipped_expired, "skipped_opted_out": report.skipped_opted_out,
                 "masked": report.masked, "dropped": report.dropped, "personal_data": report.personal_data}))


def import_file(session_or_db: Any, kind: ImportKind | str, data: bytes, name: str, user: str = "cli",
                fmt: str = "auto") -> ImportReport:
    """Import one file of ``kind`` (``fmt`` is the catalogue's format: auto, csv or marc); see the three below."""
    try:
        kind = ImportKind(kind)
    except ValueError:
        raise BadRequest(f"unbekannte Dateiart / unknown kind {str(kind)[:40]!r}; use "
                         f"{', '.join(k.value for k in ImportKind)}") from None
    if kind is ImportKind.CATALOGUE:
        return import_catalogue(session_or_db, data, name, user=user, fmt=fmt)
    if kind is ImportKind.LOANS:
        return import_loans(session_or_db, data, name, user=user)
    return import_searches(session_or_db, data, name, user=user)


# --- catalogue --------------------------------------------------------------------------------------------------

def _same(stored: LibraryItem, row: ItemRow) -> bool:
    return all(list(getattr(stored, f) or []) == list(getattr(row, f) or []) if f in ("authors", "subjects")
               else getattr(stored, f) == getattr(row, f) for f in ITEM_FIELDS)


def import_catalogue(session_or_db: Session | Database, data: bytes, name: str = "katalog", user: str = "cli",
                     fmt: str = "auto") -> ImportReport:
    """Import a catalogue file (CSV or MARC21): new items are stored, changed ones updated, none deleted.

    Raises ``LibraryFileError`` (422) for a file that cannot be read; nothing is stored then.
    """
    t0 = time.perf_counter()
    parsed: ParsedCatalogue = parse_catalogue(data, name, fmt)
    report = ImportReport(file_name=name, sha256=hashlib.sha256(data).hexdigest(), kind=parsed.kind,
                          encoding=parsed.encoding, delimiter=parsed.delimiter, rows_read=parsed.rows_read,
                          rejected=parsed.rejected, personal_data=parsed.personal_data)
    with _session(session_or_db) as session:
        report.import_id = _record(session, report, user, {})
        new, changed = [], []
        for start in range(0, len(parsed.items), BATCH):
            chunk = parsed.items[start:start + BATCH]
            stored = {i.id: i for i in session.scalars(
                sa.select(LibraryItem).where(LibraryItem.id.in_([r.id for r in chunk])))}
            for row in chunk:
                old = stored.get(row.id)
                if old is None:
                    new.append(row)
                elif _same(old, row):
                    report.unchanged += 1
                else:
                    changed.append(row)
        if new:
            session.execute(pg_insert(LibraryItem), [r.values() | {"import_id": report.import_id} for r in new])
        for row in changed:
            session.execute(sa.update(LibraryItem).where(LibraryItem.id == row.id).values(
                **{f: getattr(row, f) for f in ITEM_FIELDS}, import_id=report.import_id, updated_at=sa.func.now()))
        report.stored, report.updated = len(new), len(changed)
        _finish(session, report, parsed.problems, t0)
    return report


# --- loans and searches ------------------------------------------------------------------------------------------

def _skip(session: Session, parsed: ParsedEvents, report: ImportReport, days: int,
          today: dt.date | None) -> list[Any]:
    """Rows to store: expired ones and those of opted-out readers are counted and left out."""
    limit = cutoff(days, today)
    fresh = [r for r in parsed.rows if r.day >= limit]
    report.skipped_expired = len(parsed.rows) - len(fresh)
    out = opted_out(session, {r.reader_key for r in fresh})
    kept = [r for r in fresh if r.reader_key not in out]
    report.skipped_opted_out = len(fresh) - len(kept)
    report.skipped = report.skipped_expired + report.skipped_opted_out
    return kept


def _insert_new(session: Session, table: str, columns: tuple[tuple[str, str], ...], rows: Any,
                import_id: int | None) -> int:
    """COPY the rows into a temporary table and insert those not stored yet; returns how many were new."""
    if not rows:
        return 0
    tmp = f"tmp_{table}"
    session.execute(sa.text(f"DROP TABLE IF EXISTS {tmp}"))  # left by an earlier import in the same transaction
    session.execute(sa.text(f"CREATE TEMP TABLE {tmp} ({', '.join(f'{c} {t}' for c, t in columns)}) ON COMMIT DROP"))
    names = ", ".join(c for c, _ in columns)
    conn = session.connection().connection.driver_connection
    with conn.cursor() as cur, cur.copy(f"COPY {tmp} ({names}) FROM STDIN") as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row(row)
    result = session.execute(sa.text(
        f"INSERT INTO {table} ({names}, import_id) SELECT {names}, :import_id FROM {tmp} "
        f"ORDER BY {names} ON CONFLICT DO NOTHING"), {"import_id": import_id})
    return int(result.rowcount)  # type: ignore[attr-defined]


def import_loans(session_or_db: Session | Database, data: bytes, name: str = "ausleihen.csv", user: str = "cli", *,
                 key: Key | None = None, retention_days: int | None = None,
                 today: dt.date | None = None) -> ImportReport:
    """Import loans (reader id, item id, date). ``key`` defaults to the settings of the Database given;
    ``retention_days`` to ``library_loan_retention_days``. Raises ``LibraryFileError`` for unreadable files."""
    t0 = time.perf_counter()
    secret, days = _key(session_or_db, key), _retention(session_or_db, key, retention_days)
    parsed = parse_loans(data, name, secret, today)
    report = ImportReport(file_name=name, sha256=hashlib.sha256(data).hexdigest(), kind="loans",
                          encoding=parsed.encoding, delimiter=parsed.delimiter, rows_read=parsed.rows_read,
                          rejected=parsed.rejected)
    with _session(session_or_db) as session:
        report.import_id = _record(session, report, user, {})
        rows = _skip(session, parsed, report, days, today)
        ids = {r.value for r in rows}
        known = set(session.scalars(sa.select(LibraryItem.id).where(LibraryItem.id.in_(ids)))) if ids else set()
        good = []
        for r in rows:
            if r.value in known:
                good.append(r)
            else:
                parsed.problems.add(r.line, "item", f"unbekanntes Medium {r.value[:60]!r} (nicht im Katalog), Zeile "
                                                    "abgelehnt – zuerst den Katalog importieren / unknown item (not "
                                                    "in the catalogue), line rejected – import the catalogue first")
                report.rejected += 1
        unique = {(r.reader_key, r.value, r.day): r for r in good}
        report.unchanged = len(good) - len(unique)  # repeated in the file
        report.stored = _insert_new(session, "library_loans", LOAN_COLUMNS, unique,
                                    report.import_id)
        report.unchanged += len(unique) - report.stored
        _finish(session, report, parsed.problems, t0)
    return report


def known_names(session: Session) -> KnownNames:
    """Authors and titles of the catalogue (names in search queries that match them are kept)."""
    names = KnownNames()
    for (author,) in session.execute(sa.text("SELECT DISTINCT unnest(authors) FROM library_items")):
        names.add_author(author)
    for (title,) in session.execute(sa.select(LibraryItem.title)):
        names.add(title)
    return names


def import_searches(session_or_db: Session | Database, data: bytes, name: str = "suchen.csv", user: str = "cli", *,
                    key: Key | None = None, retention_days: int | None = None,
                    today: dt.date | None = None) -> ImportReport:
    """Import catalogue searches (reader id, query, date); queries are scrubbed of personal data first."""
    t0 = time.perf_counter()
    secret, days = _key(session_or_db, key), _retention(session_or_db, key, retention_days)
    with _session(session_or_db) as session:
        parsed = parse_searches(data, name, secret, known_names(session), today)
        report = ImportReport(file_name=name, sha256=hashlib.sha256(data).hexdigest(), kind="searches",
                              encoding=parsed.encoding, delimiter=parsed.delimiter, rows_read=parsed.rows_read,
                              rejected=parsed.rejected, masked=parsed.masked, dropped=parsed.dropped,
                              personal_data=parsed.personal_data)
        report.import_id = _record(session, report, user, {})
        rows = _skip(session, parsed, report, days, today)
        unique = {(r.reader_key, r.day, r.value) for r in rows}
        report.unchanged = len(rows) - len(unique)
        report.stored = _insert_new(session, "library_searches", SEARCH_COLUMNS, unique,
                                    report.import_id)
        report.unchanged += len(unique) - report.stored
        _finish(session, report, parsed.problems, t0)
    return report


# --- reading ------------------------------------------------------------------------------------------------

def _item_dict(item: LibraryItem) -> dict[str, Any]:
    return {"id": item.id, **{f: getattr(item, f) for f in ITEM_FIELDS},
            "authors": list(item.authors or []), "subjects": list(item.subjects or [])}


def get_item(session_or_db: Session | Database, item_id: str) -> dict[str, Any]:
    """One catalogue item; NotFound (404) when the id is unknown."""
    with _session(session_or_db) as session:
        item = session.get(LibraryItem, item_id)
        if item is None:
            raise NotFound(f"unbekanntes Medium / unknown item: {item_id!r}")
        return _item_dict(item)


def list_items(session_or_db: Session | Database, *, media_type: str | None = None, language: str | None = None,
               age_group: str | None = None, subject: str | None = None, q: str | None = None,
               ids: list[str] | None = None, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Catalogue items ordered by id; ``subject`` matches one subject exactly, ``q`` a part of title or author."""
    if not 1 <= limit <= 10_000 or offset < 0:
        raise BadRequest("limit must be 1–10000 and offset ≥ 0")
    stmt = sa.select(LibraryItem).order_by(LibraryItem.id).limit(limit).offset(offset)
    if media_type:
        stmt = stmt.where(LibraryItem.media_type == media_type)
    if language:
        stmt = stmt.where(LibraryItem.language == language)
    if age_group:
        stmt = stmt.where(LibraryItem.age_group == age_group)
    if subject:
        stmt = stmt.where(sa.literal(subject) == sa.any_(LibraryItem.subjects))
    if ids is not None:
        stmt = stmt.where(LibraryItem.id.in_(ids))
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(sa.or_(LibraryItem.title.ilike(pattern),
                                 sa.func.array_to_string(LibraryItem.authors, " ").ilike(pattern)))
    with _session(session_or_db) as session:
        return [_item_dict(i) for i in session.scalars(stmt)]


def _not_opted_out(column: Any) -> Any:
    return ~sa.exists().where(LibraryOptOut.reader_key == column)


def load_loans(session_or_db: Session | Database, since: dt.date | None = None) -> list[tuple[str, str, dt.date]]:
    """Every stored loan as ``(reader_key, item_id, loaned_on)`` (opted-out readers excluded), oldest first."""
    stmt = (sa.select(LibraryLoan.reader_key, LibraryLoan.item_id, LibraryLoan.loaned_on)
            .where(_not_opted_out(LibraryLoan.reader_key))
            .order_by(LibraryLoan.loaned_on, LibraryLoan.reader_key, LibraryLoan.item_id))
    if since is not None:
        stmt = stmt.where(LibraryLoan.loaned_on >= since)
    with _session(session_or_db) as session:
        return [(r[0], r[1], r[2]) for r in session.execute(stmt)]


def load_searches(session_or_db: Session | Database, reader_key: str,
                  since: dt.date | None = None) -> list[tuple[str, dt.date]]:
    """The scrubbed queries of one reader as ``(query, searched_on)``, newest first."""
    stmt = (sa.select(LibrarySearch.query, LibrarySearch.searched_on)
            .where(LibrarySearch.reader_key == reader_key, _not_opted_out(LibrarySearch.reader_key))
            .order_by(LibrarySearch.searched_on.desc(), LibrarySearch.query))
    if since is not None:
        stmt = stmt.where(LibrarySearch.searched_on >= since)
    with _session(session_or_db) as session:
        return [(r[0], r[1]) for r in session.execute(stmt)]


def reader_items(session_or_db: Session | Database, reader_key: str) -> list[str]:
    """The items one reader borrowed (each once, most recent loan first); empty for opted-out readers."""
    stmt = (sa.select(LibraryLoan.item_id, sa.func.max(LibraryLoan.loaned_on).label("last"))
            .where(LibraryLoan.reader_key == reader_key, _not_opted_out(LibraryLoan.reader_key))
            .group_by(LibraryLoan.item_id).order_by(sa.text("last DESC"), LibraryLoan.item_id))
    with _session(session_or_db) as session:
        return [r[0] for r in session.execute(stmt)]


def get_import(session_or_db: Session | Database, import_id: int) -> dict[str, Any]:
    """One import batch with its figures and problems."""
    with _session(session_or_db) as session:
        row = session.get(LibraryImport, import_id)
        if row is None:
            raise NotFound(f"unbekannter Import / unknown import: {import_id}")
        return {c.name: getattr(row, c.name) for c in LibraryImport.__table__.columns} | {
            "created_at": row.created_at.isoformat()}
