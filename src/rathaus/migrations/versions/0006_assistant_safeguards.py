"""Own assistants carry their safeguard policy (personal data, content guard, threshold).

Revision ID: 0006_assistant_safeguards
Revises: 0005_bias_evals
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0006_assistant_safeguards"
down_revision = "0005_bias_evals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("user_assistants", sa.Column("safeguards", pg.JSONB, nullable=False, server_default="{}"))


def downgrade() -> None:
    op.drop_column("user_assistants", "safeguards")
