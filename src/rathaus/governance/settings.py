"""Settings of governance (``RATHAUS_GOVERNANCE_…``): ``runtime.settings.section(GovernanceSettings)``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from rathaus.core.settings import SettingsSection

SOURCE_ROOT = Path(__file__).resolve().parents[3]  # the source tree (src/rathaus/governance → repository root)


class GovernanceSettings(SettingsSection):
    governance_organisation: str = Field(
        default="Stadtverwaltung (Beispiel) / city administration (sample)", min_length=1, max_length=100,
        description="The organisation that runs the AI systems: 'organization' of the register export, the "
                    "provider and deployer of the Annex VIII fields.")
    governance_organisation_address: str = Field(
        default="", max_length=300,
        description="Postal address of the organisation (EU AI Act Annex VIII: needed for high-risk entries).")
    governance_register_dir: Path | None = Field(
        default=None,
        description="A folder of register entries (*.yaml) loaded by 'rathaus up' and 'rathaus register load' "
                    "(default: the shipped samples in rathaus/config/register).")
    governance_bench_results: Path | None = Field(
        default=None,
        description="Folder of benchmark results (bench/results/*.json) cited on the system cards; default: "
                    "bench/results of the source tree, if present.")

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

    def bench_results_dir(self) -> Path:
        return self.governance_bench_results or SOURCE_ROOT / "bench" / "results"
