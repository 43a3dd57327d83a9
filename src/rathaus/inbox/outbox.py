"""Approving and sending replies: nothing leaves without a person's approval (or, where a department allowed it,
the documented automatic answer), and nothing is sent twice.

``approve`` records who approved which text. ``send`` first marks the draft ``sending`` with its outbound id (a
Message-ID, or the marker of a Zammad article) in its own transaction – a partial unique index allows one such
draft per message – then hands it to SMTP or Zammad, then marks it ``sent``. A failure before the server accepted
it leaves ``failed`` (send again: same outbound id); a crash in between leaves ``sending``, which is never sent
again automatically: a person checks the mailbox first (``resolve_sending``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from rathaus.core import audit
from rathaus.core.auth import Principal
from rathaus.core.errors import BadRequest, Conflict, NotFound
from rathaus.inbox import access
from rathaus.inbox.intake import USE_CASE
from rathaus.inbox.letters import with_companion
from rathaus.inbox.schema import InboxDraft, InboxMessage
from rathaus.inbox.settings import InboxSettings
from rathaus.inbox.store import draft_dict

if TYPE_CHECKING:
    from rathaus.runtime import Runtime

MAX_DRAFT_CHARS = 50_000


def _draft(session: Any, principal: Principal, draft_id: int, *, lock: bool = False) -> tuple[InboxDraft,
                                                                                               InboxMessage]:
    draft = session.get(InboxDraft, draft_id, with_for_update=lock)
    if draft is None:
        raise NotFound(f"Entwurf {draft_id} nicht gefunden / draft {draft_id} not found")
    message = access.require_visible(principal, session.get(InboxMessage, draft.message_id), draft.message_id)
    return draft, message


def _audit(runtime: Runtime, session: Any, principal: Principal | None, action: str, draft: InboxDraft,
           message: InboxMessage, **details: Any) -> None:
    audit.append(session, audit.AuditEntry(
        actor=principal.id if principal else "system:auto-answer",
        department=principal.department if principal else message.department or "-", use_case=USE_CASE,
        action=action, data_class=message.data_class, output_hash=audit.content_hash(draft.text),
        sources=[{"document_id": s.get("document_id"), "chunk_id": s.get("chunk_id")} for s in draft.sources],
        details={"message_id": message.id, "draft_id": draft.id, **details}), key=runtime.gateway.audit_key)


def edit(runtime: Runtime, principal: Principal, draft_id: int, *, text: str, subject: str | None = None,
         companion_text: str | None = None, send_companion: bool | None = None) -> dict[str, Any]:
    """The case worker's wording (and of the plain-German companion, and whether it is appended when sending); an
    approved draft goes back to ``draft`` (approval covers a text)."""
    if not text.strip():
        raise BadRequest("der Antworttext ist leer / the reply is empty")
    for what, value in (("reply", text), ("German version", companion_text or "")):
        if len(value) > MAX_DRAFT_CHARS:
            raise BadRequest(f"{what} too long ({len(value):,} characters, at most {MAX_DRAFT_CHARS:,})")
    with runtime.db.session() as session:
        draft, message = _draft(session, principal, draft_id, lock=True)
        if draft.status not in ("draft", "approved", "failed"):
            raise Conflict(f"draft {draft_id} is {draft.status}; it cannot be edited")
        if (companion_text is not None or send_companion) and draft.companion_text is None:
            raise BadRequest(f"draft {draft_id} has no German version: the reply is in German already")
        draft.text, draft.edited_by, draft.status = text, principal.id, "draft"
        if companion_text is not None:
            if not companion_text.strip():
                raise BadRequest("die deutsche Fassung ist leer / the German version is empty")
            draft.companion_text = companion_text
        if send_companion is not None:
            draft.send_companion = send_companion
        draft.approved_by = draft.approved_at = None
        if subject is not None and subject.strip():
            draft.subject = " ".join(subject.split())[:300]
        draft.updated_at = dt.datetime.now(dt.UTC)
        _audit(runtime, session, principal, "inbox.draft_edit", draft, message)
        return draft_dict(draft)


def approve(runtime: Runtime, principal: Principal, draft_id: int) -> dict[str, Any]:
    """``principal`` approves the draft's current text for sending."""
    access.require_send(principal)
    with runtime.db.session() as session:
        draft, message = _draft(session, principal, draft_id, lock=True)
        if draft.status not in ("draft", "failed", "approved"):
            raise Conflict(f"draft {draft_id} is {draft.status}; only drafts can be approved")
        if message.status in ("spam", "closed", "answered"):
            raise Conflict(f"message {message.id} is {message.status}; no reply is sent")
        draft.status, draft.approved_by, draft.approved_at = "approved", principal.id, dt.datetime.now(dt.UTC)
        _audit(runtime, session, principal, "inbox.approve", draft, message)
        return draft_dict(draft)


