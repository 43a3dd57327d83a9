"""The application checks' background jobs: check a stored packet, take up packets whose check was lost, delete
packets past their retention."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import sqlalchemy as sa

from rathaus.checks import service
from rathaus.checks.schema import CheckPacket
from rathaus.checks.settings import ChecksSettings
from rathaus.core.jobs import progress

log = logging.getLogger(__name__)


def run(runtime: Any, packet_id: int) -> dict[str, Any]:
    return service.run_check(runtime, packet_id, progress=lambda done, total, label: progress(done, total, label))


def sweep(runtime: Any) -> int:
    """Check packets that have waited over five minutes (job lost or failed for good); how many were checked."""
    ids = service.waiting(runtime)
    done = 0
    for i, packet_id in enumerate(ids):
        progress(i, len(ids), f"packet {packet_id}")
        try:
            service.run_check(runtime, packet_id)
            done += 1
        except Exception:  # the packet stays "received"; the next sweep tries again
            log.exception("checks: checking packet %s failed", packet_id)
    return done


def purge(runtime: Any) -> int:
    """Delete packets older than RATHAUS_CHECKS_RETENTION_DAYS with their files and results."""
    days = runtime.settings.section(ChecksSettings).checks_retention_days
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    with runtime.db.session() as session:
        deleted = session.execute(sa.delete(CheckPacket).where(CheckPacket.created_at < cutoff)
                                  .returning(CheckPacket.id)).all()
    if deleted:
        log.info("retention: %d checked packets older than %d days deleted", len(deleted), days)
    return len(deleted)
