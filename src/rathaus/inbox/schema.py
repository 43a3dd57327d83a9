"""Tables of the inbox: messages with their attachments, the routing and takeover results, case workers'
corrections (the next training's labels), training examples, and reply drafts with their approval.

A message is stored once per ``(channel, external_id)`` – the intake's idempotency key – before anything else
happens to it (``status='received'``); processing is a job that may run again without harm.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from rathaus.core.schema import Base

TS = sa.DateTime(timezone=True)

#: received: stored, not processed yet · triage: a person must route it · open: routed to a department ·
#: answered: a reply was sent · spam: not a request for us · closed: done without a reply
STATUSES = ("received", "triage", "open", "answered", "spam", "closed")
CHANNELS = ("mail", "form", "api", "zammad")
#: queued: waiting for the job · retrying: the target was down or answered 5xx, tried again later · delivered: the
#: target answered 2xx · failed: refused (4xx), not allowed, or given up after the last retry
EXPORT_STATUSES = ("queued", "retrying", "delivered", "failed")
DRAFT_STATUSES = ("draft", "approved", "sending", "sent", "failed", "discarded")


class InboxMessage(Base):
    __tablename__ = "inbox_messages"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(sa.Text)
    external_id: Mapped[str] = mapped_column(sa.Text)
    mailbox: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.Text, server_default="received")
    department: Mapped[str | None] = mapped_column(sa.Text)  # the routed department; None while in triage
    category: Mapped[str | None] = mapped_column(sa.Text)
    urgency: Mapped[str | None] = mapped_column(sa.Text)
    language: Mapped[str | None] = mapped_column(sa.Text)
    data_class: Mapped[str] = mapped_column(sa.Text, server_default="personenbezogen")
    routed_by: Mapped[str | None] = mapped_column(sa.Text)  # "model", or the id of the person who routed it
    routing: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # the model's suggestion with confidences
    extraction: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # fields with confidence and source span
    case_id: Mapped[int | None] = mapped_column(sa.BigInteger)  # thread/duplicate group (id of its first message)
    similar: Mapped[list[Any] | None] = mapped_column(JSONB)  # duplicate and related messages found at intake
    subject: Mapped[str] = mapped_column(sa.Text, server_default="")
    body: Mapped[str] = mapped_column(sa.Text, server_default="")
    sender_address: Mapped[str | None] = mapped_column(sa.Text)
    sender_name: Mapped[str | None] = mapped_column(sa.Text)
    in_reply_to: Mapped[str | None] = mapped_column(sa.Text)
    references: Mapped[list[str]] = mapped_column(ARRAY(sa.Text), server_default="{}")
    problems: Mapped[list[str]] = mapped_column(ARRAY(sa.Text), server_default="{}")
    meta: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    embedding: Mapped[list[float] | None] = mapped_column(ARRAY(sa.REAL))
    sent_at: Mapped[dt.datetime | None] = mapped_column(TS)  # the sender's date
    received_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())  # stored here
    processed_at: Mapped[dt.datetime | None] = mapped_column(TS)
    attempts: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    # the data takeover into the department's specialist procedure (rathaus.inbox.takeover), set by a person's
    # export request: what is sent (fixed then, so every retry sends the same body), its delivery id (the same
    # across retries: the receiver de-duplicates), to where, and how it went
    export_status: Mapped[str | None] = mapped_column(sa.Text)
    export_delivery_id: Mapped[str | None] = mapped_column(sa.Text)
    export_target: Mapped[str | None] = mapped_column(sa.Text)  # the URL it goes to
    export_payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    export_requested_by: Mapped[str | None] = mapped_column(sa.Text)
    export_requested_at: Mapped[dt.datetime | None] = mapped_column(TS)
    export_attempts: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    export_error: Mapped[str | None] = mapped_column(sa.Text)  # the last error; cleared when delivered
    exported_at: Mapped[dt.datetime | None] = mapped_column(TS)

    __table_args__ = (
        sa.UniqueConstraint("channel", "external_id", name="uq_inbox_message_channel_external_id"),
        sa.CheckConstraint(f"status IN {STATUSES}", name="ck_inbox_message_status"),
        sa.CheckConstraint(f"export_status IS NULL OR export_status IN {EXPORT_STATUSES}",
                           name="ck_inbox_message_export_status"),
        sa.CheckConstraint(f"channel IN {CHANNELS}", name="ck_inbox_message_channel"),
        sa.Index("ix_inbox_messages_department_status", "department", "status"),
        sa.Index("ix_inbox_messages_status_received", "status", "received_at"),
        sa.Index("ix_inbox_messages_case", "case_id"),
    )


class InboxAttachment(Base):
    __tablename__ = "inbox_attachments"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(sa.BigInteger, sa.ForeignKey("inbox_messages.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(sa.Text)
    content_type: Mapped[str] = mapped_column(sa.Text)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    data: Mapped[bytes | None] = mapped_column(sa.LargeBinary)  # None when over the size limit (metadata only)
    text: Mapped[str | None] = mapped_column(sa.Text)
    problem: Mapped[str | None] = mapped_column(sa.Text)

    __table_args__ = (sa.Index("ix_inbox_attachments_message", "message_id"),)


class InboxCorrection(Base):
    """A case worker changed what the model suggested: the label of the next training."""

    __tablename__ = "inbox_corrections"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(sa.BigInteger, sa.ForeignKey("inbox_messages.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(sa.Text)  # department | category | urgency | relevant
    old: Mapped[str | None] = mapped_column(sa.Text)
    new: Mapped[str | None] = mapped_column(sa.Text)
    by: Mapped[str] = mapped_column(sa.Text)
    at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())


class InboxExample(Base):
    """A training example for routing: imported from past requests (``rathaus inbox train FILE``) or taken from a
    case worker's correction."""

    __tablename__ = "inbox_examples"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(sa.Text)
    category: Mapped[str | None] = mapped_column(sa.Text)
    relevant: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    urgency: Mapped[str | None] = mapped_column(sa.Text)
    source: Mapped[str] = mapped_column(sa.Text)  # "import:<file>" | "correction"
    weight: Mapped[float] = mapped_column(sa.Float, server_default="1")
    message_id: Mapped[int | None] = mapped_column(sa.BigInteger, sa.ForeignKey("inbox_messages.id",
                                                                                ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())

    __table_args__ = (sa.Index("ix_inbox_examples_message", "message_id"),)


class InboxDraft(Base):
    """A reply draft: written by the model from the department's knowledge, edited and approved by a person, then
    sent once (``outbound_id`` is the Message-ID or Zammad article marker that makes a retried send detectable)."""

    __tablename__ = "inbox_drafts"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(sa.BigInteger, sa.ForeignKey("inbox_messages.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(sa.Text, server_default="draft")
    language: Mapped[str] = mapped_column(sa.Text, server_default="de")
    subject: Mapped[str] = mapped_column(sa.Text, server_default="")
    text: Mapped[str] = mapped_column(sa.Text)
    generated_text: Mapped[str] = mapped_column(sa.Text, server_default="")  # what the model wrote
    # for a sender writing in another language: the same letter in plain German, for the case worker and the file;
    # sent too (appended) only when the case worker chose so (``send_companion``, covered by the approval)
    companion_text: Mapped[str | None] = mapped_column(sa.Text)
    send_companion: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    sources: Mapped[list[Any]] = mapped_column(JSONB, server_default="[]")  # verified quotes with their documents
    abstained: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")  # tokens, €, Wh, gCO2e
    created_by: Mapped[str] = mapped_column(sa.Text)
    edited_by: Mapped[str | None] = mapped_column(sa.Text)
    approved_by: Mapped[str | None] = mapped_column(sa.Text)
    approved_at: Mapped[dt.datetime | None] = mapped_column(TS)
    outbound_id: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[dt.datetime | None] = mapped_column(TS)
    send_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(TS, server_default=sa.func.now())

    __table_args__ = (
        sa.CheckConstraint(f"status IN {DRAFT_STATUSES}", name="ck_inbox_draft_status"),
        sa.Index("ix_inbox_drafts_message", "message_id"),
        # at most one draft per message is being sent or was sent: a reply is never sent twice
        sa.Index("uq_inbox_drafts_one_sent", "message_id", unique=True,
                 postgresql_where=sa.text("status IN ('sending', 'sent')")),
    )
