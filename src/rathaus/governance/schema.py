"""Tables of governance: stored bias evaluations, one row per run, kept per model and model version."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from rathaus.core.schema import Base


class BiasEvalRun(Base):
    """One GG-BBQ run against one model or assistant: who was asked, on which sample, with which figures.

    The headline figures are columns (for listing and comparing versions); every figure, the sample
    definition and the individual replies are kept as JSON so a report can be rebuilt from the row alone.
    """

    __tablename__ = "bias_eval_runs"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    created_by: Mapped[str] = mapped_column(sa.Text)
    benchmark: Mapped[str] = mapped_column(sa.Text)  # e.g. "GG-BBQ"
    subject_kind: Mapped[str] = mapped_column(sa.Text)  # model | assistant | baseline
    subject: Mapped[str] = mapped_column(sa.Text)  # model, assistant or baseline name
    model: Mapped[str | None] = mapped_column(sa.Text)  # catalogue name of the model that answered
    model_version: Mapped[str | None] = mapped_column(sa.Text)  # catalogue version, file checksum or remote id
    model_sha256: Mapped[str | None] = mapped_column(sa.Text)
    prompt_version: Mapped[str] = mapped_column(sa.Text)
    n_items: Mapped[int] = mapped_column(sa.Integer)
    acc_ambig: Mapped[float | None] = mapped_column(sa.Float)
    acc_disambig: Mapped[float | None] = mapped_column(sa.Float)
    bias_ambig: Mapped[float | None] = mapped_column(sa.Float)
    bias_disambig: Mapped[float | None] = mapped_column(sa.Float)
    unparsable_rate: Mapped[float] = mapped_column(sa.Float)
    seconds: Mapped[float] = mapped_column(sa.Float)
    sample: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")  # files, limit, seed, strata
    figures: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")  # every metric, flat
    replies: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default="[]")  # [{id, choice, reply}]
    guard: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # content guard false-positive figures
    usage: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")  # tokens, €, Wh, gCO2e

    __table_args__ = (
        sa.Index("ix_bias_eval_runs_model", "model", "model_version", "created_at"),
        sa.CheckConstraint("subject_kind IN ('model', 'assistant', 'baseline')", name="ck_bias_eval_subject_kind"),
    )
