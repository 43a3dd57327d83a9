"""The data takeover's export state on inbox_messages (status, delivery id, target, the body sent, attempts, last
error, when delivered) and the plain-German companion of reply drafts in another language.

Revision ID: inbox_0002
Revises: inbox_0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "inbox_0002"
down_revision = "inbox_0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
EXPORT_STATUSES = "('queued', 'retrying', 'delivered', 'failed')"


def upgrade() -> None:
    op.add_column("inbox_messages", sa.Column("export_status", sa.Text()))
    op.add_column("inbox_messages", sa.Column("export_delivery_id", sa.Text()))
    op.add_column("inbox_messages", sa.Column("export_target", sa.Text()))
    op.add_column("inbox_messages", sa.Column("export_payload", postgresql.JSONB()))
    op.add_column("inbox_messages", sa.Column("export_requested_by", sa.Text()))
    op.add_column("inbox_messages", sa.Column("export_requested_at", TS))
    op.add_column("inbox_messages", sa.Column("export_attempts", sa.Integer(), server_default="0", nullable=False))
    op.add_column("inbox_messages", sa.Column("export_error", sa.Text()))
    op.add_column("inbox_messages", sa.Column("exported_at", TS))
    op.add_column("inbox_drafts", sa.Column("companion_text", sa.Text()))
    op.add_column("inbox_drafts", sa.Column("send_companion", sa.Boolean(), server_default=sa.false(),
                                            nullable=False))
    op.create_check_constraint("ck_inbox_message_export_status", "inbox_messages",
                               f"export_status IS NULL OR export_status IN {EXPORT_STATUSES}")


def downgrade() -> None:
    op.drop_column("inbox_drafts", "send_companion")
    op.drop_column("inbox_drafts", "companion_text")
    op.drop_constraint("ck_inbox_message_export_status", "inbox_messages", type_="check")
    for column in ("exported_at", "export_error", "export_attempts", "export_requested_at", "export_requested_by",
                   "export_payload", "export_target", "export_delivery_id", "export_status"):
        op.drop_column("inbox_messages", column)
