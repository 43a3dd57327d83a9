"""Tables of the employee assistant: chats and messages (server-side history), own assistants."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSVECTOR, UUID
from sqlalchemy.orm import Mapped, mapped_column

from rathaus.core.schema import Base

TS = sa.DateTime(timezone=True)


class Chat(Base):
    __tablename__ = "chats"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    owner: Mapped[str] = mapped_column(sa.Text)
    department: Mapped[str] = mapped_column(sa.Text)
    title: Mapped[str] = mapped_column(sa.Text)
    data_class: Mapped[str] = mapped_column(sa.Text)
    model: Mapped[str] = mapped_column(sa.Text, server_default="auto")
    mode: Mapped[str] = mapped_column(sa.Text, server_default="chat")
    assistant_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    collection_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("kb_collections.id", ondelete="SET NULL"))  # the chat's private uploads
    version: Mapped[int] = mapped_column(sa.Integer, server_default="1")  # optimistic concurrency (two tabs)
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())

    __table_args__ = (sa.Index("ix_chats_owner_updated", "owner", "updated_at"),)


class Message(Base):
    __tablename__ = "chat_messages"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    chat_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), sa.ForeignKey("chats.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(sa.Integer)
    role: Mapped[str] = mapped_column(sa.Text)  # user | assistant
    content: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.Text, server_default="ok")  # ok | cancelled | error
    meta: Mapped[dict[str, Any]] = mapped_column(server_default="{}")  # metrics, tool, checks, citations
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())
    tsv: Mapped[Any] = mapped_column(TSVECTOR, sa.Computed("to_tsvector('german', content)", persisted=True))

    __table_args__ = (
        sa.UniqueConstraint("chat_id", "seq", name="uq_chat_messages_seq"),
        sa.Index("ix_chat_messages_tsv", "tsv", postgresql_using="gin"),
    )


class UserAssistant(Base):
    __tablename__ = "user_assistants"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    owner: Mapped[str] = mapped_column(sa.Text, index=True)
    department: Mapped[str] = mapped_column(sa.Text)
    name: Mapped[str] = mapped_column(sa.Text)
    description: Mapped[str] = mapped_column(sa.Text, server_default="")
    system_prompt: Mapped[str] = mapped_column(sa.Text)
    starter_prompts: Mapped[list[str]] = mapped_column(server_default="{}")
    data_class: Mapped[str] = mapped_column(sa.Text, server_default="intern")
    model: Mapped[str] = mapped_column(sa.Text, server_default="auto")
    visibility: Mapped[str] = mapped_column(sa.Text, server_default="private")  # private | link | departments
    share_departments: Mapped[list[str]] = mapped_column(server_default="{}")
    link_token: Mapped[str | None] = mapped_column(sa.Text, unique=True)
    published: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    screening: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    safeguards: Mapped[dict[str, Any]] = mapped_column(server_default="{}")  # rathaus.safety.policy.SafetyPolicy
    confirmed_by: Mapped[str | None] = mapped_column(sa.Text)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(TS)
    unpublished_reason: Mapped[str | None] = mapped_column(sa.Text)
    version: Mapped[int] = mapped_column(sa.Integer, server_default="1")
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())

    __table_args__ = (
        sa.CheckConstraint("visibility IN ('private', 'link', 'departments')", name="ck_user_assistant_visibility"),
    )


class UserAssistantVersion(Base):
    __tablename__ = "user_assistant_versions"
    assistant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), sa.ForeignKey("user_assistants.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    snapshot: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())

