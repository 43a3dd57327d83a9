"""What governance itself knows about a system: metered usage (calls, tokens, €, Wh, gCO2e), stored bias
evaluations, benchmark figures from bench/results and the state of the audit log's hash chain."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rathaus.core import audit
from rathaus.core.schema import UsageEvent
from rathaus.core.settings import Settings
from rathaus.core.system_facts import SystemFacts
from rathaus.governance.schema import BiasEvalRun

HEADLINE_WORDS = ("mrr", "f1", "accuracy", "recall", "precision", "rate", "_r1", "_r5", "score", "seconds")
MAX_BENCH_FIGURES = 6


def _usage_filter(facts: SystemFacts) -> sa.ColumnElement[bool] | None:
    if facts.kind == "model":
        return UsageEvent.model == facts.id.removeprefix("model:")
    if not facts.use_cases:
        return None
    return sa.or_(*(UsageEvent.use_case.like(p) if "%" in p else UsageEvent.use_case == p for p in facts.use_cases))


def usage(session: Session, facts: SystemFacts, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """Calls, tokens, cost, energy and emissions of one system between ``start`` and ``end``."""
    where = _usage_filter(facts)
    empty = {"calls": 0, "tokens": 0, "cost_eur": 0.0, "energy_wh": 0.0, "gco2e": 0.0}
    if where is None:
        return empty
    row = session.execute(sa.select(
        sa.func.count(), sa.func.coalesce(sa.func.sum(UsageEvent.prompt_tokens + UsageEvent.completion_tokens), 0),
        sa.func.coalesce(sa.func.sum(UsageEvent.cost_eur), 0), sa.func.coalesce(sa.func.sum(UsageEvent.energy_wh), 0),
        sa.func.coalesce(sa.func.sum(UsageEvent.gco2e), 0),
    ).where(where, UsageEvent.ts >= start, UsageEvent.ts < end)).one()
    return {"calls": int(row[0]), "tokens": int(row[1]), "cost_eur": round(float(row[2]), 4),
            "energy_wh": round(float(row[3]), 3), "gco2e": round(float(row[4]), 3)}


def usage_periods(session: Session, facts: SystemFacts, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or dt.datetime.now(dt.UTC)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return {"last_30_days": usage(session, facts, now - dt.timedelta(days=30), now),
            "month": {"month": month_start.strftime("%Y-%m"), **usage(session, facts, month_start, now)}}


def bias_runs(session: Session, facts: SystemFacts) -> dict[str, Any] | None:
    """The newest stored bias evaluation of the system (subject or model), with the number of runs."""
    subjects = [k.removeprefix("bias:") for k in facts.evaluations if k.startswith("bias:")]
    if not subjects:
        return None
    where = sa.or_(BiasEvalRun.subject.in_(subjects), BiasEvalRun.model.in_(subjects))
    count = session.scalar(sa.select(sa.func.count()).select_from(BiasEvalRun).where(where)) or 0
    newest = session.scalars(sa.select(BiasEvalRun).where(where).order_by(BiasEvalRun.created_at.desc())
                             .limit(1)).first()
    if newest is None:
        return {"runs": 0}
    return {"runs": count, "newest": {
        "id": str(newest.id), "created_at": newest.created_at.isoformat(), "benchmark": newest.benchmark,
        "subject": newest.subject, "model_version": newest.model_version, "n_items": newest.n_items,
        "acc_ambig": newest.acc_ambig, "acc_disambig": newest.acc_disambig, "bias_ambig": newest.bias_ambig,
        "bias_disambig": newest.bias_disambig}}


def bench_figures(results_dir: Path, facts: SystemFacts) -> list[dict[str, Any]]:
    """Headline figures of the system's benchmark result files (``bench:NAME`` → NAME.json), if present."""
    found = []
    for key in facts.evaluations:
        if not key.startswith("bench:"):
            continue
        path = results_dir / f"{key.removeprefix('bench:')}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        figures = {k: v for k, v in sorted(data.items())
                   if isinstance(v, int | float) and not isinstance(v, bool) and any(w in k for w in HEADLINE_WORDS)}
        found.append({"file": f"bench/results/{path.name}",
                      "figures": dict(list(figures.items())[:MAX_BENCH_FIGURES])})
    return found


def audit_status(session: Session, settings: Settings) -> dict[str, Any]:
    """The audit log's hash chain, verified now (EU AI Act Art. 12 logs)."""
    result = audit.verify_all(session, audit.AuditConfig.from_settings(settings))
    return {"ok": result.ok, "records_checked": result.checked, "problems": result.problems[:5],
            "warnings": result.warnings[:3], "checked_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
