"""The inbox's background jobs: process a stored message, sweep up messages whose processing was lost, poll the
department mailboxes, retrain routing with the case workers' corrections, and delete old messages."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa

from rathaus.core.jobs import progress
from rathaus.inbox import intake, learning, processing
from rathaus.inbox.schema import InboxMessage
from rathaus.inbox.service import taxonomy
from rathaus.inbox.settings import InboxSettings

log = logging.getLogger(__name__)


def process(runtime: Any, message_id: int) -> dict[str, Any]:
    return processing.process(runtime, message_id)


def zammad_update(runtime: Any, message_id: int) -> dict[str, Any]:
    from rathaus.inbox.automation import zammad_update as write_back

    return write_back(runtime, message_id)


def auto_answer(runtime: Any, message_id: int) -> dict[str, Any]:
    from rathaus.inbox.automation import auto_answer as answer

    return answer(runtime, message_id)


def export(runtime: Any, message_id: int, delivery_id: str) -> dict[str, Any]:
    """Deliver an export a case worker asked for (rathaus.inbox.takeover); retried while the target is down."""
    from rathaus.inbox.takeover import deliver

    return deliver(runtime, message_id, delivery_id)


def sweep(runtime: Any) -> int:
    """Process messages that have waited over a minute (job lost, model or database down earlier); how many."""
    waiting = processing.pending(runtime)
    done = 0
    for i, message_id in enumerate(waiting):
        progress(i, len(waiting), f"message {message_id}")
        try:
            processing.process(runtime, message_id)
            done += 1
        except Exception:  # recorded on the message; the next sweep tries again
            log.exception("inbox: processing message %s failed", message_id)
    return done


def fetch(runtime: Any) -> dict[str, Any]:
    """Poll every configured department mailbox once (at least once: see rathaus.inbox.imap)."""
    from rathaus.inbox.channels import imap_accounts
    from rathaus.inbox.imap import fetch_new
    from rathaus.inbox.message import IncomingMessage

    settings = runtime.settings.section(InboxSettings)
    max_bytes = settings.inbox_max_attachment_mb * 1_000_000
    reports: dict[str, Any] = {}

    def store(message: IncomingMessage, raw: bytes) -> bool:
        intake.store_message(runtime, message, max_attachment_bytes=max_bytes)
        return True

    accounts = imap_accounts(settings)
    for i, account in enumerate(accounts):
        progress(i, len(accounts), account.describe())
        report = fetch_new(account, store, max_attachment_bytes=max_bytes)
        reports[account.mailbox or account.describe()] = {"stored": report.stored, "failed": len(report.failed)}
    return reports


def train(runtime: Any) -> dict[str, Any]:
    """Train routing on every stored example (imported past requests and corrections)."""
    return learning.train_current(runtime, taxonomy(runtime), progress=lambda label: progress(message=label))


def retrain(runtime: Any) -> dict[str, Any] | None:
    """Retrain when case workers corrected routing since the last training (nightly)."""
    if learning.current_info(runtime) is None or not learning.corrections_since_training(runtime):
        return None
    return train(runtime)


def purge(runtime: Any) -> int:
    """Delete messages older than RATHAUS_INBOX_RETENTION_DAYS with their attachments, drafts and corrections."""
    days = runtime.settings.section(InboxSettings).inbox_retention_days
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    with runtime.db.session() as session:
        deleted = session.execute(sa.delete(InboxMessage).where(InboxMessage.received_at < cutoff)
                                  .returning(InboxMessage.id)).all()
    if deleted:
        log.info("retention: %d inbox messages older than %d days deleted", len(deleted), days)
    return len(deleted)
