"""Monthly € and token budgets per department, enforced atomically in PostgreSQL.

Before a model call the gateway *reserves* the call's largest possible cost (prompt + max output
tokens) with one conditional UPDATE; PostgreSQL's row lock makes concurrent reservations queue and
re-check the condition, so the sum of reservations never exceeds the limit. After the call the
reservation is *settled* to the actual cost, which can only be lower or equal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from rathaus.core.errors import BudgetExhausted
from rathaus.core.schema import BudgetLimit, BudgetUsage

CITY_TZ = ZoneInfo("Europe/Berlin")


def current_month(now: dt.datetime | None = None) -> str:
    return (now or dt.datetime.now(CITY_TZ)).astimezone(CITY_TZ).strftime("%Y-%m")


@dataclass(frozen=True)
class Reservation:
    department: str
    month: str
    eur: Decimal
    tokens: int


@dataclass
class BudgetStatus:
    department: str
    month: str
    eur_limit: Decimal | None
    tokens_limit: int | None
    eur_used: Decimal
    tokens_used: int


def set_limit(session: Session, department: str, eur: Decimal | None, tokens: int | None) -> None:
    stmt = insert(BudgetLimit).values(department=department, eur_per_month=eur, tokens_per_month=tokens)
    stmt = stmt.on_conflict_do_update(
        index_elements=[BudgetLimit.department],
        set_={"eur_per_month": eur, "tokens_per_month": tokens, "updated_at": sa.func.now()},
    )
    session.execute(stmt)


def remove_limit(session: Session, department: str) -> bool:
    stmt = sa.delete(BudgetLimit).where(BudgetLimit.department == department)
    result = cast("CursorResult[Any]", session.execute(stmt))
    return result.rowcount > 0


def status(session: Session, department: str, month: str | None = None) -> BudgetStatus:
    month = month or current_month()
    limit = session.get(BudgetLimit, department)
    usage = session.get(BudgetUsage, (department, month))
    return BudgetStatus(
        department=department,
        month=month,
        eur_limit=limit.eur_per_month if limit else None,
        tokens_limit=limit.tokens_per_month if limit else None,
        eur_used=usage.eur_used if usage else Decimal(0),
        tokens_used=usage.tokens_used if usage else 0,
    )


def all_statuses(session: Session, month: str | None = None) -> list[BudgetStatus]:
    month = month or current_month()
    departments = set(session.scalars(sa.select(BudgetLimit.department)))
    departments |= set(session.scalars(sa.select(BudgetUsage.department).where(BudgetUsage.month == month)))
    return [status(session, d, month) for d in sorted(departments)]


_RESERVE = sa.text("""
    INSERT INTO budget_usage AS u (department, month, eur_used, tokens_used)
    SELECT :department, :month, :eur, :tokens
    WHERE NOT EXISTS (
        SELECT 1 FROM budget_limits l WHERE l.department = :department
          AND ((l.eur_per_month IS NOT NULL AND :eur > l.eur_per_month)
            OR (l.tokens_per_month IS NOT NULL AND :tokens > l.tokens_per_month)))
    ON CONFLICT (department, month) DO UPDATE
        SET eur_used = u.eur_used + EXCLUDED.eur_used, tokens_used = u.tokens_used + EXCLUDED.tokens_used
        WHERE NOT EXISTS (
            SELECT 1 FROM budget_limits l WHERE l.department = u.department
              AND ((l.eur_per_month IS NOT NULL AND u.eur_used + EXCLUDED.eur_used > l.eur_per_month)
                OR (l.tokens_per_month IS NOT NULL AND u.tokens_used + EXCLUDED.tokens_used > l.tokens_per_month)))
    RETURNING u.eur_used
""")


def seconds_to_next_month(now: dt.datetime | None = None) -> int:
    """Seconds until the budgets reset: midnight of the next month's first day in the city's time zone."""
    now = (now or dt.datetime.now(CITY_TZ)).astimezone(CITY_TZ)
    first = dt.datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=CITY_TZ)
    return max(1, int((first.astimezone(dt.UTC) - now.astimezone(dt.UTC)).total_seconds()))  # real seconds (DST)


def _exhausted(department: str, month: str, detail: str) -> BudgetExhausted:
    return BudgetExhausted(detail, extra={"department": department, "month": month},
                           headers={"Retry-After": str(seconds_to_next_month())})


def precheck(session: Session, department: str, month: str | None = None) -> None:
    """Refuse at once when the department has nothing left this month – before safeguards and tokenising, which
    can take seconds. The exact reservation (:func:`reserve`) still follows for requests that pass."""
    month = month or current_month()
    spent = session.execute(sa.text("""
        SELECT 1 FROM budget_limits l JOIN budget_usage u ON u.department = l.department AND u.month = :month
        WHERE l.department = :department
          AND ((l.eur_per_month IS NOT NULL AND u.eur_used >= l.eur_per_month)
            OR (l.tokens_per_month IS NOT NULL AND u.tokens_used >= l.tokens_per_month))
    """), {"department": department, "month": month}).first()
    if spent is None:
        return
    state = status(session, department, month)
    raise _exhausted(department, month,
                     f"the monthly budget of department {department!r} for {month} is used up "
                     f"({state.eur_used:.4f} € of {_fmt(state.eur_limit, '€')}, {state.tokens_used} of "
                     f"{_fmt(state.tokens_limit, 'tokens')}); it resets at the start of next month")


def reserve(session: Session, department: str, eur: Decimal, tokens: int, month: str | None = None) -> Reservation:
    """Atomically add a reservation, or raise BudgetExhausted if it would cross a limit.

    One statement: an upsert whose update only happens while the limits hold. ON CONFLICT DO UPDATE
    locks the row and evaluates its condition on the newest version, so concurrent reservations queue.
    """
    month = month or current_month()
    params = {"department": department, "month": month, "eur": eur, "tokens": tokens}
    if session.execute(_RESERVE, params).first() is None:
        state = status(session, department, month)
        raise _exhausted(department, month,
                         f"the monthly budget of department {department!r} for {month} does not cover this request "
                         f"(used {state.eur_used:.4f} € of {_fmt(state.eur_limit, '€')}, {state.tokens_used} of "
                         f"{_fmt(state.tokens_limit, 'tokens')}; this request may cost up to {eur:.4f} € / {tokens} "
                         "tokens)")
    return Reservation(department, month, eur, tokens)


_SETTLE = sa.text(
    "UPDATE budget_usage SET eur_used = eur_used - :reserved_eur + :eur, "
    "tokens_used = tokens_used - :reserved_tokens + :tokens WHERE department = :department AND month = :month"
)


def settle(session: Session, reservation: Reservation, eur: Decimal, tokens: int) -> None:
    """Replace a reservation by the actual cost.

    The actual cost is at most the reservation when token counts are exact (embedded models); for
    remote models whose prompt tokens are estimated it can exceed it, by less than one request.
    """
    session.connection().execute(_SETTLE, {
        "reserved_eur": reservation.eur, "eur": eur, "reserved_tokens": reservation.tokens, "tokens": tokens,
        "department": reservation.department, "month": reservation.month,
    })


def _fmt(value: object, unit: str) -> str:
    return "no limit" if value is None else f"{value} {unit}"
