"""Reply drafts grounded in the department's knowledge collections.

The draft reuses the citizen assistants' answers (:class:`rathaus.assistants.Answerer`): retrieval in the
department's collections, sentence evidence, quotes verified word for word in their sources, in the sender's
language. The answer is put into the letter template (:mod:`rathaus.inbox.letters`). When no quote can be
verified, the draft is the holding reply and ``abstained`` is set: the case worker writes the answer.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from rathaus.assistants import Answerer, Assistant
from rathaus.core import audit
from rathaus.core.auth import Principal
from rathaus.core.errors import Conflict
from rathaus.inbox import access
from rathaus.inbox.intake import USE_CASE
from rathaus.inbox.letters import letter
from rathaus.inbox.schema import InboxDraft, InboxMessage
from rathaus.inbox.store import draft_dict
from rathaus.inbox.taxonomy import Taxonomy

if TYPE_CHECKING:
    from rathaus.runtime import Runtime

QUESTION_CHARS = 900  # the answerer's questions are short; the start of a message carries its request
QUOTED_REPLY = re.compile(r"^\s*>.*$|^(Am|On) .{5,80}(schrieb|wrote).*:$", re.MULTILINE)


def question_of(subject: str, body: str) -> str:
    """What the draft answers: subject and the start of the body, without quoted earlier mails."""
    text = QUOTED_REPLY.sub("", body)
    text = " ".join(f"{subject}. {text}".split())
    if len(text) <= QUESTION_CHARS:
        return text
    cut = text.rfind(". ", 0, QUESTION_CHARS)
    return text[: cut + 1 if cut > QUESTION_CHARS // 2 else QUESTION_CHARS]


def department_assistant(taxonomy: Taxonomy, department: str, data_class: str) -> Assistant:
    dept = taxonomy.department(department)
    if not dept.knowledge_collections:
        raise Conflict(f"Für {dept.name_de} sind keine Wissenssammlungen hinterlegt / no knowledge collections "
                       f"configured for department {department!r} (taxonomy: collections)")
    return Assistant(name=f"inbox-{department}"[:63].lower().replace("_", "-"),
                     title={"de": f"Antwortentwurf {dept.name_de}", "en": f"Reply draft {dept.name_en}"},
                     persona="Entwirft Antworten der Verwaltung aus amtlichen Quellen.",
                     collections=list(dept.knowledge_collections), department=department,
                     languages=["de", "en", "tr", "uk", "ar", "ru", "pl", "ro", "hr", "it", "fr", "es"],
                     data_class=data_class, max_sources=3, public=False)


def compose(runtime: Runtime, principal: Principal, message: InboxMessage, taxonomy: Taxonomy,
            *, by: str) -> InboxDraft:
    """A new draft for ``message`` (not stored): the model's answer inside the letter."""
    if not message.department:
        raise Conflict(f"message {message.id} is not routed to a department yet; route it first")
    assistant = department_assistant(taxonomy, message.department, message.data_class)
    answer = Answerer(runtime, assistant, principal, channel="inbox").answer(question_of(message.subject,
                                                                                        message.body))
    sources = [asdict(c) for c in answer.citations if c.verified]
    dept = taxonomy.department(message.department)
    body = None if answer.abstained or not sources else answer.text
    lang = answer.language or message.language or "de"
    made = letter(language=lang, subject=message.subject, sent=message.sent_at or message.received_at,
                  reference=f"{message.department.upper()}-{message.id}", sender_name=message.sender_name,
                  department=dept.name_de if lang == "de" else dept.name_en, answer=body, sources=sources)
    return InboxDraft(message_id=message.id, status="draft", language=made.language, subject=made.subject,
                      text=made.text, generated_text=made.text, sources=sources, abstained=body is None,
                      metrics=dict(answer.metrics), created_by=by)


def create_draft(runtime: Runtime, principal: Principal, message_id: int, taxonomy: Taxonomy) -> dict[str, Any]:
    """Draft a reply for a message ``principal`` may see; stored, audited with its sources."""
    with runtime.db.session() as session:
        message = access.require_visible(principal, session.get(InboxMessage, message_id), message_id)
        if message.status in ("spam", "closed"):
            raise Conflict(f"message {message_id} is {message.status}; no reply is drafted")
    draft = compose(runtime, principal, message, taxonomy, by=principal.id)
    with runtime.db.session() as session:
        session.add(draft)
        session.flush()
        audit.append(session, audit.AuditEntry(
            actor=principal.id, department=principal.department, use_case=USE_CASE, action="inbox.draft",
            data_class=message.data_class, output_hash=audit.content_hash(draft.text),
            sources=[{"document_id": s["document_id"], "chunk_id": s["chunk_id"]} for s in draft.sources],
            details={"message_id": message_id, "draft_id": draft.id, "abstained": draft.abstained}),
            key=runtime.gateway.audit_key)
        return draft_dict(draft)


def latest_draft(runtime: Runtime, message_id: int) -> InboxDraft | None:
    with runtime.db.session() as session:
        return session.scalar(sa.select(InboxDraft).where(InboxDraft.message_id == message_id)
                              .order_by(InboxDraft.id.desc()).limit(1))
