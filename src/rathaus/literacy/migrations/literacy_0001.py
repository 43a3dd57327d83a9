"""AI literacy: progress per person and module.

Revision ID: literacy_0001
Revises:
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "literacy_0001"
down_revision = None
branch_labels = ("literacy",)
depends_on = "0013_chunk_context"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "literacy_progress",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("department", sa.Text(), nullable=False),
        sa.Column("module_id", sa.Text(), nullable=False),
        sa.Column("module_version", sa.Integer(), nullable=False),
        sa.Column("module_digest", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.Column("passed_at", TS),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("subject", "module_id", name="uq_literacy_progress_subject_module"),
    )
    op.create_index("ix_literacy_progress_department_module", "literacy_progress", ["department", "module_id"])


def downgrade() -> None:
    op.drop_index("ix_literacy_progress_department_module", table_name="literacy_progress")
    op.drop_table("literacy_progress")
