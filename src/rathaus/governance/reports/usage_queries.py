"""The metering aggregations every report needs, done by PostgreSQL (GROUP BY over ``usage_events``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rathaus.core.budgets import CITY_TZ
from rathaus.core.errors import NotFound
from rathaus.core.metering import month_bounds
from rathaus.core.schema import UsageEvent

DIMENSIONS = {"department": UsageEvent.department, "use_case": UsageEvent.use_case, "model": UsageEvent.model,
              "provider": UsageEvent.provider, "data_class": UsageEvent.data_class}


@dataclass(frozen=True)
class Period:
    month: str
    start: dt.datetime
    end: dt.datetime
    department: str | None = None

    def where(self) -> list[Any]:
        clauses: list[Any] = [UsageEvent.ts >= self.start, UsageEvent.ts < self.end]
        if self.department:
            clauses.append(UsageEvent.department == self.department)
        return clauses


def period(session: Session, month: str, department: str | None = None) -> Period:
    """The month's bounds (BadRequest for a bad month); NotFound for a department that never used the platform."""
    start, end = month_bounds(month)
    if department is not None:
        known = session.scalar(sa.select(sa.exists().where(UsageEvent.department == department)))
        if not known:
            raise NotFound(f"unknown department {department!r}: no usage recorded for it / unbekanntes Referat")
    return Period(month, start, end, department)


@dataclass(frozen=True)
class UsageGroup:
    keys: tuple[Any, ...]
    people: int
    requests: int
    ok: int
    prompt_tokens: int
    completion_tokens: int
    cost_eur: float
    energy_wh: float
    gco2e: float


def usage_by(session: Session, p: Period, *dimensions: str) -> list[UsageGroup]:
    """Requests, people, tokens, €, Wh and gCO2e of the period grouped by ``dimensions`` (largest energy first)."""
    cols = [DIMENSIONS[d] for d in dimensions]
    query = (sa.select(*cols, sa.func.count(sa.distinct(UsageEvent.principal)), sa.func.count(),
                       sa.func.count().filter(UsageEvent.status == "ok"),
                       sa.func.coalesce(sa.func.sum(UsageEvent.prompt_tokens), 0),
                       sa.func.coalesce(sa.func.sum(UsageEvent.completion_tokens), 0),
                       sa.func.coalesce(sa.func.sum(UsageEvent.cost_eur), 0),
                       sa.func.coalesce(sa.func.sum(UsageEvent.energy_wh), 0.0),
                       sa.func.coalesce(sa.func.sum(UsageEvent.gco2e), 0.0))
             .where(*p.where()).group_by(*cols))
    n = len(cols)
    groups = [UsageGroup(tuple(r[:n]), int(r[n]), int(r[n + 1]), int(r[n + 2]), int(r[n + 3]), int(r[n + 4]),
                         float(r[n + 5]), float(r[n + 6]), float(r[n + 7])) for r in session.execute(query)]
    return sorted(groups, key=lambda g: (-g.energy_wh, -g.requests, [str(k) for k in g.keys]))


def monthly_trend(session: Session, p: Period, months: int = 6) -> list[tuple[str, int, float, float, float]]:
    """(month, requests, Wh, gCO2e, €) for the ``months`` calendar months ending with the period's month."""
    first = p.start
    for _ in range(months - 1):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    month_col = sa.func.to_char(sa.func.timezone(str(CITY_TZ), UsageEvent.ts), "YYYY-MM")
    where: list[Any] = [UsageEvent.ts >= first, UsageEvent.ts < p.end]
    if p.department:
        where.append(UsageEvent.department == p.department)
    rows = session.execute(sa.select(month_col, sa.func.count(),
                                     sa.func.coalesce(sa.func.sum(UsageEvent.energy_wh), 0.0),
                                     sa.func.coalesce(sa.func.sum(UsageEvent.gco2e), 0.0),
                                     sa.func.coalesce(sa.func.sum(UsageEvent.cost_eur), 0))
                           .where(*where).group_by(month_col)).all()
    found = {r[0]: r for r in rows}
    out = []
    cursor = first
    while cursor < p.end:
        key = cursor.strftime("%Y-%m")
        r = found.get(key)
        out.append((key, int(r[1]), float(r[2]), float(r[3]), float(r[4])) if r else (key, 0, 0.0, 0.0, 0.0))
        cursor = (cursor + dt.timedelta(days=32)).replace(day=1)
    return out


def per_request(total: float, requests: int) -> float | None:
    return total / requests if requests else None