def send(runtime: Runtime, principal: Principal | None, draft_id: int) -> dict[str, Any]:
    """Send an approved draft once, by the channel the message came in (Zammad article or e-mail)."""
    if principal is not None:
        access.require_send(principal)
    with runtime.db.session() as session:
        if principal is None:  # the automatic answer: the caller checked the department's permission
            draft = session.get(InboxDraft, draft_id, with_for_update=True)
            message = session.get(InboxMessage, draft.message_id) if draft else None
            if draft is None or message is None:
                raise NotFound(f"draft {draft_id} not found")
        else:
            draft, message = _draft(session, principal, draft_id, lock=True)
        if draft.status == "sent":
            return draft_dict(draft)  # sent before: nothing happens
        if draft.status != "approved" and not (draft.status == "failed" and draft.approved_by):
            raise Conflict(f"Entwurf {draft_id} ist nicht freigegeben / draft {draft_id} is not approved "
                           f"({draft.status})")
        if draft.status == "sending":
            raise Conflict(f"draft {draft_id} is being sent or its outcome is unknown; check the sent mail")
        if message.channel != "zammad" and not message.sender_address:
            raise Conflict(f"message {message.id} has no address to reply to")
        draft.outbound_id = draft.outbound_id or make_msgid(domain="rathaus.local")
        draft.status = "sending"
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(f"another reply to message {message.id} is being sent or was sent") from None
        text = with_companion(draft.text, draft.companion_text if draft.send_companion else None, draft.language)
        outgoing = Outgoing(subject=draft.subject, text=text, outbound_id=draft.outbound_id,
                            message_id=message.id, channel=message.channel, address=message.sender_address,
                            external_id=message.external_id, references=list(message.references),
                            meta=dict(message.meta))
    error = None
    try:
        _deliver(runtime, outgoing)
    except Exception as exc:  # every delivery failure is recorded on the draft; the caller sees it
        error = f"{type(exc).__name__}: {exc}"[:500]
    with runtime.db.session() as session:
        draft = session.get(InboxDraft, draft_id, with_for_update=True)
        message = session.get(InboxMessage, draft.message_id) if draft else None
        assert draft is not None and message is not None
        if error:
            draft.status, draft.send_error = "failed", error
            _audit(runtime, session, principal, "inbox.send_failed", draft, message, error=error)
        else:
            draft.status, draft.sent_at, draft.send_error = "sent", dt.datetime.now(dt.UTC), None
            message.status = "answered"
            _audit(runtime, session, principal, "inbox.sent", draft, message, approved_by=draft.approved_by,
                   channel=message.channel, outbound_id=draft.outbound_id)
        result = draft_dict(draft)
    if error:
        raise Conflict(f"Versand fehlgeschlagen / sending failed: {error}", extra={"draft": result})
    return result


@dataclass(frozen=True)
class Outgoing:
    """What a send needs, read in the transaction that marked the draft ``sending``."""

    subject: str
    text: str
    outbound_id: str
    message_id: int
    channel: str
    address: str | None
    external_id: str
    references: list[str]
    meta: dict[str, Any]


def _deliver(runtime: Runtime, out: Outgoing) -> None:
    settings = runtime.settings.section(InboxSettings)
    if out.channel == "zammad":
        from rathaus.inbox.channels import zammad_client

        ticket = out.meta.get("zammad_ticket_id")
        if not ticket:
            raise Conflict(f"message {out.message_id} has no Zammad ticket id")
        with zammad_client(runtime) as client:
            client.add_reply(int(ticket), to=out.address or "", subject=out.subject, body=out.text)
        return
    from rathaus.inbox.channels import smtp_account
    from rathaus.inbox.smtp import send_reply

    in_reply_to = out.external_id if out.channel == "mail" else None
    send_reply(smtp_account(settings), to=out.address or "", subject=out.subject, body=out.text,
               in_reply_to=in_reply_to, references=[*out.references, *([in_reply_to] if in_reply_to else [])],
               message_id=out.outbound_id)


def resolve_sending(runtime: Runtime, principal: Principal, draft_id: int, *, was_sent: bool) -> dict[str, Any]:
    """After a crash during sending: a person says whether the reply arrived (then ``sent``) or not (``failed``,
    to be sent again with the same outbound id)."""
    access.require_send(principal)
    with runtime.db.session() as session:
        draft, message = _draft(session, principal, draft_id, lock=True)
        if draft.status != "sending":
            raise Conflict(f"draft {draft_id} is {draft.status}, not sending")
        draft.status = "sent" if was_sent else "failed"
        if was_sent:
            draft.sent_at = dt.datetime.now(dt.UTC)
            message.status = "answered"
        _audit(runtime, session, principal, "inbox.send_resolved", draft, message, was_sent=was_sent)
        return draft_dict(draft)


def pending_sends(runtime: Runtime) -> int:
    with runtime.db.session() as session:
        return session.scalar(sa.select(sa.func.count()).where(InboxDraft.status == "sending")) or 0
