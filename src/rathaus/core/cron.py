"""Cron expressions of periodic jobs (shared by the job declarations and the RATHAUS_JOBS_SCHEDULE setting)."""

from __future__ import annotations

import croniter

#: a schedule that switches a periodic job off
OFF = "off"


def valid_cron(expression: str) -> bool:
    """Five fields (minute hour day month weekday) or six with seconds last, as procrastinate takes them."""
    return len(expression.split()) in (5, 6) and bool(croniter.croniter.is_valid(expression))
