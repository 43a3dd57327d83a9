"""Tables of the assistants: answers given and feedback on them (rate limits are core's: ``core.schema``)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from rathaus.core.schema import Base


class AnswerRecord(Base):
    __tablename__ = "assistant_answers"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    assistant: Mapped[str] = mapped_column(sa.Text, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now(),
                                                    index=True)
    channel: Mapped[str] = mapped_column(sa.Text)
    language: Mapped[str] = mapped_column(sa.String(8))
    question: Mapped[str] = mapped_column(sa.Text)
    answer: Mapped[str] = mapped_column(sa.Text)
    abstained: Mapped[bool] = mapped_column(sa.Boolean)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    citations: Mapped[dict[str, Any]] = mapped_column(server_default="[]")
    metrics: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    feedback_token_hash: Mapped[str | None] = mapped_column(sa.Text)  # SHA-256 of the answer's feedback token


class Feedback(Base):
    __tablename__ = "assistant_feedback"
    answer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), sa.ForeignKey("assistant_answers.id", ondelete="CASCADE"), primary_key=True
    )
    rating: Mapped[int] = mapped_column(sa.SmallInteger)
    comment: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())

    __table_args__ = (sa.CheckConstraint("rating IN (-1, 1)", name="ck_feedback_rating"),)

