"""The inbox's read services shared by API, CLI and web pages: the taxonomy in use, a message's data takeover,
attachments, patterns."""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
