"""The use-case portfolio's tables: ideas, assessments, status changes, weights.

Revision ID: governance_0002
Revises: governance_0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "governance_0002"
down_revision = "governance_0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "portfolio_ideas",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("hours_saved_per_year", sa.Integer()),
        sa.Column("data_needed", sa.Text(), nullable=False),
        sa.Column("affected_people", sa.Text(), nullable=False),
        sa.Column("urgency", sa.Text(), nullable=False),
        sa.Column("department", sa.Text(), nullable=False),
        sa.Column("contact_name", sa.Text()),
        sa.Column("contact_email", sa.Text()),
        sa.Column("submitted_by", sa.Text(), nullable=False),
        sa.Column("submitted_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("status", sa.Text(), server_default="idea", nullable=False),
        sa.Column("register_id", sa.Text()),
        sa.Column("source", postgresql.JSONB()),
        sa.CheckConstraint("status IN ('idea', 'assessed', 'pilot', 'production', 'retired')",
                           name="ck_portfolio_idea_status"),
        sa.CheckConstraint("urgency IN ('low', 'medium', 'high')", name="ck_portfolio_idea_urgency"),
    )
    op.create_index("ix_portfolio_ideas_department", "portfolio_ideas", ["department"])
    op.create_table(
        "portfolio_assessments",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("idea_id", sa.BigInteger(), sa.ForeignKey("portfolio_ideas.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("risk_class", sa.Text(), nullable=False),
        sa.Column("criteria", postgresql.JSONB(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("assessed_by", sa.Text(), nullable=False),
        sa.Column("assessed_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("sent_at", TS),
        sa.Column("sent_by", sa.Text()),
        sa.Column("sent_to", sa.Text()),
        sa.CheckConstraint("risk_class IN ('minimal', 'limited', 'high', 'prohibited')",
                           name="ck_portfolio_assessment_risk_class"),
    )
    op.create_index("ix_portfolio_assessments_idea", "portfolio_assessments", ["idea_id", "assessed_at"])
    op.create_table(
        "portfolio_status_changes",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("idea_id", sa.BigInteger(), sa.ForeignKey("portfolio_ideas.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("from_status", sa.Text()),
        sa.Column("to_status", sa.Text(), nullable=False),
        sa.Column("changed_by", sa.Text(), nullable=False),
        sa.Column("changed_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("register_id", sa.Text()),
        sa.Column("note", sa.Text()),
    )
    op.create_table(
        "portfolio_weights",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("weights", postgresql.JSONB(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("set_by", sa.Text(), nullable=False),
        sa.Column("set_at", TS, server_default=sa.func.now(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("portfolio_weights")
    op.drop_table("portfolio_status_changes")
    op.drop_table("portfolio_assessments")
    op.drop_index("ix_portfolio_ideas_department", table_name="portfolio_ideas")
    op.drop_table("portfolio_ideas")
