"""The employee assistant's background job: chats past their retention are deleted with their uploads."""

from __future__ import annotations

import logging
from typing import Any

from rathaus.assistants import chats
from rathaus.assistants.settings import AssistantsSettings

log = logging.getLogger(__name__)


def purge_chats(runtime: Any) -> int:
    """Delete chats untouched for RATHAUS_CHAT_RETENTION_DAYS (with documents, chunks, vectors); how many."""
    days = runtime.settings.section(AssistantsSettings).chat_retention_days
    with runtime.db.session() as session:
        deleted = chats.purge_expired(session, days)
    if deleted:
        log.info("retention: %d chats older than %d days deleted", deleted, days)
    return deleted

