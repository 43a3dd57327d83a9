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


#: the groupings the reports use; all are computed by one statement (GROUPING SETS) per period
GROUPINGS = (("department",), ("use_case",), ("model",), ("department", "use_case"))
_GRAIN = ("department", "use_case", "model")


def _grouping_mask(dimensions: tuple[str, ...]) -> int:
    """PostgreSQL's GROUPING(department, use_case, model) for a grouping set: a 1-bit for each column left out."""
    return sum(1 << (len(_GRAIN) - 1 - i) for i, d in enumerate(_GRAIN) if d not in dimensions)


def _usage_groupings(session: Session, p: Period) -> dict[tuple[str, ...], list[UsageGroup]]:
    """Every grouping of :data:`GROUPINGS` in one pass over the month's rows: an inner GROUP BY per person and
    (department, use case, model) shrinks a million rows to a few thousand, the outer GROUPING SETS count the
    distinct people and sum the figures. Kept in ``session.info`` so the four reports scan the month once."""
    cache: dict[Period, dict[tuple[str, ...], list[UsageGroup]]] = session.info.setdefault("governance_usage", {})
    if p in cache:
        return cache[p]
    u = UsageEvent
    inner = (sa.select(u.department, u.use_case, u.model, u.principal, sa.func.count().label("requests"),
                       sa.func.count().filter(u.status == "ok").label("ok"),
                       sa.func.sum(u.prompt_tokens).label("prompt"),
                       sa.func.sum(u.completion_tokens).label("completion"),
                       sa.func.sum(u.cost_eur).label("cost"), sa.func.sum(u.energy_wh).label("wh"),
                       sa.func.sum(u.gco2e).label("g"))
             .where(*p.where()).group_by(u.department, u.use_case, u.model, u.principal).subquery())
    c = inner.c
    query = (sa.select(c.department, c.use_case, c.model, sa.func.grouping(c.department, c.use_case, c.model),
                       sa.func.count(sa.distinct(c.principal)), sa.func.sum(c.requests), sa.func.sum(c.ok),
                       sa.func.sum(c.prompt), sa.func.sum(c.completion), sa.func.sum(c.cost), sa.func.sum(c.wh),
                       sa.func.sum(c.g))
             .group_by(sa.func.grouping_sets(*[sa.tuple_(*[getattr(c, d) for d in g]) for g in GROUPINGS])))
    by_mask = {_grouping_mask(g): g for g in GROUPINGS}
    result: dict[tuple[str, ...], list[UsageGroup]] = {g: [] for g in GROUPINGS}
    for dept, use_case, model, mask, people, requests, ok, prompt, completion, cost, wh, g in session.execute(query):
        dims = by_mask[mask]
        values = {"department": dept, "use_case": use_case, "model": model}
        result[dims].append(UsageGroup(tuple(values[d] for d in dims), int(people), int(requests), int(ok),
                                       int(prompt or 0), int(completion or 0), float(cost or 0), float(wh or 0),
                                       float(g or 0)))
    for groups in result.values():
        groups.sort(key=lambda x: (-x.energy_wh, -x.requests, [str(k) for k in x.keys]))
    cache[p] = result
    return result


def usage_by(session: Session, p: Period, *dimensions: str) -> list[UsageGroup]:
    """Requests, people, tokens, €, Wh and gCO2e of the period grouped by ``dimensions`` (one of
    :data:`GROUPINGS`), largest energy first."""
    return _usage_groupings(session, p)[tuple(dimensions)]


def monthly_trend(session: Session, p: Period, months: int = 6) -> list[tuple[str, int, float, float, float]]:
    """(month, requests, Wh, gCO2e, €) for the ``months`` calendar months ending with the period's month."""
    cache: dict[tuple[Period, int], list[Any]] = session.info.setdefault("governance_trend", {})
    if (p, months) not in cache:
        cache[(p, months)] = _monthly_trend(session, p, months)
    return cache[(p, months)]


def _monthly_trend(session: Session, p: Period, months: int) -> list[tuple[str, int, float, float, float]]:
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
