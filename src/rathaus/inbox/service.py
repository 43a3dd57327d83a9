"""The inbox's read services shared by API, CLI and web pages: the taxonomy in use, a message's data takeover,
attachments, patterns."""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa

from rathaus.core import audit
from rathaus.core.auth import Principal
from rathaus.core.errors import NotFound
from rathaus.inbox import access
from rathaus.inbox.intake import USE_CASE
from rathaus.inbox.schema import InboxAttachment, InboxMessage
from rathaus.inbox.settings import InboxSettings
from rathaus.inbox.taxonomy import Taxonomy, load_taxonomy

if TYPE_CHECKING:
    from rathaus.runtime import Runtime

SCHEMA_FILE = Path(__file__).resolve().parent / "extraction.schema.json"


@cache
def _taxonomy(path: Path | None) -> Taxonomy:
    return load_taxonomy(path)


def taxonomy(runtime: Runtime) -> Taxonomy:
    """The city's taxonomy (RATHAUS_INBOX_TAXONOMY_FILE, default the shipped example), read once."""
    return _taxonomy(runtime.settings.section(InboxSettings).inbox_taxonomy_file)


def extraction_schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return data


def extraction_of(runtime: Runtime, principal: Principal, message_id: int) -> dict[str, Any]:
    """The data takeover of a message, for a specialist procedure; reading it is audited (personal data)."""
    with runtime.db.session() as session:
        m = access.require_visible(principal, session.get(InboxMessage, message_id), message_id)
        audit.append(session, audit.AuditEntry(
            actor=principal.id, department=principal.department, use_case=USE_CASE, action="inbox.export",
            data_class=m.data_class, details={"message_id": m.id}), key=runtime.gateway.audit_key)
        return {"message_id": m.id, "department": m.department, "category": m.category,
                **(m.extraction or {})}


def attachment(runtime: Runtime, principal: Principal, message_id: int, attachment_id: int) -> tuple[str, str, bytes]:
    with runtime.db.session() as session:
        access.require_visible(principal, session.get(InboxMessage, message_id), message_id)
        att = session.get(InboxAttachment, attachment_id)
        if att is None or att.message_id != message_id or att.data is None:
            raise NotFound(f"attachment {attachment_id} of message {message_id} not found (or kept as metadata only)")
        return att.filename, att.content_type, att.data


def recent_messages(runtime: Runtime, principal: Principal, *, department: str | None,
                    weeks: int) -> list[InboxMessage]:
    since = dt.datetime.now(dt.UTC) - dt.timedelta(weeks=weeks)
    with runtime.db.session() as session:
        query = sa.select(InboxMessage).where(access.visible_clause(principal), InboxMessage.received_at >= since,
                                              InboxMessage.status != "spam")
        if department:
            query = query.where(InboxMessage.department == department)
        rows = list(session.scalars(query.order_by(InboxMessage.received_at)).all())
        session.expunge_all()
        return rows


def _pattern_report(runtime: Runtime, principal: Principal, *, department: str | None, weeks: int) -> Any:
    from rathaus.inbox.patterns import PatternMessage, pattern_report

    rows = recent_messages(runtime, principal, department=department, weeks=weeks)
    items = [PatternMessage(id=str(m.id), text=f"{m.subject}\n\n{m.body}"[:4000], received_at=m.received_at,
                            department=m.department,
                            vector=np.asarray(m.embedding, dtype=np.float32) if m.embedding else None)
             for m in rows]
    today = dt.datetime.now(dt.UTC).date()
    return pattern_report(items, start=today - dt.timedelta(weeks=weeks), end=today, department=department)


def patterns(runtime: Runtime, principal: Principal, *, department: str | None, weeks: int) -> dict[str, Any]:
    """Topic clusters and weekly spikes ("37 messages on … this week, 3× the usual") of the visible messages."""
    report = _pattern_report(runtime, principal, department=department, weeks=weeks)
    return {"department": department, "start": report.start.isoformat(), "end": report.end.isoformat(),
            "method": report.method, "weeks": [w.isoformat() for w in report.weeks],
            "topics": [{"id": t.id, "label": t.label, "terms": t.terms, "size": t.size,
                        "weekly": report.weekly.get(t.id, [])} for t in report.topics],
            "spikes": [{"topic_id": s.topic_id, "label": s.label, "week": s.week.isoformat(), "count": s.count,
                        "usual": s.usual, "ratio": s.ratio, "text": s.text} for s in report.spikes]}


def patterns_plot(runtime: Runtime, principal: Principal, *, department: str | None, weeks: int) -> bytes:
    from rathaus.inbox.patterns import topic_plot

    return topic_plot(_pattern_report(runtime, principal, department=department, weeks=weeks))
