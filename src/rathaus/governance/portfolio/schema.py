"""Tables of the use-case portfolio: ideas, their assessments (every one kept), status changes (who, when) and the
history of the scoring weights."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from rathaus.core.schema import Base

TS = sa.DateTime(timezone=True)


class PortfolioIdea(Base):
    """One submitted use-case idea; ``status`` is the latest of its status changes."""

    __tablename__ = "portfolio_ideas"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(sa.Text)
    problem: Mapped[str] = mapped_column(sa.Text)
    hours_saved_per_year: Mapped[int | None] = mapped_column(sa.Integer)  # None: not stated (seed samples)
    data_needed: Mapped[str] = mapped_column(sa.Text)
    affected_people: Mapped[str] = mapped_column(sa.Text)
    urgency: Mapped[str] = mapped_column(sa.Text)  # low | medium | high
    department: Mapped[str] = mapped_column(sa.Text)
    contact_name: Mapped[str | None] = mapped_column(sa.Text)
    contact_email: Mapped[str | None] = mapped_column(sa.Text)
    submitted_by: Mapped[str] = mapped_column(sa.Text)
    submitted_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())
    status: Mapped[str] = mapped_column(sa.Text, server_default="idea")
    register_id: Mapped[str | None] = mapped_column(sa.Text)  # the AI system register entry once in production
    source: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # samples: {"document": ..., "quote": ...}

    __table_args__ = (
        sa.CheckConstraint("status IN ('idea', 'assessed', 'pilot', 'production', 'retired')",
                           name="ck_portfolio_idea_status"),
        sa.CheckConstraint("urgency IN ('low', 'medium', 'high')", name="ck_portfolio_idea_urgency"),
        sa.Index("ix_portfolio_ideas_department", "department"),
    )


class PortfolioAssessment(Base):
    """One written assessment of an idea by the IT department; the newest counts, older ones stay as history.
    ``criteria`` maps each criterion to {"points": 1–5, "justification": text}; ``sent_at`` is set when the
    assessor sent it to the submitter's contact address."""

    __tablename__ = "portfolio_assessments"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    idea_id: Mapped[int] = mapped_column(sa.BigInteger, sa.ForeignKey("portfolio_ideas.id", ondelete="CASCADE"))
    risk_class: Mapped[str] = mapped_column(sa.Text)  # minimal | limited | high | prohibited (EU AI Act)
    criteria: Mapped[dict[str, Any]] = mapped_column(JSONB)
    summary: Mapped[str] = mapped_column(sa.Text)
    assessed_by: Mapped[str] = mapped_column(sa.Text)
    assessed_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())
    sent_at: Mapped[dt.datetime | None] = mapped_column(TS)
    sent_by: Mapped[str | None] = mapped_column(sa.Text)
    sent_to: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (
        sa.CheckConstraint("risk_class IN ('minimal', 'limited', 'high', 'prohibited')",
                           name="ck_portfolio_assessment_risk_class"),
        sa.Index("ix_portfolio_assessments_idea", "idea_id", "assessed_at"),
    )


class PortfolioStatusChange(Base):
    """One status change of an idea: from, to, who and when (the first row is the submission)."""

    __tablename__ = "portfolio_status_changes"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    idea_id: Mapped[int] = mapped_column(sa.BigInteger, sa.ForeignKey("portfolio_ideas.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(sa.Text)
    to_status: Mapped[str] = mapped_column(sa.Text)
    changed_by: Mapped[str] = mapped_column(sa.Text)
    changed_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())
    register_id: Mapped[str | None] = mapped_column(sa.Text)
    note: Mapped[str | None] = mapped_column(sa.Text)


class PortfolioWeights(Base):
    """One setting of the scoring weights; the newest row is in force, every older one is kept."""

    __tablename__ = "portfolio_weights"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    weights: Mapped[dict[str, float]] = mapped_column(JSONB)
    note: Mapped[str | None] = mapped_column(sa.Text)
    set_by: Mapped[str] = mapped_column(sa.Text)
    set_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())
