"""Storing what arrives: idempotent, at least once.

Every channel calls :func:`store_message`. In ONE transaction it inserts the message (or finds it: the key is
``(channel, external_id)`` – a Message-ID, a Zammad ticket/article id, a delivery id), its attachments, an audit
record, and queues the processing job. A channel acknowledges its source (IMAP \\Seen, HTTP 2xx to Zammad) only
after that commit, so a crash before it loses nothing (the source delivers again) and a crash after it processes
nothing twice (the key exists; processing itself only works on messages in status ``received``). Messages whose
job was lost or failed for good are queued again by the periodic job ``inbox.sweep``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from rathaus.core import audit
from rathaus.core.auth import Principal
from rathaus.core.errors import BadRequest
from rathaus.core.language import detect_language
from rathaus.inbox.message import Attachment, IncomingMessage
from rathaus.inbox.schema import CHANNELS, InboxAttachment, InboxMessage

if TYPE_CHECKING:
    from rathaus.runtime import Runtime

USE_CASE = "inbox"
MAX_SUBJECT_CHARS = 1_000
MAX_BODY_CHARS = 200_000
MAX_EXTERNAL_ID_CHARS = 500
MAX_ATTACHMENTS = 50
PROCESS_JOB = "inbox.process"


@dataclass(frozen=True)
class Stored:
    id: int
    created: bool  # False: the same message (same channel and external id) was stored before

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "created": self.created}


def external_id_for(channel: str, *parts: str) -> str:
    """A stable idempotency key when the source gives none (e.g. a form without a submission id): a hash of what
    identifies the message."""
    digest = hashlib.sha256("\x1f".join((channel, *parts)).encode("utf-8")).hexdigest()[:32]
    return f"sha256:{digest}"


def _check(msg: IncomingMessage) -> None:
    if msg.channel not in CHANNELS:
        raise BadRequest(f"unknown channel {msg.channel!r}; one of {', '.join(CHANNELS)}")
    if not msg.external_id or len(msg.external_id) > MAX_EXTERNAL_ID_CHARS:
        raise BadRequest(f"external_id must have 1 to {MAX_EXTERNAL_ID_CHARS} characters")
    if not (msg.subject.strip() or msg.body.strip() or msg.attachments):
        raise BadRequest("Nachricht ohne Betreff, Text und Anhang / message has no subject, text or attachment")
    if len(msg.attachments) > MAX_ATTACHMENTS:
        raise BadRequest(f"at most {MAX_ATTACHMENTS} attachments per message")


def _clip(text: str, limit: int, what: str, problems: list[str]) -> str:
    text = text.replace("\x00", "")
    if len(text) > limit:
        problems.append(f"{what} gekürzt auf {limit:,} Zeichen / {what} cut to {limit:,} characters")
        return text[:limit]
    return text


def store_message(runtime: Runtime, msg: IncomingMessage, *, actor: Principal | None = None,
                  max_attachment_bytes: int | None = None) -> Stored:
    """Store ``msg`` once and queue its processing, in one transaction; ``Stored(id, created=False)`` when it was
    stored before (nothing changes then)."""
    _check(msg)
    problems = list(msg.problems)
    subject = _clip(msg.subject, MAX_SUBJECT_CHARS, "subject", problems)
    body = _clip(msg.body, MAX_BODY_CHARS, "body", problems)
    data_class = runtime.settings.default_data_class.value
    language = msg.language or (detect_language(f"{subject}\n{body}"[:2000]) if (subject + body).strip() else None)
    values = {
        "channel": msg.channel, "external_id": msg.external_id, "mailbox": msg.mailbox, "subject": subject,
        "body": body, "sender_address": (msg.sender_address or None), "sender_name": msg.sender_name,
        "sent_at": msg.received_at, "in_reply_to": msg.in_reply_to, "references": list(msg.references)[:100],
        "problems": problems[:50], "meta": dict(msg.meta), "language": language,
        "data_class": data_class,
    }
    with runtime.db.session() as session:
        new_id = session.scalar(insert(InboxMessage).values(**values)
                                .on_conflict_do_nothing(constraint="uq_inbox_message_channel_external_id")
                                .returning(InboxMessage.id))
        if new_id is None:
            old = session.scalar(sa.select(InboxMessage.id).where(InboxMessage.channel == msg.channel,
                                                                  InboxMessage.external_id == msg.external_id))
            assert old is not None  # the conflict means it exists
            return Stored(int(old), created=False)
        for att in msg.attachments:
            session.add(_attachment_row(int(new_id), att, max_attachment_bytes))
        who = actor.id if actor else f"channel:{msg.channel}"
        audit.append(session, audit.AuditEntry(
            actor=who, department=actor.department if actor else "-", use_case=USE_CASE, action="inbox.received",
            data_class=data_class, input_hash=audit.content_hash(f"{subject}\n{body}"),
            details={"message_id": int(new_id), "channel": msg.channel, "attachments": len(msg.attachments)}),
            key=runtime.gateway.audit_key)
        runtime.jobs.defer(PROCESS_JOB, session=session, message_id=int(new_id))
        return Stored(int(new_id), created=True)


def _attachment_row(message_id: int, att: Attachment, max_bytes: int | None) -> InboxAttachment:
    too_large = max_bytes is not None and att.size > max_bytes
    problem = att.problem
    if too_large and not problem and max_bytes is not None:
        problem = f"zu groß / too large ({att.size / 1e6:.1f} MB > {max_bytes / 1e6:.0f} MB), nur Metadaten"
    return InboxAttachment(message_id=message_id, filename=att.filename[:300] or "anhang",
                           content_type=att.content_type[:200] or "application/octet-stream", size=att.size,
                           data=None if too_large else att.data, text=None if too_large else att.text,
                           problem=problem)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
