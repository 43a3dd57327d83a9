"""Tables of the library capability: catalogue items, pseudonymised loans and searches, opt-outs and import
batches. No table has a column for a raw reader id: ``reader_key`` is an HMAC pseudonym (``privacy.reader_key``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from rathaus.core.schema import Base

TS = sa.DateTime(timezone=True)
IMPORT_KINDS = ("catalogue-csv", "catalogue-marc", "loans", "searches")


class LibraryItem(Base):
    """A title of the catalogue (the library's record id); updated by re-imports, never deleted by them."""

    __tablename__ = "library_items"
    id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    title: Mapped[str] = mapped_column(sa.Text)
    authors: Mapped[list[str]] = mapped_column(ARRAY(sa.Text), server_default="{}")
    media_type: Mapped[str] = mapped_column(sa.Text)  # buch | hoerbuch | film | musik | ebook | … | sonstiges
    isbn: Mapped[str | None] = mapped_column(sa.Text)
    language: Mapped[str | None] = mapped_column(sa.Text)  # ISO 639-2/B as in MARC: ger, eng, tur …
    subjects: Mapped[list[str]] = mapped_column(ARRAY(sa.Text), server_default="{}")
    description: Mapped[str | None] = mapped_column(sa.Text)
    age_group: Mapped[str | None] = mapped_column(sa.Text)
    year: Mapped[int | None] = mapped_column(sa.Integer)
    import_id: Mapped[int] = mapped_column(sa.BigInteger)  # the batch that last changed the item
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())

    __table_args__ = (
        sa.CheckConstraint("age_group IS NULL OR age_group IN ('kinder', 'jugend', 'erwachsene')",
                           name="ck_library_item_age_group"),
    )


class LibraryLoan(Base):
    """One loan of one item by one pseudonymous reader on one day; the key makes re-imports idempotent.
    The primary key's index starts with ``reader_key``, so it serves the look-ups by reader."""

    __tablename__ = "library_loans"
    reader_key: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    item_id: Mapped[str] = mapped_column(sa.Text, sa.ForeignKey("library_items.id", ondelete="CASCADE"),
                                         primary_key=True)
    loaned_on: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    import_id: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (sa.Index("ix_library_loans_item_id", "item_id"),
                      sa.Index("ix_library_loans_loaned_on", "loaned_on"))


class LibrarySearch(Base):
    """A catalogue search of a pseudonymous reader, scrubbed of personal data (at most 200 characters)."""

    __tablename__ = "library_searches"
    reader_key: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    searched_on: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    query: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    import_id: Mapped[int] = mapped_column(sa.BigInteger)

    __table_args__ = (sa.Index("ix_library_searches_searched_on", "searched_on"),)


class LibraryOptOut(Base):
    """A reader (pseudonym) who asked that their loans and searches are not used; imports skip them."""

    __tablename__ = "library_optouts"
    reader_key: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())


class LibraryImport(Base):
    """One imported file: figures and per-line problems (never a reader id or a detected personal value)."""

    __tablename__ = "library_imports"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    file_name: Mapped[str] = mapped_column(sa.Text)
    sha256: Mapped[str] = mapped_column(sa.Text, index=True)
    kind: Mapped[str] = mapped_column(sa.Text)
    encoding: Mapped[str | None] = mapped_column(sa.Text)
    delimiter: Mapped[str | None] = mapped_column(sa.Text)
    rows_read: Mapped[int] = mapped_column(sa.Integer, server_default="0")  # data lines or MARC records
    stored: Mapped[int] = mapped_column(sa.Integer, server_default="0")  # new rows
    updated: Mapped[int] = mapped_column(sa.Integer, server_default="0")  # catalogue items that changed
    unchanged: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    rejected: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    skipped: Mapped[int] = mapped_column(sa.Integer, server_default="0")  # expired or opted-out (see summary)
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")  # [{line|record, field, reason}]
    problems_total: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    created_by: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())
    seconds: Mapped[float] = mapped_column(sa.Float, server_default="0")

    __table_args__ = (
        sa.CheckConstraint("kind IN ('catalogue-csv', 'catalogue-marc', 'loans', 'searches')",
                           name="ck_library_import_kind"),
    )
