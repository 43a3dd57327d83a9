"""Bias runs in PostgreSQL: saved per model and model version, listed, and read back for a report."""

from __future__ import annotations

import math
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rathaus.core.errors import BadRequest, NotFound
from rathaus.governance.bias.prompt import PROMPT_VERSION
from rathaus.governance.bias.runner import BiasRun
from rathaus.governance.schema import BiasEvalRun


def _json_safe(value: Any) -> Any:
    """JSONB has no NaN/inf; tuples become lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def save_run(session: Session, run: BiasRun, created_by: str, guard: dict[str, Any] | None = None) -> uuid.UUID:
    """Store one run with its figures, sample definition and replies; returns its id."""
    m = run.metrics
    row = BiasEvalRun(
        created_by=created_by, benchmark=str(run.sample.get("benchmark", "GG-BBQ")),
        subject_kind=run.subject.kind, subject=run.subject.name, model=run.subject.model,
        model_version=run.subject.model_version, model_sha256=run.subject.model_sha256,
        prompt_version=str(run.sample.get("prompt_version", PROMPT_VERSION)), n_items=m.n,
        acc_ambig=m.acc_ambig, acc_disambig=m.acc_disambig, bias_ambig=m.bias_ambig, bias_disambig=m.bias_disambig,
        unparsable_rate=m.unparsable_rate, seconds=run.seconds, sample=_json_safe(run.sample),
        figures=_json_safe(run.figures()), replies=_json_safe(run.replies()), guard=_json_safe(guard),
        usage=_json_safe(run.usage),
    )
    session.add(row)
    session.flush()
    return row.id


def _summary(row: BiasEvalRun) -> dict[str, Any]:
    return {"id": str(row.id), "created_at": row.created_at.isoformat() if row.created_at else None,
            "created_by": row.created_by, "benchmark": row.benchmark, "subject_kind": row.subject_kind,
            "subject": row.subject, "model": row.model, "model_version": row.model_version,
            "model_sha256": row.model_sha256, "prompt_version": row.prompt_version, "n_items": row.n_items,
            "acc_ambig": row.acc_ambig, "acc_disambig": row.acc_disambig, "bias_ambig": row.bias_ambig,
            "bias_disambig": row.bias_disambig, "unparsable_rate": row.unparsable_rate, "seconds": row.seconds,
            "seed": (row.sample or {}).get("seed"), "limit": (row.sample or {}).get("limit")}


def list_runs(session: Session, model: str | None = None, subject: str | None = None,
              limit: int = 50) -> list[dict[str, Any]]:
    """Stored runs, newest first; optionally of one model (catalogue name) or one subject."""
    query = sa.select(BiasEvalRun).order_by(BiasEvalRun.created_at.desc()).limit(limit)
    if model:
        query = query.where(BiasEvalRun.model == model)
    if subject:
        query = query.where(BiasEvalRun.subject == subject)
    return [_summary(r) for r in session.scalars(query)]


def get_run(session: Session, run_id: str) -> dict[str, Any]:
    """One stored run with every figure, the sample, the guard figures and the replies."""
    try:
        key = uuid.UUID(run_id.strip())
    except (ValueError, AttributeError):
        raise BadRequest(f"not a run id: {run_id!r} / keine gültige Lauf-ID") from None
    row = session.get(BiasEvalRun, key)
    if row is None:
        raise NotFound(f"no stored bias run {run_id} / kein gespeicherter Lauf {run_id}")
    return {**_summary(row), "sample": row.sample, "figures": row.figures, "guard": row.guard, "usage": row.usage,
            "replies": row.replies}
