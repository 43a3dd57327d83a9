"""The shipped sample ideas (config/portfolio/samples.yaml): use cases named in Munich's public council records,
each with its source document and a short quote; loaded into an empty portfolio by the embedded default."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
import yaml
from pydantic import BaseModel, ConfigDict, Field

from rathaus.governance.portfolio.schema import PortfolioIdea, PortfolioStatusChange
from rathaus.governance.portfolio.vocabulary import Urgency

if TYPE_CHECKING:
    from rathaus.runtime import Runtime

SAMPLES_FILE = Path(__file__).resolve().parents[2] / "config" / "portfolio" / "samples.yaml"
SUBMITTER = "sample:stadtratsunterlagen"


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")
    document: str = Field(min_length=1)
    quote: str = Field(min_length=10, max_length=400)


class SampleIdea(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=3, max_length=200)
    department: str = Field(min_length=2)
    problem: str = Field(min_length=10)
    data_needed: str
    affected_people: str
    urgency: Urgency
    hours_saved_per_year: int | None = None
    source: Source


def load_samples(path: Path = SAMPLES_FILE) -> list[SampleIdea]:
    return [SampleIdea.model_validate(item) for item in yaml.safe_load(path.read_text(encoding="utf-8"))]


def ensure_samples(runtime: Runtime) -> dict[str, Any]:
    """Add the samples if the portfolio holds no idea at all; {"added": n}."""
    samples = load_samples()
    with runtime.db.session() as session:
        if session.scalar(sa.select(sa.func.count()).select_from(PortfolioIdea)):
            return {"added": 0}
        for sample in samples:
            row = PortfolioIdea(**sample.model_dump(exclude={"source"}), source=sample.source.model_dump(),
                                submitted_by=SUBMITTER, status="idea")
            session.add(row)
            session.flush()
            session.add(PortfolioStatusChange(idea_id=row.id, to_status="idea", changed_by=SUBMITTER,
                                              note=f"aus / from {sample.source.document}"))
    return {"added": len(samples)}
