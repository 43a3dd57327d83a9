"""Tables of the application checks: packets (a case worker's or an API's upload, or a finished guided application)
with their files and the latest check result, and guided applications ("dialogisiertes Wohngeld") that a citizen
can interrupt and resume with a code.

Files are kept in the database (one PostgreSQL, ADR 0001) so a packet is checked, shown and deleted as one unit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from rathaus.core.schema import Base

TS = sa.DateTime(timezone=True)

#: received: stored, not checked yet · checked: a checklist exists · confirmed: a case worker confirmed the result
PACKET_STATUSES = ("received", "checked", "confirmed")
PACKET_SOURCES = ("upload", "api", "dialogue")
#: open: being filled · submitted: turned into a packet · expired: past its retention, values deleted
APPLICATION_STATUSES = ("open", "submitted", "expired")


class CheckPacket(Base):
    __tablename__ = "checks_packets"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    type_id: Mapped[str] = mapped_column(sa.Text)
    department: Mapped[str] = mapped_column(sa.Text)  # the department that processes the type (access)
    status: Mapped[str] = mapped_column(sa.Text, server_default="received")
    source: Mapped[str] = mapped_column(sa.Text, server_default="upload")
    submitted_on: Mapped[dt.date] = mapped_column(sa.Date)
    language: Mapped[str] = mapped_column(sa.Text, server_default="de")
    reference: Mapped[str | None] = mapped_column(sa.Text)  # the case number of the specialist procedure, if any
    form: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")  # form data given as JSON/XML/dialogue
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # the latest CheckResult (dataclasses.asdict)
    created_by: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())
    checked_at: Mapped[dt.datetime | None] = mapped_column(TS)
    confirmed_by: Mapped[str | None] = mapped_column(sa.Text)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(TS)
    confirmation_note: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (
        sa.CheckConstraint(f"status IN {PACKET_STATUSES}", name="ck_checks_packet_status"),
        sa.CheckConstraint(f"source IN {PACKET_SOURCES}", name="ck_checks_packet_source"),
        sa.Index("ix_checks_packets_department_status", "department", "status"),
    )


class CheckApplication(Base):
    """A guided application in progress. The resume code is shown once to the applicant; only its hash is kept."""

    __tablename__ = "checks_applications"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    type_id: Mapped[str] = mapped_column(sa.Text)
    resume_code_hash: Mapped[str] = mapped_column(sa.Text, unique=True)
    language: Mapped[str] = mapped_column(sa.Text, server_default="de")
    values: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    step: Mapped[str | None] = mapped_column(sa.Text)  # the id of the field or step asked next
    status: Mapped[str] = mapped_column(sa.Text, server_default="open")
    packet_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("checks_packets.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())
    expires_at: Mapped[dt.datetime] = mapped_column(TS)

    __table_args__ = (
        sa.CheckConstraint(f"status IN {APPLICATION_STATUSES}", name="ck_checks_application_status"),
    )


class CheckFile(Base):
    """A file of a packet or of a guided application's uploads (exactly one of the two)."""

    __tablename__ = "checks_files"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    packet_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("checks_packets.id", ondelete="CASCADE"))
    application_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("checks_applications.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(sa.Text)
    content_type: Mapped[str] = mapped_column(sa.Text)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.Text)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    requirement: Mapped[str | None] = mapped_column(sa.Text)  # the document requirement an upload was given for
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())

    __table_args__ = (
        sa.CheckConstraint("(packet_id IS NULL) <> (application_id IS NULL)", name="ck_checks_file_owner"),
        sa.Index("ix_checks_files_packet", "packet_id"),
        sa.Index("ix_checks_files_application", "application_id"),
    )
