"""Processing a stored message: routing, data takeover, duplicates – the job ``inbox.process``.

Works only on messages in status ``received`` (locked, so two workers never process one message), and is safe to
run again: a message that failed (model down, database gone) stays ``received`` with its error and is taken up by
the job's retries or the periodic ``inbox.sweep``.

Decision: a confident suggestion (at or above the department's threshold, calibrated for 95 % precision) routes
the message to its department (``open``); a confident "not a request for us" puts it in the spam folder (visible,
reversible); everything else goes to the human triage queue with the suggestion shown. Without a trained model,
a message that arrived in a department's own mailbox goes to that department, all others to triage.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

from rathaus.core import audit
from rathaus.core.classification import DataClass
from rathaus.inbox import learning
from rathaus.inbox.duplicates import DuplicateIndex, IndexRecord, Match
from rathaus.inbox.extraction import extract
from rathaus.inbox.intake import USE_CASE
from rathaus.inbox.routing import RoutingSuggestion
from rathaus.inbox.schema import InboxAttachment, InboxMessage
from rathaus.inbox.service import taxonomy as load_taxonomy
from rathaus.inbox.taxonomy import Taxonomy

if TYPE_CHECKING:
    from rathaus.runtime import Runtime

log = logging.getLogger(__name__)
SPAM_CONFIDENCE = 0.9
TEXT_CHARS = 6000
INDEX_DAYS = 365
_index_lock = threading.Lock()
_indexes: dict[str, tuple[int, DuplicateIndex]] = {}  # database → (highest indexed id, index)


def routing_text(subject: str, body: str, attachment_texts: list[str]) -> str:
    text = f"{subject}\n\n{body}"
    for t in attachment_texts:
        if len(text) >= TEXT_CHARS:
            break
        text += "\n\n" + t
    return text[:TEXT_CHARS]


def _case_numbers(extraction: dict[str, Any]) -> list[str]:
    return [str(f.get("value")) for f in extraction.get("fields", {}).get("case_number", []) if f.get("value")]


def _records(rows: list[Any]) -> list[IndexRecord]:
    return [IndexRecord(id=str(r.id), text=f"{r.subject}\n\n{r.body}"[:TEXT_CHARS],
                        vector=np.asarray(r.embedding, dtype=np.float32) if r.embedding else None,
                        sender=r.sender_address, case_numbers=_case_numbers(r.extraction or {}),
                        received_at=r.received_at, message_id=r.external_id if r.channel == "mail" else None,
                        in_reply_to=[r.in_reply_to] if r.in_reply_to else ()) for r in rows]


def duplicate_index(runtime: Runtime) -> tuple[DuplicateIndex, threading.Lock]:
    """This process's index of processed messages, brought up to date with what other workers processed."""
    key = f"{runtime.settings.database_url or runtime.settings.data_dir}/{runtime.settings.database_name}"
    with _index_lock:
        last, index = _indexes.get(key, (0, DuplicateIndex()))
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=INDEX_DAYS)
        with runtime.db.session() as session:
            rows = session.execute(sa.select(InboxMessage).where(
                InboxMessage.id > last, InboxMessage.processed_at.is_not(None), InboxMessage.received_at >= since)
                .order_by(InboxMessage.id)).scalars().all()
            for record in _records(list(rows)):
                if record.id not in index:
                    index.add(record.id, record.text, record.vector, sender=record.sender,
                              case_numbers=record.case_numbers, received_at=record.received_at,
                              message_id=record.message_id, in_reply_to=record.in_reply_to)
            if rows:
                last = max(last, max(r.id for r in rows))
        _indexes[key] = (last, index)
    return index, _index_lock


def mailbox_department(taxonomy: Taxonomy, mailbox: str | None, meta: dict[str, Any]) -> str | None:
    """The department whose mailbox a message arrived in: the channel's mailbox (a department key, as IMAP polling
    sets it) or a department's address among the mail's To/Cc recipients."""
    keys = {d.key for d in taxonomy.departments}
    if mailbox in keys:
        return mailbox
    recipients = {a for field in ("to", "cc") for a in str(meta.get(field) or "").split(",") if a}
    for d in taxonomy.departments:
        if d.mailbox and (d.mailbox.lower() in recipients or d.mailbox.lower() == (mailbox or "").lower()):
            return d.key
    return None


def decide(suggestion: RoutingSuggestion | None, taxonomy: Taxonomy, mailbox: str | None,
           text: str) -> dict[str, Any]:
    """Status, department, category and urgency for a message from the suggestion (pure; tested on its own)."""
    urgency = taxonomy.urgency_from_keywords(text) or taxonomy.default_urgency
    departments = {d.key for d in taxonomy.departments}
    if suggestion is None:
        if mailbox in departments:
            return {"status": "open", "department": mailbox, "category": None, "urgency": urgency,
                    "routed_by": "mailbox"}
        return {"status": "triage", "department": None, "category": None, "urgency": urgency, "routed_by": None}
    if (not suggestion.relevant and suggestion.relevant_confidence is not None
            and suggestion.relevant_confidence >= SPAM_CONFIDENCE):
        return {"status": "spam", "department": None, "category": None, "urgency": suggestion.urgency,
                "routed_by": "model"}
    if suggestion.auto_route and suggestion.relevant and suggestion.department:
        return {"status": "open", "department": suggestion.department, "category": suggestion.category,
                "urgency": suggestion.urgency, "routed_by": "model"}
    if mailbox in departments:  # not confident: the mailbox it was sent to decides, a person may reassign
        return {"status": "open", "department": mailbox, "category": None, "urgency": suggestion.urgency,
                "routed_by": "mailbox"}
    return {"status": "triage", "department": None, "category": None, "urgency": suggestion.urgency,
            "routed_by": None}


