"""The literacy table: one row per person and module – the best result, and when the module was first passed."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from rathaus.core.schema import Base

TS = sa.DateTime(timezone=True)


class LiteracyProgress(Base):
    __tablename__ = "literacy_progress"
    __table_args__ = (sa.UniqueConstraint("subject", "module_id", name="uq_literacy_progress_subject_module"),
                      sa.Index("ix_literacy_progress_department_module", "department", "module_id"))
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(sa.Text)  # the principal's id
    department: Mapped[str] = mapped_column(sa.Text)
    module_id: Mapped[str] = mapped_column(sa.Text)
    module_version: Mapped[int] = mapped_column(sa.Integer)
    module_digest: Mapped[str] = mapped_column(sa.Text)
    score: Mapped[float] = mapped_column(sa.Float)  # the best share of correct answers, 0–1
    attempts: Mapped[int] = mapped_column(sa.Integer, server_default="1")
    passed_at: Mapped[dt.datetime | None] = mapped_column(TS)  # first pass; None: not passed yet
    updated_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())
