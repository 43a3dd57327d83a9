"""Usage of the employee assistant for the administration: per department, assistant and model.

Model calls (requests, tokens, €, Wh, gCO2e) come from the metering table, which records every call of
the gateway; chats and messages come from the history. Usage per own assistant is summed from the
metrics stored with each answer, because the gateway does not know which assistant a chat uses.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rathaus.assistants import custom
from rathaus.assistants.chat_schema import Chat, Message, UserAssistant
from rathaus.core import budgets, metering

NO_ASSISTANT = "—"


def _metric(name: str, cast: Any) -> Any:
    return sa.func.coalesce(sa.func.sum(sa.cast(Message.meta["metrics"][name].astext, cast)), 0)


def _from_metering(session: Session, by: str, month: str) -> list[dict[str, Any]]:
    return [{"key": r.key, "requests": r.requests, "tokens": r.prompt_tokens + r.completion_tokens,
             "cost_eur": float(r.cost_eur), "energy_wh": r.energy_wh, "gco2e": r.gco2e}
            for r in metering.report(session, by, month)]  # type: ignore[arg-type]


def overview(session: Session, month: str | None) -> dict[str, Any]:
    month = month or budgets.current_month()
    start, end = metering.month_bounds(month)
    in_month = sa.and_(Message.created_at >= start, Message.created_at < end)

    activity = {d: (c, m) for d, c, m in session.execute(
        sa.select(Chat.department, sa.func.count(sa.distinct(Chat.id)), sa.func.count(Message.id))
        .join(Message, Message.chat_id == Chat.id).where(in_month).group_by(Chat.department))}
    by_department = _from_metering(session, "department", month)
    for row in by_department:
        row["chats"], row["messages"] = activity.pop(row["key"], (0, 0))
    by_department += [{"key": d, "requests": 0, "tokens": 0, "cost_eur": 0.0, "energy_wh": 0.0, "gco2e": 0.0,
                       "chats": c, "messages": m} for d, (c, m) in activity.items()]

    by_assistant = [
        {"key": name or NO_ASSISTANT, "chats": chats_n, "messages": messages_n, "tokens": int(tokens),
         "cost_eur": float(cost), "energy_wh": float(wh), "gco2e": float(co2)}
        for name, chats_n, messages_n, tokens, cost, wh, co2 in session.execute(
            sa.select(UserAssistant.name, sa.func.count(sa.distinct(Chat.id)), sa.func.count(Message.id),
                      _metric("total_tokens", sa.Integer), _metric("cost_eur", sa.Numeric),
                      _metric("energy_wh", sa.Float), _metric("gco2e", sa.Float))
            .select_from(Chat).join(Message, Message.chat_id == Chat.id)
            .outerjoin(UserAssistant, UserAssistant.id == Chat.assistant_id)
            .where(in_month).group_by(UserAssistant.name).order_by(sa.desc(sa.func.count(Message.id))))]

    return {
        "month": month, "generated_at": dt.datetime.now(dt.UTC).isoformat(),
        "by_department": sorted(by_department, key=lambda r: (-r["tokens"], r["key"])),
        "by_assistant": by_assistant,
        "by_model": _from_metering(session, "model", month),
        "by_use_case": _from_metering(session, "use-case", month),
        "published_assistants": [
            {"id": str(a.id), "name": a.name, "department": a.department, "visibility": a.visibility,
             "owner": a.owner, "version": a.version, "high_risk": bool(a.screening.get("high_risk")),
             "areas": [x["label"] for x in a.screening.get("areas", [])],
             "confirmed_at": a.confirmed_at.isoformat() if a.confirmed_at else None}
            for a in custom.published(session)],
    }
