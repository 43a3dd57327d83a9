"""What every intake channel produces: one incoming message with its attachments, before it is stored.

Mail (IMAP), the web form, the REST API and Zammad webhooks all turn what they received into an
:class:`IncomingMessage`; the intake stores it once per ``(channel, external_id)`` (idempotent: a Message-ID, a
ticket article id or a delivery id), then routing, data takeover, duplicate check and drafting work on the stored
message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

Channel = Literal["mail", "form", "api", "zammad"]


@dataclass
class Attachment:
    """A file that came with a message: kept as received, its text extracted where possible."""

    filename: str
    content_type: str
    data: bytes
    text: str | None = None  # extracted text; None when nothing could be read
    problem: str | None = None  # why no text: "encrypted PDF", "too large (31 MB > 20 MB)", ...

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class IncomingMessage:
    channel: Channel
    external_id: str  # idempotency key within the channel: Message-ID, "<ticket>/<article>", delivery id
    subject: str
    body: str  # plain text (HTML-only mails converted to text)
    sender_address: str | None = None  # e-mail address of the sender, if any
    sender_name: str | None = None
    received_at: dt.datetime | None = None  # when the sender sent it (Date header); None: now
    mailbox: str | None = None  # the department mailbox or Zammad group it arrived in
    in_reply_to: str | None = None  # Message-ID(s) it answers, for threads
    references: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    language: str | None = None  # ISO 639-1 if the channel knows it
    problems: list[str] = field(default_factory=list)  # what was odd on intake: "charset 'x-unknown' read as latin-1"
    meta: dict[str, str] = field(default_factory=dict)  # channel details, e.g. {"zammad_ticket_id": "42"}

    @property
    def text(self) -> str:
        """Subject and body, what routing, extraction and duplicate detection read."""
        return f"{self.subject}\n\n{self.body}".strip()
