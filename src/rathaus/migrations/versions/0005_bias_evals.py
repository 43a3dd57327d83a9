"""Governance: stored GG-BBQ gender-bias evaluation runs, per model and model version.

Revision ID: 0005_bias_evals
Revises: 0004_employee
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0005_bias_evals"
down_revision = "0004_employee"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "bias_eval_runs",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("benchmark", sa.Text, nullable=False),
        sa.Column("subject_kind", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("model", sa.Text),
        sa.Column("model_version", sa.Text),
        sa.Column("model_sha256", sa.Text),
        sa.Column("prompt_version", sa.Text, nullable=False),
        sa.Column("n_items", sa.Integer, nullable=False),
        sa.Column("acc_ambig", sa.Float),
        sa.Column("acc_disambig", sa.Float),
        sa.Column("bias_ambig", sa.Float),
        sa.Column("bias_disambig", sa.Float),
        sa.Column("unparsable_rate", sa.Float, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("sample", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("figures", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("replies", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("guard", pg.JSONB),
        sa.Column("usage", pg.JSONB, nullable=False, server_default="{}"),
        sa.CheckConstraint("subject_kind IN ('model', 'assistant', 'baseline')", name="ck_bias_eval_subject_kind"),
    )
    op.create_index("ix_bias_eval_runs_model", "bias_eval_runs", ["model", "model_version", "created_at"])


def downgrade() -> None:
    op.drop_table("bias_eval_runs")
