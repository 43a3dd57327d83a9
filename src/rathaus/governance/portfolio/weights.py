"""The scoring weights: the newest stored setting, else the shipped defaults (config/portfolio/weights.yaml)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.orm import Session

from rathaus.governance.portfolio.inputs import WeightsIn
from rathaus.governance.portfolio.schema import PortfolioWeights

DEFAULTS_FILE = Path(__file__).resolve().parents[2] / "config" / "portfolio" / "weights.yaml"


@cache
def shipped_defaults() -> WeightsIn:
    return WeightsIn.model_validate(yaml.safe_load(DEFAULTS_FILE.read_text(encoding="utf-8")))


def current(session: Session) -> dict[str, Any]:
    """The weights in force: {"weights": {...}, "note", "set_by", "set_at"} (set_by "default" when shipped)."""
    row = session.scalars(sa.select(PortfolioWeights).order_by(PortfolioWeights.id.desc()).limit(1)).first()
    if row is None:
        defaults = shipped_defaults()
        return {"weights": defaults.weights(), "note": defaults.note, "set_by": "default", "set_at": None}
    return _as_dict(row)


def history(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(sa.select(PortfolioWeights).order_by(PortfolioWeights.id.desc()))
    return [_as_dict(r) for r in rows]


def set_weights(session: Session, new: WeightsIn, by: str) -> dict[str, Any]:
    row = PortfolioWeights(weights=new.weights(), note=new.note, set_by=by)
    session.add(row)
    session.flush()
    session.refresh(row)
    return _as_dict(row)


def _as_dict(row: PortfolioWeights) -> dict[str, Any]:
    return {"weights": dict(row.weights), "note": row.note, "set_by": row.set_by,
            "set_at": row.set_at.isoformat() if row.set_at else None}
