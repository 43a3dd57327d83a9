"""Oversight reports for the climate, treasury, equality and staff-council bodies (issue 18), monthly and on demand.

``build_report(runtime-ish parts, kind, month)`` aggregates in PostgreSQL and returns a :class:`Report`;
``render_html`` / ``render_csv`` turn it into a document. Method and sources: docs/governance-reports.md.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from rathaus.core.errors import NotFound
from rathaus.core.settings import Settings
from rathaus.governance.reports.assumptions import Assumptions, load_assumptions
from rathaus.governance.reports.climate import build_climate
from rathaus.governance.reports.costs import build_costs
from rathaus.governance.reports.equality import build_equality
from rathaus.governance.reports.model import KINDS, TITLES, Report, Table
from rathaus.governance.reports.privacy import GroupTooSmall
from rathaus.governance.reports.render import CSV_COLUMNS, render_csv, render_fragment, render_html
from rathaus.governance.reports.staff import build_staff
from rathaus.governance.reports.usage_queries import period
from rathaus.governance.settings import GovernanceSettings
from rathaus.models.catalog import Catalog

__all__ = ["CSV_COLUMNS", "KINDS", "TITLES", "GroupTooSmall", "Report", "Table", "build_report", "check_kind",
           "render_csv", "render_fragment", "render_html"]

READER_ROLES = ("admin", "auditor", "oversight", "staff-council")


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise NotFound(f"unknown report {kind!r}; choose one of {', '.join(KINDS)} / unbekannter Bericht")
    return kind


def build_report(session: Session, settings: Settings, catalog: Catalog, kind: str, month: str,
                 department: str | None = None, by: str = "department",
                 assumptions: Assumptions | None = None) -> Report:
    """One report of ``kind`` for ``month`` (YYYY-MM), optionally for one department."""
    check_kind(kind)
    section = settings.section(GovernanceSettings)
    minimum = section.governance_min_group_size
    p = period(session, month, department)
    if kind == "staff":
        return build_staff(session, p, settings, minimum, by)
    if kind == "equality":
        return build_equality(session, p)
    a = assumptions or load_assumptions(section.governance_report_assumptions)
    if kind == "costs":
        return build_costs(session, p, a, minimum)
    return build_climate(session, p, settings, catalog, a, minimum)
