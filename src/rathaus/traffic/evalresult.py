"""The result of a masked-gap benchmark (daily: :mod:`rathaus.traffic.backtest`, quarter-hours:
:mod:`rathaus.traffic.backtest_15min`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class EvalResult:
    """``rows``: one dict per pattern × station × method (station ``"all"`` pools the stations);
    ``chosen``: the method the rathaus choice took per pattern, station and gap bucket."""

    rows: list[dict[str, Any]]
    chosen: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def get(self, pattern: str, method: str, station: str = "all") -> dict[str, Any]:
        return next(r for r in self.rows if (r["pattern"], r["method"], r["station"]) == (pattern, method, station))
