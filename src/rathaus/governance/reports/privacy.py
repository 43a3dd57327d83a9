"""The staff council's rule: usage only in aggregates of at least ``governance_min_group_size`` people.

A cell for fewer people is suppressed (``None``, shown as "< n"); asking for a per-person view or filtering onto a
group below the minimum is refused with :class:`GroupTooSmall` (HTTP 422), before any figure is computed.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rathaus.core.errors import RathausError
from rathaus.core.schema import UsageEvent


class GroupTooSmall(RathausError):
    status, code, title = 422, "group-too-small", "Aggregation below the minimum group size"


PERSONAL_DIMENSIONS = ("principal", "person", "user", "actor")


def refuse_personal(dimension: str) -> None:
    if dimension.lower() in PERSONAL_DIMENSIONS:
        raise GroupTooSmall(f"no per-person view: usage is reported only for groups (by {dimension!r} refused) / "
                            "keine personenbezogene Auswertung")


def require_group(session: Session, department: str, start: Any, end: Any, minimum: int) -> None:
    """Refuse a department filter when fewer than ``minimum`` people of it used the platform in the period."""
    people = session.scalar(sa.select(sa.func.count(sa.distinct(UsageEvent.principal)))
                            .where(UsageEvent.department == department, UsageEvent.ts >= start, UsageEvent.ts < end))
    if people and people < minimum:
        raise GroupTooSmall(f"department {department!r} has {people} users this month, fewer than the minimum "
                            f"group size {minimum} / Gruppe kleiner als die Mindestgröße")


def suppress(rows: list[list[Any]], people_index: int, minimum: int) -> list[list[Any]]:
    """Rows whose group has fewer than ``minimum`` people keep their dimension values; every measure becomes None
    (the people count too, so that it cannot be read off)."""
    out = []
    for row in rows:
        if row[people_index] is not None and row[people_index] < minimum:
            out.append(row[:people_index] + [None] * (len(row) - people_index))
        else:
            out.append(row)
    return out
