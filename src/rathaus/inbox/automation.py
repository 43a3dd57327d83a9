"""What happens after routing without a person, and only where an operator allowed it:

* **Zammad write-back** (``RATHAUS_INBOX_ZAMMAD_WRITE_BACK``): the ticket gets the department's group, the
  urgency's priority, the category as a tag and an internal note (agents only) with the suggestion, the extracted
  data and a reply draft. The citizen sees none of it.
* **Automatic answers** (``RATHAUS_INBOX_AUTO_ANSWER`` and a category marked ``auto_answer``): only when routing
  was confident (the department's threshold), retrieval was confident (a draft with verified quotes, no
  abstention), and never in an EU AI Act Annex III department. The reply is sent as ``auto-answer`` and audited
  with its sources; everything else waits for a case worker.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import TYPE_CHECKING, Any

from rathaus.core import audit
from rathaus.core.auth import Principal
from rathaus.inbox import outbox
from rathaus.inbox.drafts import compose
from rathaus.inbox.intake import USE_CASE
from rathaus.inbox.schema import InboxMessage
from rathaus.inbox.service import taxonomy
from rathaus.inbox.settings import InboxSettings

if TYPE_CHECKING:
    from rathaus.runtime import Runtime

AUTO_ANSWER = "auto-answer"


def wants_write_back(runtime: Runtime, message: InboxMessage) -> bool:
    settings = runtime.settings.section(InboxSettings)
    return (message.channel == "zammad" and settings.inbox_zammad_write_back
            and bool(settings.inbox_zammad_url and settings.inbox_zammad_token))


def auto_answer_refusal(runtime: Runtime, message: InboxMessage) -> str | None:
    """Why ``message`` may not be answered automatically (None: it may, once a verified draft exists)."""
    if not runtime.settings.section(InboxSettings).inbox_auto_answer:
        return "automatic answers are off (RATHAUS_INBOX_AUTO_ANSWER)"
    if message.status != "open" or message.routed_by != "model" or not message.category:
        return "not routed by a confident model"
    tax = taxonomy(runtime)
    try:
        if not tax.may_auto_answer(message.category):
            return f"category {message.category!r} is not marked auto_answer, or its department is Annex III"
    except KeyError:
        return f"category {message.category!r} is not in the taxonomy"
    if not (message.routing or {}).get("auto_route"):
        return "routing below the department's threshold"
    if message.channel != "zammad" and not message.sender_address:
        return "no address to answer to"
    return None


def auto_answer(runtime: Runtime, message_id: int) -> dict[str, Any]:
    """Answer one routed message automatically if every condition holds; what was done and why."""
    with runtime.db.session() as session:
        message = session.get(InboxMessage, message_id)
        if message is None:
            return {"message_id": message_id, "sent": False, "reason": "gone"}
        session.expunge(message)
    reason = auto_answer_refusal(runtime, message)
    if reason is None:
        system = Principal(id=AUTO_ANSWER, kind="service", department=message.department or "-")
        draft = compose(runtime, system, message, taxonomy(runtime), by=AUTO_ANSWER)
        if draft.abstained or not draft.sources:
            reason = "no verified answer in the department's knowledge (retrieval not confident)"
        else:
            with runtime.db.session() as session:
                draft.status, draft.approved_by = "approved", AUTO_ANSWER
                draft.approved_at = dt.datetime.now(dt.UTC)
                session.add(draft)
                session.flush()
                draft_id = draft.id
                audit.append(session, audit.AuditEntry(
                    actor=AUTO_ANSWER, department=message.department or "-", use_case=USE_CASE,
                    action="inbox.auto_answer", data_class=message.data_class,
                    output_hash=audit.content_hash(draft.text),
                    sources=[{"document_id": s["document_id"], "chunk_id": s["chunk_id"]} for s in draft.sources],
                    details={"message_id": message_id, "draft_id": draft_id, "category": message.category,
                             "confidence": (message.routing or {}).get("confidence")}),
                    key=runtime.gateway.audit_key)
            sent = outbox.send(runtime, None, draft_id)
            return {"message_id": message_id, "sent": True, "draft": sent}
    return {"message_id": message_id, "sent": False, "reason": reason}


def note_html(message: InboxMessage, draft_text: str | None, lang_names: dict[str, str]) -> str:
    """The internal note for Zammad: suggestion, confidence, extracted data, draft (HTML, every value escaped)."""
    routing = message.routing or {}
    parts = [f"<p><b>rathaus</b>: {html.escape(lang_names.get('department', ''))} · "
             f"{html.escape(message.category or '–')} · {html.escape(message.urgency or '–')}"
             + (f" ({routing['confidence']:.0%})" if isinstance(routing.get("confidence"), float) else "") + "</p>"]
    fields = (message.extraction or {}).get("fields", {})
    rows = [f"<li>{html.escape(kind)}: {html.escape(str(f.get('value')))}</li>"
            for kind, items in fields.items() for f in items[:3]]
    if rows:
        parts.append("<ul>" + "".join(rows[:30]) + "</ul>")
    if draft_text:
        parts.append("<p><b>Antwortentwurf / reply draft</b> (nicht gesendet / not sent):</p>"
                     f"<pre>{html.escape(draft_text)}</pre>")
    return "".join(parts)


def zammad_update(runtime: Runtime, message_id: int) -> dict[str, Any]:
    """Write the routing result back to the message's Zammad ticket (group, priority, tags, internal note)."""
    from rathaus.inbox.channels import zammad_client

    with runtime.db.session() as session:
        message = session.get(InboxMessage, message_id)
        if message is None or not wants_write_back(runtime, message):
            return {"message_id": message_id, "written": False}
        session.expunge(message)
    ticket = int(message.meta["zammad_ticket_id"])
    tax = taxonomy(runtime)
    group = priority = None
    dept_name = ""
    if message.department:
        dept = tax.department(message.department)
        group, dept_name = dept.zammad_group or dept.name_de, dept.name_de
    if message.urgency:
        priority = next((u.zammad_priority for u in tax.urgency if u.key == message.urgency), None)
    tags = [t for t in (message.category, "spam" if message.status == "spam" else None) if t]
    draft_text = None
    if message.department and message.status == "open":
        try:
            system = Principal(id="inbox-router", kind="service", department=message.department)
            draft = compose(runtime, system, message, tax, by="inbox-router")
            draft_text = None if draft.abstained else draft.text
        except Exception:  # no collections, model down: the note goes without a draft
            draft_text = None
    with zammad_client(runtime) as client:
        client.update_ticket(ticket, group=group, priority=priority, tags=tags)
        client.add_internal_note(ticket, note_html(message, draft_text, {"department": dept_name}),
                                 subject="rathaus: Vorschlag / suggestion")
    with runtime.db.session() as session:
        audit.append(session, audit.AuditEntry(
            actor="inbox-router", department=message.department or "-", use_case=USE_CASE,
            action="inbox.zammad_write_back", data_class=message.data_class,
            details={"message_id": message_id, "ticket": ticket, "group": group, "priority": priority,
                     "tags": tags, "draft": draft_text is not None}), key=runtime.gateway.audit_key)
    return {"message_id": message_id, "written": True, "group": group, "priority": priority, "tags": tags}


__all__ = ["AUTO_ANSWER", "auto_answer", "auto_answer_refusal", "note_html", "zammad_update"]
