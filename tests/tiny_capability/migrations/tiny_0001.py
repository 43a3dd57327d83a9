"""The tiny capability's table: a branch of its own, after the platform's chain.

Revision ID: tiny_0001
Revises:
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "tiny_0001"
down_revision = None
branch_labels = ("tiny",)
depends_on = "0011_collection_names"


def upgrade() -> None:
    op.create_table(
        "tiny_ticks",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("tick", sa.BigInteger),
    )


def downgrade() -> None:
    op.drop_table("tiny_ticks")
