"""Usage records of model calls and the reports built from them."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any, Literal, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rathaus.core.budgets import CITY_TZ
from rathaus.core.errors import BadRequest
from rathaus.core.schema import UsageEvent

ReportKey = Literal["department", "model", "use-case", "data-class", "principal"]
_COLUMNS = {
    "department": UsageEvent.department,
    "model": UsageEvent.model,
    "use-case": UsageEvent.use_case,
    "data-class": UsageEvent.data_class,
    "principal": UsageEvent.principal,
}


@dataclass
class UsageRow:
    key: str
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    cost_eur: Decimal
    energy_wh: float
    gco2e: float
    p95_latency_ms: float


_INSERT = sa.insert(cast(sa.Table, UsageEvent.__table__))


def without_nul(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL characters; replace them in strings, lists and dicts."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    return value


def record(session: Session, **values: object) -> None:
    session.connection().execute(_INSERT, {k: without_nul(v) for k, v in values.items()})


def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    """Start and end of a calendar month YYYY-MM in the city's time zone."""
    try:
        start = dt.datetime.strptime(month, "%Y-%m").replace(tzinfo=CITY_TZ)
        end = (start + dt.timedelta(days=32)).replace(day=1)
    except (ValueError, OverflowError):
        raise BadRequest(f"month must look like 2026-11, not {month!r}") from None
    return start, end


def report(
    session: Session, by: ReportKey, month: str, department: str | None = None
) -> list[UsageRow]:
    """Aggregate usage of a month by one key; optionally limited to one department."""
    if by not in _COLUMNS:
        raise BadRequest(f"cannot group by {by!r}; choose one of {', '.join(_COLUMNS)}")
    start, end = month_bounds(month)
    key = _COLUMNS[by]
    stmt = (
        sa.select(
            key.label("key"),
            sa.func.count().label("requests"),
            sa.func.count().filter(UsageEvent.status != "ok").label("errors"),
            sa.func.coalesce(sa.func.sum(UsageEvent.prompt_tokens), 0),
            sa.func.coalesce(sa.func.sum(UsageEvent.completion_tokens), 0),
            sa.func.coalesce(sa.func.sum(UsageEvent.cost_eur), 0),
            sa.func.coalesce(sa.func.sum(UsageEvent.energy_wh), 0.0),
            sa.func.coalesce(sa.func.sum(UsageEvent.gco2e), 0.0),
            sa.func.coalesce(
                sa.func.percentile_cont(0.95).within_group(UsageEvent.latency_ms).filter(UsageEvent.status == "ok"),
                0.0,
            ),
        )
        .where(UsageEvent.ts >= start, UsageEvent.ts < end)
        .group_by(key)
        .order_by(sa.func.sum(UsageEvent.cost_eur).desc(), key)
    )
    if department is not None:
        stmt = stmt.where(UsageEvent.department == department)
    return [
        UsageRow(str(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), Decimal(r[5]), float(r[6]), float(r[7]),
                 float(r[8]))
        for r in session.execute(stmt)
    ]


def to_csv(rows: list[UsageRow], by: str) -> str:
    buf = io.StringIO()
    fields = [by, *list(asdict(rows[0]).keys())[1:]] if rows else [by]
    writer = csv.writer(buf)
    writer.writerow(fields)
    for row in rows:
        writer.writerow(list(asdict(row).values()))
    return buf.getvalue()
