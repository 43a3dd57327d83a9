"""Reply drafts grounded in the department's knowledge collections.

The draft reuses the citizen assistants' answers (:class:`rathaus.assistants.Answerer`): retrieval in the
department's collections, sentence evidence, quotes verified word for word in their sources, in the sender's
language. The answer is put into the letter template (:mod:`rathaus.inbox.letters`). When no quote can be
verified, the draft is the holding reply and ``abstained`` is set: the case worker writes the answer.

German is written plainly (the template's short sentences; the verified German quote as the answer) and measured:
``metrics["readability_de"]`` holds the Wiener Sachtextformel of the German letter. A sender writing in another
language gets the letter in their language *and* ``companion_text``, the same letter in plain German – for the
case worker and the file, sent along (appended) only when the case worker chooses so.
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
from rathaus.core.readability import measure as measure_readability
from rathaus.inbox import access
from rathaus.inbox.intake import USE_CASE
from rathaus.inbox.letters import Letter, letter
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
    """A new draft for ``message`` (not stored): the model's answer inside the letter; with a plain-German
    companion when the answer is in another language."""
    if not message.department:
        raise Conflict(f"message {message.id} is not routed to a department yet; route it first")
    assistant = department_assistant(taxonomy, message.department, message.data_class)
    answer = Answerer(runtime, assistant, principal, channel="inbox").answer(question_of(message.subject,
                                                                                        message.body))
    sources = [asdict(c) for c in answer.citations if c.verified]
    dept = taxonomy.department(message.department)
    body = None if answer.abstained or not sources else answer.text
    lang = answer.language or message.language or "de"
    reference = f"{message.department.upper()}-{message.id}"

    def write(language: str, answer_text: str | None) -> Letter:
        return letter(language=language, subject=message.subject, sent=message.sent_at or message.received_at,
                      reference=reference, sender_name=message.sender_name,
                      department=dept.name_de if language == "de" else dept.name_en, answer=answer_text,
                      sources=sources)

    made = write(lang, body)
    companion = None
    if lang != "de":
        companion = write("de", german_answer(sources) if body is not None else None)
    german = companion.text if companion else made.text
    metrics = {**answer.metrics, "readability_de": readability(german)}
    return InboxDraft(message_id=message.id, status="draft", language=made.language, subject=made.subject,
                      text=made.text, generated_text=made.text, sources=sources, abstained=body is None,
                      companion_text=companion.text if companion else None, metrics=metrics, created_by=by)


def german_answer(sources: list[dict[str, Any]]) -> str | None:
    """The plain-German answer for the companion: the first verified quote whose source is German, word for word
    (as the answerer gives it to a German question); None when no source is German – the companion then holds
    the holding reply and the case worker writes the German wording."""
    for s in sources:
        if (s.get("language") or "de") == "de" and s.get("quote"):
            return f"Laut Quelle [{s.get('n', 1)}]: «{s['quote']}»"
    return None


def readability(letter_text: str) -> dict[str, Any]:
    """Wiener Sachtextformel and sentence length of the German letter without its reference and source lines."""
    prose = "\n".join(line for line in letter_text.splitlines()
                      if line.strip() and not re.match(r"^(Unser Zeichen:|\[\d+\]|Quellen:)", line.strip()))
    r = measure_readability(prose)
    return {"wstf": r.wstf, "level": r.level, "avg_sentence_words": r.avg_sentence_words,
            "long_word_share": r.long_word_share, "sentences": r.sentences, "words": r.words}


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
