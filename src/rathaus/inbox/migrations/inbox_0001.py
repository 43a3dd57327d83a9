"""The inbox's tables: messages, attachments, corrections, training examples, reply drafts.

Revision ID: inbox_0001
Revises:
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "inbox_0001"
down_revision = None
branch_labels = ("inbox",)
depends_on = "0012_jobs"

TS = sa.DateTime(timezone=True)
STATUSES = "('received', 'triage', 'open', 'answered', 'spam', 'closed')"
CHANNELS = "('mail', 'form', 'api', 'zammad')"
DRAFT_STATUSES = "('draft', 'approved', 'sending', 'sent', 'failed', 'discarded')"


def upgrade() -> None:
    op.create_table(
        "inbox_messages",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=False),
        sa.Column("mailbox", sa.Text()),
        sa.Column("status", sa.Text(), server_default="received", nullable=False),
        sa.Column("department", sa.Text()),
        sa.Column("category", sa.Text()),
        sa.Column("urgency", sa.Text()),
        sa.Column("language", sa.Text()),
        sa.Column("data_class", sa.Text(), server_default="personenbezogen", nullable=False),
        sa.Column("routed_by", sa.Text()),
        sa.Column("routing", postgresql.JSONB()),
        sa.Column("extraction", postgresql.JSONB()),
        sa.Column("case_id", sa.BigInteger()),
        sa.Column("similar", postgresql.JSONB()),
        sa.Column("subject", sa.Text(), server_default="", nullable=False),
        sa.Column("body", sa.Text(), server_default="", nullable=False),
        sa.Column("sender_address", sa.Text()),
        sa.Column("sender_name", sa.Text()),
        sa.Column("in_reply_to", sa.Text()),
        sa.Column("references", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("problems", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("meta", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("embedding", postgresql.ARRAY(sa.REAL())),
        sa.Column("sent_at", TS),
        sa.Column("received_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("processed_at", TS),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.UniqueConstraint("channel", "external_id", name="uq_inbox_message_channel_external_id"),
        sa.CheckConstraint(f"status IN {STATUSES}", name="ck_inbox_message_status"),
        sa.CheckConstraint(f"channel IN {CHANNELS}", name="ck_inbox_message_channel"),
    )
    op.create_index("ix_inbox_messages_department_status", "inbox_messages", ["department", "status"])
    op.create_index("ix_inbox_messages_status_received", "inbox_messages", ["status", "received_at"])
    op.create_index("ix_inbox_messages_case", "inbox_messages", ["case_id"])
    op.create_table(
        "inbox_attachments",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.BigInteger(), sa.ForeignKey("inbox_messages.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.LargeBinary()),
        sa.Column("text", sa.Text()),
        sa.Column("problem", sa.Text()),
    )
    op.create_index("ix_inbox_attachments_message", "inbox_attachments", ["message_id"])
    op.create_table(
        "inbox_corrections",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.BigInteger(), sa.ForeignKey("inbox_messages.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("old", sa.Text()),
        sa.Column("new", sa.Text()),
        sa.Column("by", sa.Text(), nullable=False),
        sa.Column("at", TS, server_default=sa.func.now(), nullable=False),
    )
    op.create_table(
        "inbox_examples",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("category", sa.Text()),
        sa.Column("relevant", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("urgency", sa.Text()),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("weight", sa.Float(), server_default="1", nullable=False),
        sa.Column("message_id", sa.BigInteger(), sa.ForeignKey("inbox_messages.id", ondelete="SET NULL")),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_inbox_examples_message", "inbox_examples", ["message_id"])
    op.create_table(
        "inbox_drafts",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.BigInteger(), sa.ForeignKey("inbox_messages.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("status", sa.Text(), server_default="draft", nullable=False),
        sa.Column("language", sa.Text(), server_default="de", nullable=False),
        sa.Column("subject", sa.Text(), server_default="", nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("generated_text", sa.Text(), server_default="", nullable=False),
        sa.Column("sources", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("abstained", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("metrics", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("edited_by", sa.Text()),
        sa.Column("approved_by", sa.Text()),
        sa.Column("approved_at", TS),
        sa.Column("outbound_id", sa.Text()),
        sa.Column("sent_at", TS),
        sa.Column("send_error", sa.Text()),
        sa.Column("created_at", TS, server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", TS, server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(f"status IN {DRAFT_STATUSES}", name="ck_inbox_draft_status"),
    )
    op.create_index("ix_inbox_drafts_message", "inbox_drafts", ["message_id"])
    op.create_index("uq_inbox_drafts_one_sent", "inbox_drafts", ["message_id"], unique=True,
                    postgresql_where=sa.text("status IN ('sending', 'sent')"))


def downgrade() -> None:
    for table in ("inbox_drafts", "inbox_examples", "inbox_corrections", "inbox_attachments", "inbox_messages"):
        op.drop_table(table)
