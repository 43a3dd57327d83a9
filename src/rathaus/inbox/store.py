"""What case workers do with messages: list a queue, read one, reassign it, mark it as spam, close it.

Every function takes the acting principal, reads through :mod:`rathaus.inbox.access` (no query without it),
and writes exactly one audit record per action. Corrections of the model's suggestion are stored as the labels
of the next training (:class:`InboxCorrection`, :class:`InboxExample`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rathaus.core import audit
from rathaus.core.auth import Principal
from rathaus.core.errors import BadRequest, Conflict
from rathaus.inbox import access
from rathaus.inbox.intake import USE_CASE
from rathaus.inbox.schema import STATUSES, InboxAttachment, InboxCorrection, InboxDraft, InboxExample, InboxMessage
from rathaus.inbox.taxonomy import Taxonomy

if TYPE_CHECKING:
    from rathaus.runtime import Runtime

MAX_PAGE = 200
PREVIEW_CHARS = 160


@dataclass(frozen=True)
class Filters:
    department: str | None = None  # "-" = the triage queue (no department)
    status: str | None = None
    category: str | None = None
    urgency: str | None = None
    language: str | None = None
    older_than_hours: float | None = None
    search: str | None = None
    limit: int = 50
    offset: int = 0


def _audit(runtime: Runtime, session: Session, principal: Principal, action: str, message: InboxMessage,
           **details: Any) -> None:
    audit.append(session, audit.AuditEntry(
        actor=principal.id, department=principal.department, use_case=USE_CASE, action=action,
        data_class=message.data_class, details={"message_id": message.id, **details}), key=runtime.gateway.audit_key)


def summary(m: InboxMessage) -> dict[str, Any]:
    """A message as a row of the queue."""
    routing = m.routing or {}
    return {
        "id": m.id, "channel": m.channel, "status": m.status, "department": m.department, "category": m.category,
        "urgency": m.urgency, "language": m.language, "subject": m.subject,
        "preview": " ".join(m.body.split())[:PREVIEW_CHARS], "sender_name": m.sender_name,
        "received_at": m.received_at.isoformat() if m.received_at else None,
        "confidence": routing.get("confidence"), "routed_by": m.routed_by, "case_id": m.case_id,
        "duplicates": sum(1 for s in (m.similar or []) if s.get("kind") == "duplicate"),
    }


def list_messages(runtime: Runtime, principal: Principal, filters: Filters) -> dict[str, Any]:
    """The queue ``principal`` may see, newest first (most urgent first within a day)."""
    if filters.status and filters.status not in STATUSES:
        raise BadRequest(f"unknown status {filters.status!r}; one of {', '.join(STATUSES)}")
    limit = max(1, min(filters.limit, MAX_PAGE))
    query = sa.select(InboxMessage).where(access.visible_clause(principal))
    if filters.department == "-":
        query = query.where(InboxMessage.department.is_(None))
    elif filters.department:
        query = query.where(InboxMessage.department == filters.department)
    for column, value in ((InboxMessage.status, filters.status), (InboxMessage.category, filters.category),
                          (InboxMessage.urgency, filters.urgency), (InboxMessage.language, filters.language)):
        if value:
            query = query.where(column == value)
    if filters.older_than_hours is not None:
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(hours=filters.older_than_hours)
        query = query.where(InboxMessage.received_at < cutoff)
    if filters.search:
        pattern = "%" + filters.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(sa.or_(InboxMessage.subject.ilike(pattern), InboxMessage.body.ilike(pattern)))
    with runtime.db.session() as session:
        total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.order_by(InboxMessage.received_at.desc(), InboxMessage.id.desc())
                               .limit(limit).offset(max(0, filters.offset))).all()
        return {"total": total, "items": [summary(m) for m in rows], "limit": limit, "offset": filters.offset}


def get_message(runtime: Runtime, principal: Principal, message_id: int) -> dict[str, Any]:
    """One message with its attachments (metadata and text), routing, extracted fields, similar messages and drafts;
    reading it is audited (personal data)."""
    with runtime.db.session() as session:
        m = access.require_visible(principal, session.get(InboxMessage, message_id), message_id)
        atts = session.scalars(sa.select(InboxAttachment).where(InboxAttachment.message_id == m.id)
                               .order_by(InboxAttachment.id)).all()
        drafts = session.scalars(sa.select(InboxDraft).where(InboxDraft.message_id == m.id)
                                 .order_by(InboxDraft.id.desc())).all()
        similar = [s for s in (m.similar or []) if _visible_id(session, principal, s.get("id"))]
        known = {s.get("id") for s in similar}
        later = session.execute(sa.select(InboxMessage.id, InboxMessage.similar).where(
            InboxMessage.similar.contains([{"id": m.id}]), access.visible_clause(principal))).all()
        for other_id, links in later:  # messages that arrived later and found this one
            link = next((s for s in links or [] if s.get("id") == m.id), None)
            if link and other_id not in known:
                similar.append({**link, "id": other_id})
        _audit(runtime, session, principal, "inbox.read", m)
        return {
            **summary(m), "body": m.body, "sender_address": m.sender_address, "mailbox": m.mailbox,
            "sent_at": m.sent_at.isoformat() if m.sent_at else None, "routing": m.routing,
            "extraction": m.extraction, "similar": similar, "problems": list(m.problems), "meta": m.meta,
            "data_class": m.data_class, "last_error": m.last_error,
            "attachments": [{"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size,
                             "stored": a.data is not None, "text": (a.text or "")[:20_000], "problem": a.problem}
                            for a in atts],
            "drafts": [draft_dict(d) for d in drafts],
            "export": export_dict(m),
        }


def _visible_id(session: Session, principal: Principal, message_id: Any) -> bool:
    other = session.get(InboxMessage, int(message_id)) if isinstance(message_id, int) else None
    return other is not None and access.can_see(principal, other)


def export_dict(m: InboxMessage) -> dict[str, Any]:
    """Where the data takeover of a message stands (rathaus.inbox.takeover)."""
    return {"status": m.export_status, "delivery_id": m.export_delivery_id, "target": m.export_target,
            "requested_by": m.export_requested_by,
            "requested_at": m.export_requested_at.isoformat() if m.export_requested_at else None,
            "attempts": m.export_attempts, "error": m.export_error,
            "exported_at": m.exported_at.isoformat() if m.exported_at else None}


def draft_dict(d: InboxDraft) -> dict[str, Any]:
    return {"id": d.id, "status": d.status, "language": d.language, "subject": d.subject, "text": d.text,
            "companion_text": d.companion_text, "send_companion": d.send_companion,
            "sources": d.sources, "abstained": d.abstained, "metrics": d.metrics, "created_by": d.created_by,
            "edited_by": d.edited_by, "approved_by": d.approved_by,
            "approved_at": d.approved_at.isoformat() if d.approved_at else None,
            "sent_at": d.sent_at.isoformat() if d.sent_at else None, "send_error": d.send_error}


def reassign(runtime: Runtime, principal: Principal, message_id: int, taxonomy: Taxonomy, *,
             department: str, category: str | None = None, urgency: str | None = None) -> dict[str, Any]:
    """Route a message to ``department`` (and category/urgency) by hand; what differs from the model's suggestion
    is stored as a correction and a training example."""
    departments = [d.key for d in taxonomy.departments]
    urgencies = [u.key for u in taxonomy.urgency]
    if department not in departments:
        raise BadRequest(f"unknown department {department!r}; one of {', '.join(departments)}")
    if category is not None and category not in taxonomy.category_keys:
        raise BadRequest(f"unknown category {category!r}")
    if category is not None and taxonomy.department_of(category) != department:
        raise BadRequest(f"category {category!r} belongs to department {taxonomy.department_of(category)!r}")
    if urgency is not None and urgency not in urgencies:
        raise BadRequest(f"unknown urgency {urgency!r}; one of {', '.join(urgencies)}")
    with runtime.db.session() as session:
        m = access.require_visible(principal, session.get(InboxMessage, message_id, with_for_update=True), message_id)
        if m.status in ("answered", "closed"):
            raise Conflict(f"message {message_id} is {m.status}; reopen it first")
        changes = {"department": (m.department, department), "category": (m.category, category or m.category),
                   "urgency": (m.urgency, urgency or m.urgency)}
        suggested = m.routing or {}
        for field, (old, new) in changes.items():
            if new != old:
                session.add(InboxCorrection(message_id=m.id, field=field, old=old, new=new, by=principal.id))
        m.department, m.category, m.urgency = department, changes["category"][1], changes["urgency"][1]
        m.routed_by, m.status = principal.id, "open" if m.status in ("received", "triage", "spam") else m.status
        _learn(session, m, relevant=True)
        _audit(runtime, session, principal, "inbox.reassign", m, department=department, category=m.category,
               urgency=m.urgency, suggested=suggested.get("category"))
        return summary(m)


def mark_spam(runtime: Runtime, principal: Principal, message_id: int, *, spam: bool = True) -> dict[str, Any]:
    """Mark as not a request for us (or undo it); the next training learns from it."""
    with runtime.db.session() as session:
        m = access.require_visible(principal, session.get(InboxMessage, message_id, with_for_update=True), message_id)
        if m.status == "answered":
            raise Conflict(f"message {message_id} was answered; it cannot be spam")
        old = m.status
        m.status = "spam" if spam else ("open" if m.department else "triage")
        session.add(InboxCorrection(message_id=m.id, field="relevant", old=str(old != "spam").lower(),
                                    new=str(not spam).lower(), by=principal.id))
        _learn(session, m, relevant=not spam)
        _audit(runtime, session, principal, "inbox.spam" if spam else "inbox.not_spam", m)
        return summary(m)


def close(runtime: Runtime, principal: Principal, message_id: int) -> dict[str, Any]:
    with runtime.db.session() as session:
        m = access.require_visible(principal, session.get(InboxMessage, message_id, with_for_update=True), message_id)
        m.status = "closed"
        _audit(runtime, session, principal, "inbox.close", m)
        return summary(m)


def _learn(session: Session, m: InboxMessage, *, relevant: bool) -> None:
    """The message as a (weighted) training example; one per message, replaced by a later correction."""
    session.execute(sa.delete(InboxExample).where(InboxExample.message_id == m.id,
                                                  InboxExample.source == "correction"))
    session.add(InboxExample(text=f"{m.subject}\n\n{m.body}"[:20_000], category=m.category if relevant else None,
                             relevant=relevant, urgency=m.urgency, source="correction", weight=2.0,
                             message_id=m.id))


def corrections_since(session: Session, since: dt.datetime | None) -> int:
    query = sa.select(sa.func.count()).select_from(InboxCorrection)
    if since is not None:
        query = query.where(InboxCorrection.at > since)
    return session.scalar(query) or 0
