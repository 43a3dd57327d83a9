"""Employee assistant: chats, messages, own assistants with versions, web sessions.

Revision ID: 0004_employee
Revises: 0003_assistants
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0004_employee"
down_revision = "0003_assistants"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "chats",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("department", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("data_class", sa.Text, nullable=False),
        sa.Column("model", sa.Text, nullable=False, server_default="auto"),
        sa.Column("mode", sa.Text, nullable=False, server_default="chat"),
        sa.Column("assistant_id", pg.UUID(as_uuid=True)),
        sa.Column("collection_id", sa.BigInteger, sa.ForeignKey("kb_collections.id", ondelete="SET NULL")),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_chats_owner_updated", "chats", ["owner", "updated_at"])
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("chat_id", pg.UUID(as_uuid=True), sa.ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="ok"),
        sa.Column("meta", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("tsv", pg.TSVECTOR, sa.Computed("to_tsvector('german', content)", persisted=True)),
        sa.UniqueConstraint("chat_id", "seq", name="uq_chat_messages_seq"),
    )
    op.create_index("ix_chat_messages_tsv", "chat_messages", ["tsv"], postgresql_using="gin")
    op.create_table(
        "user_assistants",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("owner", sa.Text, nullable=False, index=True),
        sa.Column("department", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("system_prompt", sa.Text, nullable=False),
        sa.Column("starter_prompts", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("data_class", sa.Text, nullable=False, server_default="intern"),
        sa.Column("model", sa.Text, nullable=False, server_default="auto"),
        sa.Column("visibility", sa.Text, nullable=False, server_default="private"),
        sa.Column("share_departments", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("link_token", sa.Text, unique=True),
        sa.Column("published", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("screening", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("confirmed_by", sa.Text),
        sa.Column("confirmed_at", TS),
        sa.Column("unpublished_reason", sa.Text),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("visibility IN ('private', 'link', 'departments')", name="ck_user_assistant_visibility"),
    )
    op.create_table(
        "user_assistant_versions",
        sa.Column("assistant_id", pg.UUID(as_uuid=True), sa.ForeignKey("user_assistants.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("snapshot", pg.JSONB, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("principal", pg.JSONB, nullable=False),
        sa.Column("csrf", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", TS, nullable=False, index=True),
    )


def downgrade() -> None:
    for table in ("web_sessions", "user_assistant_versions", "user_assistants", "chat_messages", "chats"):
        op.drop_table(table)
