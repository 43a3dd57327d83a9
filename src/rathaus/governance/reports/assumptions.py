"""The report assumptions (hourly rate, minutes saved per task type, uncertainty, scenarios) from YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from rathaus.core.errors import ConfigError
from rathaus.core.yaml_text import load_yaml

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "governance" / "assumptions.yaml"


class Sourced(BaseModel):
    value: float = Field(ge=0)
    source: str = Field(min_length=1)


class MinutesSaved(BaseModel):
    use_case: str = Field(min_length=1)
    minutes: float = Field(ge=0, le=600)
    task: str
    source: str = Field(min_length=1)


class Range(BaseModel):
    low: float = Field(gt=0, le=1)
    high: float = Field(ge=1, le=100)
    source: str = Field(min_length=1)


class Scenarios(BaseModel):
    staff: int = Field(gt=0)
    requests_per_day: float = Field(gt=0)
    working_days_per_year: int = Field(gt=0, le=366)
    source: str


class Assumptions(BaseModel):
    hourly_rate_eur: Sourced
    infrastructure_eur_per_month: Sourced
    minutes_saved: list[MinutesSaved]
    uncertainty: dict[str, Range]
    scenarios: Scenarios

    def minutes_for(self, use_case: str) -> MinutesSaved | None:
        """The entry with the longest prefix of ``use_case``, if any."""
        hits = [m for m in self.minutes_saved if use_case.startswith(m.use_case)]
        return max(hits, key=lambda m: len(m.use_case)) if hits else None


def load_assumptions(path: Path | None = None) -> Assumptions:
    """Read and check the YAML; a missing file or a bad value is one readable ConfigError."""
    path = path or SHIPPED
    try:
        data: Any = load_yaml(path.read_text(encoding="utf-8"), f"report assumptions {path}", ConfigError)
        return Assumptions.model_validate(data)
    except OSError as exc:
        raise ConfigError(f"report assumptions {path}: {exc.strerror or exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"report assumptions {path}: {loc}: {first['msg']}") from None
