"""What a report is: titled tables of dimensions and measures, with the assumptions and sources behind them.

Every report kind builds one :class:`Report`; the renderers (``render_html``, ``render_csv``) know nothing of the
kinds. ``None`` in a measure means "suppressed" (group below the minimum size) or "not defined" (no requests).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

ALWAYS_SHOWN = ("trend", "roles", "retention")
KINDS = ("climate", "costs", "equality", "staff")
TITLES = {
    "climate": "Klimabericht / climate report",
    "costs": "Kosten und Nutzen / costs and benefits",
    "equality": "Gleichstellung / equality",
    "staff": "Personalrat / staff council",
}


@dataclass
class Table:
    """One section: ``rows`` hold the dimension values first, then the measures, in column order."""

    key: str  # short id, the CSV's section column
    title: str
    dimensions: list[str]
    measures: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    chart: str | None = None  # the measure drawn as bars, by the first dimension
    note: str = ""

    @property
    def columns(self) -> list[str]:
        return self.dimensions + self.measures

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "columns": self.columns, "note": self.note,
                "rows": [dict(zip(self.columns, row, strict=True)) for row in self.rows]}


@dataclass
class Assumption:
    name: str
    value: Any
    source: str


@dataclass
class Report:
    kind: str
    month: str
    department: str | None
    min_group_size: int
    tables: list[Table] = field(default_factory=list)
    assumptions: list[Assumption] = field(default_factory=list)
    method: list[str] = field(default_factory=list)  # paragraphs: how the figures are made
    summary: dict[str, Any] = field(default_factory=dict)  # headline figures
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)

    @property
    def empty(self) -> bool:
        """No figure of the month: every table is empty except those always shown (trend, roles, retention)."""
        return not any(t.rows for t in self.tables if t.key not in ALWAYS_SHOWN)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "month": self.month, "department": self.department,
                "min_group_size": self.min_group_size, "generated_at": self.generated_at.isoformat(),
                "summary": self.summary, "method": self.method,
                "assumptions": [{"name": a.name, "value": a.value, "source": a.source} for a in self.assumptions],
                "tables": [t.as_dict() for t in self.tables]}
