"""Settings of governance (``RATHAUS_GOVERNANCE_…``), a section of the platform's settings:
``runtime.settings.section(GovernanceSettings)``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from rathaus.core.settings import SettingsSection


class GovernanceSettings(SettingsSection):
    governance_min_group_size: int = Field(
        default=5, ge=2, le=1000,
        description="Reports show usage only for groups of at least this many people (staff-council agreement); "
                    "smaller cells are suppressed, a per-person view or a filter onto a smaller group is refused.",
    )
    governance_report_assumptions: Path | None = Field(
        default=None,
        description="YAML with the report assumptions (minutes saved per task type, hourly rate, infrastructure "
                    "share, uncertainty ranges, scenarios); default: the shipped config/governance/assumptions.yaml.",
    )
