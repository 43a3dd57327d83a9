"""Assistants: answers, feedback, rate limits.

Revision ID: 0003_assistants
Revises: 0002_knowledge
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0003_assistants"
down_revision = "0002_knowledge"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "assistant_answers",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("assistant", sa.Text, nullable=False, index=True),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now(), index=True),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("abstained", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("citations", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("metrics", pg.JSONB, nullable=False, server_default="{}"),
    )
    op.create_table(
        "assistant_feedback",
        sa.Column("answer_id", pg.UUID(as_uuid=True), sa.ForeignKey("assistant_answers.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("rating", sa.SmallInteger, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("rating IN (-1, 1)", name="ck_feedback_rating"),
    )
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("window_start", TS, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    for table in ("rate_limits", "assistant_feedback", "assistant_answers"):
        op.drop_table(table)