def process(runtime: Runtime, message_id: int) -> dict[str, Any]:
    """Route, extract and check for duplicates one received message; what was decided (or why nothing was)."""
    with runtime.db.session() as session:
        m = session.scalar(sa.select(InboxMessage).where(InboxMessage.id == message_id)
                           .with_for_update(skip_locked=True))
        if m is None or m.status != "received":
            return {"message_id": message_id, "skipped": "not waiting (processed, locked or gone)"}
        m.attempts += 1
        texts = [t for t in session.scalars(sa.select(InboxAttachment.text).where(
            InboxAttachment.message_id == m.id, InboxAttachment.text.is_not(None)).order_by(InboxAttachment.id)) if t]
        snapshot = {"subject": m.subject, "body": m.body, "mailbox": m.mailbox, "sender_address": m.sender_address,
                    "sender_name": m.sender_name, "sent_at": m.sent_at, "received_at": m.received_at,
                    "channel": m.channel, "external_id": m.external_id, "in_reply_to": m.in_reply_to,
                    "data_class": m.data_class, "meta": dict(m.meta)}
    try:
        outcome = _work(runtime, message_id, snapshot, texts)
    except Exception as exc:
        with runtime.db.session() as session:
            failed = session.get(InboxMessage, message_id)
            if failed is not None:
                failed.last_error = f"{type(exc).__name__}: {exc}"[:500]
        raise
    return outcome


def _work(runtime: Runtime, message_id: int, s: dict[str, Any], attachment_texts: list[str]) -> dict[str, Any]:
    taxonomy = load_taxonomy(runtime)
    text = routing_text(s["subject"], s["body"], attachment_texts)
    data_class = DataClass.parse(s["data_class"])
    model = learning.current_model(runtime)
    vector = learning.embedder(runtime, model.info.get("embedding_model") if model else None, data_class)([text])[0]
    suggestion = None
    if model is not None:
        suggestion = model.predict([text], emb=vector[None, :])[0]
    decision = decide(suggestion, taxonomy, mailbox_department(taxonomy, s["mailbox"], s["meta"]), text)
    reference = (s["sent_at"] or s["received_at"]).date()
    sources = [("subject", s["subject"]), ("body", s["body"])]
    sources += [(f"attachment:{i + 1}", t) for i, t in enumerate(attachment_texts)]
    extraction = extract(sources, sender_name=s["sender_name"], sender_address=s["sender_address"],
                         reference_date=reference)
    index, lock = duplicate_index(runtime)
    with lock:
        matches: list[Match] = index.add(str(message_id), text,
                                         learning.duplicate_vector(model, vector).astype(np.float32),
                                         sender=s["sender_address"], case_numbers=_case_numbers(extraction),
                                         received_at=s["received_at"],
                                         message_id=s["external_id"] if s["channel"] == "mail" else None,
                                         in_reply_to=[s["in_reply_to"]] if s["in_reply_to"] else ())
        group = index.group_of(str(message_id))
    case_id = min(int(g) for g in group) if group else message_id
    similar = [{"id": int(mt.id), "score": round(float(mt.score), 3), "kind": mt.kind, "reason": mt.reason}
               for mt in matches[:10]]
    with runtime.db.session() as session:
        m = session.get(InboxMessage, message_id, with_for_update=True)
        assert m is not None
        m.status, m.department, m.category = decision["status"], decision["department"], decision["category"]
        m.urgency, m.routed_by = decision["urgency"], decision["routed_by"]
        m.routing = suggestion.as_dict() if suggestion else {"model": None}
        m.extraction, m.similar, m.case_id = extraction, similar, case_id
        m.embedding = [float(x) for x in learning.duplicate_vector(model, vector)]
        m.processed_at, m.last_error = dt.datetime.now(dt.UTC), None
        audit.append(session, audit.AuditEntry(
            actor="inbox-router", department=decision["department"] or "-", use_case=USE_CASE,
            action="inbox.routed", data_class=m.data_class,
            model=model.info.get("model_id") if model else None,
            details={"message_id": message_id, **{k: v for k, v in decision.items()},
                     "confidence": suggestion.confidence if suggestion else None,
                     "duplicates": sum(1 for x in similar if x["kind"] == "duplicate")}),
            key=runtime.gateway.audit_key)
        follow_up(runtime, session, m)
    return {"message_id": message_id, **decision, "case_id": case_id, "similar": len(similar)}


def follow_up(runtime: Runtime, session: Any, m: InboxMessage) -> None:
    """Queue what the operator allowed after routing, in the routing's transaction: the Zammad write-back and an
    automatic answer (each job checks its conditions again)."""
    from rathaus.inbox.automation import auto_answer_refusal, wants_write_back

    if wants_write_back(runtime, m):
        runtime.jobs.defer("inbox.zammad_update", session=session, message_id=m.id)
    if auto_answer_refusal(runtime, m) is None:
        runtime.jobs.defer("inbox.auto_answer", session=session, message_id=m.id)


def pending(runtime: Runtime, older_than_seconds: float = 60) -> list[int]:
    """Messages still waiting for processing (their job was lost, or failed for good)."""
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=older_than_seconds)
    with runtime.db.session() as session:
        return list(session.scalars(sa.select(InboxMessage.id).where(
            InboxMessage.status == "received", InboxMessage.received_at < cutoff).order_by(InboxMessage.id)
            .limit(500)))
