"""Tables of the AI system register: the people's entry per system and its change history."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from rathaus.core.schema import Base

TS = sa.DateTime(timezone=True)


class RegisterEntryRow(Base):
    """The current entry of one system (``system_id`` as in rathaus.core.system_facts)."""

    __tablename__ = "register_entries"
    system_id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    fields: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    public: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    version: Mapped[int] = mapped_column(sa.Integer, server_default="1")
    updated_by: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())


class RegisterEntryChange(Base):
    """One change of an entry: who, when, from where, and each changed field as ``[old, new]``."""

    __tablename__ = "register_entry_changes"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    system_id: Mapped[str] = mapped_column(
        sa.Text, sa.ForeignKey("register_entries.system_id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(sa.Integer)
    changed_by: Mapped[str] = mapped_column(sa.Text)
    changed_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())
    source: Mapped[str] = mapped_column(sa.Text)  # yaml | form | api | sample
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")

    __table_args__ = (
        sa.UniqueConstraint("system_id", "version", name="uq_register_entry_changes_version"),
        sa.CheckConstraint("source IN ('yaml', 'form', 'api', 'sample')", name="ck_register_change_source"),
    )
