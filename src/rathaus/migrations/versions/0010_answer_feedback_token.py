"""Answers keep the SHA-256 of their feedback token: only whoever received an answer may rate it.

Answers stored before this revision have no token and take no more feedback.

Revision ID: 0010_feedback_token
Revises: 0009_audit_checkpoints
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_feedback_token"
down_revision = "0009_audit_checkpoints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("assistant_answers", sa.Column("feedback_token_hash", sa.Text))


def downgrade() -> None:
    op.drop_column("assistant_answers", "feedback_token_hash")
