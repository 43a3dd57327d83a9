"""The AI system register: people's entries per system and their change history.

Revision ID: governance_0001
Revises:
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "governance_0001"
down_revision = None
branch_labels = ("governance",)
depends_on = "0013_chunk_context"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "register_entries",
        sa.Column("system_id", sa.Text(), primary_key=True),
        sa.Column("fields", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("public", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "register_entry_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("system_id", sa.Text(), sa.ForeignKey("register_entries.system_id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_by", sa.Text(), nullable=False),
        sa.Column("changed_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("changes", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.UniqueConstraint("system_id", "version", name="uq_register_entry_changes_version"),
        sa.CheckConstraint("source IN ('yaml', 'form', 'api', 'sample')", name="ck_register_change_source"),
    )
    op.create_index("ix_register_entry_changes_system_id", "register_entry_changes", ["system_id"])


def downgrade() -> None:
    op.drop_table("register_entry_changes")
    op.drop_table("register_entries")
